"""Message ids seen per source, so one messageId is delivered once within the window."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import (
    Column,
    Connection,
    Float,
    PrimaryKeyConstraint,
    String,
    Table,
    delete,
    insert,
    select,
)

from headrace.store.base import ID_LENGTH, Base

DEDUPE_WINDOW_S = 24 * 3600.0
"""A messageId seen from a source within this long is a duplicate."""

MESSAGE_ID_LENGTH = 200

seen_messages = Table(
    "seen_messages",
    Base.metadata,
    Column("source_id", String(ID_LENGTH), nullable=False),
    Column("message_id", String(MESSAGE_ID_LENGTH), nullable=False),
    Column("seen_at", Float, nullable=False),
    PrimaryKeyConstraint("source_id", "message_id"),
)


class SeenMessages:
    def first_sightings(
        self, conn: Connection, source_id: str, message_ids: Sequence[str], now: float
    ) -> set[str]:
        """Which of `message_ids` this source has not sent within the window; records them.

        Run it inside the transaction that enqueues the events (on SQLite, one that holds
        the write lock), so two routers cannot both see a message as new.
        """
        ids = {m[:MESSAGE_ID_LENGTH] for m in message_ids}
        if not ids:
            return set()
        rows = conn.execute(
            select(seen_messages.c.message_id, seen_messages.c.seen_at).where(
                seen_messages.c.source_id == source_id,
                seen_messages.c.message_id.in_(list(ids)),
            )
        ).all()
        fresh_cutoff = now - DEDUPE_WINDOW_S
        recent = {row.message_id for row in rows if row.seen_at >= fresh_cutoff}
        stale = {row.message_id for row in rows} - recent
        if stale:
            conn.execute(
                delete(seen_messages).where(
                    seen_messages.c.source_id == source_id,
                    seen_messages.c.message_id.in_(list(stale)),
                )
            )
        new = ids - recent
        if new:
            conn.execute(
                insert(seen_messages),
                [{"source_id": source_id, "message_id": m, "seen_at": now} for m in new],
            )
        return new

    def forget_before(self, conn: Connection, cutoff: float) -> int:
        result = conn.execute(delete(seen_messages).where(seen_messages.c.seen_at < cutoff))
        return int(result.rowcount or 0)
