"""Source role: pending IOCM rejection notes (settled once the PACS confirms the rejection).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_STATUSES = "('pending', 'applied', 'not_applied', 'ignored', 'failed')"


def upgrade() -> None:
    utc = sa.DateTime(timezone=True)
    op.create_table(
        "source_iocm_note",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("received_at", utc, nullable=False),
        sa.Column("calling_ae", sa.String(length=16), nullable=False),
        sa.Column("peer", sa.String(length=256), nullable=False),
        sa.Column("sop_instance_uid", sa.String(length=64), nullable=False),
        sa.Column("study_instance_uid", sa.String(length=64), nullable=False),
        sa.Column("title_code", sa.String(length=16), nullable=False),
        sa.Column("title_meaning", sa.String(length=64), nullable=False),
        sa.Column("rejected", sa.Text(), nullable=False),
        sa.Column("note_bytes", sa.LargeBinary(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", utc, nullable=True),
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.Column("kos_ids", sa.Text(), nullable=False),
        sa.Column("updated_at", utc, nullable=False),
        sa.CheckConstraint(f"status IN {_STATUSES}", name="ck_source_iocm_note_status"),
        sa.PrimaryKeyConstraint("id", name="pk_source_iocm_note"),
        sa.UniqueConstraint("sop_instance_uid", name="uq_source_iocm_note_sop_instance_uid"),
    )
    op.create_index(
        "ix_source_iocm_note_status_due", "source_iocm_note", ["status", "next_attempt_at"]
    )
    op.create_index("ix_source_iocm_note_study", "source_iocm_note", ["study_instance_uid"])


def downgrade() -> None:
    op.drop_index("ix_source_iocm_note_study", table_name="source_iocm_note")
    op.drop_index("ix_source_iocm_note_status_due", table_name="source_iocm_note")
    op.drop_table("source_iocm_note")
