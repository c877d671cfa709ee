"""The audit trail: who created, changed, deleted or deployed what in a workspace, when."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from headrace.store.base import ID_LENGTH, Base, UTCDateTime, new_id, utcnow

ACTION_MAX_LENGTH = 40
RESOURCE_TYPE_MAX_LENGTH = 40
RESOURCE_ID_MAX_LENGTH = 64
AUDIT_PAGE_MAX = 1000
"""The most entries one query returns, newest first."""


class AuditEntry(Base):
    __tablename__ = "audit_entries"
    __table_args__ = (
        Index("ix_audit_entries_workspace_at", "workspace_id", "at"),
        Index("ix_audit_entries_resource_id", "resource_id"),
    )

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("workspaces.id", ondelete="CASCADE")
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    """The member who acted (None for headrace itself)."""
    action: Mapped[str] = mapped_column(String(ACTION_MAX_LENGTH))
    resource_type: Mapped[str] = mapped_column(String(RESOURCE_TYPE_MAX_LENGTH))
    resource_id: Mapped[str] = mapped_column(String(RESOURCE_ID_MAX_LENGTH))
    details: Mapped[str] = mapped_column(Text)
    """A JSON object; never secret values."""


class AuditRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def add(
        self,
        workspace_id: str,
        actor: str | None,
        action: str,
        resource_type: str,
        resource_id: str,
        details: str,
    ) -> AuditEntry:
        entry = AuditEntry(
            id=new_id("aud"),
            workspace_id=workspace_id,
            at=utcnow(),
            actor=actor,
            action=action,
            resource_type=resource_type,
            resource_id=resource_id,
            details=details,
        )
        self._session.add(entry)
        self._session.flush()
        return entry

    def list(
        self,
        workspace_id: str,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        resource_id: str | None = None,
        limit: int = AUDIT_PAGE_MAX,
    ) -> Sequence[AuditEntry]:
        """Newest first; `since` inclusive, `until` exclusive."""
        query = select(AuditEntry).where(AuditEntry.workspace_id == workspace_id)
        if since is not None:
            query = query.where(AuditEntry.at >= since)
        if until is not None:
            query = query.where(AuditEntry.at < until)
        if resource_id is not None:
            query = query.where(AuditEntry.resource_id == resource_id)
        return self._session.scalars(
            query.order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(limit)
        ).all()
