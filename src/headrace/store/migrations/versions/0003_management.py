"""The management API: functions and versions, sources, destinations, insert function
instances, the audit trail and function usage.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.String(32)


def _timestamps() -> list[sa.Column[object]]:
    return [
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    ]


def _workspace_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["workspace_id"],
        ["workspaces.id"],
        name=f"fk_{table}_workspace_id_workspaces",
        ondelete="CASCADE",
    )


def _function_fks(table: str) -> list[sa.ForeignKeyConstraint]:
    return [
        sa.ForeignKeyConstraint(
            ["function_id"], ["functions.id"], name=f"fk_{table}_function_id_functions"
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["function_versions.id"],
            name=f"fk_{table}_version_id_function_versions",
        ),
    ]


def upgrade() -> None:
    op.create_table(
        "functions",
        sa.Column("id", _ID, nullable=False),
        sa.Column("workspace_id", _ID, nullable=False),
        sa.Column("display_name", sa.String(120), nullable=False),
        sa.Column("description", sa.String(1000), nullable=False),
        sa.Column("resource_type", sa.String(24), nullable=False),
        sa.Column("language", sa.String(16), nullable=False),
        sa.Column("latest_version_id", _ID, nullable=True),
        sa.Column("created_by", _ID, nullable=True),
        *_timestamps(),
        _workspace_fk("functions"),
        sa.PrimaryKeyConstraint("id", name="pk_functions"),
        sa.UniqueConstraint("workspace_id", "display_name", name="uq_functions_workspace_id"),
    )
    op.create_index("ix_functions_workspace_id", "functions", ["workspace_id"])
    op.create_table(
        "function_versions",
        sa.Column("id", _ID, nullable=False),
        sa.Column("function_id", _ID, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("settings", sa.Text(), nullable=False),
        sa.Column("timeout_ms", sa.Integer(), nullable=False),
        sa.Column("author", _ID, nullable=True),
        sa.Column("restored_from", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["function_id"],
            ["functions.id"],
            name="fk_function_versions_function_id_functions",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_function_versions"),
        sa.UniqueConstraint("function_id", "version", name="uq_function_versions_function_id"),
    )
    op.create_index("ix_function_versions_function_id", "function_versions", ["function_id"])
    op.create_table(
        "sources",
        sa.Column("id", _ID, nullable=False),
        sa.Column("workspace_id", _ID, nullable=False),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("write_key", sa.String(64), nullable=True),
        sa.Column("webhook_token", sa.String(64), nullable=True),
        sa.Column("function_id", _ID, nullable=True),
        sa.Column("version_id", _ID, nullable=True),
        sa.Column("settings", sa.Text(), nullable=False),
        sa.Column("secrets", sa.Text(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        *_timestamps(),
        _workspace_fk("sources"),
        *_function_fks("sources"),
        sa.PrimaryKeyConstraint("id", name="pk_sources"),
        sa.UniqueConstraint("write_key", name="uq_sources_write_key"),
        sa.UniqueConstraint("webhook_token", name="uq_sources_webhook_token"),
    )
    op.create_index("ix_sources_workspace_id", "sources", ["workspace_id"])
    op.create_index("ix_sources_function_id", "sources", ["function_id"])
    op.create_table(
        "destinations",
        sa.Column("id", _ID, nullable=False),
        sa.Column("workspace_id", _ID, nullable=False),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("function_id", _ID, nullable=True),
        sa.Column("version_id", _ID, nullable=True),
        sa.Column("settings", sa.Text(), nullable=False),
        sa.Column("secrets", sa.Text(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("batch_max_events", sa.Integer(), nullable=False),
        sa.Column("batch_max_wait_ms", sa.Integer(), nullable=False),
        *_timestamps(),
        _workspace_fk("destinations"),
        *_function_fks("destinations"),
        sa.PrimaryKeyConstraint("id", name="pk_destinations"),
    )
    op.create_index("ix_destinations_workspace_id", "destinations", ["workspace_id"])
    op.create_index("ix_destinations_function_id", "destinations", ["function_id"])
    op.create_table(
        "destination_sources",
        sa.Column("destination_id", _ID, nullable=False),
        sa.Column("source_id", _ID, nullable=False),
        sa.ForeignKeyConstraint(
            ["destination_id"],
            ["destinations.id"],
            name="fk_destination_sources_destination_id_destinations",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["sources.id"],
            name="fk_destination_sources_source_id_sources",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("destination_id", "source_id", name="pk_destination_sources"),
    )
    op.create_index("ix_destination_sources_source_id", "destination_sources", ["source_id"])
    op.create_table(
        "insert_function_instances",
        sa.Column("id", _ID, nullable=False),
        sa.Column("workspace_id", _ID, nullable=False),
        sa.Column("function_id", _ID, nullable=False),
        sa.Column("version_id", _ID, nullable=False),
        sa.Column("destination_id", _ID, nullable=False),
        sa.Column("settings", sa.Text(), nullable=False),
        sa.Column("secrets", sa.Text(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        *_timestamps(),
        _workspace_fk("insert_function_instances"),
        *_function_fks("insert_function_instances"),
        sa.ForeignKeyConstraint(
            ["destination_id"],
            ["destinations.id"],
            name="fk_insert_function_instances_destination_id_destinations",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_insert_function_instances"),
        sa.UniqueConstraint("destination_id", name="uq_insert_function_instances_destination_id"),
    )
    op.create_index(
        "ix_insert_function_instances_workspace_id", "insert_function_instances", ["workspace_id"]
    )
    op.create_index(
        "ix_insert_function_instances_function_id", "insert_function_instances", ["function_id"]
    )
    op.create_table(
        "audit_entries",
        sa.Column("id", _ID, nullable=False),
        sa.Column("workspace_id", _ID, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", _ID, nullable=True),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("resource_type", sa.String(40), nullable=False),
        sa.Column("resource_id", sa.String(64), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        _workspace_fk("audit_entries"),
        sa.PrimaryKeyConstraint("id", name="pk_audit_entries"),
    )
    op.create_index("ix_audit_entries_workspace_at", "audit_entries", ["workspace_id", "at"])
    op.create_index("ix_audit_entries_resource_id", "audit_entries", ["resource_id"])
    op.create_table(
        "function_usage",
        sa.Column("workspace_id", _ID, nullable=False),
        sa.Column("function_id", _ID, nullable=False),
        sa.Column("day", sa.String(10), nullable=False),
        sa.Column("invocations", sa.BigInteger(), nullable=False),
        sa.Column("execution_ms", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("function_id", "day", name="pk_function_usage"),
    )
    op.create_index("ix_function_usage_workspace_id_day", "function_usage", ["workspace_id", "day"])


def downgrade() -> None:
    op.drop_table("function_usage")
    op.drop_table("audit_entries")
    op.drop_table("insert_function_instances")
    op.drop_table("destination_sources")
    op.drop_table("destinations")
    op.drop_table("sources")
    op.drop_table("function_versions")
    op.drop_table("functions")
