"""write_transaction: the pipeline's writers take turns on a SQLite file, within a process
and across processes, and a failed block leaves nothing behind."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, event, text

from headrace.store.database import open_engine, write_transaction

WRITERS = 8
INCREMENTS = 50


@pytest.fixture
def database(tmp_path: Path) -> Path:
    return tmp_path / "store.db"


def impatient(engine: Engine) -> Engine:
    """`engine` without SQLite's busy timeout: a writer that finds the database locked fails
    at once instead of waiting, so only write_transaction's turns keep writers apart."""
    event.listen(
        engine, "connect", lambda dbapi_conn, _record: dbapi_conn.execute("PRAGMA busy_timeout=0")
    )
    return engine


@pytest.fixture
def engine(database: Path) -> Iterator[Engine]:
    engine = impatient(open_engine(f"sqlite:///{database}"))
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE counter (n INTEGER NOT NULL)"))
        conn.execute(text("INSERT INTO counter VALUES (0)"))
    yield engine
    engine.dispose()


def increment(engine: Engine) -> None:
    """A read then a write: lost updates would show if two writers overlapped."""
    with write_transaction(engine) as conn:
        n = conn.execute(text("SELECT n FROM counter")).scalar_one()
        conn.execute(text("UPDATE counter SET n = :n"), {"n": n + 1})


def count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT n FROM counter")).scalar_one())


def test_writers_in_many_threads_take_turns_and_lose_no_update(engine: Engine) -> None:
    errors: list[BaseException] = []

    def run() -> None:
        try:
            for _ in range(INCREMENTS):
                increment(engine)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert count(engine) == WRITERS * INCREMENTS


def test_writers_in_another_process_take_turns_with_this_one(
    engine: Engine, database: Path
) -> None:
    script = textwrap.dedent(
        f"""
        from sqlalchemy import text
        from headrace.store.database import open_engine, write_transaction
        from tests.store.test_write_transaction import impatient
        engine = impatient(open_engine("sqlite:///{database}"))
        print("ready", flush=True)
        for _ in range({INCREMENTS * 4}):
            with write_transaction(engine) as conn:
                n = conn.execute(text("SELECT n FROM counter")).scalar_one()
                conn.execute(text("UPDATE counter SET n = :n"), {{"n": n + 1}})
        """
    )
    other = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert other.stdout is not None and other.stdout.readline() == "ready\n"
    for _ in range(INCREMENTS * 4):
        increment(engine)
    assert other.wait(60) == 0

    assert count(engine) == INCREMENTS * 8
    assert (database.parent / "store.db-writers.lock").exists()


def test_a_block_that_raises_is_rolled_back_and_lets_the_next_writer_in(
    engine: Engine,
) -> None:
    with pytest.raises(RuntimeError), write_transaction(engine) as conn:
        conn.execute(text("UPDATE counter SET n = 99"))
        raise RuntimeError("the step failed")

    increment(engine)  # would wait forever if the failed block kept its turn

    assert count(engine) == 1


def test_a_writer_waits_for_the_turn_another_process_holds(engine: Engine, database: Path) -> None:
    # Another process's turn, as the lock file shows it: SQLite itself is not locked.
    lock_file = database.parent / "store.db-writers.lock"
    fd = os.open(lock_file, os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    writer = threading.Thread(target=increment, args=(engine,))
    try:
        writer.start()
        writer.join(0.5)
        waited = writer.is_alive() and count(engine) == 0
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
    writer.join(10)

    assert waited
    assert count(engine) == 1
