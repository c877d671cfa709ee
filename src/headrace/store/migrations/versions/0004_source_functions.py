"""Source functions: the objects they emit with `Segment.set`.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "source_objects",
        sa.Column("source_id", sa.String(32), nullable=False),
        sa.Column("collection", sa.String(100), nullable=False),
        sa.Column("object_id", sa.String(256), nullable=False),
        sa.Column("properties", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["sources.id"],
            name="fk_source_objects_source_id_sources",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("source_id", "collection", "object_id", name="pk_source_objects"),
    )
    op.create_index(
        "ix_source_objects_source_updated_at", "source_objects", ["source_id", "updated_at"]
    )


def downgrade() -> None:
    op.drop_table("source_objects")
