"""Event delivery records: outcome counters per destination per minute, and the events
that did not simply arrive (kept with their error, logs and request traces for replay)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Float,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    delete,
    func,
    insert,
    select,
    update,
)

from headrace.store.base import ID_LENGTH, Base, Payload
from headrace.store.counters import add_to_counters
from headrace.store.dedupe import MESSAGE_ID_LENGTH

STATUS_LENGTH = 16

DELIVERY_STATUSES = ("delivered", "retrying", "filtered", "expired", "failed")
"""Every way a delivery (or a source's request) ends, or waits."""
CATEGORY_LENGTH = 32

delivery_counts = Table(
    "delivery_counts",
    Base.metadata,
    Column("destination_id", String(ID_LENGTH), nullable=False),
    Column("minute", BigInteger, nullable=False),
    Column("status", String(STATUS_LENGTH), nullable=False),
    Column("category", String(CATEGORY_LENGTH), nullable=False),
    Column("count", Integer, nullable=False),
    Column("latency_ms_total", Float, nullable=False),
    PrimaryKeyConstraint("destination_id", "minute", "status", "category"),
)

delivery_records = Table(
    "delivery_records",
    Base.metadata,
    Column("id", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True),
    Column("workspace_id", String(ID_LENGTH), nullable=False),
    Column("destination_id", String(ID_LENGTH), nullable=False),
    Column("message_id", String(MESSAGE_ID_LENGTH), nullable=False),
    Column("at", Float, nullable=False),
    Column("status", String(STATUS_LENGTH), nullable=False),
    Column("category", String(CATEGORY_LENGTH), nullable=False),
    Column("error", Text, nullable=True),
    Column("attempts", Integer, nullable=False),
    Column("payload", Payload, nullable=False),
    Column("logs", Text, nullable=False),
    Column("requests", Text, nullable=False),
    Column("replayed_at", Float, nullable=True),
    Index("ix_delivery_records_destination_at", "destination_id", "at"),
    Index("ix_delivery_records_destination_status_at", "destination_id", "status", "at"),
)
"""The outcomes worth looking at (every one but a plain delivery, unless debug capture is
on), each with its event: failed and expired ones are what replay sends again."""

delivery_latency = Table(
    "delivery_latency",
    Base.metadata,
    Column("destination_id", String(ID_LENGTH), nullable=False),
    Column("minute", BigInteger, nullable=False),
    Column("bucket", Integer, nullable=False),
    Column("count", Integer, nullable=False),
    PrimaryKeyConstraint("destination_id", "minute", "bucket"),
)
"""Ingest-to-delivery latency of delivered events per minute, as a histogram whose bucket b
holds latencies around LATENCY_BASE**b milliseconds (see latency_bucket)."""

LATENCY_BASE = 1.25
"""Ratio between neighbouring latency buckets: percentiles are read to within 12 %."""


_LOG_BASE = math.log(LATENCY_BASE)


def latency_bucket(latency_ms: float) -> int:
    return int(math.log(latency_ms) / _LOG_BASE) if latency_ms > 1.0 else 0


def bucket_latency_ms(bucket: int) -> float:
    """The middle of a latency bucket, in milliseconds."""
    return float(LATENCY_BASE ** (bucket + 0.5))


@dataclass(slots=True)
class DeliveryRecord:
    workspace_id: str
    destination_id: str
    message_id: str
    at: float
    status: str
    """delivered, filtered, retrying, expired or failed."""
    category: str
    """The error category ('' for delivered)."""
    error: str | None
    attempts: int
    payload: bytes
    logs: str
    """JSON list of log lines."""
    requests: str
    """JSON list of request traces (already redacted)."""
    latency_ms: float = 0.0
    captured: bool = False
    """Keep the record even for a plain delivery (debug capture is on)."""


def is_kept(status: str, captured: bool) -> bool:
    """Whether an outcome gets a full record (every one but a plain delivery, unless debug
    capture is on); the others are only counted."""
    return status != "delivered" or captured


class DeliveryLog:
    """Writes outcomes in the caller's transaction: counters for every outcome, a full
    record for every one that is not a plain delivery."""

    def write(self, conn: Connection, outcomes: Sequence[DeliveryRecord]) -> None:
        if not outcomes:
            return
        # One pass: this runs for every event delivered.
        counts: dict[tuple[str, int, str, str], list[float]] = {}
        histogram: dict[tuple[str, int, int], int] = {}
        kept: list[DeliveryRecord] = []
        for o in outcomes:
            minute = int(o.at // 60)
            key = (o.destination_id, minute, o.status, o.category)
            total = counts.get(key)
            if total is None:
                counts[key] = [1, o.latency_ms]
            else:
                total[0] += 1
                total[1] += o.latency_ms
            if o.status == "delivered":
                bucket = (o.destination_id, minute, latency_bucket(o.latency_ms))
                histogram[bucket] = histogram.get(bucket, 0) + 1
            if is_kept(o.status, o.captured):
                kept.append(o)
        self._add_counts(conn, counts)
        self._add_latency(conn, histogram)
        if kept:
            conn.execute(
                insert(delivery_records),
                [
                    {
                        "workspace_id": o.workspace_id,
                        "destination_id": o.destination_id,
                        "message_id": o.message_id[:MESSAGE_ID_LENGTH],
                        "at": o.at,
                        "status": o.status,
                        "category": o.category,
                        "error": o.error,
                        "attempts": o.attempts,
                        "payload": o.payload,
                        "logs": o.logs,
                        "requests": o.requests,
                    }
                    for o in kept
                ],
            )

    def _add_counts(
        self, conn: Connection, counts: dict[tuple[str, int, str, str], list[float]]
    ) -> None:
        """`counts`: (count, latency total) per (destination, minute, status, category)."""
        rows = [
            {
                "destination_id": d,
                "minute": m,
                "status": s,
                "category": c,
                "count": int(n),
                "latency_ms_total": float(latency_ms),
            }
            for (d, m, s, c), (n, latency_ms) in counts.items()
        ]
        add_to_counters(
            conn,
            delivery_counts,
            ("destination_id", "minute", "status", "category"),
            ("count", "latency_ms_total"),
            rows,
        )

    def _add_latency(self, conn: Connection, histogram: dict[tuple[str, int, int], int]) -> None:
        """`histogram`: deliveries per (destination, minute, latency bucket)."""
        add_to_counters(
            conn,
            delivery_latency,
            ("destination_id", "minute", "bucket"),
            ("count",),
            [
                {"destination_id": d, "minute": m, "bucket": b, "count": n}
                for (d, m, b), n in histogram.items()
            ],
        )


RECORDS_PER_CATEGORY = 100
"""Records kept per destination and (status, category), newest first, for the statuses that
are not replayed (retrying, filtered, captured deliveries)."""

RECORDS_MAX_AGE_S = 30 * 86400.0
"""Nothing is kept longer than this: records, counters and latency histograms."""

REPLAYABLE_STATUSES = ("expired", "failed")
"""Records with these statuses are kept for the whole retention period, for replay."""


def prune_records(
    conn: Connection,
    now: float,
    *,
    per_category: int = RECORDS_PER_CATEGORY,
    max_age_s: float = RECORDS_MAX_AGE_S,
) -> int:
    """Apply the retention rules; the number of records removed."""
    cutoff = now - max_age_s
    removed = conn.execute(delete(delivery_records).where(delivery_records.c.at < cutoff)).rowcount
    minute = int(cutoff // 60)
    conn.execute(delete(delivery_counts).where(delivery_counts.c.minute < minute))
    conn.execute(delete(delivery_latency).where(delivery_latency.c.minute < minute))
    ranked = (
        select(
            delivery_records.c.id,
            func.row_number()
            .over(
                partition_by=(
                    delivery_records.c.destination_id,
                    delivery_records.c.status,
                    delivery_records.c.category,
                ),
                order_by=(delivery_records.c.at.desc(), delivery_records.c.id.desc()),
            )
            .label("rank"),
        )
        .where(delivery_records.c.status.not_in(REPLAYABLE_STATUSES))
        .subquery()
    )
    surplus = select(ranked.c.id).where(ranked.c.rank > per_category)
    removed += conn.execute(
        delete(delivery_records).where(delivery_records.c.id.in_(surplus))
    ).rowcount
    return int(removed)


@dataclass(frozen=True)
class Replayable:
    record_id: int
    workspace_id: str
    message_id: str
    payload: bytes


def replayable_records(
    conn: Connection,
    destination_id: str,
    since: float,
    until: float,
    statuses: Sequence[str],
    categories: Sequence[str] | None = None,
) -> list[Replayable]:
    """The not yet replayed records of a destination that ended with one of `statuses` (and
    `categories`) in [since, until), one per messageId (its latest), oldest first."""
    query = select(
        delivery_records.c.id,
        delivery_records.c.workspace_id,
        delivery_records.c.message_id,
        delivery_records.c.payload,
        delivery_records.c.status,
        delivery_records.c.category,
        delivery_records.c.replayed_at,
    ).where(
        delivery_records.c.destination_id == destination_id,
        delivery_records.c.status.in_(REPLAYABLE_STATUSES),
        delivery_records.c.at >= since,
        delivery_records.c.at < until,
    )
    wanted = set(statuses)
    chosen = set(categories or ())
    latest: dict[str, Any] = {}
    for row in conn.execute(query.order_by(delivery_records.c.at, delivery_records.c.id)):
        key = row.message_id or f"#{row.id}"
        latest.pop(key, None)  # keep each message's latest record, in time order
        latest[key] = row
    # A message is offered by its latest record only: once that one is replayed, an older
    # record of the same message never brings it back.
    return [
        Replayable(row.id, row.workspace_id, row.message_id, row.payload)
        for row in latest.values()
        if row.replayed_at is None
        and row.status in wanted
        and (not chosen or row.category in chosen)
    ]


def mark_replayed(conn: Connection, record_ids: Sequence[int], at: float) -> None:
    if record_ids:
        conn.execute(
            update(delivery_records)
            .where(delivery_records.c.id.in_(list(record_ids)))
            .values(replayed_at=at)
        )
