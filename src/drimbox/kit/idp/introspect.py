"""RFC 7662 introspection endpoint of the simulator, with client authentication (RFC 6749 §2.3).

Shaped like Keycloak as used by Pro Santé Connect: ``POST …/realms/{realm}/protocol/openid-connect/
token/introspect`` (also under the legacy ``/auth`` prefix), form body ``token=…``, client
authentication by ``client_secret_basic`` or ``client_secret_post``; 401 ``invalid_client`` when
it fails, ``{"active": false}`` for any token that is unknown, revoked or expired.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote_plus

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from drimbox.kit.idp.store import IssuedToken

if TYPE_CHECKING:
    from drimbox.kit.idp.app import IdpSimulator

INTROSPECT_PATH = "/realms/{realm}/protocol/openid-connect/token/introspect"


class _BadRequest(Exception):
    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error, self.description, self.status = error, description, status


def introspection_router(sim: IdpSimulator) -> APIRouter:
    router = APIRouter(tags=["introspection"])

    @router.post(INTROSPECT_PATH, summary="RFC 7662 token introspection (PSC-like claims)")
    async def introspect(realm: str, request: Request) -> Response:
        sim.count_introspection()
        if realm != sim.realm:
            return JSONResponse({"error": "Realm does not exist"}, status_code=404)
        faulty = await _apply_faults(sim)
        if faulty is not None:
            return faulty
        try:
            form = _form(request.headers.get("content-type"), await request.body())
            _authenticate(sim.clients, request.headers.get("authorization"), form)
            token = form.get("token")
            if not token:
                raise _BadRequest("invalid_request", "the 'token' parameter is required")
        except _BadRequest as bad:
            headers = {"WWW-Authenticate": 'Basic realm="idp"'} if bad.status == 401 else None
            body = {"error": bad.error, "error_description": bad.description}
            return JSONResponse(body, status_code=bad.status, headers=headers)
        issued = sim.tokens.active(token)
        if issued is None:
            return JSONResponse({"active": False})
        return JSONResponse(psc_claims(issued, issuer=f"{request.base_url}realms/{realm}"))

    return router


async def _apply_faults(sim: IdpSimulator) -> Response | None:
    faults = sim.faults
    if faults.delay > 0:
        await asyncio.sleep(faults.delay)
    if faults.status is not None:
        body = {"error": "server_error", "error_description": "fault injected by the kit"}
        return JSONResponse(body, status_code=faults.status)
    if faults.malformed_body:
        return Response(
            "<html><body>Service temporarily unavailable</body>", media_type="text/html"
        )
    return None


def psc_claims(issued: IssuedToken, *, issuer: str) -> dict[str, Any]:
    """The introspection answer for an active token, with the claims PSC documents."""
    person = issued.professional
    return {
        "active": True,
        "exp": issued.expires_at,
        "iat": issued.issued_at,
        "auth_time": issued.issued_at,
        "jti": issued.token_id,
        "iss": issuer,
        "sub": person.subject,
        "typ": "Bearer",
        "azp": issued.client_id,
        "client_id": issued.client_id,
        "scope": issued.scope,
        "SubjectNameID": person.national_id,
        "preferred_username": person.national_id,
        "given_name": person.given_name,
        "family_name": person.family_name,
        **issued.extra_claims,
    }


def _form(content_type: str | None, body: bytes) -> dict[str, str]:
    if (content_type or "").split(";", 1)[0].strip().lower() != "application/x-www-form-urlencoded":
        raise _BadRequest("invalid_request", "expected application/x-www-form-urlencoded")
    try:
        fields = parse_qs(body.decode("utf-8"), keep_blank_values=True, strict_parsing=bool(body))
    except (UnicodeDecodeError, ValueError):
        raise _BadRequest("invalid_request", "the form body cannot be parsed") from None
    repeated = sorted(name for name, values in fields.items() if len(values) > 1)
    if repeated:  # RFC 6749 §3.2: request parameters MUST NOT be included more than once
        raise _BadRequest("invalid_request", f"repeated parameter(s): {', '.join(repeated)}")
    return {name: values[0] for name, values in fields.items()}


def _authenticate(
    clients: Mapping[str, str], authorization: str | None, form: dict[str, str]
) -> str:
    """The authenticated client id, or _BadRequest(401 invalid_client / 400 invalid_request)."""
    in_body = "client_secret" in form
    if authorization is not None and authorization[:6].lower() == "basic ":
        if in_body:
            raise _BadRequest("invalid_request", "use one client authentication method, not two")
        client_id, secret = _basic_credentials(authorization[6:].strip())
    elif in_body:
        client_id, secret = form.get("client_id", ""), form["client_secret"]
    else:
        raise _BadRequest("invalid_client", "client authentication is required", 401)
    expected = clients.get(client_id)
    if expected is None or not hmac.compare_digest(expected.encode(), secret.encode()):
        raise _BadRequest("invalid_client", "client authentication failed", 401)
    return client_id


def _basic_credentials(encoded: str) -> tuple[str, str]:
    try:
        decoded = base64.b64decode(encoded, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise _BadRequest("invalid_client", "malformed Basic credentials", 401) from None
    client_id, colon, secret = decoded.partition(":")
    if not colon:
        raise _BadRequest("invalid_client", "malformed Basic credentials", 401)
    return unquote_plus(client_id), unquote_plus(secret)
