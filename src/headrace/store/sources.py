"""Sources: tracking sources (a write key) and function sources (a pinned function version)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ForeignKey, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from headrace.store.base import ID_LENGTH, Base, ConfiguredInstance, new_id, utcnow

SOURCE_NAME_MAX_LENGTH = 120
KIND_MAX_LENGTH = 16
WRITE_KEY_MAX_LENGTH = 64


class Source(ConfiguredInstance, Base):
    __tablename__ = "sources"

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(SOURCE_NAME_MAX_LENGTH))
    kind: Mapped[str] = mapped_column(String(KIND_MAX_LENGTH))
    write_key: Mapped[str | None] = mapped_column(String(WRITE_KEY_MAX_LENGTH), unique=True)
    webhook_token: Mapped[str | None] = mapped_column(String(WRITE_KEY_MAX_LENGTH), unique=True)
    """The secret part of a function source's webhook URL (webhooks come in a later issue)."""
    function_id: Mapped[str | None] = mapped_column(
        String(ID_LENGTH), ForeignKey("functions.id"), index=True
    )
    version_id: Mapped[str | None] = mapped_column(
        String(ID_LENGTH), ForeignKey("function_versions.id")
    )


class SourceRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, source: Source) -> Source:
        source.id = source.id or new_id("src")
        source.created_at = source.updated_at = utcnow()
        self._session.add(source)
        self._session.flush()
        return source

    def get(self, workspace_id: str, source_id: str) -> Source | None:
        """The source with this id in this workspace; None for another workspace's."""
        return self._session.scalars(
            select(Source).where(Source.id == source_id, Source.workspace_id == workspace_id)
        ).first()

    def get_many(self, workspace_id: str, source_ids: Sequence[str]) -> dict[str, Source]:
        if not source_ids:
            return {}
        rows = self._session.scalars(
            select(Source).where(
                Source.workspace_id == workspace_id, Source.id.in_(list(set(source_ids)))
            )
        ).all()
        return {row.id: row for row in rows}

    def in_workspace(self, workspace_id: str) -> Sequence[Source]:
        return self._session.scalars(
            select(Source)
            .where(Source.workspace_id == workspace_id)
            .order_by(Source.created_at, Source.id)
        ).all()

    def of_function(self, function_id: str) -> Sequence[Source]:
        return self._session.scalars(
            select(Source).where(Source.function_id == function_id).order_by(Source.id)
        ).all()

    def find_by_write_key(self, write_key: str) -> Source | None:
        return self._session.scalars(select(Source).where(Source.write_key == write_key)).first()

    def delete(self, source: Source) -> None:
        self._session.delete(source)
        self._session.flush()
