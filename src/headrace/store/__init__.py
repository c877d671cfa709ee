"""The relational model (SQLAlchemy), its migrations (Alembic) and the repositories."""

from headrace.store.database import StoreError, check_connection, open_engine, session_factory
from headrace.store.delivery_queries import (
    IntakeTotals,
    OutcomeTotal,
    StoredOutcome,
    intake_totals,
    outcome_totals,
    recent_outcomes,
)
from headrace.store.migrate import MigrationResult, head_revisions, is_at_head, upgrade_to_head
from headrace.store.source_objects import SourceObject, SourceObjectStore, source_objects
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
    "IntakeTotals",
    "Member",
    "MemberRepository",
    "MemberRole",
    "MemberRoleResource",
    "MigrationResult",
    "OutcomeTotal",
    "SourceObject",
    "SourceObjectStore",
    "StoreError",
    "StoredOutcome",
    "TokenOwner",
    "TokenRepository",
    "Workspace",
    "WorkspaceRepository",
    "check_connection",
    "head_revisions",
    "intake_totals",
    "is_at_head",
    "open_engine",
    "outcome_totals",
    "recent_outcomes",
    "session_factory",
    "source_objects",
    "upgrade_to_head",
]
