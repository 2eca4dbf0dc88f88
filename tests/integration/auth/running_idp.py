"""A running IdP simulator and the kit admin calls the tests make on it (over HTTP)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from drimbox.kit.idp import IdpSimulator

CLIENT_ID = "drimbox-source"
CLIENT_SECRET = "s3cret: with spaces & symbols"  # exercises the RFC 6749 §2.3.1 form-encoding


@dataclass
class RunningIdp:
    sim: IdpSimulator
    base_url: str

    @property
    def introspection_url(self) -> str:
        return self.sim.introspection_url(self.base_url)

    def mint(self, **fields: Any) -> str:
        body = {"national_id": "899700218896", "given_name": "JEAN", "family_name": "MEDECIN"}
        answer = httpx.post(f"{self.base_url}/_kit/tokens", json=body | fields, timeout=10)
        assert answer.status_code == 201, answer.text
        token: str = answer.json()["access_token"]
        return token

    def revoke(self, token: str) -> None:
        answer = httpx.delete(f"{self.base_url}/_kit/tokens/{token}", timeout=10)
        assert answer.status_code == 204, answer.text

    def set_faults(self, **faults: Any) -> None:
        answer = httpx.put(f"{self.base_url}/_kit/faults", json=faults, timeout=10)
        assert answer.status_code == 200, answer.text

    def requests(self) -> int:
        answer = httpx.get(f"{self.base_url}/_kit/stats", timeout=10)
        count: int = answer.json()["introspection_requests"]
        return count
