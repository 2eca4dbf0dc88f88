"""The kit's IdP simulator as a peer: RFC 7662 endpoint, client authentication, admin API."""

from __future__ import annotations

import base64
import time
from typing import Any
from urllib.parse import quote_plus

import httpx
import pytest
from running_idp import CLIENT_ID, CLIENT_SECRET, RunningIdp

from drimbox.kit.idp import IdpSimulator, Professional

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def basic(client_id: str, secret: str) -> dict[str, str]:
    pair = f"{quote_plus(client_id)}:{quote_plus(secret)}".encode()
    return {"Authorization": "Basic " + base64.b64encode(pair).decode()}


def post(idp: RunningIdp, body: str, headers: dict[str, str], url: str | None = None) -> Any:
    return httpx.post(
        url or idp.introspection_url, content=body, headers=FORM | headers, timeout=10
    )


def test_active_token_claims_are_psc_shaped(idp: RunningIdp) -> None:
    token = idp.mint(national_id="810001234567", given_name="ANNE", family_name="DURAND")
    answer = post(idp, f"token={token}", basic(CLIENT_ID, CLIENT_SECRET))
    assert answer.status_code == 200
    claims = answer.json()
    assert claims["active"] is True
    assert claims["SubjectNameID"] == claims["preferred_username"] == "810001234567"
    assert (claims["given_name"], claims["family_name"]) == ("ANNE", "DURAND")
    assert claims["typ"] == "Bearer" and claims["client_id"] == claims["azp"] == CLIENT_ID
    assert claims["exp"] > time.time() >= claims["iat"]
    assert claims["sub"] == Professional("810001234567", "ANNE", "DURAND").subject
    assert claims["iss"] == f"{idp.base_url}/realms/esante-wallet"
    assert {"jti", "auth_time", "scope"} <= set(claims)


def test_client_secret_post(idp: RunningIdp) -> None:
    body = httpx.QueryParams(
        {"token": idp.mint(), "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
    )
    assert post(idp, str(body), {}).json()["active"] is True


def test_unknown_token_is_inactive_and_nothing_else(idp: RunningIdp) -> None:
    answer = post(idp, "token=never-issued", basic(CLIENT_ID, CLIENT_SECRET))
    assert answer.json() == {"active": False}


def test_revoked_and_expired_tokens_are_inactive(idp: RunningIdp) -> None:
    revoked, expired = idp.mint(), idp.mint(lifetime=-1)
    idp.revoke(revoked)
    for token in (revoked, expired):
        assert post(idp, f"token={token}", basic(CLIENT_ID, CLIENT_SECRET)).json() == {
            "active": False
        }


def test_expiry_fault_keeps_saying_active(idp: RunningIdp) -> None:
    token = idp.mint(lifetime=-60, active_after_expiry=True)
    claims = post(idp, f"token={token}", basic(CLIENT_ID, CLIENT_SECRET)).json()
    assert claims["active"] is True and claims["exp"] < time.time()


@pytest.mark.parametrize(
    "headers",
    [
        {},
        basic(CLIENT_ID, "wrong"),
        basic("nobody", CLIENT_SECRET),
        {"Authorization": "Basic !!!"},
        {"Authorization": "Basic " + base64.b64encode(b"no-colon").decode()},
    ],
)
def test_client_authentication_failures_are_401(idp: RunningIdp, headers: dict[str, str]) -> None:
    answer = post(idp, f"token={idp.mint()}", headers)
    assert answer.status_code == 401
    assert answer.json()["error"] == "invalid_client"
    assert answer.headers["www-authenticate"].startswith("Basic")


@pytest.mark.parametrize(
    ("body", "headers", "description"),
    [
        ("", {}, "'token' parameter"),
        ("token=a&token=b", {}, "repeated"),
        (f"token=a&client_id={CLIENT_ID}&client_secret=x", {}, "one client authentication"),
    ],
)
def test_bad_requests_are_400(
    idp: RunningIdp, body: str, headers: dict[str, str], description: str
) -> None:
    answer = post(idp, body, basic(CLIENT_ID, CLIENT_SECRET) | headers)
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_request"
    assert description in answer.json()["error_description"]


def test_json_body_is_refused(idp: RunningIdp) -> None:
    answer = httpx.post(
        idp.introspection_url, json={"token": "x"}, headers=basic(CLIENT_ID, CLIENT_SECRET)
    )
    assert answer.status_code == 400


def test_unknown_realm_is_404(idp: RunningIdp) -> None:
    url = idp.introspection_url.replace("esante-wallet", "other")
    assert post(idp, "token=x", basic(CLIENT_ID, CLIENT_SECRET), url).status_code == 404


def test_fault_modes_and_counters(idp: RunningIdp) -> None:
    auth = basic(CLIENT_ID, CLIENT_SECRET)
    idp.set_faults(status=503)
    assert post(idp, "token=x", auth).status_code == 503
    idp.set_faults(malformed_body=True)
    answer = post(idp, "token=x", auth)
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/html")
    assert httpx.delete(f"{idp.base_url}/_kit/faults").status_code == 204
    assert post(idp, "token=x", auth).json() == {"active": False}
    assert idp.requests() == 3
    assert idp.sim.introspection_requests == 3


@pytest.mark.parametrize(
    "body",
    [
        {"given_name": "A", "family_name": "B"},
        {"national_id": "81 0", "given_name": "A", "family_name": "B"},
        {"national_id": "810", "given_name": "", "family_name": "B"},
        {"national_id": "810", "given_name": "A", "family_name": "B", "colour": "red"},
    ],
)
def test_mint_validates_its_input(idp: RunningIdp, body: dict[str, str]) -> None:
    assert httpx.post(f"{idp.base_url}/_kit/tokens", json=body).status_code == 422


def test_revoking_an_unknown_token_is_404(idp: RunningIdp) -> None:
    assert httpx.delete(f"{idp.base_url}/_kit/tokens/never-issued").status_code == 404


def test_faults_are_validated(idp: RunningIdp) -> None:
    assert httpx.put(f"{idp.base_url}/_kit/faults", json={"status": 200}).status_code == 422


def test_in_process_api_shares_the_state(idp: RunningIdp) -> None:
    """Tests may mint through Python as well; the HTTP endpoint sees the same store."""
    issued = idp.sim.tokens.mint(Professional("810000000001", "A", "B"), client_id=CLIENT_ID)
    claims = post(idp, f"token={issued.token}", basic(CLIENT_ID, CLIENT_SECRET)).json()
    assert claims["SubjectNameID"] == "810000000001"


def test_openapi_documents_the_endpoints(idp: RunningIdp) -> None:
    paths = httpx.get(f"{idp.base_url}/openapi.json").json()["paths"]
    assert "/realms/{realm}/protocol/openid-connect/token/introspect" in paths
    assert "/_kit/tokens" in paths and "/_kit/faults" in paths


def test_simulator_url_helper() -> None:
    sim = IdpSimulator(clients={})
    assert sim.introspection_url("http://h:1/") == (
        "http://h:1/realms/esante-wallet/protocol/openid-connect/token/introspect"
    )
