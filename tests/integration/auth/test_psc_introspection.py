"""TokenIntrospector against the kit's IdP simulator over real loopback HTTP (RFC 7662).

One test per outcome of the RAD-107 token check: allowed, refused (403 / E204: absent, malformed,
unknown, inactive, revoked, expired, expired-but-said-active) and undecidable (502: IdP down, 5xx,
slow, not JSON, our credentials refused). Then caching and coalescing, counted at the simulator.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from pydantic import SecretStr
from running_idp import CLIENT_ID, CLIENT_SECRET, RunningIdp

from drimbox.auth.introspection import (
    AccessDenied,
    ClientAuthMethod,
    IntrospectionUnavailable,
    TokenExpired,
    TokenInactive,
    TokenInfo,
    TokenIntrospector,
    TokenMalformed,
    TokenMissing,
)
from drimbox.config import PscSettings

Factory = Callable[..., TokenIntrospector]


@pytest.fixture
async def make(idp: RunningIdp) -> AsyncIterator[Factory]:
    made: list[TokenIntrospector] = []

    def factory(**options: Any) -> TokenIntrospector:
        arguments: dict[str, Any] = {
            "client_id": CLIENT_ID,
            "client_secret": SecretStr(CLIENT_SECRET),
            "timeout": 5.0,
        }
        endpoint = options.pop("endpoint", idp.introspection_url)
        introspector = TokenIntrospector(endpoint, **(arguments | options))
        made.append(introspector)
        return introspector

    yield factory
    for introspector in made:
        await introspector.aclose()


# --- allowed -------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post"])
async def test_active_token_gives_the_professional(
    idp: RunningIdp, make: Factory, method: ClientAuthMethod
) -> None:
    token = idp.mint(national_id="810002345678", given_name="ANNE", family_name="RADIOLOGUE")
    info = await make(auth_method=method).introspect(token)
    assert isinstance(info, TokenInfo)
    assert info.national_id == "810002345678"
    assert (info.given_name, info.family_name) == ("ANNE", "RADIOLOGUE")
    assert info.client_id == CLIENT_ID
    assert info.scope == ("openid", "scope_all")
    assert info.exp is not None and info.exp > time.time()
    assert info.claims["typ"] == "Bearer"
    assert info.claims["iss"].endswith("/realms/esante-wallet")


async def test_authorization_header_is_parsed_then_introspected(
    idp: RunningIdp, make: Factory
) -> None:
    token = idp.mint()
    info = await make().check_authorization(f"Bearer {token}")
    assert info.national_id == "899700218896"


async def test_legacy_auth_prefixed_endpoint_as_published_by_psc(
    idp: RunningIdp, make: Factory
) -> None:
    url = f"{idp.base_url}/auth/realms/esante-wallet/protocol/openid-connect/token/introspect"
    assert (await make(endpoint=url).introspect(idp.mint())).subject


async def test_built_from_settings(idp: RunningIdp) -> None:
    psc = PscSettings(
        introspection_url=idp.introspection_url,
        client_id=CLIENT_ID,
        client_secret=SecretStr(CLIENT_SECRET),
        auth_method="client_secret_post",
    )
    async with TokenIntrospector.from_settings(psc) as introspector:
        assert (await introspector.introspect(idp.mint())).family_name == "MEDECIN"


# --- refused: 403 / E204 -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "error"),
    [(None, TokenMissing), ("", TokenMissing), ("Basic Zm9vOmJhcg==", TokenMalformed)],
)
async def test_absent_or_malformed_header_is_refused_without_asking_the_idp(
    idp: RunningIdp, make: Factory, header: str | None, error: type[AccessDenied]
) -> None:
    with pytest.raises(error):
        await make().check_authorization(header)
    assert idp.requests() == 0


async def test_unknown_token_is_inactive(make: Factory) -> None:
    with pytest.raises(TokenInactive) as caught:
        await make().introspect("never-issued-token")
    assert (caught.value.http_status, caught.value.user_code) == (403, "E204")


async def test_revoked_token_is_inactive(idp: RunningIdp, make: Factory) -> None:
    token = idp.mint()
    introspector = make(cache_ttl_max=0)
    await introspector.introspect(token)
    idp.revoke(token)
    with pytest.raises(TokenInactive):
        await introspector.introspect(token)


async def test_expired_token_is_inactive_for_the_idp(idp: RunningIdp, make: Factory) -> None:
    with pytest.raises(TokenInactive):
        await make().introspect(idp.mint(lifetime=-5))


async def test_expired_token_said_active_is_still_refused(idp: RunningIdp, make: Factory) -> None:
    token = idp.mint(lifetime=-5, active_after_expiry=True)
    with pytest.raises(TokenExpired):
        await make().introspect(token)


# --- undecidable: 502, never "allowed" -----------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port  # closed again: connections are refused


async def test_idp_down(make: Factory) -> None:
    url = f"http://127.0.0.1:{_closed_port()}/realms/esante-wallet/protocol/openid-connect/token/introspect"
    with pytest.raises(IntrospectionUnavailable, match="cannot reach") as caught:
        await make(endpoint=url).introspect("some-token")
    assert caught.value.http_status == 502


@pytest.mark.parametrize("status", [500, 503])
async def test_idp_server_error(idp: RunningIdp, make: Factory, status: int) -> None:
    token = idp.mint()
    idp.set_faults(status=status)
    with pytest.raises(IntrospectionUnavailable, match=f"HTTP {status}"):
        await make().introspect(token)


async def test_idp_slower_than_the_timeout(idp: RunningIdp, make: Factory) -> None:
    token = idp.mint()
    idp.set_faults(delay=1.0)
    with pytest.raises(IntrospectionUnavailable, match="did not answer within"):
        await make(timeout=0.1).introspect(token)


async def test_idp_answer_not_json(idp: RunningIdp, make: Factory) -> None:
    token = idp.mint()
    idp.set_faults(malformed_body=True)
    with pytest.raises(IntrospectionUnavailable, match="not JSON"):
        await make().introspect(token)


@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post"])
async def test_wrong_client_secret_is_our_fault_not_the_callers(
    idp: RunningIdp, make: Factory, method: ClientAuthMethod
) -> None:
    token = idp.mint()
    introspector = make(client_secret=SecretStr("wrong"), auth_method=method)
    with pytest.raises(IntrospectionUnavailable, match="refused our client credentials"):
        await introspector.introspect(token)


async def test_unknown_realm(idp: RunningIdp, make: Factory) -> None:
    url = idp.introspection_url.replace("esante-wallet", "nowhere")
    with pytest.raises(IntrospectionUnavailable, match="HTTP 404"):
        await make(endpoint=url).introspect(idp.mint())


async def test_failures_are_not_cached(idp: RunningIdp, make: Factory) -> None:
    token = idp.mint()
    introspector = make(negative_cache_ttl=60)
    idp.set_faults(status=500)
    with pytest.raises(IntrospectionUnavailable):
        await introspector.introspect(token)
    idp.set_faults()
    assert (await introspector.introspect(token)).subject


# --- caching and coalescing ----------------------------------------------------------------


async def test_positive_answer_is_reused(idp: RunningIdp, make: Factory) -> None:
    token = idp.mint()
    introspector = make()
    first = await introspector.introspect(token)
    assert await introspector.introspect(token) == first
    assert idp.requests() == 1


class FakeClock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


async def test_cache_lasts_until_the_configured_maximum(idp: RunningIdp, make: Factory) -> None:
    clock = FakeClock()
    token = idp.mint(lifetime=3600)
    introspector = make(cache_ttl_max=60, clock=clock)
    await introspector.introspect(token)
    clock.now += 59
    await introspector.introspect(token)
    assert idp.requests() == 1
    clock.now += 2
    await introspector.introspect(token)
    assert idp.requests() == 2


async def test_cache_never_outlives_the_token(idp: RunningIdp, make: Factory) -> None:
    clock = FakeClock()
    token = idp.mint(lifetime=30)
    introspector = make(cache_ttl_max=3600, clock=clock)
    await introspector.introspect(token)
    clock.now += 31  # our clock is past exp; the simulator's is not, so it still says active
    with pytest.raises(TokenExpired):
        await introspector.introspect(token)
    assert idp.requests() == 2


async def test_zero_max_ttl_disables_positive_caching(idp: RunningIdp, make: Factory) -> None:
    token = idp.mint()
    introspector = make(cache_ttl_max=0)
    await introspector.introspect(token)
    await introspector.introspect(token)
    assert idp.requests() == 2


async def test_refusals_are_not_cached_by_default(idp: RunningIdp, make: Factory) -> None:
    introspector = make()
    for _ in range(2):
        with pytest.raises(TokenInactive):
            await introspector.introspect("unknown")
    assert idp.requests() == 2


async def test_negative_cache_when_configured(idp: RunningIdp, make: Factory) -> None:
    clock = FakeClock()
    introspector = make(negative_cache_ttl=5, clock=clock)
    for _ in range(2):
        with pytest.raises(TokenInactive, match="not active"):
            await introspector.introspect("unknown")
    assert idp.requests() == 1
    clock.now += 6
    with pytest.raises(TokenInactive):
        await introspector.introspect("unknown")
    assert idp.requests() == 2


async def test_forget_drops_a_cached_token(idp: RunningIdp, make: Factory) -> None:
    token = idp.mint()
    introspector = make()
    await introspector.introspect(token)
    idp.revoke(token)
    introspector.forget(token)
    with pytest.raises(TokenInactive):
        await introspector.introspect(token)


async def test_cache_holds_digests_not_tokens(idp: RunningIdp, make: Factory) -> None:
    token = idp.mint()
    introspector = make()
    await introspector.introspect(token)
    keys = list(introspector._cache._entries)  # white-box: what a memory dump would show
    assert len(keys) == 1 and token.encode() not in keys[0] and len(keys[0]) == 32


async def test_least_recently_used_tokens_leave_a_full_cache(
    idp: RunningIdp, make: Factory
) -> None:
    tokens = [idp.mint() for _ in range(3)]
    introspector = make(cache_max_entries=2)
    for token in tokens:
        await introspector.introspect(token)
    await introspector.introspect(tokens[2])
    await introspector.introspect(tokens[1])
    assert idp.requests() == 3
    await introspector.introspect(tokens[0])  # evicted first
    assert idp.requests() == 4


async def test_concurrent_identical_lookups_share_one_request(
    idp: RunningIdp, make: Factory
) -> None:
    token = idp.mint()
    idp.set_faults(delay=0.3)  # keep the first request in flight while the others arrive
    introspector = make()
    results = await asyncio.gather(*(introspector.introspect(token) for _ in range(20)))
    assert idp.requests() == 1
    assert all(result == results[0] for result in results)


async def test_concurrent_lookups_share_a_refusal_too(idp: RunningIdp, make: Factory) -> None:
    idp.set_faults(delay=0.3)
    introspector = make()
    results = await asyncio.gather(
        *(introspector.introspect("unknown") for _ in range(5)), return_exceptions=True
    )
    assert all(isinstance(result, TokenInactive) for result in results)
    assert idp.requests() == 1


async def test_a_cancelled_caller_does_not_cancel_the_shared_lookup(
    idp: RunningIdp, make: Factory
) -> None:
    token = idp.mint()
    idp.set_faults(delay=0.5)
    introspector = make()
    first = asyncio.create_task(introspector.introspect(token))
    second = asyncio.create_task(introspector.introspect(token))
    for _ in range(500):  # until the simulator holds the shared request in its delay
        if idp.sim.introspection_requests:
            break
        await asyncio.sleep(0.01)
    first.cancel()
    assert (await second).national_id == "899700218896"
    assert first.cancelled()
    assert idp.requests() == 1


async def test_different_tokens_are_not_mixed(idp: RunningIdp, make: Factory) -> None:
    people = [(f"8{index:011d}", f"NOM{index}") for index in range(8)]
    tokens = [idp.mint(national_id=rpps, family_name=name) for rpps, name in people]
    idp.set_faults(delay=0.1)
    introspector = make()
    results = await asyncio.gather(*(introspector.introspect(token) for token in tokens))
    assert [(r.national_id, r.family_name) for r in results] == people
    assert idp.requests() == len(people)
