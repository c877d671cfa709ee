"""Counter tables: rows keyed by some columns whose other columns only ever grow.

One upsert for all of them, so concurrent writers (threads, processes) add up instead of
overwriting each other, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql, sqlite


def add_to_counters(
    conn: Connection,
    table: Table,
    keys: Sequence[str],
    summed: Sequence[str],
    rows: Sequence[dict[str, Any]],
) -> None:
    """Insert `rows`; where a row with the same `keys` (the table's primary key) exists,
    add its `summed` columns to that row's instead."""
    if not rows:
        return
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(table)
    statement = statement.on_conflict_do_update(
        index_elements=list(keys),
        set_={name: table.c[name] + statement.excluded[name] for name in summed},
    )
    conn.execute(statement, list(rows))
