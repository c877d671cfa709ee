"""Counter tables: rows keyed by some columns whose other columns only ever grow.

One upsert for all of them, so concurrent writers (threads, processes) add up instead of
overwriting each other, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.dml import Insert


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
    conn.execute(_upsert(conn.dialect.name, table, tuple(keys), tuple(summed)), list(rows))


@lru_cache(maxsize=64)
def _upsert(
    dialect_name: str, table: Table, keys: tuple[str, ...], summed: tuple[str, ...]
) -> Insert:
    # Built once per table: constructing `excluded` costs more than running the upsert.
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    statement = dialect.insert(table)
    upsert: Insert = statement.on_conflict_do_update(
        index_elements=list(keys),
        set_={name: table.c[name] + statement.excluded[name] for name in summed},
    )
    return upsert
