"""TLS settings → uvicorn arguments and httpx client contexts (TLS 1.2 floor)."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest

from drimbox.config import TlsSettings
from drimbox.errors import ConfigError
from drimbox.trust.pki import PkiFiles, generate_test_pki
from drimbox.trust.tls import TLS12_CIPHERS, client_ssl_context, harden, server_ssl_kwargs


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> PkiFiles:
    return generate_test_pki(tmp_path_factory.mktemp("pki"), key_type="ec")


def test_no_certificate_is_refused_unless_plain_http_is_explicit() -> None:
    with pytest.raises(ConfigError, match="allow_plain_http"):
        server_ssl_kwargs(TlsSettings())
    assert server_ssl_kwargs(TlsSettings(allow_plain_http=True)) == {}


def test_https_without_client_certificates(pki: PkiFiles) -> None:
    kwargs = server_ssl_kwargs(TlsSettings(certificate=pki.server_cert, private_key=pki.server_key))
    assert kwargs["ssl_certfile"] == str(pki.server_cert)
    assert kwargs["ssl_keyfile"] == str(pki.server_key)
    assert kwargs["ssl_ciphers"] == TLS12_CIPHERS
    assert "ssl_cert_reqs" not in kwargs and "ssl_ca_certs" not in kwargs


def test_mutual_tls_requires_client_certificates(pki: PkiFiles) -> None:
    tls = TlsSettings(
        certificate=pki.server_cert, private_key=pki.server_key, client_ca=pki.root_cert
    )
    kwargs = server_ssl_kwargs(tls)
    assert kwargs["ssl_cert_reqs"] == ssl.CERT_REQUIRED
    assert kwargs["ssl_ca_certs"] == str(pki.root_cert)


def test_context_factory_raises_the_floor(pki: PkiFiles) -> None:
    kwargs = server_ssl_kwargs(TlsSettings(certificate=pki.server_cert, private_key=pki.server_key))

    def default() -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
        return context

    context = kwargs["ssl_context_factory"](None, default)
    assert context.minimum_version == ssl.TLSVersion.TLSv1_2
    assert context.options & ssl.OP_NO_COMPRESSION


@pytest.mark.parametrize("key", ["certificate", "private_key", "client_ca"])
def test_unreadable_files_name_the_key(pki: PkiFiles, tmp_path: Path, key: str) -> None:
    paths = {
        "certificate": pki.server_cert,
        "private_key": pki.server_key,
        "client_ca": pki.root_cert,
    }
    paths[key] = tmp_path / "missing.pem"
    with pytest.raises(ConfigError, match=f"tls.{key}: cannot read .*missing.pem"):
        server_ssl_kwargs(TlsSettings(**paths))


def test_client_context(pki: PkiFiles) -> None:
    context = client_ssl_context(pki.root_cert, pki.client_cert, pki.client_key)
    assert context.minimum_version == ssl.TLSVersion.TLSv1_2
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert len(context.get_ca_certs()) == 1


def test_client_context_rejects_a_key_alone(pki: PkiFiles) -> None:
    with pytest.raises(ValueError, match="without its certificate"):
        client_ssl_context(pki.root_cert, key=pki.client_key)


def test_harden_keeps_only_aead_suites() -> None:
    context = harden(ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT))
    tls12 = [c for c in context.get_ciphers() if c["protocol"] == "TLSv1.2"]
    assert tls12 and all(c["aead"] for c in tls12)
    assert all(c["kea"] in {"kx-ecdhe", "kx-dhe"} for c in tls12)
