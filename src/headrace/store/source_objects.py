"""Objects that source functions emit with `Segment.set(...)`: the latest properties of each
(source, collection, id), kept for the source's records (headrace ships no warehouse)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import (
    Column,
    Connection,
    Float,
    ForeignKey,
    Index,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite

from headrace.store.base import ID_LENGTH, Base

COLLECTION_MAX_LENGTH = 100
OBJECT_ID_MAX_LENGTH = 256

source_objects = Table(
    "source_objects",
    Base.metadata,
    Column(
        "source_id",
        String(ID_LENGTH),
        ForeignKey("sources.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("collection", String(COLLECTION_MAX_LENGTH), nullable=False),
    Column("object_id", String(OBJECT_ID_MAX_LENGTH), nullable=False),
    # JSON object: the properties of the object's latest `Segment.set`.
    Column("properties", Text, nullable=False),
    Column("updated_at", Float, nullable=False),
    PrimaryKeyConstraint("source_id", "collection", "object_id"),
    Index("ix_source_objects_source_updated_at", "source_id", "updated_at"),
)


@dataclass(frozen=True)
class SourceObject:
    source_id: str
    collection: str
    object_id: str
    properties: str
    """JSON object."""
    updated_at: float


class SourceObjectStore:
    """Upserts and reads objects in the caller's transaction."""

    def upsert(self, conn: Connection, objects: Sequence[SourceObject]) -> None:
        """Insert each object, or replace the properties of the one with its key. Of several
        objects with one key, the last wins."""
        latest = {(o.source_id, o.collection, o.object_id): o for o in objects}
        if not latest:
            return
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        statement = dialect.insert(source_objects)
        statement = statement.on_conflict_do_update(
            index_elements=["source_id", "collection", "object_id"],
            set_={
                "properties": statement.excluded.properties,
                "updated_at": statement.excluded.updated_at,
            },
        )
        conn.execute(
            statement,
            [
                {
                    "source_id": o.source_id,
                    "collection": o.collection,
                    "object_id": o.object_id,
                    "properties": o.properties,
                    "updated_at": o.updated_at,
                }
                for o in latest.values()
            ],
        )

    def recent(
        self,
        conn: Connection,
        source_id: str,
        *,
        collection: str | None = None,
        limit: int = 100,
    ) -> list[SourceObject]:
        """A source's objects, most recently set first."""
        query = select(source_objects).where(source_objects.c.source_id == source_id)
        if collection is not None:
            query = query.where(source_objects.c.collection == collection)
        rows = conn.execute(query.order_by(source_objects.c.updated_at.desc()).limit(limit)).all()
        return [
            SourceObject(
                source_id=r.source_id,
                collection=r.collection,
                object_id=r.object_id,
                properties=r.properties,
                updated_at=r.updated_at,
            )
            for r in rows
        ]
