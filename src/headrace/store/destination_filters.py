"""Destination filters: an FQL condition and its actions, in front of one destination."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Boolean, ForeignKey, String, Text, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from headrace.store.base import ID_LENGTH, Base, UTCDateTime, new_id, utcnow
from headrace.store.destinations import Destination

FILTER_TITLE_MAX_LENGTH = 200


class DestinationFilter(Base):
    __tablename__ = "destination_filters"

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("workspaces.id", ondelete="CASCADE")
    )
    destination_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("destinations.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(String(FILTER_TITLE_MAX_LENGTH))
    description: Mapped[str] = mapped_column(Text)
    enabled: Mapped[bool] = mapped_column(Boolean)
    condition: Mapped[str] = mapped_column(Text)
    """The FQL expression (the API's `if`)."""
    actions: Mapped[str] = mapped_column(Text)
    """JSON list of actions, as the API takes them."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


def filter_spec(row: DestinationFilter) -> dict[str, Any]:
    """A stored filter in the API's shape: {id, title, description, enabled, if, actions}."""
    return {
        "id": row.id,
        "title": row.title,
        "description": row.description,
        "enabled": row.enabled,
        "if": row.condition,
        "actions": orjson.loads(row.actions),
    }


class DestinationFilterRepository:
    """The filters of destinations, always looked up within one workspace."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, destination_filter: DestinationFilter) -> DestinationFilter:
        destination_filter.id = destination_filter.id or new_id("flt")
        destination_filter.created_at = destination_filter.updated_at = utcnow()
        self._session.add(destination_filter)
        self._session.flush()
        return destination_filter

    def get(
        self, workspace_id: str, destination_id: str, filter_id: str
    ) -> DestinationFilter | None:
        """The filter with this id on this destination; None for another's or another
        workspace's."""
        return self._session.scalars(
            select(DestinationFilter).where(
                DestinationFilter.id == filter_id,
                DestinationFilter.destination_id == destination_id,
                DestinationFilter.workspace_id == workspace_id,
            )
        ).first()

    def of_destination(self, workspace_id: str, destination_id: str) -> Sequence[DestinationFilter]:
        """A destination's filters in the order they were created."""
        return self._session.scalars(
            select(DestinationFilter)
            .where(
                DestinationFilter.destination_id == destination_id,
                DestinationFilter.workspace_id == workspace_id,
            )
            .order_by(DestinationFilter.created_at, DestinationFilter.id)
        ).all()

    def count(self, workspace_id: str, destination_id: str) -> int:
        counted = self._session.scalar(
            select(func.count())
            .select_from(DestinationFilter)
            .where(
                DestinationFilter.destination_id == destination_id,
                DestinationFilter.workspace_id == workspace_id,
            )
        )
        return counted or 0

    def lock_destination(self, workspace_id: str, destination_id: str) -> None:
        """Hold the destination's row until the transaction ends where the database locks
        rows (PostgreSQL), so that concurrent changes to its filters take turns; SQLite
        serialises writers anyway."""
        self._session.execute(
            select(Destination.id)
            .where(Destination.id == destination_id, Destination.workspace_id == workspace_id)
            .with_for_update()
        )

    def delete(self, destination_filter: DestinationFilter) -> None:
        self._session.delete(destination_filter)
        self._session.flush()
