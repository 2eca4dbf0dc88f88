"""Run an ASGI app with uvicorn, with the TLS / mutual-TLS settings of ``settings.tls``.

``serve(app, settings)`` runs until cancelled (what ``drimbox source serve`` calls);
:class:`BackgroundServer` starts the same server on an event-loop task and stops it on demand
(embedding, tests). The listening socket is bound here, so ``http_port = 0`` works and the
bound port is known before the first request. HTTPS is the default; plain HTTP only with
``tls.allow_plain_http = true`` (see :func:`drimbox.trust.tls.server_ssl_kwargs`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from typing import Any

import uvicorn

from drimbox.config import Settings
from drimbox.trust.tls import server_ssl_kwargs

log = logging.getLogger(__name__)

START_TIMEOUT = 20.0


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket (IPv6 when ``host`` contains a colon)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((host, port))
    listener.listen(2048)
    listener.setblocking(False)
    return listener


def server_config(app: Any, settings: Settings) -> uvicorn.Config:
    """The uvicorn configuration: TLS from ``settings.tls``, our logging left alone."""
    return uvicorn.Config(
        app,
        log_config=None,
        log_level=settings.log_level.lower(),
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=5,
        **server_ssl_kwargs(settings.tls),
    )


async def serve(app: Any, settings: Settings) -> None:
    """Serve ``app`` on ``source.http_host:http_port`` until cancelled."""
    server = BackgroundServer(app, settings)
    await server.start()
    try:
        await server.wait()
    finally:
        await server.stop()


class BackgroundServer:
    """uvicorn on a task of the running loop: ``await start()`` → :attr:`base_url`."""

    def __init__(self, app: Any, settings: Settings) -> None:
        self.config = server_config(app, settings)
        self.host = settings.source.http_host
        self._port = settings.source.http_port
        self._server = uvicorn.Server(self.config)
        self._socket: socket.socket | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def port(self) -> int:
        if self._socket is None:
            raise RuntimeError("the server is not started")
        port: int = self._socket.getsockname()[1]
        return port

    @property
    def base_url(self) -> str:
        scheme = "https" if self.config.is_ssl else "http"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{host}:{self.port}"

    async def start(self) -> None:
        """Bind, start serving; raise RuntimeError if uvicorn does not come up."""
        self._socket = bind(self.host, self._port)
        self._task = asyncio.create_task(self._server.serve(sockets=[self._socket]))
        deadline = asyncio.get_running_loop().time() + START_TIMEOUT
        while not self._server.started:
            if self._task.done():
                self._socket.close()
                error = self._task.exception() if not self._task.cancelled() else None
                raise RuntimeError(f"the web server did not start: {error or 'exited'}")
            if asyncio.get_running_loop().time() > deadline:
                await self.stop()
                raise RuntimeError(f"the web server did not start within {START_TIMEOUT:g} s")
            await asyncio.sleep(0.01)
        log.info("serving on %s", self.base_url)

    async def wait(self) -> None:
        if self._task is not None:
            await asyncio.shield(self._task)

    async def stop(self) -> None:
        """Graceful shutdown (open streams get ``timeout_graceful_shutdown`` seconds)."""
        self._server.should_exit = True
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._socket is not None:
            self._socket.close()
