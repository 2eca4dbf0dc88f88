"""TLS settings for our listener (uvicorn) and our HTTP clients (httpx): TLS 1.2 minimum.

Server: uvicorn builds the ``SSLContext`` itself from its ``ssl_*`` arguments;
:func:`server_ssl_kwargs` gives them, and a context factory that raises the minimum protocol to
TLS 1.2. Belt and braces, the TLS 1.2 cipher list only holds AEAD suites, which TLS ≤ 1.1 cannot
use. With ``tls.client_ca`` set, uvicorn requires and verifies a client certificate (mutual TLS)
against it during the handshake; uvicorn does not pass the certificate on to the application, so
authorisation by client DN needs the reverse-proxy set-up described in docs/security.md.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable
from pathlib import Path
from typing import Any

import uvicorn

from drimbox.config import TlsSettings
from drimbox.errors import ConfigError

MINIMUM_VERSION = ssl.TLSVersion.TLSv1_2

TLS12_CIPHERS = "ECDHE+AESGCM:ECDHE+CHACHA20:DHE+AESGCM:DHE+CHACHA20:!aNULL:!eNULL"
"""Forward-secret AEAD suites only (TLS 1.3 suites are configured apart by OpenSSL)."""


def harden(context: ssl.SSLContext) -> ssl.SSLContext:
    """Apply our floor to any context: TLS ≥ 1.2, AEAD ciphers, no TLS compression."""
    context.minimum_version = MINIMUM_VERSION
    context.set_ciphers(TLS12_CIPHERS)
    context.options |= ssl.OP_NO_COMPRESSION
    return context


def _hardened_factory(
    config: uvicorn.Config, default_factory: Callable[[], ssl.SSLContext]
) -> ssl.SSLContext:
    return harden(default_factory())


def server_ssl_kwargs(tls: TlsSettings) -> dict[str, Any]:
    """uvicorn ``Config``/``run`` keyword arguments for ``settings.tls``.

    ``{}`` means plain HTTP, which needs ``tls.allow_plain_http = true``; otherwise a missing
    certificate is a ConfigError, as is any configured file that cannot be read.
    """
    if tls.certificate is None or tls.private_key is None:
        if tls.allow_plain_http:
            return {}
        raise ConfigError(
            "tls.certificate and tls.private_key are required "
            "(set tls.allow_plain_http = true to serve plain HTTP on purpose)"
        )
    _check_readable("tls.certificate", tls.certificate)
    _check_readable("tls.private_key", tls.private_key)
    kwargs: dict[str, Any] = {
        "ssl_certfile": str(tls.certificate),
        "ssl_keyfile": str(tls.private_key),
        "ssl_ciphers": TLS12_CIPHERS,
        "ssl_context_factory": _hardened_factory,
    }
    if tls.client_ca is not None:
        _check_readable("tls.client_ca", tls.client_ca)
        kwargs |= {"ssl_ca_certs": str(tls.client_ca), "ssl_cert_reqs": ssl.CERT_REQUIRED}
    return kwargs


def client_ssl_context(
    ca: Path | None, cert: Path | None = None, key: Path | None = None
) -> ssl.SSLContext:
    """A client context for httpx (``verify=``): verify the server against ``ca`` (system trust
    store when None) with host-name checking, and present ``cert``/``key`` for mutual TLS."""
    context = ssl.create_default_context(cafile=str(ca) if ca is not None else None)
    harden(context)
    if cert is not None:
        context.load_cert_chain(str(cert), str(key) if key is not None else None)
    elif key is not None:
        raise ValueError("a client key without its certificate")
    return context


def _check_readable(key: str, path: Path) -> None:
    try:
        with path.open("rb") as handle:
            handle.read(1)
    except OSError as exc:
        raise ConfigError(f"{key}: cannot read {path}: {exc.strerror}") from None
