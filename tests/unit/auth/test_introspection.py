"""From an RFC 7662 answer to TokenInfo or a typed refusal ("trust but verify")."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import SecretStr

from drimbox.auth.introspection import (
    AccessDenied,
    IntrospectionUnavailable,
    TokenExpired,
    TokenInactive,
    TokenIntrospector,
    TokenMissing,
    token_info_from_claims,
)
from drimbox.config import PscSettings

NOW = 1_800_000_000.0

PSC_ANSWER: dict[str, Any] = {  # the members PSC documents for an access token
    "active": True,
    "exp": int(NOW) + 300,
    "iat": int(NOW) - 10,
    "auth_time": int(NOW) - 10,
    "jti": "3f8e…",
    "iss": "https://auth.bas.psc.esante.gouv.fr/auth/realms/esante-wallet",
    "sub": "f:550dc1c8:ANS20200821",
    "typ": "Bearer",
    "azp": "drimbox-conso",
    "scope": "openid scope_all",
    "SubjectNameID": "899700218896",
    "preferred_username": "899700218896",
    "given_name": "JEAN",
    "family_name": "MEDECIN",
}


def answer(**changes: Any) -> dict[str, Any]:
    claims = {**PSC_ANSWER, **changes}
    return {k: v for k, v in claims.items() if v is not None}


def test_psc_answer_gives_the_professional() -> None:
    info = token_info_from_claims(PSC_ANSWER, NOW)
    assert info.subject == "f:550dc1c8:ANS20200821"
    assert info.national_id == "899700218896"
    assert (info.given_name, info.family_name) == ("JEAN", "MEDECIN")
    assert info.display_name == "JEAN MEDECIN"
    assert info.client_id == "drimbox-conso"  # from azp when client_id is absent
    assert info.scope == ("openid", "scope_all")
    assert info.exp == int(NOW) + 300
    assert info.claims["jti"] == "3f8e…"
    with pytest.raises(TypeError):
        info.claims["sub"] = "someone else"  # type: ignore[index]


def test_client_id_member_wins_over_azp_and_scope_may_be_a_list() -> None:
    info = token_info_from_claims(answer(client_id="other", scope=["a", "b", 3]), NOW)
    assert info.client_id == "other"
    assert info.scope == ("a", "b")


def test_optional_members_may_be_absent() -> None:
    info = token_info_from_claims({"active": True, "sub": "u1"}, NOW)
    assert (info.national_id, info.given_name, info.exp, info.scope) == (None, None, None, ())
    assert info.display_name == "u1"


@pytest.mark.parametrize(
    ("claims", "error", "reason"),
    [
        ({"active": False}, TokenInactive, "not active"),
        (answer(active=False), TokenInactive, "not active"),
        (answer(exp=int(NOW) - 1), TokenExpired, "expired"),
        (answer(exp=int(NOW)), TokenExpired, "expired"),  # exp is the first invalid instant
        (answer(typ="Refresh"), TokenInactive, "not an access token"),
        (answer(nbf=int(NOW) + 3600), TokenInactive, "not valid yet"),
        (answer(sub=None), TokenInactive, "no 'sub'"),
        (answer(sub=""), TokenInactive, "no 'sub'"),
    ],
)
def test_refusals(claims: dict[str, Any], error: type[AccessDenied], reason: str) -> None:
    with pytest.raises(error, match=reason) as caught:
        token_info_from_claims(claims, NOW)
    assert caught.value.http_status == 403 and caught.value.user_code == "E204"


def test_small_clock_skew_on_nbf_is_tolerated() -> None:
    assert token_info_from_claims(answer(nbf=int(NOW) + 5), NOW).subject


@pytest.mark.parametrize("exp", ["1800000300", True, [1]])
def test_a_non_numeric_exp_is_an_identity_provider_fault(exp: object) -> None:
    with pytest.raises(IntrospectionUnavailable, match="NumericDate") as caught:
        token_info_from_claims(answer(exp=exp), NOW)
    assert caught.value.http_status == 502


async def test_empty_token_is_missing_without_any_request() -> None:
    async with TokenIntrospector(
        "http://127.0.0.1:9/introspect", client_id="c", client_secret=SecretStr("s")
    ) as introspector:
        with pytest.raises(TokenMissing):
            await introspector.introspect("")


def test_from_settings_needs_the_endpoint_and_credentials() -> None:
    with pytest.raises(ValueError, match="required"):
        TokenIntrospector.from_settings(PscSettings())
