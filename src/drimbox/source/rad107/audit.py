"""Audit of every RAD-107 access, granted or refused: who (token subject), when, what, outcome.

Rows are written in their own transaction through :func:`drimbox.store.audit.record_audit`, from
a task of their own: the end of a stream may run inside a cancelled request (client gone), where
any await would be interrupted, and a slow database must not delay the images.
"""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from drimbox.store.audit import DENIED, FAILURE, SUCCESS, record_audit

log = logging.getLogger(__name__)

ANONYMOUS = "anonymous"
RETRIEVE_SERIES = "rad107.retrieve.series"
RETRIEVE_INSTANCE = "rad107.retrieve.instance"
METADATA = "rad107.metadata.series"
RETRIEVE_STUDY = "rad107.retrieve.study"
RETRIEVE_FRAMES = "rad107.retrieve.frames"
RETRIEVE_BULK = "rad107.retrieve.bulk"

__all__ = [
    "ANONYMOUS",
    "DENIED",
    "FAILURE",
    "METADATA",
    "RETRIEVE_BULK",
    "RETRIEVE_FRAMES",
    "RETRIEVE_STUDY",
    "SUCCESS",
    "AccessAudit",
]


def object_id(
    study_uid: str, series_uid: str | None = None, sop_uid: str | None = None, extra: str = ""
) -> str:
    """``study[/series[/instance]][/extra]``: what was asked for (UIDs are ≤ 64 characters
    each; ``extra`` is the frame list or bulk tag, cut to keep the column bounded)."""
    parts = [study_uid] + [p for p in (series_uid, sop_uid) if p]
    return "/".join([p[:64] for p in parts] + ([extra[:40]] if extra else []))


class AccessAudit:
    """Writes audit rows in the background; :meth:`drain` waits for the pending ones."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        self._pending: set[asyncio.Task[None]] = set()

    def record(self, *, actor: str, action: str, object_id: str, outcome: str, detail: str) -> None:
        """Queue one audit row (never raises: a failed audit write is logged as an error)."""
        task = asyncio.get_running_loop().create_task(
            self._write(actor[:256], action, object_id[:256], outcome, detail)
        )
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _write(
        self, actor: str, action: str, object_id: str, outcome: str, detail: str
    ) -> None:
        try:
            async with self._sessions.begin() as session:
                await session.run_sync(
                    lambda s: record_audit(
                        s,
                        actor=actor,
                        action=action,
                        object_id=object_id,
                        outcome=outcome,
                        detail=detail,
                    )
                )
        except Exception:
            log.exception("audit row lost: %s %s %s %s", actor, action, object_id, outcome)

    async def drain(self) -> None:
        """Wait until every queued row is written (tests, shutdown)."""
        while self._pending:
            await asyncio.gather(*list(self._pending), return_exceptions=True)
