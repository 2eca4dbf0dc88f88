"""Typed outcomes of access-token checks.

Every refusal is an :class:`AccessDenied` (HTTP 403, DRIM-M user code E204, DB.VI-CO.27); when the
identity provider cannot give an answer we raise :class:`IntrospectionUnavailable` (HTTP 502) —
never a silent "allowed". ``oauth_error`` is the RFC 6750 §3.1 error code an endpoint may put in a
``WWW-Authenticate: Bearer`` header (``None``: the request carried no credentials at all).
"""

from __future__ import annotations

from drimbox.errors import DrimboxError


class AccessDenied(DrimboxError):
    """The caller's access token does not grant access (E204)."""

    http_status = 403
    user_code = "E204"
    oauth_error: str | None = "invalid_token"


class TokenMissing(AccessDenied):
    """No ``Authorization`` header, or an empty one."""

    oauth_error = None


class TokenMalformed(AccessDenied):
    """The header is not ``Bearer <b64token>`` (RFC 6750 §2.1)."""

    oauth_error = "invalid_request"


class TokenInactive(AccessDenied):
    """Not active for the identity provider (unknown, revoked, expired), or not an access token."""


class TokenExpired(AccessDenied):
    """The token's ``exp`` is in the past, whatever the identity provider said about it."""


class IntrospectionUnavailable(DrimboxError):
    """We could not get a trustworthy answer from the introspection endpoint.

    Network error, timeout, 5xx, a non-JSON or malformed answer, or the identity provider refusing
    *our* client credentials (401): a server-side problem, reported as 502 Bad Gateway. DRIM-M has
    no user code of its own for it; a Consumer shows the code it maps to 502.
    """

    http_status = 502
