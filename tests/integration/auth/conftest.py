"""The kit's IdP simulator served by uvicorn on 127.0.0.1 (see running_idp for the helpers)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from running_idp import CLIENT_ID, CLIENT_SECRET, RunningIdp

from drimbox.kit.idp import IdpSimulator, create_app
from support.servers import serve_asgi


@pytest.fixture
def idp() -> Iterator[RunningIdp]:
    sim = IdpSimulator(clients={CLIENT_ID: CLIENT_SECRET, "other-client": "other-secret"})
    with serve_asgi(create_app(sim)) as server:
        yield RunningIdp(sim, server.base_url)
