"""The lease-based work queue: enqueue, claim (with a lease), ack, retry, extend.

One table serves every queue. `available_at` is when a job may next be claimed: its
`not_before` while it waits, the end of its lease while a worker holds it, so a job whose
worker died becomes claimable again by itself. Every claim draws a new lease token, and
ack/retry/extend only touch jobs still held under that token: a worker that lost its lease
can never ack a job that another worker has since taken over.

All methods take the caller's connection, so that enqueuing follow-up work and acking
the job that produced it commit together.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

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
    delete,
    func,
    insert,
    select,
    update,
)

from headrace.store.base import ID_LENGTH, Base, Payload

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
)


@dataclass(frozen=True)
class NewJob:
    queue: str
    workspace_id: str
    target_id: str
    """What the job is for: a source (routing) or a destination (delivery)."""
    payload: bytes
    first_enqueued_at: float
    not_before: float
    attempts: int = 0


@dataclass(frozen=True)
class Job:
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


class WorkQueue:
    """The queue on a SQLAlchemy connection: SQLite (WAL) or PostgreSQL (SKIP LOCKED)."""

    def enqueue(self, conn: Connection, new_jobs: Sequence[NewJob]) -> None:
        if not new_jobs:
            return
        conn.execute(
            insert(jobs),
            [
                {
                    "queue": job.queue,
                    "workspace_id": job.workspace_id,
                    "target_id": job.target_id,
                    "payload": job.payload,
                    "attempts": job.attempts,
                    "claims": 0,
                    "first_enqueued_at": job.first_enqueued_at,
                    "available_at": job.not_before,
                }
                for job in new_jobs
            ],
        )

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
        due = select(jobs.c.id).where(jobs.c.queue == queue, jobs.c.available_at <= now)
        if target_id is not None:
            due = due.where(jobs.c.target_id == target_id)
        due = due.order_by(jobs.c.available_at, jobs.c.id).limit(max_jobs)
        if conn.dialect.name == "postgresql":
            due = due.with_for_update(skip_locked=True)
        rows = conn.execute(
            update(jobs)
            .where(jobs.c.id.in_(due.scalar_subquery()))
            .values(available_at=now + lease_s, lease_token=token, claims=jobs.c.claims + 1)
            .returning(
                jobs.c.id,
                jobs.c.workspace_id,
                jobs.c.target_id,
                jobs.c.payload,
                jobs.c.attempts,
                jobs.c.claims,
                jobs.c.first_enqueued_at,
            )
        ).all()
        claimed = [
            Job(
                id=row.id,
                queue=queue,
                workspace_id=row.workspace_id,
                target_id=row.target_id,
                payload=row.payload,
                attempts=row.attempts,
                claims=row.claims,
                first_enqueued_at=row.first_enqueued_at,
                lease_token=token,
            )
            for row in rows
        ]
        claimed.sort(key=lambda job: job.id)
        return claimed

    def held(self, conn: Connection, claimed: Sequence[Job]) -> set[int]:
        """The ids of `claimed` still held under their claim's lease (not taken over by
        another worker after the lease ran out): only their outcomes may be recorded."""
        tokens: dict[int, list[int]] = {}
        for job in claimed:
            tokens.setdefault(job.lease_token, []).append(job.id)
        held: set[int] = set()
        for token, ids in tokens.items():
            held.update(
                conn.execute(
                    select(jobs.c.id).where(jobs.c.lease_token == token, jobs.c.id.in_(ids))
                ).scalars()
            )
        return held

    def ack(self, conn: Connection, done: Iterable[Job]) -> None:
        """Remove finished jobs (delivered, or ended for good and recorded elsewhere)."""
        params = [{"job_id": job.id, "token": job.lease_token} for job in done]
        if params:
            conn.execute(
                delete(jobs).where(
                    jobs.c.id == bindparam("job_id"), jobs.c.lease_token == bindparam("token")
                ),
                params,
            )

    def retry(self, conn: Connection, retries: Iterable[Retry]) -> None:
        """Give jobs back to wait until their `not_before`, counting the failed attempt."""
        params = [
            {
                "job_id": r.job.id,
                "token": r.job.lease_token,
                "not_before": r.not_before,
                "error": r.error,
            }
            for r in retries
        ]
        if params:
            conn.execute(
                update(jobs)
                .where(jobs.c.id == bindparam("job_id"), jobs.c.lease_token == bindparam("token"))
                .values(
                    available_at=bindparam("not_before"),
                    attempts=jobs.c.attempts + 1,
                    lease_token=None,
                    last_error=bindparam("error"),
                ),
                params,
            )

    def extend(self, conn: Connection, held: Iterable[Job], lease_until: float) -> None:
        params = [{"job_id": job.id, "token": job.lease_token} for job in held]
        if params:
            conn.execute(
                update(jobs)
                .where(jobs.c.id == bindparam("job_id"), jobs.c.lease_token == bindparam("token"))
                .values(available_at=lease_until),
                params,
            )

    def due_targets(
        self, conn: Connection, queue: str, now: float, *, target_id: str | None = None
    ) -> list[DueTarget]:
        """For each target (or only `target_id`) with due jobs in `queue`: how many, and
        since when the oldest has been waiting."""
        query = select(jobs.c.target_id, func.count(), func.min(jobs.c.available_at)).where(
            jobs.c.queue == queue, jobs.c.available_at <= now
        )
        if target_id is not None:
            query = query.where(jobs.c.target_id == target_id)
        rows = conn.execute(query.group_by(jobs.c.target_id)).all()
        return [DueTarget(row[0], int(row[1]), float(row[2])) for row in rows]

    def depth(self, conn: Connection, queue: str) -> int:
        count = conn.execute(select(func.count()).where(jobs.c.queue == queue)).scalar_one()
        return int(count)

    def next_due(self, conn: Connection, queue: str) -> float | None:
        """When the earliest job of `queue` becomes claimable, or None if it is empty."""
        value = conn.execute(
            select(func.min(jobs.c.available_at)).where(jobs.c.queue == queue)
        ).scalar_one()
        return None if value is None else float(value)


def begin_immediate(conn: Connection) -> None:
    """On SQLite, take the write lock now: a claim that reads then writes must not fail
    half-way with SQLITE_BUSY when two processes race for the same jobs."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN IMMEDIATE")
