"""The inbox workers: claim a message, run the workflow, record how it ended.

At start, messages left ``processing`` by a dead process are queued again (``recover_stale``);
then ``workers`` tasks claim messages one at a time, oldest first. A newly stored message wakes
them at once (:meth:`Processor.wake`); otherwise they sleep until the next retry is due, polling
at most every ``idle_poll`` seconds (another process may share the database). Stopping lets the
message in hand finish for ``grace`` seconds; one cut short stays ``processing`` and is recovered
at the next start, so nothing is lost and nothing is recorded twice.

Test hook (documented in docs/source-ingestion.md): ``DRIMBOX_TEST_PROCESSING_DELAY=<seconds>``
sleeps that long after each claim, so a test can kill the process while a message is in hand.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Awaitable, Callable
from datetime import datetime

from drimbox.source.inbox import ClaimedMessage, Inbox, LostClaim
from drimbox.source.workflow.errors import Outcome, Reject, Retry
from drimbox.store.models import utcnow

log = logging.getLogger(__name__)

Run = Callable[[ClaimedMessage], Awaitable[Outcome]]
INTERNAL_ERROR = "internal-error"
TEST_DELAY_ENV = "DRIMBOX_TEST_PROCESSING_DELAY"
_ERROR_PAUSE = 1.0  # after an inbox (database) error, so that a failing DB is not hammered


def _test_delay() -> float:
    value = os.environ.get(TEST_DELAY_ENV, "")
    try:
        return max(0.0, float(value)) if value else 0.0
    except ValueError:
        return 0.0


class Processor:
    """Runs ``run`` on every due inbox message with ``workers`` concurrent tasks."""

    def __init__(self, inbox: Inbox, run: Run, *, workers: int = 1, idle_poll: float = 5.0) -> None:
        self.inbox = inbox
        self.run = run
        self.workers = workers
        self.idle_poll = idle_poll
        self.processed = 0
        self._wake = asyncio.Event()
        self._stopping = False
        self._tasks: list[asyncio.Task[None]] = []
        self._delay = _test_delay()

    def wake(self) -> None:
        """A message was stored: look for work now instead of at the next poll."""
        self._wake.set()

    async def start(self) -> None:
        recovered = await self.inbox.recover_stale()
        if recovered:
            log.warning("%d message(s) interrupted by a previous stop will be processed", recovered)
        self._stopping = False
        self._tasks = [
            asyncio.create_task(self._worker(), name=f"inbox-worker-{n}")
            for n in range(self.workers)
        ]

    async def stop(self, grace: float = 10.0) -> None:
        self._stopping = True
        self._wake.set()
        if not self._tasks:
            return
        _, pending = await asyncio.wait(self._tasks, timeout=grace)
        for task in pending:
            task.cancel()
        for task in pending:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []

    async def _worker(self) -> None:
        while not self._stopping:
            self._wake.clear()
            try:
                claim = await self.inbox.claim_next()
            except Exception:
                log.exception("inbox: cannot claim a message")
                await asyncio.sleep(_ERROR_PAUSE)
                continue
            if claim is None:
                await self._idle()
                continue
            if self._delay:
                await asyncio.sleep(self._delay)
            await self.handle(claim)

    async def _idle(self) -> None:
        timeout = self.idle_poll
        with contextlib.suppress(Exception):
            due: datetime | None = await self.inbox.next_due_at()
            if due is not None:
                timeout = min(timeout, max(0.0, (due - utcnow()).total_seconds()) + 0.01)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout)

    async def handle(self, claim: ClaimedMessage) -> None:
        """Run one claimed message and record its outcome (never raises, except cancel)."""
        try:
            try:
                outcome = await self.run(claim)
            except Retry as exc:
                await self.inbox.mark_retry(claim, exc.code, exc.reason)
            except Reject as exc:
                await self.inbox.mark_failed(claim, exc.code, exc.reason)
            except LostClaim:
                raise
            except Exception as exc:
                log.exception("inbox: message #%d failed unexpectedly", claim.id)
                reason = f"unexpected {type(exc).__name__}: {exc}"
                await self.inbox.mark_retry(claim, INTERNAL_ERROR, reason[:2000])
            else:
                if outcome.duplicate:
                    await self.inbox.mark_duplicate(claim, outcome.note, kos_id=outcome.kos_id)
                else:
                    await self.inbox.mark_done(claim, kos_id=outcome.kos_id)
                    log.info("inbox: message #%d done (KOS #%s)", claim.id, outcome.kos_id)
            self.processed += 1
        except LostClaim as exc:
            log.warning("inbox: %s", exc)
        except Exception:
            log.exception("inbox: cannot record the outcome of message #%d", claim.id)
