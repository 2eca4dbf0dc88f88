"""Persistence of IOCM rejection notes (table ``source_iocm_note``, migration 0003).

A note is committed before its C-STORE is acknowledged (the SCP thread uses the synchronous
engine), then settled by the asynchronous processor. A claim is a lease: the note's
``next_attempt_at`` is pushed forward while a worker is on it, so another worker (or process)
skips it, and a crash simply lets the lease expire and the note become due again.

Life of a note::

    pending ──► applied | not_applied | ignored | failed
       ▲  │
       └──┘  PACS unavailable / timeout: postponed with back-off
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError

from drimbox.errors import DrimboxError
from drimbox.source.iocm_note import RejectedInstance, RejectionNote
from drimbox.store.db import Database
from drimbox.store.models import IOCM_STATUSES, IocmNote, utcnow

PENDING: Final = "pending"
APPLIED: Final = "applied"
NOT_APPLIED: Final = "not_applied"
IGNORED: Final = "ignored"
FAILED: Final = "failed"
SETTLED: Final = frozenset({APPLIED, NOT_APPLIED, IGNORED, FAILED})

_N = IocmNote


class IocmStoreError(DrimboxError):
    """A request about IOCM notes that cannot be honoured (unknown note, bad filter)."""

    http_status = 400


@dataclass(frozen=True, slots=True)
class IocmRecord:
    """One stored note (without its bytes)."""

    id: int
    received_at: datetime
    calling_ae: str
    peer: str
    sop_instance_uid: str
    study_instance_uid: str
    title_code: str
    title_meaning: str
    rejected: tuple[RejectedInstance, ...]
    status: str
    attempts: int
    next_attempt_at: datetime | None
    outcome: str
    kos_ids: tuple[int, ...]
    updated_at: datetime

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["rejected"] = [asdict(item) for item in self.rejected]
        data["kos_ids"] = list(self.kos_ids)
        return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in data.items()}


def _record(row: IocmNote) -> IocmRecord:
    return IocmRecord(
        id=row.id,
        received_at=row.received_at,
        calling_ae=row.calling_ae,
        peer=row.peer,
        sop_instance_uid=row.sop_instance_uid,
        study_instance_uid=row.study_instance_uid,
        title_code=row.title_code,
        title_meaning=row.title_meaning,
        rejected=tuple(RejectedInstance(**item) for item in json.loads(row.rejected)),
        status=row.status,
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        outcome=row.outcome,
        kos_ids=tuple(json.loads(row.kos_ids)),
        updated_at=row.updated_at,
    )


class IocmStore:
    """Notes over one database: sync ``add`` for the SCP thread, async for the processor."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def add(
        self,
        note: RejectionNote,
        raw: bytes,
        *,
        calling_ae: str = "",
        peer: str = "",
        now: datetime | None = None,
    ) -> tuple[int, bool]:
        """Commit a received note; return (id, duplicate). A note sent again is kept once."""
        now = now or utcnow()
        try:
            with self.database.session() as session:
                row = IocmNote(
                    received_at=now,
                    calling_ae=calling_ae[:16],
                    peer=peer[:256],
                    sop_instance_uid=note.sop_instance_uid,
                    study_instance_uid=note.study_instance_uid,
                    title_code=note.title.value,
                    title_meaning=note.title.meaning,
                    rejected=json.dumps([asdict(i) for i in note.instances]),
                    note_bytes=raw,
                    status=PENDING,
                    attempts=0,
                    next_attempt_at=None,
                    outcome="",
                    kos_ids="[]",
                    updated_at=now,
                )
                session.add(row)
                session.flush()
                return row.id, False
        except IntegrityError:
            with self.database.session() as session:
                found = session.scalar(
                    select(_N.id).where(_N.sop_instance_uid == note.sop_instance_uid)
                )
            if found is None:
                raise
            return found, True

    async def claim_next(
        self, *, now: datetime | None = None, lease: timedelta = timedelta(minutes=5)
    ) -> IocmRecord | None:
        """The oldest due pending note, leased to the caller (one more attempt counted)."""
        now = now or utcnow()
        due = or_(_N.next_attempt_at.is_(None), _N.next_attempt_at <= now)
        sessions = self.database.async_sessions()
        for _ in range(10):  # lost races against other workers: try the next one, boundedly
            async with sessions.begin() as session:
                candidate = await session.scalar(
                    select(_N.id).where(_N.status == PENDING, due).order_by(_N.id).limit(1)
                )
                if candidate is None:
                    return None
                taken = await session.scalar(
                    update(_N)
                    .where(_N.id == candidate, _N.status == PENDING, due)
                    .values(attempts=_N.attempts + 1, next_attempt_at=now + lease, updated_at=now)
                    .returning(_N.id)
                    .execution_options(synchronize_session=False)
                )
                if taken is not None:
                    row = await session.get(_N, taken, populate_existing=True)
                    assert row is not None
                    return _record(row)
        return None

    async def settle(
        self,
        note_id: int,
        status: str,
        outcome: str,
        *,
        kos_ids: tuple[int, ...] = (),
        now: datetime | None = None,
    ) -> IocmRecord:
        """Final outcome of a note (applied, not applied, ignored, failed)."""
        if status not in SETTLED:
            raise IocmStoreError(f"not a final IOCM status: {status!r}")
        values = {"status": status, "outcome": outcome, "kos_ids": json.dumps(list(kos_ids))}
        return await self._update(note_id, {**values, "next_attempt_at": None}, now)

    async def postpone(
        self, note_id: int, outcome: str, next_attempt_at: datetime, *, now: datetime | None = None
    ) -> IocmRecord:
        """Keep the note pending (the PACS could not confirm) until ``next_attempt_at``."""
        values = {"status": PENDING, "outcome": outcome, "next_attempt_at": next_attempt_at}
        return await self._update(note_id, values, now)

    async def _update(
        self, note_id: int, values: dict[str, Any], now: datetime | None
    ) -> IocmRecord:
        async with self.database.async_sessions().begin() as session:
            await session.execute(
                update(_N)
                .where(_N.id == note_id)
                .values(**values, updated_at=now or utcnow())
                .execution_options(synchronize_session=False)
            )
            row = await session.get(_N, note_id, populate_existing=True)
            if row is None:
                raise IocmStoreError(f"no IOCM note #{note_id}")
            return _record(row)

    async def get(self, note_id: int) -> IocmRecord:
        async with self.database.async_sessions()() as session:
            row = await session.get(_N, note_id)
            if row is None:
                raise IocmStoreError(f"no IOCM note #{note_id}")
            return _record(row)

    async def list_notes(
        self, status: str | None = None, *, limit: int = 100, offset: int = 0
    ) -> list[IocmRecord]:
        """Notes newest first, optionally of one status (``drimbox source iocm-pending``)."""
        if status is not None and status not in IOCM_STATUSES:
            raise IocmStoreError(f"unknown IOCM status {status!r} (one of {IOCM_STATUSES})")
        if not 1 <= limit <= 1000 or offset < 0:
            raise IocmStoreError("limit must be 1..1000 and offset not negative")
        query = select(_N)
        if status is not None:
            query = query.where(_N.status == status)
        query = query.order_by(_N.id.desc()).limit(limit).offset(offset)
        async with self.database.async_sessions()() as session:
            return [_record(row) for row in (await session.scalars(query)).all()]
