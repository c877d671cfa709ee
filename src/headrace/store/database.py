"""Engines and sessions: SQLite pragmas on every connection, one place to open the store."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

SQLITE_BUSY_TIMEOUT_MS = 5000
"""How long a SQLite connection waits for another writer before giving up."""


class StoreError(Exception):
    """The database cannot be opened or used; the message is one sentence for users."""


def open_engine(url: str) -> Engine:
    """An engine for `url`; SQLite connections get WAL, foreign keys and a busy timeout."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise StoreError(f"The database URL {url!r} is not a valid SQLAlchemy URL.") from None
    kwargs: dict[str, Any] = {}
    if parsed.get_backend_name() != "sqlite":
        kwargs["pool_pre_ping"] = True
    try:
        engine = create_engine(parsed, **kwargs)
    except (ImportError, SQLAlchemyError) as exc:
        safe = parsed.render_as_string(hide_password=True)
        raise StoreError(f"The database URL {safe} cannot be used: {exc}.") from None
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _configure_sqlite_connection)
    return engine


def _configure_sqlite_connection(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        # FULL: a commit is on disk before it returns, which ingest's 200 relies on.
        cursor.execute("PRAGMA synchronous=FULL")
    finally:
        cursor.close()


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def sqlite_path(engine: Engine) -> Path | None:
    """The file of a file-backed SQLite engine, else None."""
    if engine.dialect.name != "sqlite" or not engine.url.database:
        return None
    if engine.url.database == ":memory:":
        return None
    return Path(engine.url.database)


def check_connection(engine: Engine) -> None:
    """Raise StoreError unless the database answers a trivial query."""
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        raise StoreError(describe_failure(engine, exc)) from None


def describe_failure(engine: Engine, exc: SQLAlchemyError) -> str:
    """One sentence naming the database and what the driver said, without the password."""
    where = engine.url.render_as_string(hide_password=True)
    path = sqlite_path(engine)
    if path is not None:
        where = str(path)
    reason = str(getattr(exc, "orig", None) or exc).strip().rstrip(".")
    return f"The database {where} cannot be used: {reason}."
