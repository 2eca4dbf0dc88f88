"""The HTTP client of the kit's client simulators: server verified, optional client certificate."""

from __future__ import annotations

from pathlib import Path

import httpx

from drimbox.trust.tls import client_ssl_context


def make_client(
    *,
    ca: Path | None = None,
    cert: Path | None = None,
    key: Path | None = None,
    timeout: float = 120.0,
) -> httpx.AsyncClient:
    """An AsyncClient verifying https servers against ``ca`` (system store when None), with
    ``cert``/``key`` presented for mutual TLS. Plain http URLs work too (loopback tests)."""
    context = client_ssl_context(ca, cert, key)
    return httpx.AsyncClient(verify=context, timeout=httpx.Timeout(timeout, connect=10.0))


def transport_error(exc: httpx.HTTPError) -> str:
    """A one-line reason for a failed exchange (no response at all)."""
    kind = type(exc).__name__
    return f"{kind}: {exc}" if str(exc) else kind
