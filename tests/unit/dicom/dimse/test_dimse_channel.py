"""The thread → asyncio hand-off: order, backpressure, and a consumer that leaves."""

import asyncio
import threading

import pytest

from drimbox.dicom.dimse.channel import Channel, in_thread


async def test_items_arrive_in_order_with_a_bounded_queue() -> None:
    channel: Channel[int] = Channel(asyncio.get_running_loop(), maxsize=2)
    produced: list[bool] = []
    thread = threading.Thread(target=lambda: produced.extend(channel.put(i) for i in range(10)))
    thread.start()
    received = [await channel.get() for _ in range(10)]
    await asyncio.to_thread(thread.join)
    assert received == list(range(10))
    assert produced == [True] * 10


def test_a_producer_with_room_never_waits_for_the_event_loop() -> None:
    """Each C-STORE response waited for a free event loop before (bench/RESULTS.md): with room
    in the queue, put returns at once even while the loop is not running at all."""
    loop = asyncio.new_event_loop()
    try:
        channel: Channel[int] = Channel(loop, maxsize=3)
        done = threading.Event()
        results: list[bool] = []

        def produce() -> None:
            results.extend(channel.put(i) for i in range(3))
            done.set()

        threading.Thread(target=produce, daemon=True).start()
        assert done.wait(5), "put waited for the (stopped) event loop"
        assert results == [True, True, True]
        received = [loop.run_until_complete(channel.get()) for _ in range(3)]
        assert received == [0, 1, 2]
    finally:
        loop.close()


async def test_producer_blocked_on_a_full_queue_is_released_by_close() -> None:
    channel: Channel[int] = Channel(asyncio.get_running_loop(), maxsize=1)
    results: list[bool] = []
    second_put_started = threading.Event()

    def produce() -> None:
        results.append(channel.put(1))
        second_put_started.set()
        results.append(channel.put(2))  # blocks: the queue is full

    thread = threading.Thread(target=produce)
    thread.start()
    await asyncio.to_thread(second_put_started.wait, 10)
    channel.close()
    await asyncio.to_thread(thread.join, 10)
    assert not thread.is_alive()
    assert results == [True, False]
    assert channel.put(3) is False


async def test_in_thread_returns_and_raises() -> None:
    assert await in_thread(lambda: threading.current_thread().name, "worker") == "worker"

    def fail() -> None:
        raise LookupError("boom")

    with pytest.raises(LookupError, match="boom"):
        await in_thread(fail)
