"""Every SQLite connection runs in WAL mode with foreign keys and a busy timeout."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.dialects import registry
from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite
from sqlalchemy.exc import IntegrityError

from headrace.store import StoreError, check_connection, open_engine, upgrade_to_head
from headrace.store.database import SQLITE_BUSY_TIMEOUT_MS


def pragma(url: str, name: str) -> object:
    engine = open_engine(url)
    with engine.connect() as connection:
        value = connection.execute(text(f"PRAGMA {name}")).scalar()
    engine.dispose()
    return value


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'headrace.db'}"


def test_journal_mode_is_wal(url: str) -> None:
    assert pragma(url, "journal_mode") == "wal"


def test_foreign_keys_are_enforced(url: str) -> None:
    assert pragma(url, "foreign_keys") == 1


def test_busy_timeout_is_set(url: str) -> None:
    assert pragma(url, "busy_timeout") == SQLITE_BUSY_TIMEOUT_MS


def test_member_of_a_missing_workspace_is_refused(url: str) -> None:
    engine = open_engine(url)
    upgrade_to_head(engine)

    with pytest.raises(IntegrityError), engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO members (id, workspace_id, name, created_at) "
                "VALUES ('mem_1', 'ws_missing', 'x', '2025-01-01 00:00:00')"
            )
        )


def test_garbage_file_is_a_store_error_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "headrace.db"
    path.write_bytes(b"\x00garbage" * 512)

    with pytest.raises(StoreError, match=r"headrace\.db cannot be used: file is not a database"):
        check_connection(open_engine(f"sqlite:///{path}"))


def test_invalid_url_is_a_store_error() -> None:
    with pytest.raises(StoreError, match="not a valid SQLAlchemy URL"):
        open_engine("not a url")


class NamedParametersSQLite(SQLiteDialect_pysqlite):
    """A driver whose placeholders are `:name`, as some a user might install (oracledb)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**{**kwargs, "paramstyle": "named"})


def test_a_driver_whose_placeholders_headrace_cannot_write_is_refused_at_open(
    tmp_path: Path,
) -> None:
    registry.register("sqlite.namedparams", __name__, "NamedParametersSQLite")

    with pytest.raises(StoreError, match="does not support \\(its parameter style is 'named'\\)"):
        open_engine(f"sqlite+namedparams:///{tmp_path / 'headrace.db'}")
