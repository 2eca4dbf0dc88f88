"""A bounded hand-off from pynetdicom's threads to an asyncio consumer.

The producer blocks while the queue is full, which holds the C-STORE response and so slows the
PACS down (backpressure) instead of buffering a whole series in memory. When the consumer goes
away the producer is told (``put`` returns False) and never blocks forever.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")

_POLL_SECONDS = 0.2


class Channel(Generic[T]):
    def __init__(self, loop: asyncio.AbstractEventLoop, maxsize: int = 16) -> None:
        self._loop = loop
        self._queue: asyncio.Queue[T] = asyncio.Queue(maxsize)
        self._closed = threading.Event()

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    def put(self, item: T) -> bool:
        """Called from a worker thread: wait for room; False if the consumer has gone."""
        if self._closed.is_set():
            return False
        try:
            future = asyncio.run_coroutine_threadsafe(self._queue.put(item), self._loop)
        except RuntimeError:  # event loop closed
            self._closed.set()
            return False
        while True:
            try:
                future.result(timeout=_POLL_SECONDS)
                return True
            except concurrent.futures.TimeoutError:
                if self._closed.is_set():
                    future.cancel()
                    return False
            except concurrent.futures.CancelledError:
                return False

    async def get(self) -> T:
        return await self._queue.get()

    def close(self) -> None:
        """Called by the consumer: producers stop waiting and their next put returns False."""
        self._closed.set()


async def in_thread(function: Callable[[], T], name: str = "dimse") -> T:
    """Run a blocking pynetdicom call in a thread of its own.

    The default executor has only a handful of workers; DIMSE calls can wait for minutes, so
    sharing it would let slow PACS starve everybody else.
    """
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def settle(result: T | None, error: BaseException | None) -> None:
        if future.done():
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)  # type: ignore[arg-type]

    def run() -> None:
        try:
            result = function()
        except BaseException as exc:
            _notify(loop, settle, None, exc)
        else:
            _notify(loop, settle, result, None)

    threading.Thread(target=run, name=name, daemon=True).start()
    return await future


def _notify(loop: asyncio.AbstractEventLoop, callback: Callable[..., None], *args: object) -> None:
    with contextlib.suppress(RuntimeError):  # loop closed: the caller has gone
        loop.call_soon_threadsafe(callback, *args)
