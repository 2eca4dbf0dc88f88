"""What every workflow step needs: the archive, the inbox, the PACS client and the settings."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from drimbox.config import Settings
from drimbox.dicom.dimse import DimseClient
from drimbox.source.archive import KosArchive, KosRecord
from drimbox.source.inbox import Inbox


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).astimezone()


@dataclass
class StudyLocks:
    """One asyncio lock per study: two workers never build or change the KOS of one study at
    the same time (a NEW and its REPLACE, or one message re-run after a recovery)."""

    _locks: dict[str, tuple[asyncio.Lock, int]] = field(default_factory=dict)

    @asynccontextmanager
    async def hold(self, study_uid: str) -> AsyncIterator[None]:
        lock, users = self._locks.get(study_uid, (asyncio.Lock(), 0))
        self._locks[study_uid] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[study_uid]
            if users == 1:  # forget idle locks: one per study would grow without bound
                del self._locks[study_uid]
            else:
                self._locks[study_uid] = (lock, users - 1)


@dataclass
class WorkflowContext:
    settings: Settings
    archive: KosArchive
    inbox: Inbox
    dimse: DimseClient
    clock: Callable[[], dt.datetime] = _now
    locks: StudyLocks = field(default_factory=StudyLocks)
    # Told of every KOS version archived (the service warms the RAD-107 cache from it); it
    # must not block: it schedules its work and returns.
    on_archived: Callable[[KosRecord], None] | None = None
