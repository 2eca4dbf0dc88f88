"""The HL7 inbox: every message is committed here before it is acknowledged, then processed.

Nothing is lost: the MLLP handler sends the ACK only after :meth:`Inbox.store` returned, and the
pipeline works from this table. Nothing is done twice: a re-sent message (same sender, same
MSH-10) is recognised and not stored again, and a worker's claim is exclusive (PostgreSQL:
``FOR UPDATE SKIP LOCKED``; SQLite: one conditional ``UPDATE … RETURNING``, which takes the write
lock). Each method is one short transaction, committed before it returns, so that a crash (even
``kill -9``) at any point leaves a state that :meth:`Inbox.recover_stale` repairs at start-up.

Life of a message::

    received ──claim──► processing ──► done | duplicate | failed
        ▲                 │   ▲
        │  recover_stale  │   └──claim (when due)── retry ◄── mark_retry
        └─────────────────┘

A claim carries a fencing token (the attempt number): a worker whose message was recovered and
claimed again by another worker gets :class:`LostClaim` instead of overwriting its outcome.
Records are returned as frozen dataclasses, never live ORM objects, so they are safe to keep
after the session closed and to hand to another task.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import Update, and_, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import undefer
from sqlalchemy.sql.elements import ColumnElement

from drimbox.errors import DrimboxError
from drimbox.store.models import INBOX_STATUSES, InboxMessage, utcnow

log = logging.getLogger(__name__)

RECEIVED: Final = "received"
PROCESSING: Final = "processing"
DONE: Final = "done"
RETRY: Final = "retry"
FAILED: Final = "failed"
DUPLICATE: Final = "duplicate"

# Error code written when a message was interrupted too often (the process died while on it).
INTERRUPTED: Final = "interrupted"

_M = InboxMessage
_SENDER_KEY: Final = ("sending_application", "sending_facility", "control_id")
_LIMITS: Final = {
    "peer": 256,
    "sending_application": 256,
    "sending_facility": 256,
    "control_id": 199,
    "message_type": 32,
    "version": 16,
    "event_kind": 16,
    "document_id": 256,
    "study_uid": 64,
    "accession": 64,
    "code": 32,
}


class InboxError(DrimboxError):
    """A request to the inbox that cannot be honoured (bad input, unknown message)."""


class InboxStateError(InboxError):
    """The message is not in a state that allows this step (e.g. requeue of a done message)."""


class LostClaim(InboxStateError):
    """This worker no longer owns the message: it was recovered and claimed again meanwhile."""


@dataclass(frozen=True, slots=True)
class MessageMeta:
    """What the MLLP layer knows about a message before parsing it fully (from MSH)."""

    control_id: str
    sending_application: str = ""
    sending_facility: str = ""
    message_type: str = ""
    version: str = ""
    peer: str = ""


@dataclass(frozen=True, slots=True)
class StoredMessage:
    """Outcome of :meth:`Inbox.store`: the row id and whether it was already there.

    For a duplicate, ``id`` is the first copy's and ``same_bytes`` tells whether the sender
    re-sent the identical message (normal after a lost ACK) or reused a control id.
    """

    id: int
    duplicate: bool
    same_bytes: bool = True


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential back-off for transient failures (PACS unavailable or timing out).

    The n-th failed attempt waits ``min(cap, base * factor ** (n - 1))``. ``max_attempts``
    (None = retry for ever) turns the message to ``failed`` once that many attempts failed,
    and also bounds crash loops: a message that keeps killing the process is set aside.
    """

    base: timedelta = timedelta(seconds=30)
    cap: timedelta = timedelta(hours=1)
    factor: float = 2.0
    max_attempts: int | None = None

    def __post_init__(self) -> None:
        if self.base <= timedelta(0) or self.cap < self.base:
            raise ValueError("retry policy: need 0 < base <= cap")
        if self.factor < 1:
            raise ValueError("retry policy: factor must be at least 1")
        if self.max_attempts is not None and self.max_attempts < 1:
            raise ValueError("retry policy: max_attempts must be at least 1")

    def delay(self, attempts: int) -> timedelta:
        """The wait after ``attempts`` failed attempts (1 → base)."""
        if attempts < 1:
            raise ValueError("attempts counts from 1")
        seconds = self.base.total_seconds()
        # Stop multiplying once past the cap: no float overflow after thousands of attempts.
        for _ in range(attempts - 1):
            seconds *= self.factor
            if seconds >= self.cap.total_seconds():
                return self.cap
        return min(self.cap, timedelta(seconds=seconds))

    def exhausted(self, attempts: int) -> bool:
        return self.max_attempts is not None and attempts >= self.max_attempts


@dataclass(frozen=True, slots=True)
class InboxRecord:
    """One inbox row without its bytes: what the administrator sees (DB.SO.47 traces)."""

    id: int
    received_at: datetime
    peer: str
    sending_application: str
    sending_facility: str
    control_id: str
    message_type: str
    version: str
    status: str
    attempts: int
    next_attempt_at: datetime | None
    last_error_code: str
    last_error: str
    event_kind: str
    document_id: str
    study_uid: str
    accession: str
    kos_id: int | None
    claimed_at: datetime | None
    processed_at: datetime | None
    updated_at: datetime

    def as_json(self) -> dict[str, Any]:
        """A JSON-ready dict (ISO 8601 timestamps) for the admin endpoint and the CLI."""
        return {
            key: value.isoformat() if isinstance(value, datetime) else value
            for key, value in asdict(self).items()
        }


@dataclass(frozen=True, slots=True)
class ClaimedMessage:
    """A message this worker now owns: its record, its exact bytes, and the fencing token."""

    record: InboxRecord
    raw: bytes

    @property
    def id(self) -> int:
        return self.record.id

    @property
    def attempt(self) -> int:
        return self.record.attempts


def _record(row: InboxMessage) -> InboxRecord:
    return InboxRecord(**{name: getattr(row, name) for name in InboxRecord.__dataclass_fields__})


def _check_lengths(**values: str) -> None:
    for name, value in values.items():
        if len(value) > _LIMITS[name]:
            raise InboxError(f"inbox {name} longer than {_LIMITS[name]} characters: {value[:40]!r}")


def _check_statuses(statuses: Collection[str]) -> None:
    unknown = set(statuses) - set(INBOX_STATUSES)
    if unknown:
        raise InboxError(f"unknown inbox status {sorted(unknown)} (known: {INBOX_STATUSES})")


def _due(now: datetime) -> ColumnElement[bool]:
    return or_(_M.status == RECEIVED, and_(_M.status == RETRY, _M.next_attempt_at <= now))


def claim_statement(now: datetime) -> Update:
    """One statement that picks the oldest due message and moves it to ``processing``.

    On PostgreSQL the sub-select locks the row it picks and skips rows other workers hold
    (``FOR UPDATE SKIP LOCKED``); SQLite ignores that clause but runs the whole UPDATE under its
    single write lock. The repeated ``due`` condition makes the claim conditional either way.
    """
    pick = (
        select(_M.id)
        .where(_due(now))
        .order_by(_M.id)
        .limit(1)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    return (
        update(_M)
        .where(_M.id == pick, _due(now))
        .values(
            status=PROCESSING,
            attempts=_M.attempts + 1,
            claimed_at=now,
            next_attempt_at=None,
            updated_at=now,
        )
        .returning(_M.id)
    )


class Inbox:
    """The inbox repository over one session factory; every method commits before returning."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], policy: RetryPolicy | None = None
    ) -> None:
        self.sessions = sessions
        self.policy = policy or RetryPolicy()

    async def store(
        self, raw: bytes, meta: MessageMeta, *, now: datetime | None = None
    ) -> StoredMessage:
        """Commit a received message (the ACK may be sent once this returns).

        A second copy with the same (sending application, sending facility, MSH-10) is not
        stored: the first copy's id is returned with ``duplicate=True``.
        """
        if not raw:
            raise InboxError("empty message")
        if not meta.control_id.strip():
            raise InboxError("MSH-10 (message control id) is empty: duplicates cannot be detected")
        _check_lengths(**{name: getattr(meta, name) for name in MessageMeta.__dataclass_fields__})
        now = now or utcnow()
        values = {
            **{name: getattr(meta, name) for name in MessageMeta.__dataclass_fields__},
            "raw": raw,
            "received_at": now,
            "updated_at": now,
            "status": RECEIVED,
            "attempts": 0,
            "last_error_code": "",
            "last_error": "",
            "event_kind": "",
            "document_id": "",
            "study_uid": "",
            "accession": "",
        }
        async with self.sessions.begin() as session:
            insert = (
                postgresql.insert(_M)
                if session.get_bind().dialect.name == "postgresql"
                else sqlite.insert(_M)
            )
            statement = (
                insert.values(**values)
                .on_conflict_do_nothing(index_elements=list(_SENDER_KEY))
                .returning(_M.id)
            )
            new_id = (await session.execute(statement)).scalar_one_or_none()
            if new_id is not None:
                return StoredMessage(id=new_id, duplicate=False)
            first = (
                await session.execute(
                    select(_M.id, _M.raw).where(
                        _M.sending_application == meta.sending_application,
                        _M.sending_facility == meta.sending_facility,
                        _M.control_id == meta.control_id,
                    )
                )
            ).one()
        log.info(
            "inbox: message %s from %s/%s already received as #%d%s",
            meta.control_id,
            meta.sending_application,
            meta.sending_facility,
            first.id,
            "" if first.raw == raw else " (different content: control id reused by the sender)",
        )
        return StoredMessage(id=first.id, duplicate=True, same_bytes=first.raw == raw)

    async def claim_next(self, *, now: datetime | None = None) -> ClaimedMessage | None:
        """Take the oldest message that is received or due for retry; None when there is none.

        Exclusive across workers and processes; counts one more attempt.
        """
        now = now or utcnow()
        async with self.sessions.begin() as session:
            claimed_id = (await session.execute(claim_statement(now))).scalar_one_or_none()
            if claimed_id is None:
                return None
            row = (
                await session.execute(
                    select(_M).options(undefer(_M.raw)).where(_M.id == claimed_id)
                )
            ).scalar_one()
            return ClaimedMessage(record=_record(row), raw=row.raw)

    async def annotate(
        self,
        claim: ClaimedMessage,
        *,
        event_kind: str | None = None,
        document_id: str | None = None,
        study_uid: str | None = None,
        accession: str | None = None,
    ) -> InboxRecord:
        """Record what parsing found (event new/replace/depublish/cancel, CDA id, study…)."""
        values = {
            key: value
            for key, value in (
                ("event_kind", event_kind),
                ("document_id", document_id),
                ("study_uid", study_uid),
                ("accession", accession),
            )
            if value is not None
        }
        _check_lengths(**values)
        return await self._finish(claim, PROCESSING, values, now=None)

    async def mark_done(
        self, claim: ClaimedMessage, *, kos_id: int | None = None, now: datetime | None = None
    ) -> InboxRecord:
        """Processing succeeded; ``kos_id`` is the KOS created or changed by this message."""
        values = {"kos_id": kos_id, "last_error_code": "", "last_error": ""}
        return await self._finish(claim, DONE, values, now)

    async def mark_duplicate(
        self,
        claim: ClaimedMessage,
        reason: str,
        *,
        kos_id: int | None = None,
        now: datetime | None = None,
    ) -> InboxRecord:
        """Nothing to do: this document (or event) was already processed from another message."""
        return await self._finish(
            claim, DUPLICATE, {"kos_id": kos_id, "last_error_code": "", "last_error": reason}, now
        )

    async def mark_failed(
        self, claim: ClaimedMessage, code: str, error: str, *, now: datetime | None = None
    ) -> InboxRecord:
        """A permanent failure for the administrator (identity mismatch, invalid report…)."""
        _check_lengths(code=code)
        record = await self._finish(
            claim, FAILED, {"last_error_code": code, "last_error": error}, now
        )
        log.error(
            "inbox: message #%d (%s) failed [%s]: %s", record.id, record.control_id, code, error
        )
        return record

    async def mark_retry(
        self, claim: ClaimedMessage, code: str, error: str, *, now: datetime | None = None
    ) -> InboxRecord:
        """A transient failure (PACS unavailable, timeout): try again after the back-off.

        Becomes ``failed`` instead when the policy's ``max_attempts`` is reached.
        """
        _check_lengths(code=code)
        now = now or utcnow()
        if self.policy.exhausted(claim.attempt):
            return await self.mark_failed(
                claim, code, f"{error} (gave up after {claim.attempt} attempts)", now=now
            )
        next_at = now + self.policy.delay(claim.attempt)
        values = {"last_error_code": code, "last_error": error, "next_attempt_at": next_at}
        record = await self._finish(claim, RETRY, values, now)
        log.warning(
            "inbox: message #%d (%s) attempt %d failed [%s]: %s; next attempt at %s",
            record.id,
            record.control_id,
            claim.attempt,
            code,
            error,
            next_at.isoformat(),
        )
        return record

    async def _finish(
        self,
        claim: ClaimedMessage,
        status: str,
        values: dict[str, Any],
        now: datetime | None,
    ) -> InboxRecord:
        """Move a claimed message to ``status`` if this worker still owns it."""
        now = now or utcnow()
        if status in (DONE, DUPLICATE, FAILED):
            values = {**values, "processed_at": now}
        statement = (
            update(_M)
            .where(_M.id == claim.id, _M.status == PROCESSING, _M.attempts == claim.attempt)
            .values(status=status, updated_at=now, **values)
            .returning(_M.id)
        )
        async with self.sessions.begin() as session:
            if (await session.execute(statement)).scalar_one_or_none() is None:
                raise LostClaim(
                    f"inbox message #{claim.id} attempt {claim.attempt} is no longer owned by "
                    "this worker (recovered after a crash, or already finished)"
                )
            return _record(
                (await session.execute(select(_M).where(_M.id == claim.id))).scalar_one()
            )

    async def recover_stale(
        self, *, older_than: timedelta = timedelta(0), now: datetime | None = None
    ) -> int:
        """Give back messages left ``processing`` by a dead process; returns how many.

        Call at start-up. With one process, ``older_than=0`` recovers everything. With several
        workers, pass more than the longest processing time so live claims are not taken away.
        Messages whose attempts reached ``max_attempts`` are set aside as ``failed``.
        """
        now = now or utcnow()
        stale = and_(_M.status == PROCESSING, _M.claimed_at <= now - older_than)
        async with self.sessions.begin() as session:
            if self.policy.max_attempts is not None:
                exhausted = (
                    await session.execute(
                        update(_M)
                        .where(stale, _M.attempts >= self.policy.max_attempts)
                        .values(
                            status=FAILED,
                            last_error_code=INTERRUPTED,
                            last_error="the process died while on it, at the last allowed attempt",
                            processed_at=now,
                            updated_at=now,
                        )
                        .returning(_M.id, _M.control_id)
                    )
                ).all()
                for row in exhausted:
                    log.error(
                        "inbox: message #%d (%s) set aside: %s", row.id, row.control_id, INTERRUPTED
                    )
            recovered = (
                await session.execute(
                    update(_M)
                    .where(stale)
                    .values(status=RECEIVED, claimed_at=None, updated_at=now)
                    .returning(_M.id)
                )
            ).all()
        if recovered:
            log.warning("inbox: %d interrupted message(s) queued again", len(recovered))
        return len(recovered)

    async def requeue(self, message_id: int, *, now: datetime | None = None) -> InboxRecord:
        """Administrator action: process a ``failed`` or ``retry`` message again now."""
        now = now or utcnow()
        statement = (
            update(_M)
            .where(_M.id == message_id, _M.status.in_((FAILED, RETRY)))
            .values(status=RECEIVED, attempts=0, next_attempt_at=None, updated_at=now)
            .returning(_M.id)
        )
        async with self.sessions.begin() as session:
            if (await session.execute(statement)).scalar_one_or_none() is None:
                current = await session.scalar(select(_M.status).where(_M.id == message_id))
                if current is None:
                    raise InboxError(f"no inbox message #{message_id}")
                raise InboxStateError(
                    f"inbox message #{message_id} is {current}: "
                    "only failed or retry messages can be requeued"
                )
            return _record(
                (await session.execute(select(_M).where(_M.id == message_id))).scalar_one()
            )

    async def get(self, message_id: int) -> InboxRecord:
        async with self.sessions() as session:
            row = await session.get(_M, message_id)
            if row is None:
                raise InboxError(f"no inbox message #{message_id}")
            return _record(row)

    async def raw(self, message_id: int) -> bytes:
        """The exact bytes received, e.g. to re-parse or to show the administrator."""
        async with self.sessions() as session:
            data = await session.scalar(select(_M.raw).where(_M.id == message_id))
            if data is None:
                raise InboxError(f"no inbox message #{message_id}")
            return data

    async def list_messages(
        self,
        status: str | Collection[str] | None = None,
        *,
        limit: int = 100,
        offset: int = 0,
    ) -> list[InboxRecord]:
        """Messages newest first, optionally of some statuses (``drimbox source messages``)."""
        if not 1 <= limit <= 1000:
            raise InboxError("limit must be between 1 and 1000")
        if offset < 0:
            raise InboxError("offset must not be negative")
        query = select(_M)
        if status is not None:
            statuses = (status,) if isinstance(status, str) else tuple(status)
            _check_statuses(statuses)
            query = query.where(_M.status.in_(statuses))
        query = query.order_by(_M.id.desc()).limit(limit).offset(offset)
        async with self.sessions() as session:
            return [_record(row) for row in (await session.scalars(query)).all()]

    async def counts(self) -> dict[str, int]:
        """Number of messages per status (every status present, zero included)."""
        async with self.sessions() as session:
            rows = (
                await session.execute(select(_M.status, func.count()).group_by(_M.status))
            ).all()
        found = {status: count for status, count in rows}
        return {status: found.get(status, 0) for status in INBOX_STATUSES}

    async def next_due_at(self) -> datetime | None:
        """When the next ``retry`` message becomes due, so that a worker can sleep until then."""
        async with self.sessions() as session:
            return await session.scalar(
                select(func.min(_M.next_attempt_at)).where(_M.status == RETRY)
            )
