"""The KOS archive: every KOS version the Source produced or imported, and what it references.

RAD-107 and the viewer entry check every request against these rows: is the KOS known, of this
study, does it reference this series / instance, is it still published (replaced, unpublished
or deleted → 410, E206), which patient it is for (INS/IPP, compared with the PACS, E209), and
the (accession + issuer, study, CDA id) triple of DB.VI-SO.33 / DB.VI-SO.115.

Each method is one transaction committed before it returns (a KOS and its references are stored
together or not at all). Records are frozen dataclasses, never live ORM objects; the KOS bytes
are left out of them (they can be large) and read with :meth:`KosArchive.kos_bytes`.

Status life cycle (:data:`TRANSITIONS`)::

    pending ──► published ◄──► unpublished
       │            │               │
       └────────────┴──supersede────┴──► replaced        (any of them) ──► deleted
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Final

from sqlalchemy import FromClause, String, delete, exists, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from drimbox.errors import DrimboxError
from drimbox.store.models import (
    KOS_KINDS,
    KOS_ORIGINS,
    KosDocument,
    KosInstance,
    KosSeries,
    utcnow,
)

PENDING: Final = "pending"
PUBLISHED: Final = "published"
REPLACED: Final = "replaced"
UNPUBLISHED: Final = "unpublished"
DELETED: Final = "deleted"

# Allowed status changes through set_status; "replaced" is only reached through supersede,
# which also links the two versions. Setting the current status again is a no-op.
TRANSITIONS: Final[Mapping[str, frozenset[str]]] = {
    PENDING: frozenset({PUBLISHED, UNPUBLISHED, DELETED}),
    PUBLISHED: frozenset({UNPUBLISHED, DELETED}),
    UNPUBLISHED: frozenset({PUBLISHED, DELETED}),
    REPLACED: frozenset({DELETED}),
    DELETED: frozenset(),
}
SUPERSEDABLE: Final = frozenset({PENDING, PUBLISHED, UNPUBLISHED})
# A request for a KOS in one of these states is answered 410 Gone (E206).
WITHDRAWN: Final = frozenset({REPLACED, UNPUBLISHED, DELETED})

_K = KosDocument
_SOP_UNIQUE: Final = ("uq_source_kos_sop_instance_uid", "source_kos.sop_instance_uid")


class KosArchiveError(DrimboxError):
    """A request to the KOS archive that cannot be honoured."""


class KosNotFound(KosArchiveError):
    """No KOS with this id."""


class KosAlreadyStored(KosArchiveError):
    """A KOS with this SOP Instance UID is already in the archive."""


class KosStatusError(KosArchiveError):
    """A status change the life cycle does not allow (or that lost a race with another one)."""


@dataclass(frozen=True, slots=True)
class PatientIdentity:
    """The patient as the KOS names them: INS (matricule + OID), IPP, and the INS traits."""

    ins: str = ""
    ins_oid: str = ""
    ipp: str = ""
    ipp_issuer: str = ""
    birth_name: str = ""
    given_names: str = ""
    sex: str = ""
    birth_date: date | None = None
    birth_place: str = ""


@dataclass(frozen=True, slots=True)
class InstanceRef:
    sop_class_uid: str
    sop_instance_uid: str


@dataclass(frozen=True, slots=True)
class SeriesRef:
    """A referenced series, the RAD-107 URL written in the KOS, and its instances."""

    series_instance_uid: str
    retrieve_url: str
    instances: tuple[InstanceRef, ...]
    modality: str = ""


@dataclass(frozen=True, slots=True)
class NewKos:
    """Everything stored for one KOS version (input of :meth:`KosArchive.add`)."""

    sop_instance_uid: str
    series_instance_uid: str
    study_instance_uid: str
    kos_bytes: bytes
    series: tuple[SeriesRef, ...]
    accession_number: str = ""
    accession_issuer: str = ""
    placer_order: str = ""
    placer_order_issuer: str = ""
    cda_document_id: str = ""
    cda_set_id: str = ""
    kind: str = "manifest"
    status: str = PENDING
    patient: PatientIdentity = field(default_factory=PatientIdentity)
    institution_name: str = ""
    pacs_name: str = ""
    pacs_index: int | None = None
    origin: str = "generated"
    dmp_flags: Mapping[str, Any] = field(default_factory=dict)
    message_id: int | None = None


@dataclass(frozen=True, slots=True)
class KosRecord:
    """One stored KOS version (without its bytes)."""

    id: int
    sop_instance_uid: str
    series_instance_uid: str
    study_instance_uid: str
    accession_number: str
    accession_issuer: str
    placer_order: str
    placer_order_issuer: str
    cda_document_id: str
    cda_set_id: str
    kind: str
    version: int
    status: str
    replaces_id: int | None
    replaced_by_id: int | None
    patient: PatientIdentity
    institution_name: str
    pacs_name: str
    pacs_index: int | None
    origin: str
    dmp_flags: Mapping[str, Any]
    created_at: datetime
    updated_at: datetime
    status_changed_at: datetime
    message_id: int | None

    @property
    def withdrawn(self) -> bool:
        """Replaced, unpublished or deleted: RAD-107 answers 410 (E206)."""
        return self.status in WITHDRAWN


@dataclass(frozen=True, slots=True)
class SeriesRecord:
    series_instance_uid: str
    modality: str
    retrieve_url: str
    instance_count: int


@dataclass(frozen=True, slots=True)
class InstanceRecord:
    series_instance_uid: str
    sop_class_uid: str
    sop_instance_uid: str


_PATIENT_COLUMNS: Final = {f"patient_{name}": name for name in PatientIdentity.__dataclass_fields__}
_PLAIN_FIELDS: Final = tuple(
    name for name in KosRecord.__dataclass_fields__ if name not in ("patient", "dmp_flags")
)


def _record(row: KosDocument) -> KosRecord:
    patient = PatientIdentity(**{name: getattr(row, col) for col, name in _PATIENT_COLUMNS.items()})
    return KosRecord(
        **{name: getattr(row, name) for name in _PLAIN_FIELDS},
        patient=patient,
        dmp_flags=json.loads(row.dmp_flags),
    )


def _check_new(kos: NewKos) -> None:
    for name in ("sop_instance_uid", "series_instance_uid", "study_instance_uid"):
        if not getattr(kos, name):
            raise KosArchiveError(f"KOS {name} is empty")
    if not kos.kos_bytes:
        raise KosArchiveError("KOS bytes are empty")
    if kos.kind not in KOS_KINDS:
        raise KosArchiveError(f"KOS kind must be one of {KOS_KINDS}: {kos.kind!r}")
    if kos.origin not in KOS_ORIGINS:
        raise KosArchiveError(f"KOS origin must be one of {KOS_ORIGINS}: {kos.origin!r}")
    if kos.status not in (PENDING, PUBLISHED):
        raise KosArchiveError(f"a new KOS is pending or published, not {kos.status!r}")
    if not kos.series:
        raise KosArchiveError(f"KOS {kos.sop_instance_uid} references no series")
    seen_series: set[str] = set()
    seen_instances: set[str] = set()
    for series in kos.series:
        if series.series_instance_uid in seen_series:
            raise KosArchiveError(f"series {series.series_instance_uid} listed twice")
        seen_series.add(series.series_instance_uid)
        if not series.instances:
            raise KosArchiveError(f"series {series.series_instance_uid} references no instance")
        _check_lengths(
            KosSeries.__table__,
            {"series_instance_uid": series.series_instance_uid, "modality": series.modality},
        )
        for instance in series.instances:
            _check_lengths(
                KosInstance.__table__,
                {
                    "sop_class_uid": instance.sop_class_uid,
                    "sop_instance_uid": instance.sop_instance_uid,
                },
            )
            if instance.sop_instance_uid in seen_instances:
                raise KosArchiveError(f"instance {instance.sop_instance_uid} referenced twice")
            seen_instances.add(instance.sop_instance_uid)


def _check_lengths(table: FromClause, values: Mapping[str, Any]) -> None:
    """Refuse over-long text here: PostgreSQL would fail and SQLite would silently keep it."""
    for name, value in values.items():
        kind = table.columns[name].type
        limit = kind.length if isinstance(kind, String) else None
        if isinstance(value, str) and limit is not None and len(value) > limit:
            raise KosArchiveError(f"KOS {name} longer than {limit}: {value[:40]!r}")


def _row_values(kos: NewKos, now: datetime) -> dict[str, Any]:
    values: dict[str, Any] = {
        name: getattr(kos, name)
        for name in NewKos.__dataclass_fields__
        if name not in ("series", "patient", "dmp_flags")
    }
    values.update({col: getattr(kos.patient, name) for col, name in _PATIENT_COLUMNS.items()})
    try:
        flags = json.dumps(dict(kos.dmp_flags), sort_keys=True)
    except (TypeError, ValueError) as exc:
        raise KosArchiveError(f"KOS dmp_flags are not JSON: {exc}") from None
    _check_lengths(_K.__table__, values)
    values.update(
        dmp_flags=flags,
        version=1,
        created_at=now,
        updated_at=now,
        status_changed_at=now,
    )
    return values


async def _lock(session: AsyncSession, kos_id: int) -> str:
    """Take the row for this transaction and return its status (raises KosNotFound).

    A write that changes nothing: it locks the row on PostgreSQL and takes SQLite's write lock,
    so the read-check-write that follows cannot interleave with another writer's.
    """
    status = await session.scalar(
        update(_K)
        .where(_K.id == kos_id)
        .values(updated_at=_K.updated_at)
        .returning(_K.status)
        .execution_options(synchronize_session=False)
    )
    if status is None:
        raise KosNotFound(f"no KOS #{kos_id}")
    return status


async def _load(session: AsyncSession, kos_id: int) -> KosDocument:
    row = await session.get(_K, kos_id, populate_existing=True)
    if row is None:
        raise KosNotFound(f"no KOS #{kos_id}")
    return row


class KosArchive:
    """The KOS archive repository over one session factory."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    # --- writing ---------------------------------------------------------------------------

    async def add(
        self, kos: NewKos, *, replaces: int | None = None, now: datetime | None = None
    ) -> KosRecord:
        """Store a KOS with its series and instances; with ``replaces``, supersede that one too.

        Raises :class:`KosAlreadyStored` if the SOP Instance UID is already archived, so that a
        message processed again after a crash is recognised rather than stored twice.
        """
        _check_new(kos)
        now = now or utcnow()
        try:
            async with self.sessions.begin() as session:
                row = KosDocument(**_row_values(kos, now))
                session.add(row)
                await session.flush()
                await self._add_references(session, row.id, kos.series)
                if replaces is not None:
                    await self._supersede(session, replaces, row, now)
                return _record(row)
        except IntegrityError as exc:
            # Names differ by backend: PostgreSQL cites the constraint, SQLite the column.
            if any(name in str(exc.orig) for name in _SOP_UNIQUE):
                raise KosAlreadyStored(f"KOS {kos.sop_instance_uid} is already archived") from exc
            raise KosArchiveError(f"KOS {kos.sop_instance_uid} not stored: {exc.orig}") from exc

    @staticmethod
    async def _add_references(
        session: AsyncSession, kos_id: int, series: Sequence[SeriesRef]
    ) -> None:
        await session.execute(
            insert(KosSeries),
            [
                {
                    "kos_id": kos_id,
                    "series_instance_uid": s.series_instance_uid,
                    "modality": s.modality,
                    "retrieve_url": s.retrieve_url,
                    "instance_count": len(s.instances),
                }
                for s in series
            ],
        )
        await session.execute(
            insert(KosInstance),
            [
                {
                    "kos_id": kos_id,
                    "series_instance_uid": s.series_instance_uid,
                    "sop_class_uid": i.sop_class_uid,
                    "sop_instance_uid": i.sop_instance_uid,
                }
                for s in series
                for i in s.instances
            ],
        )

    async def supersede(
        self, old_id: int, new_id: int, *, now: datetime | None = None
    ) -> tuple[KosRecord, KosRecord]:
        """Mark ``old`` replaced by ``new`` and link both ways, in one transaction."""
        now = now or utcnow()
        async with self.sessions.begin() as session:
            await _lock(session, new_id)
            new = await _load(session, new_id)
            old = await self._supersede(session, old_id, new, now)
            return _record(old), _record(new)

    @staticmethod
    async def _supersede(
        session: AsyncSession, old_id: int, new: KosDocument, now: datetime
    ) -> KosDocument:
        if old_id == new.id:
            raise KosStatusError(f"KOS #{old_id} cannot replace itself")
        if new.replaces_id is not None or new.status not in (PENDING, PUBLISHED):
            raise KosStatusError(
                f"KOS #{new.id} ({new.status}) cannot be the replacement of KOS #{old_id}"
            )
        old = await _load(session, old_id)
        # Conditional update: of two concurrent replacements of the same KOS, one wins.
        taken = await session.scalar(
            update(_K)
            .where(_K.id == old_id, _K.status.in_(SUPERSEDABLE), _K.replaced_by_id.is_(None))
            .values(status=REPLACED, replaced_by_id=new.id, updated_at=now, status_changed_at=now)
            .returning(_K.id)
            .execution_options(synchronize_session=False)
        )
        if taken is None:
            raise KosStatusError(
                f"KOS #{old_id} is {old.status} and cannot be replaced "
                f"(only {sorted(SUPERSEDABLE)} versions not yet replaced can)"
            )
        new.replaces_id = old_id
        new.version = old.version + 1
        new.updated_at = now
        await session.flush()
        return await _load(session, old_id)

    async def set_status(
        self, kos_id: int, status: str, *, now: datetime | None = None
    ) -> KosRecord:
        """Publish, unpublish or delete a KOS, following :data:`TRANSITIONS`."""
        if status not in TRANSITIONS:
            raise KosStatusError(f"unknown KOS status {status!r}")
        if status == REPLACED:
            raise KosStatusError("a KOS becomes replaced through supersede(), which links both")
        now = now or utcnow()
        async with self.sessions.begin() as session:
            current = await _lock(session, kos_id)
            if status != current:
                if status not in TRANSITIONS[current]:
                    raise KosStatusError(f"KOS #{kos_id}: {current} → {status} is not allowed")
                await session.execute(
                    update(_K)
                    .where(_K.id == kos_id)
                    .values(status=status, updated_at=now, status_changed_at=now)
                    .execution_options(synchronize_session=False)
                )
            return _record(await _load(session, kos_id))

    async def remove(self, kos_id: int) -> None:
        """Erase a KOS and its references (retention / administrator clean-up, not the DMP
        "delete", which is the ``deleted`` status). Links from other versions are cleared."""
        async with self.sessions.begin() as session:
            gone = await session.scalar(delete(_K).where(_K.id == kos_id).returning(_K.id))
            if gone is None:
                raise KosNotFound(f"no KOS #{kos_id}")

    # --- reading ---------------------------------------------------------------------------

    async def _one(self, *conditions: Any) -> KosRecord | None:
        async with self.sessions() as session:
            row = (await session.scalars(select(_K).where(*conditions))).one_or_none()
            return None if row is None else _record(row)

    async def _many(self, *conditions: Any) -> list[KosRecord]:
        async with self.sessions() as session:
            rows = await session.scalars(select(_K).where(*conditions).order_by(_K.id))
            return [_record(row) for row in rows.all()]

    async def get(self, kos_id: int) -> KosRecord:
        record = await self._one(_K.id == kos_id)
        if record is None:
            raise KosNotFound(f"no KOS #{kos_id}")
        return record

    async def get_by_sop_uid(self, sop_instance_uid: str) -> KosRecord | None:
        """The KOS a RAD-107 request names (its KOS-SOPInstanceUID)."""
        return await self._one(_K.sop_instance_uid == sop_instance_uid)

    async def find_by_study(self, study_instance_uid: str) -> list[KosRecord]:
        """Every version for a study, oldest first."""
        return await self._many(_K.study_instance_uid == study_instance_uid)

    async def find_by_accession_and_study(
        self, accession_number: str, accession_issuer: str, study_instance_uid: str
    ) -> list[KosRecord]:
        """The KOS matching the viewer-entry pair (DB.VI-SO.33): exact accession and issuer."""
        return await self._many(
            _K.accession_number == accession_number,
            _K.accession_issuer == accession_issuer,
            _K.study_instance_uid == study_instance_uid,
        )

    async def find_by_cda_id(self, cda_document_id: str) -> list[KosRecord]:
        """The KOS published with this CDA document (DB.VI-SO.115, replace/depublish events)."""
        return await self._many(_K.cda_document_id == cda_document_id)

    async def find_by_message(self, message_id: int) -> KosRecord | None:
        """The KOS an inbox message created: lets a re-run after a crash find its own work."""
        records = await self._many(_K.message_id == message_id)
        return records[-1] if records else None

    async def current_for_study(self, study_instance_uid: str) -> KosRecord | None:
        """The latest version of the study that has not been replaced (whatever its status)."""
        records = await self._many(
            _K.study_instance_uid == study_instance_uid, _K.status != REPLACED
        )
        return records[-1] if records else None

    async def kos_bytes(self, kos_id: int) -> bytes:
        async with self.sessions() as session:
            data = await session.scalar(select(_K.kos_bytes).where(_K.id == kos_id))
            if data is None:
                raise KosNotFound(f"no KOS #{kos_id}")
            return data

    async def series_of(self, kos_id: int) -> list[SeriesRecord]:
        """The referenced series, in the order they were stored."""
        query = select(KosSeries).where(KosSeries.kos_id == kos_id).order_by(KosSeries.id)
        async with self.sessions() as session:
            return [
                SeriesRecord(s.series_instance_uid, s.modality, s.retrieve_url, s.instance_count)
                for s in (await session.scalars(query)).all()
            ]

    async def instances_of(
        self, kos_id: int, series_instance_uid: str | None = None
    ) -> list[InstanceRecord]:
        """The referenced instances (of one series if given), in the KOS order."""
        query = select(KosInstance).where(KosInstance.kos_id == kos_id)
        if series_instance_uid is not None:
            query = query.where(KosInstance.series_instance_uid == series_instance_uid)
        async with self.sessions() as session:
            return [
                InstanceRecord(i.series_instance_uid, i.sop_class_uid, i.sop_instance_uid)
                for i in (await session.scalars(query.order_by(KosInstance.id))).all()
            ]

    async def references_series(self, kos_id: int, series_instance_uid: str) -> bool:
        """Does this KOS reference the series (RAD-107 series-level request)?"""
        query = select(
            exists().where(
                KosSeries.kos_id == kos_id, KosSeries.series_instance_uid == series_instance_uid
            )
        )
        async with self.sessions() as session:
            return bool(await session.scalar(query))

    async def references_instance(
        self, kos_id: int, series_instance_uid: str, sop_instance_uid: str
    ) -> bool:
        """Does this KOS reference the instance, in that series (instance/frame requests)?"""
        query = select(
            exists().where(
                KosInstance.kos_id == kos_id,
                KosInstance.series_instance_uid == series_instance_uid,
                KosInstance.sop_instance_uid == sop_instance_uid,
            )
        )
        async with self.sessions() as session:
            return bool(await session.scalar(query))
