"""Tokens the simulator has issued, with their owner, lifetime and revocation state."""

from __future__ import annotations

import secrets
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

_SUBJECT_NAMESPACE = uuid.UUID("6f1d3c1e-2b7a-4c55-9d0e-8a4b2f9c7e10")


@dataclass(frozen=True, slots=True)
class Professional:
    """A health professional as PSC describes them."""

    national_id: str
    """``SubjectNameID``: the national professional id (for RPPS holders "8" + the RPPS number)."""
    given_name: str
    family_name: str

    @property
    def subject(self) -> str:
        """A stable technical ``sub`` per professional, like PSC's (not the national id)."""
        return str(uuid.uuid5(_SUBJECT_NAMESPACE, self.national_id))


@dataclass(frozen=True, slots=True)
class IssuedToken:
    token: str
    professional: Professional
    client_id: str
    scope: str
    issued_at: int
    expires_at: int
    token_id: str
    revoked: bool = False
    active_after_expiry: bool = False
    """Fault: keep answering ``active: true`` after ``exp`` (for "trust but verify" tests)."""
    extra_claims: Mapping[str, Any] = field(default_factory=dict)


class TokenStore:
    """Thread-safe: the admin API, the introspection endpoint and tests may all use it."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._tokens: dict[str, IssuedToken] = {}

    def mint(
        self,
        professional: Professional,
        *,
        client_id: str,
        lifetime: float = 600.0,
        scope: str = "openid scope_all",
        active_after_expiry: bool = False,
        extra_claims: Mapping[str, Any] | None = None,
    ) -> IssuedToken:
        """Issue an opaque access token; a negative lifetime gives an already expired one."""
        now = int(self._clock())
        issued = IssuedToken(
            token=secrets.token_urlsafe(32),
            professional=professional,
            client_id=client_id,
            scope=scope,
            issued_at=now,
            expires_at=now + int(lifetime),
            token_id=str(uuid.uuid4()),
            active_after_expiry=active_after_expiry,
            extra_claims=dict(extra_claims or {}),
        )
        with self._lock:
            self._tokens[issued.token] = issued
        return issued

    def revoke(self, token: str) -> bool:
        """Mark a token revoked; False when it was never issued."""
        with self._lock:
            issued = self._tokens.get(token)
            if issued is None:
                return False
            self._tokens[token] = replace(issued, revoked=True)
            return True

    def active(self, token: str) -> IssuedToken | None:
        """The token if an honest IdP would call it active now (or the expiry fault is set)."""
        with self._lock:
            issued = self._tokens.get(token)
        if issued is None or issued.revoked:
            return None
        if issued.expires_at <= self._clock() and not issued.active_after_expiry:
            return None
        return issued

    def clear(self) -> None:
        with self._lock:
            self._tokens.clear()
