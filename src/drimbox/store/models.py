"""SQLAlchemy models. One declarative base for the whole product; tables grouped by role."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    DateTime,
    Dialect,
    Index,
    Integer,
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
