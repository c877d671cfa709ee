"""Functions and their immutable versions: tables and the queries that serve them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from headrace.store.base import ID_LENGTH, Base, UTCDateTime, new_id, utcnow

DISPLAY_NAME_MAX_LENGTH = 120
DESCRIPTION_MAX_LENGTH = 1000
RESOURCE_TYPE_MAX_LENGTH = 24
LANGUAGE_MAX_LENGTH = 16


class Function(Base):
    """A function of a workspace; what it runs lives in its versions."""

    __tablename__ = "functions"
    __table_args__ = (UniqueConstraint("workspace_id", "display_name"),)

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    display_name: Mapped[str] = mapped_column(String(DISPLAY_NAME_MAX_LENGTH))
    description: Mapped[str] = mapped_column(String(DESCRIPTION_MAX_LENGTH))
    resource_type: Mapped[str] = mapped_column(String(RESOURCE_TYPE_MAX_LENGTH))
    language: Mapped[str] = mapped_column(String(LANGUAGE_MAX_LENGTH))
    latest_version_id: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    """The newest version; kept here so that listing functions needs no max() per row."""
    created_by: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class FunctionVersion(Base):
    """One save of a function: its code, setting schema (JSON) and timeout. Never changed."""

    __tablename__ = "function_versions"
    __table_args__ = (UniqueConstraint("function_id", "version"),)

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    function_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("functions.id", ondelete="CASCADE"), index=True
    )
    version: Mapped[int] = mapped_column(Integer)
    code: Mapped[str] = mapped_column(Text)
    settings: Mapped[str] = mapped_column(Text)
    timeout_ms: Mapped[int] = mapped_column(Integer)
    author: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    restored_from: Mapped[int | None] = mapped_column(Integer)
    """The version this one restores, if it was made by a restore."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class DuplicateDisplayName(Exception):
    pass


class FunctionRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def add(
        self,
        workspace_id: str,
        *,
        display_name: str,
        description: str,
        resource_type: str,
        language: str,
        created_by: str | None,
    ) -> Function:
        if self.find_by_name(workspace_id, display_name) is not None:
            raise DuplicateDisplayName(display_name)
        now = utcnow()
        function = Function(
            id=new_id("fn"),
            workspace_id=workspace_id,
            display_name=display_name,
            description=description,
            resource_type=resource_type,
            language=language,
            created_by=created_by,
            created_at=now,
            updated_at=now,
        )
        self._session.add(function)
        self._flush_name(display_name)
        return function

    def rename(self, function: Function, display_name: str) -> None:
        other = self.find_by_name(function.workspace_id, display_name)
        if other is not None and other.id != function.id:
            raise DuplicateDisplayName(display_name)
        function.display_name = display_name
        self._flush_name(display_name)

    def _flush_name(self, display_name: str) -> None:
        # The unique index decides between two concurrent writers.
        try:
            self._session.flush()
        except IntegrityError:
            raise DuplicateDisplayName(display_name) from None

    def get(self, workspace_id: str, function_id: str) -> Function | None:
        """The function with this id in this workspace; None for another workspace's."""
        return self._session.scalars(
            select(Function).where(
                Function.id == function_id, Function.workspace_id == workspace_id
            )
        ).first()

    def find_by_name(self, workspace_id: str, display_name: str) -> Function | None:
        return self._session.scalars(
            select(Function).where(
                Function.workspace_id == workspace_id, Function.display_name == display_name
            )
        ).first()

    def in_workspace(
        self, workspace_id: str, resource_type: str | None = None
    ) -> Sequence[Function]:
        query = select(Function).where(Function.workspace_id == workspace_id)
        if resource_type is not None:
            query = query.where(Function.resource_type == resource_type)
        return self._session.scalars(query.order_by(Function.created_at, Function.id)).all()

    def delete(self, function: Function) -> None:
        self._session.delete(function)
        self._session.flush()

    # -- versions --------------------------------------------------------------------------

    def add_version(
        self,
        function: Function,
        *,
        code: str,
        settings: str,
        timeout_ms: int,
        author: str | None,
        restored_from: int | None = None,
    ) -> FunctionVersion:
        """A new latest version, numbered one past the highest so far."""
        highest = self._session.scalar(
            select(func.max(FunctionVersion.version)).where(
                FunctionVersion.function_id == function.id
            )
        )
        now = utcnow()
        version = FunctionVersion(
            id=new_id("fv"),
            function_id=function.id,
            version=(highest or 0) + 1,
            code=code,
            settings=settings,
            timeout_ms=timeout_ms,
            author=author,
            restored_from=restored_from,
            created_at=now,
        )
        self._session.add(version)
        function.latest_version_id = version.id
        function.updated_at = now
        self._session.flush()
        return version

    def version(self, function_id: str, version_id: str) -> FunctionVersion | None:
        return self._session.scalars(
            select(FunctionVersion).where(
                FunctionVersion.id == version_id, FunctionVersion.function_id == function_id
            )
        ).first()

    def version_by_id(self, version_id: str) -> FunctionVersion | None:
        return self._session.get(FunctionVersion, version_id)

    def versions(self, function_id: str) -> Sequence[FunctionVersion]:
        """Newest first."""
        return self._session.scalars(
            select(FunctionVersion)
            .where(FunctionVersion.function_id == function_id)
            .order_by(FunctionVersion.version.desc())
        ).all()

    def versions_by_id(self, version_ids: Sequence[str]) -> dict[str, FunctionVersion]:
        if not version_ids:
            return {}
        rows = self._session.scalars(
            select(FunctionVersion).where(FunctionVersion.id.in_(list(set(version_ids))))
        ).all()
        return {row.id: row for row in rows}
