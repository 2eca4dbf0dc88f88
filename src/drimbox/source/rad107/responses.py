"""Streaming ``multipart/related`` responses of DICOM instances, audited when they end."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator
from typing import Any

from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from drimbox.dicom.multipart import Part, dicom_part_type, write_multipart

from . import audit as au
from .access import Access
from .retrieval import OutPart

log = logging.getLogger(__name__)


class MultipartResponse(StreamingResponse):
    """Makes sure the part generator is closed (PACS retrieve cancelled) when the client goes:
    Starlette cancels the send, which may leave the generator suspended at a ``yield``."""

    def __init__(
        self, body: AsyncIterator[bytes], closer: AsyncGenerator[Any, None], **kwargs: Any
    ) -> None:
        super().__init__(body, **kwargs)
        self._closer = closer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            close_soon(self._closer)


_closing: set[asyncio.Task[None]] = set()


def close_soon(generator: AsyncGenerator[Any, None]) -> None:
    """``aclose()`` in a task of its own (the current one may be cancelled)."""

    async def close() -> None:
        with contextlib.suppress(RuntimeError):
            await generator.aclose()

    task = asyncio.get_running_loop().create_task(close())
    _closing.add(task)
    task.add_done_callback(_closing.discard)


def instances_body(
    parts: AsyncIterable[OutPart], boundary: str, access: Access, summary: object
) -> AsyncIterator[bytes]:
    """The encoded body; the audit row is written when it ends (``str(summary)`` then, so it
    can count what was sent), or says how far it got when it breaks off."""

    async def encoded() -> AsyncIterator[Part]:
        async for part in parts:
            yield Part(dicom_part_type(part.syntax), part.data)

    async def body() -> AsyncIterator[bytes]:
        sent = 0
        try:
            async for chunk in write_multipart(encoded(), boundary):
                sent += 1
                yield chunk
        except Exception as exc:
            # Headers are gone: abort without the close delimiter so the client sees it.
            log.error("RAD-107 %s aborted mid-stream: %s", access.object_id, exc)
            access.record(au.FAILURE, f"aborted after {sent // 2} part(s): {exc}")
            raise
        except BaseException:
            access.record(au.FAILURE, f"client gone after {sent // 2} part(s)")
            raise
        access.record(au.SUCCESS, f"HTTP 200, {summary}")

    return body()
