"""A bounded hand-off from pynetdicom's threads to an asyncio consumer.

The producer blocks while the queue is full, which holds the C-STORE response and so slows the
PACS down (backpressure) instead of buffering a whole series in memory. When the consumer goes
away the producer is told (``put`` returns False) and never blocks forever.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")

_POLL_SECONDS = 0.2


class Channel(Generic[T]):
    """Items cross from threads to the loop without waiting for it while there is room.

    A producer takes a slot (blocking only when ``maxsize`` items are waiting) and schedules the
    hand-off on the loop; it never waits for the loop to run. Waiting for the loop on every item
    (``run_coroutine_threadsafe(...).result()``) held each C-STORE response until the event loop
    was free, which doubled the time to stream a series (bench/RESULTS.md).
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, maxsize: int = 16) -> None:
        self._loop = loop
        self._queue: asyncio.Queue[T] = asyncio.Queue()  # bounded by the slots below
        self._slots = threading.Semaphore(maxsize)
        self._closed = threading.Event()

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    def put(self, item: T) -> bool:
        """Called from a worker thread: wait for room; False if the consumer has gone."""
        while not self._slots.acquire(timeout=_POLL_SECONDS):
            if self._closed.is_set():
                return False
        if self._closed.is_set():
            self._slots.release()
            return False
        try:
            self._loop.call_soon_threadsafe(self._queue.put_nowait, item)
        except RuntimeError:  # event loop closed
            self._closed.set()
            return False
        return True

    async def get(self) -> T:
        item = await self._queue.get()
        self._slots.release()
        return item

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
