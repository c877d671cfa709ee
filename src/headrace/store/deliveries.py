"""Event delivery records: outcome counters per destination per minute, and the events
that did not simply arrive (kept with their error, logs and request traces for replay)."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Float,
    Index,
    Integer,
    LargeBinary,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    insert,
    select,
)

from headrace.store.base import ID_LENGTH, Base
from headrace.store.counters import add_to_counters
from headrace.store.dedupe import MESSAGE_ID_LENGTH

STATUS_LENGTH = 16
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
    Column("payload", LargeBinary, nullable=False),
    Column("logs", Text, nullable=False),
    Column("requests", Text, nullable=False),
    Index("ix_delivery_records_destination_at", "destination_id", "at"),
)


@dataclass(frozen=True)
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


class DeliveryLog:
    """Writes outcomes in the caller's transaction: counters for every outcome, a full
    record for every one that is not a plain delivery."""

    def write(self, conn: Connection, outcomes: Sequence[DeliveryRecord]) -> None:
        if not outcomes:
            return
        counts: Counter[tuple[str, int, str, str]] = Counter()
        latency: dict[tuple[str, int, str, str], float] = defaultdict(float)
        for o in outcomes:
            key = (o.destination_id, int(o.at // 60), o.status, o.category)
            counts[key] += 1
            latency[key] += o.latency_ms
        self._add_counts(conn, counts, latency)
        kept = [o for o in outcomes if o.status != "delivered"]
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
        self,
        conn: Connection,
        counts: Counter[tuple[str, int, str, str]],
        latency: dict[tuple[str, int, str, str], float],
    ) -> None:
        rows = [
            {
                "destination_id": d,
                "minute": m,
                "status": s,
                "category": c,
                "count": n,
                "latency_ms_total": float(latency[(d, m, s, c)]),
            }
            for (d, m, s, c), n in counts.items()
        ]
        add_to_counters(
            conn,
            delivery_counts,
            ("destination_id", "minute", "status", "category"),
            ("count", "latency_ms_total"),
            rows,
        )

    def totals(
        self, conn: Connection, destination_id: str, since_minute: int = 0
    ) -> dict[tuple[str, str], int]:
        """(status, category) -> count for a destination since a minute."""
        rows = conn.execute(
            select(
                delivery_counts.c.status,
                delivery_counts.c.category,
                delivery_counts.c.count.label("n"),
            ).where(
                delivery_counts.c.destination_id == destination_id,
                delivery_counts.c.minute >= since_minute,
            )
        ).all()
        totals: Counter[tuple[str, str]] = Counter()
        for row in rows:
            totals[(row.status, row.category)] += row.n
        return dict(totals)

    def records(
        self, conn: Connection, destination_id: str, statuses: Iterable[str] | None = None
    ) -> list[DeliveryRecord]:
        query = select(delivery_records).where(delivery_records.c.destination_id == destination_id)
        if statuses is not None:
            query = query.where(delivery_records.c.status.in_(list(statuses)))
        rows = conn.execute(query.order_by(delivery_records.c.at.desc())).all()
        return [
            DeliveryRecord(
                workspace_id=r.workspace_id,
                destination_id=r.destination_id,
                message_id=r.message_id,
                at=r.at,
                status=r.status,
                category=r.category,
                error=r.error,
                attempts=r.attempts,
                payload=r.payload,
                logs=r.logs,
                requests=r.requests,
            )
            for r in rows
        ]
