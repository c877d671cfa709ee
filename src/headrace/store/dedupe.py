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
)

from headrace.store.base import ID_LENGTH, Base
from headrace.store.database import MAX_BOUND_VALUES, driver_sql, placeholders

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

# Inserts the ids not seen yet and renews those last seen before the window: the rows it
# returns, exactly, are the first sightings (SQLite >= 3.35 and PostgreSQL alike).
_RECORD = (
    "INSERT INTO seen_messages (source_id, message_id, seen_at) VALUES {rows}"
    " ON CONFLICT (source_id, message_id) DO UPDATE SET seen_at = excluded.seen_at"
    " WHERE seen_messages.seen_at < ?"
    " RETURNING message_id"
)
_RECORD_ROW = "(?, ?, ?)"
_RECORD_ROWS_MAX = (MAX_BOUND_VALUES - 1) // _RECORD_ROW.count("?")


class SeenMessages:
    def first_sightings(
        self, conn: Connection, source_id: str, message_ids: Sequence[str], now: float
    ) -> set[str]:
        """Which of `message_ids` this source has not sent within the window; records them.

        Run it inside the transaction that enqueues the events (on SQLite, one that holds
        the write lock), so two routers cannot both see a message as new.
        """
        ids = list({m[:MESSAGE_ID_LENGTH] for m in message_ids})
        fresh_cutoff = now - DEDUPE_WINDOW_S
        new: set[str] = set()
        for start in range(0, len(ids), _RECORD_ROWS_MAX):
            chunk = ids[start : start + _RECORD_ROWS_MAX]
            values = [value for m in chunk for value in (source_id, m, float(now))]
            statement = _RECORD.format(rows=placeholders(len(chunk), _RECORD_ROW))
            rows = conn.exec_driver_sql(driver_sql(conn, statement), (*values, fresh_cutoff))
            new.update(message_id for (message_id,) in rows)
        return new

    def forget_before(self, conn: Connection, cutoff: float) -> int:
        result = conn.execute(delete(seen_messages).where(seen_messages.c.seen_at < cutoff))
        return int(result.rowcount or 0)
