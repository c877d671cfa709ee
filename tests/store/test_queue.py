"""The work queue on a real SQLite file: leases, tokens, retries."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from headrace.store.database import begin_immediate, open_engine
from headrace.store.queue import Job, NewJob, Retry, WorkQueue, jobs

NOW = 1_000_000.0


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = open_engine(f"sqlite:///{tmp_path / 'queue.db'}")
    jobs.create(engine)
    yield engine
    engine.dispose()


def new_job(payload: bytes = b"{}", not_before: float = NOW) -> NewJob:
    return NewJob("deliver", "ws_1", "dst_1", payload, first_enqueued_at=NOW, not_before=not_before)


def enqueue(engine: Engine, *new: NewJob) -> None:
    with engine.connect() as conn:
        WorkQueue().enqueue(conn, list(new))
        conn.commit()


def claim(engine: Engine, now: float = NOW, lease_s: float = 30, n: int = 10) -> list[Job]:
    with engine.connect() as conn:
        begin_immediate(conn)
        claimed = WorkQueue().claim(conn, "deliver", n, lease_s, now)
        conn.commit()
    return claimed


def test_claimed_jobs_come_in_enqueue_order_with_their_payload(engine: Engine) -> None:
    enqueue(engine, new_job(b"1"), new_job(b"2"), new_job(b"3"))

    assert [job.payload for job in claim(engine, n=2)] == [b"1", b"2"]
    assert [job.payload for job in claim(engine)] == [b"3"]


def test_a_claimed_job_is_invisible_until_its_lease_ends(engine: Engine) -> None:
    enqueue(engine, new_job())
    [first] = claim(engine, lease_s=30)

    assert claim(engine, now=NOW + 29) == []
    [again] = claim(engine, now=NOW + 31)
    assert again.id == first.id
    assert again.claims == 2


def test_an_acked_job_is_gone(engine: Engine) -> None:
    enqueue(engine, new_job())
    claimed = claim(engine)
    with engine.connect() as conn:
        WorkQueue().ack(conn, claimed)
        conn.commit()

    assert claim(engine, now=NOW + 3600) == []


def test_a_worker_that_lost_its_lease_cannot_ack_the_job(engine: Engine) -> None:
    enqueue(engine, new_job())
    [stale] = claim(engine, lease_s=1)
    [current] = claim(engine, now=NOW + 2)
    with engine.connect() as conn:
        WorkQueue().ack(conn, [stale])
        conn.commit()

    with engine.connect() as conn:
        assert WorkQueue().depth(conn, "deliver") == 1
    assert current.lease_token != stale.lease_token


def test_a_retried_job_waits_for_its_time_and_counts_the_attempt(engine: Engine) -> None:
    enqueue(engine, new_job())
    [job] = claim(engine)
    with engine.connect() as conn:
        WorkQueue().retry(conn, [Retry(job, NOW + 100, "HTTP 503")])
        conn.commit()

    assert claim(engine, now=NOW + 99) == []
    [again] = claim(engine, now=NOW + 100)
    assert again.attempts == 1
    assert again.first_enqueued_at == NOW


def test_a_job_not_yet_due_is_not_claimed(engine: Engine) -> None:
    enqueue(engine, new_job(not_before=NOW + 10))

    assert claim(engine) == []
    with engine.connect() as conn:
        assert WorkQueue().next_due_by_target(conn, "deliver") == {"dst_1": NOW + 10}


def test_a_targets_due_jobs_are_counted_up_to_a_batch_from_the_oldest(engine: Engine) -> None:
    enqueue(engine, *[new_job(not_before=NOW - age) for age in (1, 5, 3, 2, 4)])
    enqueue(engine, new_job(not_before=NOW + 10))  # not due

    with engine.connect() as conn:
        three = WorkQueue().due_target(conn, "deliver", NOW, "dst_1", up_to=3)
        every = WorkQueue().due_target(conn, "deliver", NOW, "dst_1", up_to=100)
        none = WorkQueue().due_target(conn, "deliver", NOW, "dst_2", up_to=100)

    assert three is not None and (three.due, three.waiting_since) == (3, NOW - 5)
    assert every is not None and (every.due, every.waiting_since) == (5, NOW - 5)
    assert none is None


def test_extending_a_lease_keeps_the_job_held(engine: Engine) -> None:
    enqueue(engine, new_job())
    held = claim(engine, lease_s=5)
    with engine.connect() as conn:
        WorkQueue().extend(conn, held, NOW + 60)
        conn.commit()

    assert claim(engine, now=NOW + 30) == []


def test_jobs_taken_over_after_their_lease_are_no_longer_held(engine: Engine) -> None:
    enqueue(engine, new_job(b"a"), new_job(b"b"))
    first = claim(engine, lease_s=30)
    second = claim(engine, now=NOW + 31, n=1)  # one lease ran out: another worker took it

    with engine.connect() as conn:
        held = WorkQueue().held(conn, first)

    assert held == {job.id for job in first} - {job.id for job in second}
    assert len(held) == 1


def test_has_due_sees_only_jobs_that_may_be_claimed_now(engine: Engine) -> None:
    queue = WorkQueue()
    with engine.connect() as conn:
        assert not queue.has_due(conn, "deliver", NOW)
    enqueue(engine, new_job(not_before=NOW + 10))

    with engine.connect() as conn:
        assert not queue.has_due(conn, "deliver", NOW)
        assert queue.has_due(conn, "deliver", NOW + 10)
        assert not queue.has_due(conn, "batch", NOW + 10)
    claim(engine, now=NOW + 10)
    with engine.connect() as conn:
        assert not queue.has_due(conn, "deliver", NOW + 11)  # held under its lease


def test_next_due_by_target_gives_each_targets_earliest_job_in_that_queue_only(
    engine: Engine,
) -> None:
    def job(target: str, not_before: float, queue: str = "deliver") -> NewJob:
        return NewJob(queue, "ws_1", target, b"{}", first_enqueued_at=NOW, not_before=not_before)

    enqueue(
        engine,
        *[job("dst_busy", NOW - 100 + i) for i in range(50)],
        job("dst_b", NOW + 5),
        job("dst_b", NOW + 2),
        job("dst_a", NOW),
        job("dst_a", NOW - 50, queue="batch"),  # earlier, but in another queue
        job("dst_c", NOW - 1, queue="batch"),
    )

    with engine.connect() as conn:
        by_target = WorkQueue().next_due_by_target(conn, "deliver")
        empty = WorkQueue().next_due_by_target(conn, "route")

    assert by_target == {"dst_busy": NOW - 100, "dst_a": NOW, "dst_b": NOW + 2}
    assert empty == {}
