"""Destination filters, debug capture, delivery latency histograms and replay marks.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.String(32)


def upgrade() -> None:
    op.create_table(
        "destination_filters",
        sa.Column("id", _ID, nullable=False),
        sa.Column("workspace_id", _ID, nullable=False),
        sa.Column("destination_id", _ID, nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("condition", sa.Text(), nullable=False),
        sa.Column("actions", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name="fk_destination_filters_workspace_id_workspaces",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["destination_id"],
            ["destinations.id"],
            name="fk_destination_filters_destination_id_destinations",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_destination_filters"),
    )
    op.create_index(
        "ix_destination_filters_destination_id", "destination_filters", ["destination_id"]
    )
    with op.batch_alter_table("destinations") as batch:
        batch.add_column(sa.Column("debug_until", sa.Float(), nullable=True))
    op.create_table(
        "delivery_latency",
        sa.Column("destination_id", _ID, nullable=False),
        sa.Column("minute", sa.BigInteger(), nullable=False),
        sa.Column("bucket", sa.Integer(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("destination_id", "minute", "bucket", name="pk_delivery_latency"),
    )
    with op.batch_alter_table("delivery_records") as batch:
        batch.add_column(sa.Column("replayed_at", sa.Float(), nullable=True))
    op.create_index(
        "ix_delivery_records_destination_status_at",
        "delivery_records",
        ["destination_id", "status", "at"],
    )


def downgrade() -> None:
    op.drop_index("ix_delivery_records_destination_status_at", "delivery_records")
    with op.batch_alter_table("delivery_records") as batch:
        batch.drop_column("replayed_at")
    op.drop_table("delivery_latency")
    with op.batch_alter_table("destinations") as batch:
        batch.drop_column("debug_until")
    op.drop_index("ix_destination_filters_destination_id", "destination_filters")
    op.drop_table("destination_filters")
