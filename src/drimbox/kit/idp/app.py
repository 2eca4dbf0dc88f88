"""Assemble the identity-provider simulator: shared state plus one router per protocol part."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping

from fastapi import FastAPI

from drimbox.kit.idp.admin import FaultSettings, admin_router
from drimbox.kit.idp.introspect import introspection_router
from drimbox.kit.idp.store import TokenStore

PSC_REALM = "esante-wallet"


class IdpSimulator:
    """State of one simulated IdP: realm, confidential clients, issued tokens, faults, counters."""

    def __init__(
        self,
        *,
        clients: Mapping[str, str],
        realm: str = PSC_REALM,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.realm = realm
        self.clients = dict(clients)
        self.tokens = TokenStore(clock)
        self.faults = FaultSettings()
        self._lock = threading.Lock()
        self._introspections = 0

    def count_introspection(self) -> None:
        with self._lock:
            self._introspections += 1

    @property
    def introspection_requests(self) -> int:
        with self._lock:
            return self._introspections

    def introspection_url(self, base_url: str) -> str:
        """The endpoint URL for a server running this simulator at ``base_url``."""
        return (
            f"{base_url.rstrip('/')}/realms/{self.realm}/protocol/openid-connect/token/introspect"
        )


def create_app(sim: IdpSimulator) -> FastAPI:
    """The ASGI app; Keycloak paths are served both bare and under the legacy ``/auth`` prefix."""
    app = FastAPI(
        title="DRIMbox kit — identity-provider simulator",
        description="Pro Santé Connect-like IdP for tests: token introspection and kit admin API.",
    )
    for prefix in ("", "/auth"):
        app.include_router(introspection_router(sim), prefix=prefix)
    app.include_router(admin_router(sim))
    return app
