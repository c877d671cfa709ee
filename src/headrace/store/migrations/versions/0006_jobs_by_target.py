"""Jobs indexed per target, so that a claim can skip the backlog of a destination whose
jobs are still in flight.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_jobs_queue_target_available_at", "jobs", ["queue", "target_id", "available_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_jobs_queue_target_available_at", "jobs")
