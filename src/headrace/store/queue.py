"""The lease-based work queue: enqueue, claim (with a lease), ack, retry, extend.

One table serves every queue. `available_at` is when a job may next be claimed: its
`not_before` while it waits, the end of its lease while a worker holds it, so a job whose
worker died becomes claimable again by itself. Every claim draws a new lease token, and
ack/retry/extend only touch jobs still held under that token: a worker that lost its lease
can never ack a job that another worker has since taken over.

All methods take the caller's connection, so that enqueuing follow-up work and acking
the job that produced it commit together.

The hot paths (enqueue, claim, held, ack, retry) run SQL written out below through the
driver (`exec_driver_sql`) rather than Core statements: at tens of thousands of jobs a
second, SQLAlchemy's per-row parameter and result processing is most of their cost. They
bind the values Core would (the columns' types convert nothing but floats, which they
convert alike), so rows read and written either way are the same.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Float,
    Index,
    Integer,
    String,
    Table,
    Text,
    bindparam,
    func,
    select,
    update,
)

from headrace.store.base import ID_LENGTH, Base, Payload
from headrace.store.database import IN_LIST_MAX, MAX_BOUND_VALUES, driver_sql, placeholders

QUEUE_NAME_LENGTH = 16

jobs = Table(
    "jobs",
    Base.metadata,
    Column("id", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True),
    Column("queue", String(QUEUE_NAME_LENGTH), nullable=False),
    Column("workspace_id", String(ID_LENGTH), nullable=False),
    Column("target_id", String(ID_LENGTH), nullable=False),
    Column("payload", Payload, nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("claims", Integer, nullable=False, default=0),
    Column("first_enqueued_at", Float, nullable=False),
    Column("available_at", Float, nullable=False),
    Column("lease_token", BigInteger, nullable=True),
    Column("last_error", Text, nullable=True),
    Index("ix_jobs_queue_available_at", "queue", "available_at"),
    Index("ix_jobs_queue_target_available_at", "queue", "target_id", "available_at"),
)


# The SQL of the hot paths, `?` for each value (see driver_sql).
_ENQUEUE = (
    "INSERT INTO jobs (queue, workspace_id, target_id, payload, attempts, claims,"
    " first_enqueued_at, available_at) VALUES {rows}"
)
_ENQUEUE_ROW = "(?, ?, ?, ?, ?, 0, ?, ?)"
_ENQUEUE_ROWS_MAX = MAX_BOUND_VALUES // _ENQUEUE_ROW.count("?")

_CLAIM = (
    "UPDATE jobs SET available_at = ?, lease_token = ?, claims = claims + 1"
    " WHERE id IN (SELECT id FROM jobs WHERE queue = ? AND available_at <= ?{target}"
    " ORDER BY available_at, id LIMIT ?{lock})"
    " RETURNING id, workspace_id, target_id, payload, attempts, claims, first_enqueued_at"
)
"""Returns the rows as updated (`claims` counts this claim), in no particular order."""

_HELD = "SELECT id FROM jobs WHERE lease_token = ? AND id IN ({ids})"
_ACK = "DELETE FROM jobs WHERE lease_token = ? AND id IN ({ids})"
_NEXT_DUE_BY_TARGET = (
    "WITH RECURSIVE targets(target_id) AS ("
    " SELECT MIN(target_id) FROM jobs WHERE queue = ?"
    " UNION ALL"
    " SELECT (SELECT MIN(target_id) FROM jobs WHERE queue = ? AND target_id > targets.target_id)"
    " FROM targets WHERE targets.target_id IS NOT NULL)"
    " SELECT target_id,"
    " (SELECT MIN(available_at) FROM jobs WHERE queue = ? AND jobs.target_id = targets.target_id)"
    " FROM targets WHERE target_id IS NOT NULL"
)
"""A loose index scan: one seek per target for the next, one for its earliest job."""
_HAS_DUE = "SELECT 1 FROM jobs WHERE queue = ? AND available_at <= ? LIMIT 1"
_RETRY = (
    "UPDATE jobs SET available_at = ?, attempts = attempts + ?, lease_token = NULL,"
    " last_error = ? WHERE id = ? AND lease_token = ?"
)


class NewJob(NamedTuple):
    queue: str
    workspace_id: str
    target_id: str
    """What the job is for: a source (routing) or a destination (delivery)."""
    payload: bytes
    first_enqueued_at: float
    not_before: float
    attempts: int = 0


class Job(NamedTuple):
    """A claimed job. Jobs and new jobs are made per event, so they are named tuples: as
    immutable as frozen dataclasses, at a quarter of the cost to build."""

    id: int
    queue: str
    workspace_id: str
    target_id: str
    payload: bytes
    attempts: int
    """Failed attempts so far (retries scheduled)."""
    claims: int
    """Times the job was claimed; more than attempts + 1 means a worker died holding it."""
    first_enqueued_at: float
    lease_token: int


@dataclass(frozen=True)
class DueTarget:
    target_id: str
    due: int
    """Jobs of the target that may be claimed now."""
    waiting_since: float
    """When the longest-waiting of them became claimable (epoch seconds)."""


@dataclass(frozen=True)
class Retry:
    job: Job
    not_before: float
    error: str
    counted: bool = True
    """Whether it counts as a failed attempt (not when headrace itself cut it short)."""


class WorkQueue:
    """The queue on a SQLAlchemy connection: SQLite (WAL) or PostgreSQL (SKIP LOCKED)."""

    def enqueue(self, conn: Connection, new_jobs: Sequence[NewJob]) -> None:
        for start in range(0, len(new_jobs), _ENQUEUE_ROWS_MAX):
            chunk = new_jobs[start : start + _ENQUEUE_ROWS_MAX]
            values = [
                value
                for job in chunk
                for value in (
                    job.queue,
                    job.workspace_id,
                    job.target_id,
                    job.payload,
                    job.attempts,
                    float(job.first_enqueued_at),
                    float(job.not_before),
                )
            ]
            statement = _ENQUEUE.format(rows=placeholders(len(chunk), _ENQUEUE_ROW))
            conn.exec_driver_sql(driver_sql(conn, statement), tuple(values))

    def claim(
        self,
        conn: Connection,
        queue: str,
        max_jobs: int,
        lease_s: float,
        now: float,
        *,
        target_id: str | None = None,
    ) -> list[Job]:
        """Up to `max_jobs` jobs of `queue` that are due (only `target_id`'s, if given), held
        for `lease_s` seconds."""
        token = secrets.randbits(62)
        statement = _CLAIM.format(
            target="" if target_id is None else " AND target_id = ?",
            lock=" FOR UPDATE SKIP LOCKED" if conn.dialect.name == "postgresql" else "",
        )
        params: tuple[object, ...] = (float(now + lease_s), token, queue, float(now))
        if target_id is not None:
            params += (target_id,)
        rows = conn.exec_driver_sql(driver_sql(conn, statement), (*params, max_jobs))
        claimed = [
            Job(job_id, queue, workspace, target, payload, attempts, claims, first, token)
            for job_id, workspace, target, payload, attempts, claims, first in rows.all()
        ]
        claimed.sort(key=lambda job: job.id)
        return claimed

    def held(self, conn: Connection, claimed: Sequence[Job]) -> set[int]:
        """The ids of `claimed` still held under their claim's lease (not taken over by
        another worker after the lease ran out): only their outcomes may be recorded."""
        held: set[int] = set()
        for token, ids in _by_lease(claimed):
            statement = _HELD.format(ids=placeholders(len(ids)))
            rows = conn.exec_driver_sql(driver_sql(conn, statement), (token, *ids))
            held.update(job_id for (job_id,) in rows)
        return held

    def ack(self, conn: Connection, done: Iterable[Job]) -> None:
        """Remove finished jobs (delivered, or ended for good and recorded elsewhere)."""
        for token, ids in _by_lease(done):
            statement = _ACK.format(ids=placeholders(len(ids)))
            conn.exec_driver_sql(driver_sql(conn, statement), (token, *ids))

    def retry(self, conn: Connection, retries: Iterable[Retry]) -> None:
        """Give jobs back to wait until their `not_before`, counting the failed attempt
        unless the retry says otherwise."""
        params = [
            (float(r.not_before), int(r.counted), r.error, r.job.id, r.job.lease_token)
            for r in retries
        ]
        if params:
            conn.exec_driver_sql(driver_sql(conn, _RETRY), params)

    def extend(self, conn: Connection, held: Iterable[Job], lease_until: float) -> None:
        params = [{"job_id": job.id, "token": job.lease_token} for job in held]
        if params:
            conn.execute(
                update(jobs)
                .where(jobs.c.id == bindparam("job_id"), jobs.c.lease_token == bindparam("token"))
                .values(available_at=lease_until),
                params,
            )

    def due_target(
        self, conn: Connection, queue: str, now: float, target_id: str, *, up_to: int
    ) -> DueTarget | None:
        """How many of `target_id`'s jobs in `queue` are due, counted up to `up_to` (what a
        batch takes: a backlog is not counted through), and since when the oldest has been
        waiting (None if none is)."""
        due = (
            select(jobs.c.available_at)
            .where(jobs.c.queue == queue, jobs.c.target_id == target_id, jobs.c.available_at <= now)
            .order_by(jobs.c.available_at)
            .limit(up_to)
            .subquery()
        )
        counted = select(func.count(), func.min(due.c.available_at))
        count, waiting_since = conn.execute(counted).one()
        return None if not count else DueTarget(target_id, int(count), float(waiting_since))

    def next_due_by_target(self, conn: Connection, queue: str) -> dict[str, float]:
        """For each target with jobs in `queue`, when its earliest may be claimed: two index
        seeks per target, however many jobs any target has waiting."""
        statement = driver_sql(conn, _NEXT_DUE_BY_TARGET)
        rows = conn.exec_driver_sql(statement, (queue, queue, queue))
        return {str(target_id): float(due_at) for target_id, due_at in rows}

    def has_due(self, conn: Connection, queue: str, now: float) -> bool:
        """Whether `queue` has a job that may be claimed now: a read that takes no write
        lock, so an idle worker's poll does not queue behind the writers."""
        return conn.exec_driver_sql(driver_sql(conn, _HAS_DUE), (queue, now)).first() is not None

    def depth(self, conn: Connection, queue: str) -> int:
        count = conn.execute(select(func.count()).where(jobs.c.queue == queue)).scalar_one()
        return int(count)


def _by_lease(held: Iterable[Job]) -> Iterator[tuple[int, list[int]]]:
    """(lease token, ids of `held` claimed under it), at most IN_LIST_MAX ids at a time: the
    jobs of one claim share its token, so one statement covers them."""
    ids_by_token: dict[int, list[int]] = {}
    for job in held:
        ids_by_token.setdefault(job.lease_token, []).append(job.id)
    for token, ids in ids_by_token.items():
        for start in range(0, len(ids), IN_LIST_MAX):
            yield token, ids[start : start + IN_LIST_MAX]
