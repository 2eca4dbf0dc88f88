"""Extract the access token from an ``Authorization`` header (RFC 6750 §2.1)."""

from __future__ import annotations

import re

from drimbox.auth.errors import TokenMalformed, TokenMissing

# credentials = "Bearer" 1*SP b64token ; b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" /
# "+" / "/" ) *"=" — the scheme is case-insensitive (RFC 9110 §11.1).
_BEARER = re.compile(r"(?i:bearer) +([A-Za-z0-9\-._~+/]+=*)")

MAX_TOKEN_LENGTH = 8192
"""Longer values are refused before any network call (PSC JWTs are a few kilobytes)."""


def parse_bearer(authorization_header: str | None) -> str:
    """Return the token of ``Bearer <token>``; raise TokenMissing / TokenMalformed otherwise."""
    if authorization_header is None or not authorization_header.strip():
        raise TokenMissing("no access token: the Authorization header is missing")
    value = authorization_header.strip(" \t")
    match = _BEARER.fullmatch(value)
    if match is None:
        raise TokenMalformed(_why_malformed(value))
    token = match.group(1)
    if len(token) > MAX_TOKEN_LENGTH:
        raise TokenMalformed(f"the bearer token is longer than {MAX_TOKEN_LENGTH} characters")
    return token


def _why_malformed(value: str) -> str:
    scheme, _, rest = value.partition(" ")
    if scheme.lower() != "bearer":
        # Name a short scheme word (e.g. "Basic") but never echo what may be a credential.
        shown = repr(scheme) if scheme.isalpha() and len(scheme) <= 12 else "an unknown scheme"
        return f"expected 'Authorization: Bearer <token>', got {shown}"
    if not rest.strip(" "):
        return "the Bearer credentials are empty"
    return "the bearer token has characters outside the RFC 6750 b64token syntax"
