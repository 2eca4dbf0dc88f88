"""Introspection over HTTPS: the IdP's certificate is checked; a TLS failure is never "allowed"."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr
from running_idp import CLIENT_ID, CLIENT_SECRET

from drimbox.auth.introspection import IntrospectionUnavailable, TokenIntrospector
from drimbox.config import TlsSettings
from drimbox.kit.idp import IdpSimulator, Professional, create_app
from drimbox.trust.pki import PkiFiles, generate_test_pki
from drimbox.trust.tls import client_ssl_context, server_ssl_kwargs
from support.servers import RunningServer, serve_asgi


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> PkiFiles:
    return generate_test_pki(tmp_path_factory.mktemp("idp-pki"), key_type="ec")


@pytest.fixture
def sim() -> IdpSimulator:
    return IdpSimulator(clients={CLIENT_ID: CLIENT_SECRET})


@pytest.fixture
def https_idp(sim: IdpSimulator, pki: PkiFiles) -> Iterator[RunningServer]:
    tls = TlsSettings(certificate=pki.server_cert, private_key=pki.server_key)
    with serve_asgi(create_app(sim), ssl_kwargs=server_ssl_kwargs(tls)) as server:
        yield server


async def introspect_with(ca: Path, sim: IdpSimulator, server: RunningServer, token: str) -> str:
    async with (
        httpx.AsyncClient(verify=client_ssl_context(ca)) as http,
        TokenIntrospector(
            sim.introspection_url(server.base_url),
            client_id=CLIENT_ID,
            client_secret=SecretStr(CLIENT_SECRET),
            http_client=http,
        ) as introspector,
    ):
        return (await introspector.introspect(token)).subject


async def test_https_introspection_with_a_trusted_idp(
    sim: IdpSimulator, https_idp: RunningServer, pki: PkiFiles
) -> None:
    issued = sim.tokens.mint(Professional("810000000002", "A", "B"), client_id=CLIENT_ID)
    assert https_idp.base_url.startswith("https://")
    subject = await introspect_with(pki.root_cert, sim, https_idp, issued.token)
    assert subject == issued.professional.subject


async def test_untrusted_idp_certificate_is_unavailable_not_allowed(
    sim: IdpSimulator, https_idp: RunningServer, tmp_path: Path
) -> None:
    issued = sim.tokens.mint(Professional("810000000002", "A", "B"), client_id=CLIENT_ID)
    other = generate_test_pki(tmp_path, key_type="ec")
    with pytest.raises(IntrospectionUnavailable, match="CERTIFICATE_VERIFY_FAILED"):
        await introspect_with(other.root_cert, sim, https_idp, issued.token)
    assert sim.introspection_requests == 0
