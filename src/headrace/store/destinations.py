"""Destinations (webhook or function), the sources they receive from, and the insert
function instances in front of them."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import (
    Column,
    Float,
    ForeignKey,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    delete,
    insert,
    select,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from headrace.store.base import ID_LENGTH, Base, ConfiguredInstance, new_id, utcnow

DESTINATION_NAME_MAX_LENGTH = 120
KIND_MAX_LENGTH = 16

destination_sources = Table(
    "destination_sources",
    Base.metadata,
    Column(
        "destination_id",
        String(ID_LENGTH),
        ForeignKey("destinations.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column(
        "source_id",
        String(ID_LENGTH),
        ForeignKey("sources.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    PrimaryKeyConstraint("destination_id", "source_id"),
)
"""Which sources' events a destination receives."""


class Destination(ConfiguredInstance, Base):
    __tablename__ = "destinations"

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(DESTINATION_NAME_MAX_LENGTH))
    kind: Mapped[str] = mapped_column(String(KIND_MAX_LENGTH))
    function_id: Mapped[str | None] = mapped_column(
        String(ID_LENGTH), ForeignKey("functions.id"), index=True
    )
    version_id: Mapped[str | None] = mapped_column(
        String(ID_LENGTH), ForeignKey("function_versions.id")
    )
    batch_max_events: Mapped[int] = mapped_column(Integer)
    batch_max_wait_ms: Mapped[int] = mapped_column(Integer)
    debug_until: Mapped[float | None] = mapped_column(Float)
    """Until when (epoch seconds) plain deliveries are recorded too, for debugging."""


class InsertFunctionInstance(ConfiguredInstance, Base):
    """An insert function in front of one destination (at most one per destination)."""

    __tablename__ = "insert_function_instances"

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    function_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("functions.id"), index=True
    )
    version_id: Mapped[str] = mapped_column(String(ID_LENGTH), ForeignKey("function_versions.id"))
    destination_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("destinations.id", ondelete="CASCADE"), unique=True
    )


class DestinationRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, destination: Destination) -> Destination:
        destination.id = destination.id or new_id("dst")
        destination.created_at = destination.updated_at = utcnow()
        self._session.add(destination)
        self._session.flush()
        return destination

    def get(self, workspace_id: str, destination_id: str) -> Destination | None:
        """The destination with this id in this workspace; None for another workspace's."""
        return self._session.scalars(
            select(Destination).where(
                Destination.id == destination_id, Destination.workspace_id == workspace_id
            )
        ).first()

    def get_any(self, destination_id: str) -> Destination | None:
        """By id alone, for the pipeline (which has no caller to scope by)."""
        return self._session.get(Destination, destination_id)

    def in_workspace(self, workspace_id: str) -> Sequence[Destination]:
        return self._session.scalars(
            select(Destination)
            .where(Destination.workspace_id == workspace_id)
            .order_by(Destination.created_at, Destination.id)
        ).all()

    def of_function(self, function_id: str) -> Sequence[Destination]:
        return self._session.scalars(
            select(Destination)
            .where(Destination.function_id == function_id)
            .order_by(Destination.id)
        ).all()

    def of_source(self, source_id: str) -> Sequence[Destination]:
        return self._session.scalars(
            select(Destination)
            .join(destination_sources, destination_sources.c.destination_id == Destination.id)
            .where(destination_sources.c.source_id == source_id)
            .order_by(Destination.id)
        ).all()

    def delete(self, destination: Destination) -> None:
        self._session.delete(destination)
        self._session.flush()

    # -- connections -----------------------------------------------------------------------

    def source_ids(self, destination_ids: Sequence[str]) -> dict[str, list[str]]:
        """destination id -> the ids of the sources it receives from, sorted."""
        result: dict[str, list[str]] = {d: [] for d in destination_ids}
        if not destination_ids:
            return result
        rows = self._session.execute(
            select(destination_sources.c.destination_id, destination_sources.c.source_id)
            .where(destination_sources.c.destination_id.in_(list(destination_ids)))
            .order_by(destination_sources.c.source_id)
        ).all()
        for destination_id, source_id in rows:
            result[destination_id].append(source_id)
        return result

    def set_source_ids(self, destination_id: str, source_ids: Sequence[str]) -> None:
        self._session.execute(
            delete(destination_sources).where(
                destination_sources.c.destination_id == destination_id
            )
        )
        if source_ids:
            self._session.execute(
                insert(destination_sources),
                [
                    {"destination_id": destination_id, "source_id": s}
                    for s in sorted(set(source_ids))
                ],
            )


class InsertFunctionInstanceRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, instance: InsertFunctionInstance) -> InsertFunctionInstance:
        instance.id = instance.id or new_id("ins")
        instance.created_at = instance.updated_at = utcnow()
        self._session.add(instance)
        self._session.flush()
        return instance

    def get(self, workspace_id: str, instance_id: str) -> InsertFunctionInstance | None:
        return self._session.scalars(
            select(InsertFunctionInstance).where(
                InsertFunctionInstance.id == instance_id,
                InsertFunctionInstance.workspace_id == workspace_id,
            )
        ).first()

    def in_workspace(self, workspace_id: str) -> Sequence[InsertFunctionInstance]:
        return self._session.scalars(
            select(InsertFunctionInstance)
            .where(InsertFunctionInstance.workspace_id == workspace_id)
            .order_by(InsertFunctionInstance.created_at, InsertFunctionInstance.id)
        ).all()

    def of_function(self, function_id: str) -> Sequence[InsertFunctionInstance]:
        return self._session.scalars(
            select(InsertFunctionInstance)
            .where(InsertFunctionInstance.function_id == function_id)
            .order_by(InsertFunctionInstance.id)
        ).all()

    def of_destination(self, destination_id: str) -> InsertFunctionInstance | None:
        return self._session.scalars(
            select(InsertFunctionInstance).where(
                InsertFunctionInstance.destination_id == destination_id
            )
        ).first()

    def delete(self, instance: InsertFunctionInstance) -> None:
        self._session.delete(instance)
        self._session.flush()
