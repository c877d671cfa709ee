"""The event pipeline: the work queue, seen message ids, intake counts, delivery records.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ROW_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "jobs",
        sa.Column("id", _ROW_ID, nullable=False),
        sa.Column("queue", sa.String(16), nullable=False),
        sa.Column("workspace_id", sa.String(32), nullable=False),
        sa.Column("target_id", sa.String(32), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("claims", sa.Integer(), nullable=False),
        sa.Column("first_enqueued_at", sa.Float(), nullable=False),
        sa.Column("available_at", sa.Float(), nullable=False),
        sa.Column("lease_token", sa.BigInteger(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_jobs"),
    )
    op.create_index("ix_jobs_queue_available_at", "jobs", ["queue", "available_at"])
    op.create_table(
        "seen_messages",
        sa.Column("source_id", sa.String(32), nullable=False),
        sa.Column("message_id", sa.String(200), nullable=False),
        sa.Column("seen_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("source_id", "message_id", name="pk_seen_messages"),
    )
    op.create_table(
        "intake_counts",
        sa.Column("source_id", sa.String(32), nullable=False),
        sa.Column("minute", sa.BigInteger(), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(200), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "source_id", "minute", "outcome", "reason", name="pk_intake_counts"
        ),
    )
    op.create_table(
        "delivery_counts",
        sa.Column("destination_id", sa.String(32), nullable=False),
        sa.Column("minute", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("category", sa.String(32), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("latency_ms_total", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint(
            "destination_id", "minute", "status", "category", name="pk_delivery_counts"
        ),
    )
    op.create_table(
        "delivery_records",
        sa.Column("id", _ROW_ID, nullable=False),
        sa.Column("workspace_id", sa.String(32), nullable=False),
        sa.Column("destination_id", sa.String(32), nullable=False),
        sa.Column("message_id", sa.String(200), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("category", sa.String(32), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("logs", sa.Text(), nullable=False),
        sa.Column("requests", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_delivery_records"),
    )
    op.create_index(
        "ix_delivery_records_destination_at", "delivery_records", ["destination_id", "at"]
    )


def downgrade() -> None:
    op.drop_table("delivery_records")
    op.drop_table("delivery_counts")
    op.drop_table("intake_counts")
    op.drop_table("seen_messages")
    op.drop_table("jobs")
