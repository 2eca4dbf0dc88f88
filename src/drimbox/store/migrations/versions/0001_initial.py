"""Initial schema: the kit's PACS simulator index and the audit trail.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "kit_pacs_instance",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("aet", sa.String(length=16), nullable=False),
        sa.Column("patient_id", sa.String(length=64), nullable=False),
        sa.Column("issuer_of_patient_id", sa.String(length=64), nullable=False),
        sa.Column("patient_name", sa.String(length=324), nullable=False),
        sa.Column("patient_birth_date", sa.String(length=8), nullable=False),
        sa.Column("patient_sex", sa.String(length=16), nullable=False),
        sa.Column("other_patient_ids", sa.Text(), nullable=False),
        sa.Column("study_instance_uid", sa.String(length=64), nullable=False),
        sa.Column("study_date", sa.String(length=8), nullable=False),
        sa.Column("study_time", sa.String(length=16), nullable=False),
        sa.Column("study_description", sa.String(length=64), nullable=False),
        sa.Column("study_id", sa.String(length=16), nullable=False),
        sa.Column("accession_number", sa.String(length=16), nullable=False),
        sa.Column("issuer_of_accession_number", sa.String(length=64), nullable=False),
        sa.Column("referring_physician_name", sa.String(length=324), nullable=False),
        sa.Column("series_instance_uid", sa.String(length=64), nullable=False),
        sa.Column("modality", sa.String(length=16), nullable=False),
        sa.Column("series_number", sa.Integer(), nullable=True),
        sa.Column("series_description", sa.String(length=64), nullable=False),
        sa.Column("sop_class_uid", sa.String(length=64), nullable=False),
        sa.Column("sop_instance_uid", sa.String(length=64), nullable=False),
        sa.Column("instance_number", sa.Integer(), nullable=True),
        sa.Column("transfer_syntax_uid", sa.String(length=64), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_kit_pacs_instance"),
        sa.UniqueConstraint("aet", "sop_instance_uid", name="uq_kit_pacs_instance_aet_sop"),
    )
    op.create_index(
        "ix_kit_pacs_instance_study", "kit_pacs_instance", ["aet", "study_instance_uid"]
    )
    op.create_index(
        "ix_kit_pacs_instance_series", "kit_pacs_instance", ["aet", "series_instance_uid"]
    )
    op.create_index("ix_kit_pacs_instance_patient", "kit_pacs_instance", ["aet", "patient_id"])

    op.create_table(
        "audit_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=256), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("object_id", sa.String(length=256), nullable=False),
        sa.Column("outcome", sa.String(length=32), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_event"),
    )
    op.create_index("ix_audit_event_at", "audit_event", ["at"])
    op.create_index("ix_audit_event_object", "audit_event", ["object_id"])


def downgrade() -> None:
    op.drop_index("ix_audit_event_object", table_name="audit_event")
    op.drop_index("ix_audit_event_at", table_name="audit_event")
    op.drop_table("audit_event")
    op.drop_index("ix_kit_pacs_instance_patient", table_name="kit_pacs_instance")
    op.drop_index("ix_kit_pacs_instance_series", table_name="kit_pacs_instance")
    op.drop_index("ix_kit_pacs_instance_study", table_name="kit_pacs_instance")
    op.drop_table("kit_pacs_instance")
