"""The relational model (SQLAlchemy), its migrations (Alembic) and the repositories."""

from headrace.store.database import StoreError, check_connection, open_engine, session_factory
from headrace.store.migrate import MigrationResult, head_revisions, is_at_head, upgrade_to_head
from headrace.store.tokens import ApiToken, TokenOwner, TokenRepository
from headrace.store.workspaces import (
    DuplicateWorkspaceName,
    Member,
    MemberRepository,
    MemberRole,
    MemberRoleResource,
    Workspace,
    WorkspaceRepository,
)

__all__ = [
    "ApiToken",
    "DuplicateWorkspaceName",
    "Member",
    "MemberRepository",
    "MemberRole",
    "MemberRoleResource",
    "MigrationResult",
    "StoreError",
    "TokenOwner",
    "TokenRepository",
    "Workspace",
    "WorkspaceRepository",
    "check_connection",
    "head_revisions",
    "is_at_head",
    "open_engine",
    "session_factory",
    "upgrade_to_head",
]
