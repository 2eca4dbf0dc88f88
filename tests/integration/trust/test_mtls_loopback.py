"""Mutual TLS over loopback: uvicorn with CERT_REQUIRED against the IGC-Santé-style test CA.

Proves, with real handshakes: a client presenting a certificate of our PKI gets through; no
certificate, or one from another CA, fails the handshake before the application sees a request;
the client refuses a server outside its trust anchor; TLS 1.0/1.1 are refused while TLS 1.2 and
1.3 work.
"""

from __future__ import annotations

import os
import socket
import ssl
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from drimbox.config import TlsSettings
from drimbox.trust.pki import KeyType, PkiFiles, generate_test_pki
from drimbox.trust.tls import client_ssl_context, server_ssl_kwargs
from support.servers import RunningServer, serve_asgi

HANDSHAKE_REFUSED = (httpx.ConnectError, httpx.ReadError, httpx.RemoteProtocolError)


class CountingApp:
    """A tiny Starlette app that remembers how many requests reached it."""

    def __init__(self) -> None:
        self.requests = 0

        async def hello(request: Request) -> PlainTextResponse:
            self.requests += 1
            return PlainTextResponse("hello over TLS")

        self.app = Starlette(routes=[Route("/", hello)])


@pytest.fixture(scope="module", params=["rsa", "ec"])
def pki(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> PkiFiles:
    key_type: KeyType = request.param
    return generate_test_pki(tmp_path_factory.mktemp(f"pki-{key_type}"), key_type=key_type)


@pytest.fixture(scope="module")
def foreign(tmp_path_factory: pytest.TempPathFactory) -> PkiFiles:
    return generate_test_pki(tmp_path_factory.mktemp("foreign"), key_type="ec")


@pytest.fixture
def counting() -> CountingApp:
    return CountingApp()


@pytest.fixture
def mtls_server(pki: PkiFiles, counting: CountingApp) -> Iterator[RunningServer]:
    tls = TlsSettings(
        certificate=pki.server_cert, private_key=pki.server_key, client_ca=pki.root_cert
    )
    with serve_asgi(counting.app, ssl_kwargs=server_ssl_kwargs(tls)) as server:
        yield server


def get(server: RunningServer, context: ssl.SSLContext) -> httpx.Response:
    with httpx.Client(verify=context, timeout=10) as client:
        return client.get(server.base_url + "/")


def handshake(server: RunningServer, context: ssl.SSLContext) -> str:
    """A raw TLS handshake (plus one read, for TLS 1.3's post-handshake client auth)."""
    with (
        socket.create_connection((server.host, server.port), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname="localhost") as tls,
    ):
        tls.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        if not tls.recv(1024):
            raise ConnectionResetError("closed by the server")
        return str(tls.version())


def tls12_only(context: ssl.SSLContext) -> ssl.SSLContext:
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    return context


def test_client_with_our_certificate_gets_through(
    mtls_server: RunningServer, pki: PkiFiles, counting: CountingApp
) -> None:
    answer = get(mtls_server, client_ssl_context(pki.root_cert, pki.client_cert, pki.client_key))
    assert (answer.status_code, answer.text) == (200, "hello over TLS")
    assert counting.requests == 1


def test_tls12_and_tls13_are_both_accepted(mtls_server: RunningServer, pki: PkiFiles) -> None:
    context = client_ssl_context(pki.root_cert, pki.client_cert, pki.client_key)
    assert handshake(mtls_server, context) == "TLSv1.3"
    assert handshake(mtls_server, tls12_only(context)) == "TLSv1.2"


def test_no_client_certificate_is_refused(
    mtls_server: RunningServer, pki: PkiFiles, counting: CountingApp
) -> None:
    with pytest.raises(HANDSHAKE_REFUSED):
        get(mtls_server, client_ssl_context(pki.root_cert))
    with pytest.raises(ssl.SSLError):
        handshake(mtls_server, tls12_only(client_ssl_context(pki.root_cert)))
    assert counting.requests == 0


def test_certificate_from_another_ca_is_refused(
    mtls_server: RunningServer, pki: PkiFiles, foreign: PkiFiles, counting: CountingApp
) -> None:
    context = client_ssl_context(pki.root_cert, foreign.client_cert, foreign.client_key)
    with pytest.raises(HANDSHAKE_REFUSED):
        get(mtls_server, context)
    with pytest.raises(ssl.SSLError):  # the server aborts, with or without an alert
        handshake(mtls_server, tls12_only(context))
    assert counting.requests == 0


def test_client_refuses_a_server_outside_its_trust_anchor(
    mtls_server: RunningServer, pki: PkiFiles, foreign: PkiFiles
) -> None:
    context = client_ssl_context(foreign.root_cert, pki.client_cert, pki.client_key)
    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        get(mtls_server, context)


def test_https_without_mtls_accepts_anonymous_clients(pki: PkiFiles, counting: CountingApp) -> None:
    tls = TlsSettings(certificate=pki.server_cert, private_key=pki.server_key)
    with serve_asgi(counting.app, ssl_kwargs=server_ssl_kwargs(tls)) as server:
        assert get(server, client_ssl_context(pki.root_cert)).status_code == 200


def legacy_client(version: ssl.TLSVersion, pki: PkiFiles) -> ssl.SSLContext:
    """A client able to speak TLS 1.0/1.1 (OpenSSL 3 needs security level 0 for that)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(pki.root_cert)
    context.load_cert_chain(pki.client_cert, pki.client_key)
    context.set_ciphers("DEFAULT:@SECLEVEL=0")
    context.minimum_version = context.maximum_version = version
    return context


def permissive_server(pki: PkiFiles) -> tuple[socket.socket, ssl.SSLContext]:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pki.server_cert, pki.server_key)
    context.set_ciphers("DEFAULT:@SECLEVEL=0")
    context.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
    listener = socket.create_server(("127.0.0.1", 0))
    return listener, context


def legacy_handshake_works_at_all(version: ssl.TLSVersion, pki: PkiFiles) -> bool:
    """Control: the same client against a permissive stdlib server on loopback."""
    listener, server_context = permissive_server(pki)

    def accept_one() -> None:
        listener.settimeout(10)
        try:
            connection, _ = listener.accept()
            with server_context.wrap_socket(connection, server_side=True):
                pass
        except (OSError, ssl.SSLError):
            pass

    thread = threading.Thread(target=accept_one, daemon=True)
    thread.start()
    try:
        port = listener.getsockname()[1]
        with (
            socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
            legacy_client(version, pki).wrap_socket(raw, server_hostname="localhost") as tls,
        ):
            return tls.version() is not None
    except (OSError, ssl.SSLError):
        return False
    finally:
        thread.join(10)
        listener.close()


@pytest.mark.parametrize("version", ["TLSv1", "TLSv1_1"])
def test_legacy_tls_is_refused(
    mtls_server: RunningServer, pki: PkiFiles, counting: CountingApp, version: str
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        tls_version = getattr(ssl.TLSVersion, version)
        if not legacy_handshake_works_at_all(tls_version, pki):
            reason = f"this OpenSSL cannot negotiate {version} at all: nothing to prove"
            if os.environ.get("CI", "").lower() == "true":
                pytest.fail(reason)
            pytest.skip(reason)
        with pytest.raises((ssl.SSLError, ConnectionResetError)):
            handshake(mtls_server, legacy_client(tls_version, pki))
    assert counting.requests == 0


def test_key_files_are_only_readable_by_the_owner(pki: PkiFiles) -> None:
    assert Path(pki.server_key).stat().st_mode & 0o077 == 0
