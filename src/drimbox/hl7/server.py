"""Asyncio MLLP server: frames in, handler, ACK frames out.

Each connection is served by its own task and handles its messages one after the other (HL7
original-mode acknowledgement is synchronous per connection: the sender waits for the ACK before
the next message); connections run concurrently. The handler owns the business decision (store,
then build AA/AE/AR); the server only guarantees that every complete frame gets exactly one ACK:

* a handler exception becomes an ``AE`` NACK (ERR-3 207) built from the raw message's MSH;
* a frame over ``max_message_bytes`` gets an ``AR`` NACK built from its first bytes;
* a frame still incomplete when the peer closes the connection is logged and dropped: there is
  nobody left to acknowledge it, and the sender, having no ACK, must resend it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from types import TracebackType

from drimbox.hl7.ack import AckCode, build_ack
from drimbox.hl7.message import ErrorCode, Hl7ParseError
from drimbox.hl7.mllp import DEFAULT_MAX_MESSAGE_BYTES, FrameTooLarge, MllpDecoder, encode_frame

log = logging.getLogger(__name__)

Handler = Callable[[bytes], Awaitable[bytes]]
_READ_CHUNK = 256 * 1024


class MllpServer:
    """Listen on ``host:port`` (port 0 = any free port; see :attr:`port` once started)."""

    def __init__(
        self,
        handler: Handler,
        host: str = "127.0.0.1",
        port: int = 2575,
        max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
        *,
        idle_timeout: float | None = None,
    ) -> None:
        self.handler = handler
        self.host = host
        self.requested_port = port
        self.max_message_bytes = max_message_bytes
        self.idle_timeout = idle_timeout
        self.messages_handled = 0
        self.truncated_at_eof = 0
        self._server: asyncio.Server | None = None
        self._connections: dict[asyncio.Task[None], asyncio.StreamWriter] = {}

    @property
    def port(self) -> int:
        if self._server is None or not self._server.sockets:
            raise RuntimeError("server not started")
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    async def start(self) -> None:
        self._server = await asyncio.start_server(
            self._on_connection, self.host, self.requested_port, limit=_READ_CHUNK
        )
        log.info("MLLP listening on %s:%d", self.host, self.port)

    async def serve_forever(self) -> None:
        if self._server is None:
            await self.start()
        assert self._server is not None
        await self._server.serve_forever()

    async def stop(self, grace: float = 5.0) -> None:
        """Stop listening, close the open connections, wait ``grace`` s for handlers to end."""
        if self._server is not None:
            self._server.close()
        for writer in list(self._connections.values()):
            writer.close()  # the reader sees EOF; a handler in progress finishes its message
        tasks = list(self._connections)
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=grace)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> MllpServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def _on_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections[task] = writer
        peer = writer.get_extra_info("peername")
        decoder = MllpDecoder(self.max_message_bytes)
        try:
            while True:
                if self.idle_timeout is None:
                    chunk = await reader.read(_READ_CHUNK)
                else:
                    chunk = await asyncio.wait_for(reader.read(_READ_CHUNK), self.idle_timeout)
                if not chunk:
                    break
                for item in decoder.feed(chunk):
                    writer.write(encode_frame(await self._answer(item, peer)))
                    await writer.drain()
            if decoder.pending_bytes:
                self.truncated_at_eof += 1
                log.warning(
                    "MLLP %s closed inside a frame: %d bytes dropped, no ACK possible",
                    peer,
                    decoder.pending_bytes,
                )
        except TimeoutError:
            log.info("MLLP %s idle for %ss, closing", peer, self.idle_timeout)
        except (ConnectionError, OSError) as exc:
            log.info("MLLP %s connection lost: %s", peer, exc)
        except asyncio.CancelledError:
            # Only stop() cancels these tasks; ending quietly keeps asyncio from logging it.
            log.info("MLLP %s connection cancelled by shutdown", peer)
        finally:
            if decoder.discarded_bytes:
                log.info("MLLP %s: %d bytes outside frames ignored", peer, decoder.discarded_bytes)
            writer.close()
            with contextlib.suppress(ConnectionError, OSError, asyncio.CancelledError):
                await writer.wait_closed()
            self._connections.pop(task, None)

    async def _answer(self, item: bytes | FrameTooLarge, peer: object) -> bytes:
        if isinstance(item, FrameTooLarge):
            log.warning("MLLP %s sent a frame over %d bytes; rejected", peer, item.limit)
            error = Hl7ParseError(
                ErrorCode.APPLICATION_INTERNAL_ERROR,
                f"message larger than the {item.limit}-byte limit; not processed",
            )
            return build_ack(item.head, AckCode.REJECT, error=error)
        self.messages_handled += 1
        try:
            ack = await self.handler(item)
        except Exception as exc:  # the connection must survive any handler failure
            log.exception("MLLP handler failed for a message from %s", peer)
            error = Hl7ParseError(
                ErrorCode.APPLICATION_INTERNAL_ERROR,
                f"internal error while processing the message ({type(exc).__name__}); "
                "it was not stored, please resend later",
            )
            return build_ack(item, AckCode.ERROR, error=error)
        if not ack:
            error = Hl7ParseError(
                ErrorCode.APPLICATION_INTERNAL_ERROR, "no acknowledgement produced"
            )
            return build_ack(item, AckCode.ERROR, error=error)
        return ack
