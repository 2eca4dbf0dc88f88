"""Check Pro Santé Connect access tokens by OAuth 2.0 token introspection (RFC 7662).

A RAD-107 request carries ``Authorization: Bearer <PSC access token>``; we ask the PSC
introspection endpoint whether the token is active and who it belongs to, and refuse with
:class:`~drimbox.auth.errors.AccessDenied` (403, E204) otherwise.

What PSC documents (sources read for this module):

- ANS, "Introspection" (industriels.esante.gouv.fr/en/node/1164): ``POST`` with
  ``application/x-www-form-urlencoded`` body ``token=…``, client authentication with HTTP Basic
  (client id + secret); the answer carries ``exp``, ``iat``, ``auth_time``, ``jti``, ``iss``,
  ``sub`` (technical user id), ``typ`` = ``"Bearer"``, ``azp`` …, and ``SubjectNameID`` (the
  national professional id, e.g. RPPS-based) only when an *access* token is introspected.
- LemonLDAP::NG "Pro Santé Connect" page (PSC sandbox metadata): Keycloak realm ``esante-wallet``,
  ``introspection_endpoint`` = ``…/auth/realms/esante-wallet/protocol/openid-connect/token/
  introspect``; ``token_endpoint_auth_methods`` include ``client_secret_basic`` and
  ``client_secret_post``.

Trust but verify: an "active" answer whose ``exp`` is past is still refused (TokenExpired), a
refresh token (``typ`` other than Bearer) is refused. Answers are cached by SHA-256 of the token,
never longer than the token lives; concurrent lookups of one token share one HTTP request.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType, TracebackType
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import quote_plus

import httpx
from pydantic import SecretStr

from drimbox.auth.bearer import parse_bearer
from drimbox.auth.cache import ExpiringLru, token_key
from drimbox.auth.errors import (
    AccessDenied,
    IntrospectionUnavailable,
    TokenExpired,
    TokenInactive,
    TokenMalformed,
    TokenMissing,
)

if TYPE_CHECKING:
    from drimbox.config import PscSettings

__all__ = [
    "AccessDenied",
    "ClientAuthMethod",
    "IntrospectionUnavailable",
    "TokenExpired",
    "TokenInactive",
    "TokenInfo",
    "TokenIntrospector",
    "TokenMalformed",
    "TokenMissing",
    "parse_bearer",
    "token_info_from_claims",
]

log = logging.getLogger(__name__)

ClientAuthMethod = Literal["client_secret_basic", "client_secret_post"]

NOT_BEFORE_TOLERANCE = 60.0
"""Seconds of clock skew allowed on ``nbf`` (never on ``exp``)."""


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """Who an active access token stands for, from the introspection answer."""

    subject: str
    national_id: str | None
    given_name: str | None
    family_name: str | None
    client_id: str | None
    scope: tuple[str, ...]
    exp: int | None
    claims: Mapping[str, Any]

    @property
    def display_name(self) -> str:
        """Given and family name when known, for audit lines and the viewer banner."""
        name = " ".join(part for part in (self.given_name, self.family_name) if part)
        return name or self.national_id or self.subject


_Denial = tuple[type[AccessDenied], str]


class TokenIntrospector:
    """Validate bearer tokens against one RFC 7662 endpoint, with caching and coalescing."""

    def __init__(
        self,
        endpoint: str,
        *,
        client_id: str,
        client_secret: SecretStr,
        auth_method: ClientAuthMethod = "client_secret_basic",
        http_client: httpx.AsyncClient | None = None,
        timeout: float = 10.0,
        cache_ttl_max: float = 300.0,
        negative_cache_ttl: float = 0.0,
        cache_max_entries: int = 10_000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._endpoint = endpoint
        self._client_id = client_id
        self._client_secret = client_secret
        self._auth_method = auth_method
        self._own_client = http_client is None
        self._http = http_client or httpx.AsyncClient(follow_redirects=False)
        self._timeout = timeout
        self._ttl_max = cache_ttl_max
        self._negative_ttl = negative_cache_ttl
        self._clock = clock
        self._cache: ExpiringLru[TokenInfo | _Denial] = ExpiringLru(cache_max_entries, clock)
        self._inflight: dict[bytes, asyncio.Task[TokenInfo]] = {}

    @classmethod
    def from_settings(
        cls, psc: PscSettings, *, http_client: httpx.AsyncClient | None = None
    ) -> TokenIntrospector:
        """Build from the ``[psc]`` settings section (which checked the URL and the credentials)."""
        if not (psc.introspection_url and psc.client_id and psc.client_secret):
            raise ValueError("psc.introspection_url, client_id and client_secret are required")
        return cls(
            psc.introspection_url,
            client_id=psc.client_id,
            client_secret=psc.client_secret,
            auth_method=psc.auth_method,
            http_client=http_client,
            timeout=psc.timeout,
            cache_ttl_max=psc.cache_ttl_max,
            negative_cache_ttl=psc.negative_cache_ttl,
            cache_max_entries=psc.cache_max_entries,
        )

    async def check_authorization(self, authorization_header: str | None) -> TokenInfo:
        """Parse ``Authorization: Bearer …`` and introspect the token."""
        return await self.introspect(parse_bearer(authorization_header))

    async def introspect(self, token: str) -> TokenInfo:
        """The token's owner, or AccessDenied (403) / IntrospectionUnavailable (502)."""
        if not token:
            raise TokenMissing("no access token")
        key = token_key(token)
        cached = self._cache.get(key)
        if isinstance(cached, TokenInfo):
            return cached
        if cached is not None:
            error_type, message = cached
            raise error_type(message)
        task = self._inflight.get(key)
        if task is None:
            task = asyncio.create_task(self._lookup(key, token))
            self._inflight[key] = task
            task.add_done_callback(lambda done: self._finished(key, done))
        # shield: one caller giving up (client gone) must not cancel the lookup the others share.
        return await asyncio.shield(task)

    def _finished(self, key: bytes, task: asyncio.Task[TokenInfo]) -> None:
        if self._inflight.get(key) is task:
            del self._inflight[key]
        if not task.cancelled():
            task.exception()  # retrieved here so that an unawaited failure is not logged as lost

    async def _lookup(self, key: bytes, token: str) -> TokenInfo:
        claims = await self._fetch(token)
        now = self._clock()
        try:
            info = token_info_from_claims(claims, now)
        except AccessDenied as denial:
            if self._negative_ttl > 0:
                self._cache.put(key, (type(denial), str(denial)), now + self._negative_ttl)
            log.info("access token refused: %s (token %s…)", denial, key.hex()[:12])
            raise
        deadline = now + self._ttl_max
        if info.exp is not None:
            deadline = min(deadline, float(info.exp))
        self._cache.put(key, info, deadline)
        return info

    async def _fetch(self, token: str) -> Mapping[str, Any]:
        form = {"token": token, "token_type_hint": "access_token"}
        headers = {"Accept": "application/json"}
        secret = self._client_secret.get_secret_value()
        if self._auth_method == "client_secret_basic":
            # RFC 6749 §2.3.1: id and secret are form-urlencoded before the Basic encoding.
            pair = f"{quote_plus(self._client_id)}:{quote_plus(secret)}"
            headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode("ascii")
        else:
            form |= {"client_id": self._client_id, "client_secret": secret}
        try:
            response = await self._http.post(
                self._endpoint, data=form, headers=headers, timeout=self._timeout
            )
        except httpx.TimeoutException as exc:
            raise IntrospectionUnavailable(
                f"token introspection at {self._endpoint} did not answer within "
                f"{self._timeout:g} s ({type(exc).__name__})"
            ) from exc
        except httpx.HTTPError as exc:
            raise IntrospectionUnavailable(
                f"cannot reach token introspection at {self._endpoint}: {type(exc).__name__}: {exc}"
            ) from exc
        return self._claims_of(response)

    def _claims_of(self, response: httpx.Response) -> Mapping[str, Any]:
        where = f"token introspection at {self._endpoint}"
        if response.status_code in (401, 403):
            raise IntrospectionUnavailable(
                f"{where} refused our client credentials (HTTP {response.status_code}): check "
                "psc.client_id, psc.client_secret and psc.auth_method"
            )
        if response.status_code != 200:
            raise IntrospectionUnavailable(f"{where} answered HTTP {response.status_code}")
        try:
            claims = response.json()
        except ValueError:
            raise IntrospectionUnavailable(f"{where} answered something that is not JSON") from None
        if not isinstance(claims, dict) or not isinstance(claims.get("active"), bool):
            raise IntrospectionUnavailable(
                f"{where} answered JSON without a boolean 'active' member (RFC 7662 §2.2)"
            )
        return claims

    def forget(self, token: str) -> None:
        """Drop a token from the cache (e.g. after we learnt it was revoked)."""
        self._cache.discard(token_key(token))

    async def aclose(self) -> None:
        """Close the HTTP client if we created it."""
        if self._own_client:
            await self._http.aclose()

    async def __aenter__(self) -> TokenIntrospector:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()


def token_info_from_claims(claims: Mapping[str, Any], now: float) -> TokenInfo:
    """Turn an introspection answer into TokenInfo, or raise the AccessDenied it amounts to."""
    if claims["active"] is not True:
        raise TokenInactive("the identity provider reports the token as not active")
    token_type = claims.get("typ")
    if token_type is not None and str(token_type).lower() != "bearer":
        raise TokenInactive(f"not an access token (typ {str(token_type)[:20]!r})")
    exp = _numeric_date(claims, "exp")
    if exp is not None and exp <= now:
        raise TokenExpired("the access token has expired")
    nbf = _numeric_date(claims, "nbf")
    if nbf is not None and nbf > now + NOT_BEFORE_TOLERANCE:
        raise TokenInactive("the access token is not valid yet (nbf)")
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject:
        raise TokenInactive("the access token does not identify a user (no 'sub')")
    return TokenInfo(
        subject=subject,
        national_id=_text(claims, "SubjectNameID"),
        given_name=_text(claims, "given_name"),
        family_name=_text(claims, "family_name"),
        client_id=_text(claims, "client_id") or _text(claims, "azp"),
        scope=_scopes(claims.get("scope")),
        exp=exp,
        claims=MappingProxyType(dict(claims)),
    )


def _numeric_date(claims: Mapping[str, Any], name: str) -> int | None:
    value = claims.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise IntrospectionUnavailable(
            f"token introspection answered a non-numeric '{name}' (RFC 7662 NumericDate)"
        )
    return int(value)


def _text(claims: Mapping[str, Any], name: str) -> str | None:
    value = claims.get(name)
    return value if isinstance(value, str) and value else None


def _scopes(value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        return tuple(value.split())
    if isinstance(value, list):
        return tuple(item for item in value if isinstance(item, str))
    return ()
