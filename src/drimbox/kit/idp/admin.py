"""Kit-only admin API: mint and revoke test tokens, inject faults, read request counters.

Unauthenticated on purpose — the simulator is a test tool that binds to loopback.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, HTTPException, Response
from pydantic import BaseModel, ConfigDict, Field

from drimbox.kit.idp.store import Professional

if TYPE_CHECKING:
    from drimbox.kit.idp.app import IdpSimulator


class MintRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    national_id: str = Field(
        pattern=r"^[0-9A-Za-z]{1,32}$", description="SubjectNameID, e.g. '8' + RPPS number"
    )
    given_name: str = Field(min_length=1)
    family_name: str = Field(min_length=1)
    lifetime: float = Field(default=600.0, description="Seconds; negative = already expired")
    client_id: str | None = Field(default=None, description="Default: the first known client")
    scope: str = "openid scope_all"
    active_after_expiry: bool = Field(
        default=False, description="Fault: keep saying active after exp"
    )
    extra_claims: dict[str, Any] = Field(default_factory=dict)


class MintedToken(BaseModel):
    access_token: str
    token_type: str = "Bearer"
    sub: str
    iat: int
    exp: int


class FaultSettings(BaseModel):
    """Fault modes of the introspection endpoint (all off by default)."""

    model_config = ConfigDict(extra="forbid")

    delay: float = Field(default=0.0, ge=0, le=60, description="Seconds before answering")
    status: int | None = Field(default=None, ge=400, le=599, description="Answer this status")
    malformed_body: bool = Field(default=False, description="Answer 200 with a non-JSON body")


class Stats(BaseModel):
    introspection_requests: int


def admin_router(sim: IdpSimulator) -> APIRouter:
    router = APIRouter(prefix="/_kit", tags=["kit admin"])

    @router.post("/tokens", status_code=201, summary="Mint an access token for a professional")
    async def mint(request: MintRequest) -> MintedToken:
        client_id = request.client_id or next(iter(sim.clients), "drimbox-test")
        person = Professional(request.national_id, request.given_name, request.family_name)
        issued = sim.tokens.mint(
            person,
            client_id=client_id,
            lifetime=request.lifetime,
            scope=request.scope,
            active_after_expiry=request.active_after_expiry,
            extra_claims=request.extra_claims,
        )
        return MintedToken(
            access_token=issued.token,
            sub=person.subject,
            iat=issued.issued_at,
            exp=issued.expires_at,
        )

    @router.delete("/tokens/{token}", status_code=204, summary="Revoke a token")
    async def revoke(token: str) -> Response:
        if not sim.tokens.revoke(token):
            raise HTTPException(status_code=404, detail="unknown token")
        return Response(status_code=204)

    @router.put("/faults", summary="Set the introspection fault modes")
    async def set_faults(faults: FaultSettings) -> FaultSettings:
        sim.faults = faults
        return faults

    @router.delete("/faults", status_code=204, summary="Switch every fault off")
    async def clear_faults() -> Response:
        sim.faults = FaultSettings()
        return Response(status_code=204)

    @router.get("/stats", summary="Request counters")
    async def stats() -> Stats:
        return Stats(introspection_requests=sim.introspection_requests)

    return router
