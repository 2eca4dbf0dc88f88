"""Source role: the HL7 inbox and the KOS archive (with its referenced series and instances).

The inbox and the archive point at each other (a message's KOS, a KOS's originating message):
the inbox is created first and its foreign key to ``source_kos`` is added once that table
exists, in batch mode so that SQLite (which cannot ALTER a constraint) copies the table.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INBOX_STATUSES = "('received', 'processing', 'done', 'retry', 'failed', 'duplicate')"
_KOS_STATUSES = "('pending', 'published', 'replaced', 'unpublished', 'deleted')"
_INBOX_KOS_FK = "fk_source_inbox_message_kos_id_source_kos"


def _utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def _create_inbox() -> None:
    op.create_table(
        "source_inbox_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("received_at", _utc(), nullable=False),
        sa.Column("peer", sa.String(length=256), nullable=False),
        sa.Column("sending_application", sa.String(length=256), nullable=False),
        sa.Column("sending_facility", sa.String(length=256), nullable=False),
        sa.Column("control_id", sa.String(length=199), nullable=False),
        sa.Column("message_type", sa.String(length=32), nullable=False),
        sa.Column("version", sa.String(length=16), nullable=False),
        sa.Column("raw", sa.LargeBinary(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", _utc(), nullable=True),
        sa.Column("last_error_code", sa.String(length=32), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("event_kind", sa.String(length=16), nullable=False),
        sa.Column("document_id", sa.String(length=256), nullable=False),
        sa.Column("study_uid", sa.String(length=64), nullable=False),
        sa.Column("accession", sa.String(length=64), nullable=False),
        sa.Column("kos_id", sa.Integer(), nullable=True),
        sa.Column("claimed_at", _utc(), nullable=True),
        sa.Column("processed_at", _utc(), nullable=True),
        sa.Column("updated_at", _utc(), nullable=False),
        sa.CheckConstraint(f"status IN {_INBOX_STATUSES}", name="ck_source_inbox_message_status"),
        sa.PrimaryKeyConstraint("id", name="pk_source_inbox_message"),
        sa.UniqueConstraint(
            "sending_application",
            "sending_facility",
            "control_id",
            name="uq_source_inbox_message_sender_control_id",
        ),
    )
    op.create_index(
        "ix_source_inbox_message_status_due", "source_inbox_message", ["status", "next_attempt_at"]
    )
    op.create_index("ix_source_inbox_message_document", "source_inbox_message", ["document_id"])


def _create_kos() -> None:
    op.create_table(
        "source_kos",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sop_instance_uid", sa.String(length=64), nullable=False),
        sa.Column("series_instance_uid", sa.String(length=64), nullable=False),
        sa.Column("study_instance_uid", sa.String(length=64), nullable=False),
        sa.Column("accession_number", sa.String(length=64), nullable=False),
        sa.Column("accession_issuer", sa.String(length=64), nullable=False),
        sa.Column("placer_order", sa.String(length=64), nullable=False),
        sa.Column("placer_order_issuer", sa.String(length=64), nullable=False),
        sa.Column("cda_document_id", sa.String(length=256), nullable=False),
        sa.Column("cda_set_id", sa.String(length=256), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("replaces_id", sa.Integer(), nullable=True),
        sa.Column("replaced_by_id", sa.Integer(), nullable=True),
        sa.Column("patient_ins", sa.String(length=64), nullable=False),
        sa.Column("patient_ins_oid", sa.String(length=64), nullable=False),
        sa.Column("patient_ipp", sa.String(length=64), nullable=False),
        sa.Column("patient_ipp_issuer", sa.String(length=64), nullable=False),
        sa.Column("patient_birth_name", sa.String(length=128), nullable=False),
        sa.Column("patient_given_names", sa.String(length=256), nullable=False),
        sa.Column("patient_sex", sa.String(length=16), nullable=False),
        sa.Column("patient_birth_date", sa.Date(), nullable=True),
        sa.Column("patient_birth_place", sa.String(length=16), nullable=False),
        sa.Column("institution_name", sa.String(length=128), nullable=False),
        sa.Column("pacs_name", sa.String(length=64), nullable=False),
        sa.Column("pacs_index", sa.Integer(), nullable=True),
        sa.Column("origin", sa.String(length=16), nullable=False),
        sa.Column("dmp_flags", sa.Text(), nullable=False),
        sa.Column("kos_bytes", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("updated_at", _utc(), nullable=False),
        sa.Column("status_changed_at", _utc(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("kind IN ('manifest', 'kin')", name="ck_source_kos_kind"),
        sa.CheckConstraint(
            "origin IN ('generated', 'imported_kos', 'imported_xdm')", name="ck_source_kos_origin"
        ),
        sa.CheckConstraint(f"status IN {_KOS_STATUSES}", name="ck_source_kos_status"),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["source_inbox_message.id"],
            name="fk_source_kos_message_id_source_inbox_message",
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["replaced_by_id"],
            ["source_kos.id"],
            name="fk_source_kos_replaced_by_id_source_kos",
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["replaces_id"],
            ["source_kos.id"],
            name="fk_source_kos_replaces_id_source_kos",
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_source_kos"),
        sa.UniqueConstraint("sop_instance_uid", name="uq_source_kos_sop_instance_uid"),
    )
    op.create_index("ix_source_kos_study", "source_kos", ["study_instance_uid"])
    op.create_index(
        "ix_source_kos_accession", "source_kos", ["accession_number", "study_instance_uid"]
    )
    op.create_index("ix_source_kos_cda", "source_kos", ["cda_document_id"])
    op.create_index("ix_source_kos_message", "source_kos", ["message_id"])


def _create_references() -> None:
    op.create_table(
        "source_kos_series",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kos_id", sa.Integer(), nullable=False),
        sa.Column("series_instance_uid", sa.String(length=64), nullable=False),
        sa.Column("modality", sa.String(length=16), nullable=False),
        sa.Column("retrieve_url", sa.Text(), nullable=False),
        sa.Column("instance_count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["kos_id"],
            ["source_kos.id"],
            name="fk_source_kos_series_kos_id_source_kos",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_source_kos_series"),
        sa.UniqueConstraint(
            "kos_id", "series_instance_uid", name="uq_source_kos_series_kos_series"
        ),
    )
    op.create_table(
        "source_kos_instance",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kos_id", sa.Integer(), nullable=False),
        sa.Column("series_instance_uid", sa.String(length=64), nullable=False),
        sa.Column("sop_class_uid", sa.String(length=64), nullable=False),
        sa.Column("sop_instance_uid", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["kos_id"],
            ["source_kos.id"],
            name="fk_source_kos_instance_kos_id_source_kos",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_source_kos_instance"),
        sa.UniqueConstraint("kos_id", "sop_instance_uid", name="uq_source_kos_instance_kos_sop"),
    )
    op.create_index("ix_source_kos_instance_sop", "source_kos_instance", ["sop_instance_uid"])


def upgrade() -> None:
    _create_inbox()
    _create_kos()
    _create_references()
    with op.batch_alter_table("source_inbox_message") as batch:
        batch.create_foreign_key(
            _INBOX_KOS_FK, "source_kos", ["kos_id"], ["id"], ondelete="SET NULL"
        )


def downgrade() -> None:
    with op.batch_alter_table("source_inbox_message") as batch:
        batch.drop_constraint(_INBOX_KOS_FK, type_="foreignkey")
    op.drop_index("ix_source_kos_instance_sop", table_name="source_kos_instance")
    op.drop_table("source_kos_instance")
    op.drop_table("source_kos_series")
    op.drop_index("ix_source_kos_message", table_name="source_kos")
    op.drop_index("ix_source_kos_cda", table_name="source_kos")
    op.drop_index("ix_source_kos_accession", table_name="source_kos")
    op.drop_index("ix_source_kos_study", table_name="source_kos")
    op.drop_table("source_kos")
    op.drop_index("ix_source_inbox_message_document", table_name="source_inbox_message")
    op.drop_index("ix_source_inbox_message_status_due", table_name="source_inbox_message")
    op.drop_table("source_inbox_message")
