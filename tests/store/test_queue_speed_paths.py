"""The queue's and dedupe's hand-written SQL: same rows as Core, chunking, lease tokens."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import cast

import pytest
from sqlalchemy import Connection, Engine, insert, select

from headrace.store import open_engine, upgrade_to_head
from headrace.store.database import begin_immediate
from headrace.store.dedupe import DEDUPE_WINDOW_S, MESSAGE_ID_LENGTH, SeenMessages
from headrace.store.queue import (
    IN_LIST_MAX,
    NewJob,
    Retry,
    WorkQueue,
    driver_sql,
    jobs,
)

NOW = 1_000_000.0
PAYLOAD = b"\x00\xff{}\x80 not utf-8"


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = open_engine(f"sqlite:///{tmp_path / 'store.db'}")
    upgrade_to_head(engine)
    yield engine
    engine.dispose()


def new_job(target_id: str = "dst_1", payload: bytes = PAYLOAD) -> NewJob:
    return NewJob("deliver", "ws_1", target_id, payload, first_enqueued_at=NOW, not_before=NOW)


def test_jobs_enqueued_read_back_as_core_writes_them(engine: Engine) -> None:
    with engine.connect() as conn:
        conn.execute(
            insert(jobs),
            [
                {
                    "queue": "deliver",
                    "workspace_id": "ws_1",
                    "target_id": "dst_1",
                    "payload": PAYLOAD,
                    "attempts": 2,
                    "claims": 0,
                    "first_enqueued_at": int(NOW),
                    "available_at": int(NOW),
                }
            ],
        )
        WorkQueue().enqueue(
            conn, [NewJob("deliver", "ws_1", "dst_1", PAYLOAD, int(NOW), int(NOW), attempts=2)]
        )
        core, raw = (tuple(row) for row in conn.execute(select(jobs).order_by(jobs.c.id)))
        claimed = WorkQueue().claim(conn, "deliver", 10, 30, NOW)

    assert core[1:] == raw[1:]
    assert [type(value) for value in core] == [type(value) for value in raw]
    assert raw[4] == PAYLOAD
    assert [(job.payload, job.attempts, job.claims, job.first_enqueued_at) for job in claimed] == [
        (PAYLOAD, 2, 1, NOW)
    ] * 2


def test_many_jobs_are_enqueued_claimed_in_id_order_and_acked(engine: Engine) -> None:
    count = 3 * IN_LIST_MAX + 7
    queue = WorkQueue()
    with engine.connect() as conn:
        queue.enqueue(conn, [new_job(payload=str(n).encode()) for n in range(count)])
        conn.commit()
        begin_immediate(conn)
        claimed = queue.claim(conn, "deliver", count, 30, NOW)
        assert [job.payload for job in claimed] == [str(n).encode() for n in range(count)]
        assert [job.id for job in claimed] == sorted(job.id for job in claimed)
        assert queue.held(conn, claimed) == {job.id for job in claimed}
        queue.ack(conn, claimed)
        assert queue.depth(conn, "deliver") == 0


def test_only_jobs_held_under_their_token_are_acked_or_retried(engine: Engine) -> None:
    queue = WorkQueue()
    with engine.connect() as conn:
        queue.enqueue(conn, [new_job() for _ in range(4)])
        stale = queue.claim(conn, "deliver", 4, 1, NOW)
        current = queue.claim(conn, "deliver", 2, 30, NOW + 2)  # took over two of them
        mixed = stale + current

        assert queue.held(conn, mixed) == {job.id for job in stale[2:] + current}
        queue.retry(conn, [Retry(job, NOW + 100, "HTTP 503") for job in stale])
        queue.ack(conn, mixed)

        rows = conn.execute(select(jobs.c.id, jobs.c.attempts, jobs.c.last_error)).all()
    # current's two are acked; the other two of stale were retried, so no longer held.
    assert sorted(tuple(row) for row in rows) == [
        (job.id, 1, "HTTP 503") for job in sorted(stale[2:], key=lambda job: job.id)
    ]


def test_a_claim_for_one_target_leaves_the_others(engine: Engine) -> None:
    queue = WorkQueue()
    with engine.connect() as conn:
        queue.enqueue(conn, [new_job("dst_1"), new_job("dst_2"), new_job("dst_1")])
        claimed = queue.claim(conn, "deliver", 10, 30, NOW, target_id="dst_1")

        rest = queue.claim(conn, "deliver", 10, 30, NOW)

        assert [job.target_id for job in claimed] == ["dst_1", "dst_1"]
        assert [job.target_id for job in rest] == ["dst_2"]


def first_sightings(engine: Engine, ids: list[str], now: float) -> set[str]:
    with engine.connect() as conn:
        fresh = SeenMessages().first_sightings(conn, "src_1", ids, now)
        conn.commit()
    return fresh


def test_first_sightings_of_many_ids_with_repeats_and_long_ids(engine: Engine) -> None:
    long_id = "x" * (MESSAGE_ID_LENGTH + 50)
    ids = [f"m{n}" for n in range(1200)] + ["m1", long_id, long_id]

    assert first_sightings(engine, ids, NOW) == {f"m{n}" for n in range(1200)} | {
        long_id[:MESSAGE_ID_LENGTH]
    }
    assert first_sightings(engine, [*ids, "new"], NOW + 1) == {"new"}


def test_only_ids_last_seen_before_the_window_are_seen_again(engine: Engine) -> None:
    first_sightings(engine, ["old"], NOW)
    first_sightings(engine, ["edge"], NOW + 1)
    first_sightings(engine, ["recent"], NOW + 2)
    later = NOW + 1 + DEDUPE_WINDOW_S  # "edge" was seen exactly one window ago

    assert first_sightings(engine, ["old", "edge", "recent", "new"], later) == {"old", "new"}
    assert first_sightings(engine, ["old"], later + 1) == set()


def on_driver(paramstyle: str) -> Connection:
    return cast(Connection, SimpleNamespace(dialect=SimpleNamespace(paramstyle=paramstyle)))


def test_statements_use_the_drivers_placeholders() -> None:
    assert driver_sql(on_driver("qmark"), "id = ? AND x = ?") == "id = ? AND x = ?"
    assert driver_sql(on_driver("pyformat"), "id = ? AND x = ?") == "id = %s AND x = %s"
    assert driver_sql(on_driver("format"), "id = ?") == "id = %s"
