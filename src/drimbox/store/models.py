"""SQLAlchemy models. One declarative base for the whole product; tables grouped by role."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Deterministic constraint names on every backend, so migrations can name what they alter or drop.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UtcDateTime(TypeDecorator[datetime]):
    """An aware UTC timestamp on every backend.

    SQLite has no time zone type: SQLAlchemy would store the wall-clock digits and read back a
    naive value. Converting to UTC on the way in and tagging UTC on the way out gives the same
    aware values (and the same ordering) on SQLite and PostgreSQL. Naive input is refused.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: give an aware (UTC) timestamp")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base shared by every table (Alembic's target metadata)."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class SimInstance(Base):
    """One DICOM instance held by the PACS simulator, under one of its AE titles.

    The simulator answers C-FIND from this index and reads the file at ``path`` for C-MOVE/C-GET,
    so a query never has to open DICOM files.
    """

    __tablename__ = "kit_pacs_instance"
    __table_args__ = (
        UniqueConstraint("aet", "sop_instance_uid", name="uq_kit_pacs_instance_aet_sop"),
        Index("ix_kit_pacs_instance_study", "aet", "study_instance_uid"),
        Index("ix_kit_pacs_instance_series", "aet", "series_instance_uid"),
        Index("ix_kit_pacs_instance_patient", "aet", "patient_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    aet: Mapped[str] = mapped_column(String(16))
    # Patient level
    patient_id: Mapped[str] = mapped_column(String(64), default="")
    issuer_of_patient_id: Mapped[str] = mapped_column(String(64), default="")
    patient_name: Mapped[str] = mapped_column(String(324), default="")
    patient_birth_date: Mapped[str] = mapped_column(String(8), default="")
    patient_sex: Mapped[str] = mapped_column(String(16), default="")
    other_patient_ids: Mapped[str] = mapped_column(Text, default="")
    # Study level
    study_instance_uid: Mapped[str] = mapped_column(String(64))
    study_date: Mapped[str] = mapped_column(String(8), default="")
    study_time: Mapped[str] = mapped_column(String(16), default="")
    study_description: Mapped[str] = mapped_column(String(64), default="")
    study_id: Mapped[str] = mapped_column(String(16), default="")
    accession_number: Mapped[str] = mapped_column(String(16), default="")
    issuer_of_accession_number: Mapped[str] = mapped_column(String(64), default="")
    referring_physician_name: Mapped[str] = mapped_column(String(324), default="")
    # Series level
    series_instance_uid: Mapped[str] = mapped_column(String(64))
    modality: Mapped[str] = mapped_column(String(16), default="")
    series_number: Mapped[int | None] = mapped_column(Integer, nullable=True)
    series_description: Mapped[str] = mapped_column(String(64), default="")
    # Instance level
    sop_class_uid: Mapped[str] = mapped_column(String(64))
    sop_instance_uid: Mapped[str] = mapped_column(String(64))
    instance_number: Mapped[int | None] = mapped_column(Integer, nullable=True)
    transfer_syntax_uid: Mapped[str] = mapped_column(String(64))
    path: Mapped[str] = mapped_column(Text)
    size: Mapped[int] = mapped_column(BigInteger)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class AuditEvent(Base):
    """Audit trail: who did what to which object, when, and the outcome (security by default)."""

    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_event_at", "at"), Index("ix_audit_event_object", "object_id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    actor: Mapped[str] = mapped_column(String(256), default="")
    action: Mapped[str] = mapped_column(String(64))
    object_id: Mapped[str] = mapped_column(String(256), default="")
    outcome: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str] = mapped_column(Text, default="")


# --- Source role: HL7 inbox and KOS archive (docs/storage.md, "Source tables") ---------------

INBOX_STATUSES = ("received", "processing", "done", "retry", "failed", "duplicate")
KOS_STATUSES = ("pending", "published", "replaced", "unpublished", "deleted")
KOS_KINDS = ("manifest", "kin")
KOS_ORIGINS = ("generated", "imported_kos", "imported_xdm")


def _one_of(column: str, values: tuple[str, ...]) -> str:
    """SQL for a CHECK that keeps a string enum closed on every backend."""
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class InboxMessage(Base):
    """One HL7 message as received, committed before the ACK (nothing lost, DESIGN §4).

    ``raw`` keeps the exact bytes (before charset decoding) so that processing can be replayed.
    (sending application, sending facility, MSH-10) is unique: the same message sent again is
    recognised as a duplicate instead of being stored and processed twice.
    """

    __tablename__ = "source_inbox_message"
    __table_args__ = (
        UniqueConstraint(
            "sending_application",
            "sending_facility",
            "control_id",
            name="uq_source_inbox_message_sender_control_id",
        ),
        CheckConstraint(_one_of("status", INBOX_STATUSES), name="status"),
        Index("ix_source_inbox_message_status_due", "status", "next_attempt_at"),
        Index("ix_source_inbox_message_document", "document_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    peer: Mapped[str] = mapped_column(String(256), default="")
    sending_application: Mapped[str] = mapped_column(String(256), default="")
    sending_facility: Mapped[str] = mapped_column(String(256), default="")
    control_id: Mapped[str] = mapped_column(String(199))
    message_type: Mapped[str] = mapped_column(String(32), default="")
    version: Mapped[str] = mapped_column(String(16), default="")
    raw: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    status: Mapped[str] = mapped_column(String(16), default="received")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    last_error_code: Mapped[str] = mapped_column(String(32), default="")
    last_error: Mapped[str] = mapped_column(Text, default="")
    event_kind: Mapped[str] = mapped_column(String(16), default="")
    document_id: Mapped[str] = mapped_column(String(256), default="")
    study_uid: Mapped[str] = mapped_column(String(64), default="")
    accession: Mapped[str] = mapped_column(String(64), default="")
    kos_id: Mapped[int | None] = mapped_column(
        ForeignKey("source_kos.id", ondelete="SET NULL", use_alter=True), nullable=True
    )
    claimed_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    processed_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class KosDocument(Base):
    """One version of a KOS (or KIN) the Source published or imported: the RAD-107 reference.

    RAD-107 and the viewer entry check requests against these rows (DB.VI-SO.33, .115): the
    study, the accession number and its issuer, the CDA document id, the patient identity.
    """

    __tablename__ = "source_kos"
    __table_args__ = (
        UniqueConstraint("sop_instance_uid", name="uq_source_kos_sop_instance_uid"),
        CheckConstraint(_one_of("status", KOS_STATUSES), name="status"),
        CheckConstraint(_one_of("kind", KOS_KINDS), name="kind"),
        CheckConstraint(_one_of("origin", KOS_ORIGINS), name="origin"),
        Index("ix_source_kos_study", "study_instance_uid"),
        Index("ix_source_kos_accession", "accession_number", "study_instance_uid"),
        Index("ix_source_kos_cda", "cda_document_id"),
        Index("ix_source_kos_message", "message_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sop_instance_uid: Mapped[str] = mapped_column(String(64))
    series_instance_uid: Mapped[str] = mapped_column(String(64))
    study_instance_uid: Mapped[str] = mapped_column(String(64))
    accession_number: Mapped[str] = mapped_column(String(64), default="")
    accession_issuer: Mapped[str] = mapped_column(String(64), default="")
    placer_order: Mapped[str] = mapped_column(String(64), default="")
    placer_order_issuer: Mapped[str] = mapped_column(String(64), default="")
    cda_document_id: Mapped[str] = mapped_column(String(256), default="")
    cda_set_id: Mapped[str] = mapped_column(String(256), default="")
    kind: Mapped[str] = mapped_column(String(16), default="manifest")
    version: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    replaces_id: Mapped[int | None] = mapped_column(
        ForeignKey("source_kos.id", ondelete="SET NULL"), nullable=True
    )
    replaced_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("source_kos.id", ondelete="SET NULL"), nullable=True
    )
    patient_ins: Mapped[str] = mapped_column(String(64), default="")
    patient_ins_oid: Mapped[str] = mapped_column(String(64), default="")
    patient_ipp: Mapped[str] = mapped_column(String(64), default="")
    patient_ipp_issuer: Mapped[str] = mapped_column(String(64), default="")
    patient_birth_name: Mapped[str] = mapped_column(String(128), default="")
    patient_given_names: Mapped[str] = mapped_column(String(256), default="")
    patient_sex: Mapped[str] = mapped_column(String(16), default="")
    patient_birth_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    patient_birth_place: Mapped[str] = mapped_column(String(16), default="")
    institution_name: Mapped[str] = mapped_column(String(128), default="")
    pacs_name: Mapped[str] = mapped_column(String(64), default="")
    pacs_index: Mapped[int | None] = mapped_column(Integer, nullable=True)
    origin: Mapped[str] = mapped_column(String(16), default="generated")
    dmp_flags: Mapped[str] = mapped_column(Text, default="{}")
    kos_bytes: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    status_changed_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    message_id: Mapped[int | None] = mapped_column(
        ForeignKey("source_inbox_message.id", ondelete="SET NULL"), nullable=True
    )


class KosSeries(Base):
    """A series a KOS references, with the RAD-107 URL written in it; deleted with its KOS."""

    __tablename__ = "source_kos_series"
    __table_args__ = (
        UniqueConstraint("kos_id", "series_instance_uid", name="uq_source_kos_series_kos_series"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kos_id: Mapped[int] = mapped_column(ForeignKey("source_kos.id", ondelete="CASCADE"))
    series_instance_uid: Mapped[str] = mapped_column(String(64))
    modality: Mapped[str] = mapped_column(String(16), default="")
    retrieve_url: Mapped[str] = mapped_column(Text, default="")
    instance_count: Mapped[int] = mapped_column(Integer, default=0)


class KosInstance(Base):
    """An instance a KOS references (RAD-107 instance-level requests are checked against it)."""

    __tablename__ = "source_kos_instance"
    __table_args__ = (
        UniqueConstraint("kos_id", "sop_instance_uid", name="uq_source_kos_instance_kos_sop"),
        Index("ix_source_kos_instance_sop", "sop_instance_uid"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kos_id: Mapped[int] = mapped_column(ForeignKey("source_kos.id", ondelete="CASCADE"))
    series_instance_uid: Mapped[str] = mapped_column(String(64))
    sop_class_uid: Mapped[str] = mapped_column(String(64))
    sop_instance_uid: Mapped[str] = mapped_column(String(64))


IOCM_STATUSES = ("pending", "applied", "not_applied", "ignored", "failed")


class IocmNote(Base):
    """An IOCM rejection note received from a PACS, kept until its effect on the KOS is settled.

    Committed before the C-STORE is acknowledged; ``pending`` until the PACS confirmed (C-FIND)
    that the rejected instances are gone. ``rejected`` is the JSON list of the referenced
    instances (study, series, SOP class, SOP instance). See docs/source-admin.md.
    """

    __tablename__ = "source_iocm_note"
    __table_args__ = (
        UniqueConstraint("sop_instance_uid", name="uq_source_iocm_note_sop_instance_uid"),
        CheckConstraint(_one_of("status", IOCM_STATUSES), name="status"),
        Index("ix_source_iocm_note_status_due", "status", "next_attempt_at"),
        Index("ix_source_iocm_note_study", "study_instance_uid"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    calling_ae: Mapped[str] = mapped_column(String(16), default="")
    peer: Mapped[str] = mapped_column(String(256), default="")
    sop_instance_uid: Mapped[str] = mapped_column(String(64))
    study_instance_uid: Mapped[str] = mapped_column(String(64))
    title_code: Mapped[str] = mapped_column(String(16))
    title_meaning: Mapped[str] = mapped_column(String(64), default="")
    rejected: Mapped[str] = mapped_column(Text)
    note_bytes: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    outcome: Mapped[str] = mapped_column(Text, default="")
    kos_ids: Mapped[str] = mapped_column(Text, default="[]")
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
