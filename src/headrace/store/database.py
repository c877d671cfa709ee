"""Engines and sessions: SQLite pragmas on every connection, one place to open the store."""

from __future__ import annotations

import fcntl
import os
import threading
import weakref
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from types import TracebackType
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

SQLITE_BUSY_TIMEOUT_MS = 5000
"""How long a SQLite connection waits for another writer before giving up."""


PLACEHOLDERS = {"qmark": "?", "format": "%s", "pyformat": "%s"}
"""The positional placeholder of each driver paramstyle headrace can use (sqlite3; psycopg,
psycopg2, pg8000): the queue's hot paths run prebuilt SQL with positional values."""

MAX_BOUND_VALUES = 999
"""Values bound to one statement at most: SQLite's limit before 3.32 (PostgreSQL's is 65535)."""

IN_LIST_MAX = 500
"""Ids in one `id IN (...)` list (with another value or two, well under MAX_BOUND_VALUES)."""


def driver_sql(conn: Connection, statement: str) -> str:
    """`statement`, written with `?` placeholders, in the paramstyle of the connection's
    driver (open_engine only opens drivers that have one), for `conn.exec_driver_sql`."""
    placeholder = PLACEHOLDERS[conn.dialect.paramstyle]
    return statement if placeholder == "?" else statement.replace("?", placeholder)


def placeholders(count: int, each: str = "?") -> str:
    """`count` times `each`, comma-separated: the inside of an IN list or of VALUES."""
    return ", ".join([each] * count)


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
    if engine.dialect.paramstyle not in PLACEHOLDERS:
        safe = parsed.render_as_string(hide_password=True)
        raise StoreError(
            f"The database URL {safe} uses a driver headrace does not support (its parameter "
            f"style is {engine.dialect.paramstyle!r}); use SQLite or PostgreSQL with psycopg."
        )
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


def begin_immediate(conn: Connection) -> None:
    """On SQLite, take the write lock now: a claim that reads then writes must not fail
    half-way with SQLITE_BUSY when two processes race for the same jobs."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN IMMEDIATE")


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A connection in a transaction that holds the database's write lock; committed when
    the block ends, rolled back if it raises.

    On a SQLite file, the pipeline's writers (threads and processes) first take turns
    through a file lock beside the database: the next writer is woken the moment the lock
    is free, instead of retrying in SQLite's busy handler, which sleeps 1-100 ms a time.
    """
    with _writer_turns(engine), engine.connect() as conn:
        begin_immediate(conn)
        yield conn
        conn.commit()


class _WriterTurns:
    """One writer at a time: a lock between this process's threads, then a file lock
    between processes (flock waits in the kernel and wakes the next waiter at once)."""

    def __init__(self, path: Path) -> None:
        self._threads = threading.Lock()
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        weakref.finalize(self, os.close, self._fd)

    def __enter__(self) -> None:
        self._threads.acquire()
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX)
        except BaseException:
            self._threads.release()
            raise

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._threads.release()


_turns: weakref.WeakKeyDictionary[Engine, _WriterTurns] = weakref.WeakKeyDictionary()
_turns_lock = threading.Lock()


def _writer_turns(engine: Engine) -> AbstractContextManager[None]:
    path = sqlite_path(engine)
    if path is None:
        return nullcontext()  # PostgreSQL's row locks need no turns; memory has one writer
    with _turns_lock:
        turns = _turns.get(engine)
        if turns is None:
            turns = _turns[engine] = _WriterTurns(path.with_name(path.name + "-writers.lock"))
        return turns


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


_UNAVAILABLE_BECAUSE = {
    "SQLITE_FULL": "the disk is full",
    "SQLITE_BUSY": "another writer held the database too long",
    "SQLITE_LOCKED": "another writer held the database too long",
    "SQLITE_READONLY": "the database is read-only",
    "SQLITE_IOERR": "the disk failed to read or write",
    "SQLITE_CANTOPEN": "the database file cannot be opened",
    "SQLITE_CORRUPT": "the database file is damaged",
}


def unavailable_because(exc: BaseException) -> str:
    """Why the database could not be used, in a few words safe to show a client: the
    driver's own message (which may name hosts and users) is for the operator's log."""
    driver_error = getattr(exc, "orig", None) or exc
    name = str(getattr(driver_error, "sqlite_errorname", ""))
    for prefix, reason in _UNAVAILABLE_BECAUSE.items():
        if name.startswith(prefix):
            return reason
    return "the database could not be used"
