"""Run any ASGI app with a real uvicorn server on 127.0.0.1, in a background thread.

The listening socket is bound here (port 0 → a free port, no probe-then-bind race) and handed to
uvicorn; ``ssl_kwargs`` are uvicorn ``Config`` arguments, e.g. from
:func:`drimbox.trust.tls.server_ssl_kwargs`.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import uvicorn

START_TIMEOUT = 20.0
STOP_TIMEOUT = 20.0


@dataclass(frozen=True)
class RunningServer:
    base_url: str
    host: str
    port: int
    server: uvicorn.Server


@contextmanager
def serve_asgi(app: Any, *, ssl_kwargs: Mapping[str, Any] | None = None) -> Iterator[RunningServer]:
    """Serve ``app`` until the block ends; yield its base URL (http:// or https://)."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    port: int = listener.getsockname()[1]
    config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=2,
        **dict(ssl_kwargs or {}),
    )
    server = uvicorn.Server(config)
    failure: list[BaseException] = []

    def run() -> None:
        try:
            server.run(sockets=[listener])
        except BaseException as exc:  # SystemExit on start-up failure included
            failure.append(exc)

    thread = threading.Thread(target=run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + START_TIMEOUT
    while not server.started:
        if failure or not thread.is_alive():
            listener.close()
            raise RuntimeError(f"uvicorn did not start: {failure[0] if failure else 'exited'}")
        if time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError(f"uvicorn did not start within {START_TIMEOUT} s")
        time.sleep(0.01)
    scheme = "https" if config.is_ssl else "http"
    try:
        yield RunningServer(f"{scheme}://127.0.0.1:{port}", "127.0.0.1", port, server)
    finally:
        server.should_exit = True
        thread.join(STOP_TIMEOUT)
        listener.close()
        if thread.is_alive():
            raise RuntimeError(f"uvicorn on port {port} did not stop within {STOP_TIMEOUT} s")
