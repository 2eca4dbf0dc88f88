"""Per-study locks: one study at a time, others in parallel, nothing kept once idle."""

from __future__ import annotations

import asyncio

from drimbox.source.workflow.context import StudyLocks


async def test_same_study_is_serialised_and_idle_locks_are_forgotten() -> None:
    locks = StudyLocks()
    order: list[str] = []

    async def work(study: str, name: str, hold: asyncio.Event | None = None) -> None:
        async with locks.hold(study):
            order.append(f"{name}+")
            if hold is not None:
                await hold.wait()
            order.append(f"{name}-")

    release = asyncio.Event()
    first = asyncio.create_task(work("s1", "a", release))
    await asyncio.sleep(0)
    second = asyncio.create_task(work("s1", "b"))
    other = asyncio.create_task(work("s2", "c"))
    await other
    assert order == ["a+", "c+", "c-"]
    release.set()
    await asyncio.gather(first, second)
    assert order[3:] == ["a-", "b+", "b-"]
    assert locks._locks == {}
