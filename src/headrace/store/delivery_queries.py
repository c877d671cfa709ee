"""Reading delivery outcomes back: totals by status and category over a time range, and the
recent records, for one target (a destination, or a function source whose requests are
recorded the same way). Intake totals (accepted and rejected events) of a source too."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Connection, func, select

from headrace.store.deliveries import delivery_counts, delivery_records
from headrace.store.intake import ACCEPTED, REJECTED, intake_counts

RECENT_LIMIT_MAX = 1000
"""The most records one read returns."""


@dataclass(frozen=True)
class OutcomeTotal:
    status: str
    category: str
    """'' for a plain delivery."""
    count: int
    latency_ms_total: float


@dataclass(frozen=True)
class StoredOutcome:
    """One kept delivery record, its JSON columns decoded."""

    id: int
    message_id: str
    at: float
    """Seconds since the epoch."""
    status: str
    category: str
    error: str | None
    attempts: int
    payload: bytes
    """As stored: the event, or a source's webhook request (callers redact what they show)."""
    logs: list[str]
    requests: list[dict[str, Any]]


@dataclass(frozen=True)
class IntakeTotals:
    accepted: int
    rejected: dict[str, int]
    """Reason -> count."""


def minutes_overlapping(since: float, until: float) -> tuple[int, int]:
    """The minute buckets that overlap [since, until): first included, last excluded."""
    return math.floor(since / 60), math.ceil(until / 60)


def outcome_totals(
    conn: Connection, target_id: str, since: float, until: float
) -> list[OutcomeTotal]:
    """Outcomes of `target_id` by (status, category), counted per minute: the minutes that
    overlap [since, until) (epoch seconds) all count whole."""
    first, last = minutes_overlapping(since, until)
    rows = conn.execute(
        select(
            delivery_counts.c.status,
            delivery_counts.c.category,
            func.sum(delivery_counts.c.count).label("n"),
            func.sum(delivery_counts.c.latency_ms_total).label("latency"),
        )
        .where(
            delivery_counts.c.destination_id == target_id,
            delivery_counts.c.minute >= first,
            delivery_counts.c.minute < last,
        )
        .group_by(delivery_counts.c.status, delivery_counts.c.category)
        .order_by(delivery_counts.c.status, delivery_counts.c.category)
    ).all()
    return [
        OutcomeTotal(r.status, r.category, int(r.n or 0), float(r.latency or 0.0)) for r in rows
    ]


def recent_outcomes(
    conn: Connection,
    target_id: str,
    *,
    statuses: Iterable[str] | None = None,
    categories: Iterable[str] | None = None,
    limit: int = 100,
) -> list[StoredOutcome]:
    """The kept records of `target_id`, newest first, at most `limit` (capped at
    RECENT_LIMIT_MAX); optionally only some statuses or categories."""
    query = select(delivery_records).where(delivery_records.c.destination_id == target_id)
    if statuses is not None:
        query = query.where(delivery_records.c.status.in_(list(statuses)))
    if categories is not None:
        query = query.where(delivery_records.c.category.in_(list(categories)))
    limit = max(1, min(limit, RECENT_LIMIT_MAX))
    rows = conn.execute(
        query.order_by(delivery_records.c.at.desc(), delivery_records.c.id.desc()).limit(limit)
    ).all()
    return [
        StoredOutcome(
            id=r.id,
            message_id=r.message_id,
            at=r.at,
            status=r.status,
            category=r.category,
            error=r.error,
            attempts=r.attempts,
            payload=r.payload,
            logs=orjson.loads(r.logs or "[]"),
            requests=orjson.loads(r.requests or "[]"),
        )
        for r in rows
    ]


def intake_totals(conn: Connection, source_id: str, since: float, until: float) -> IntakeTotals:
    """Events a source accepted and rejected (by reason) in the minutes overlapping
    [since, until)."""
    first, last = minutes_overlapping(since, until)
    rows = conn.execute(
        select(
            intake_counts.c.outcome,
            intake_counts.c.reason,
            func.sum(intake_counts.c.count).label("n"),
        )
        .where(
            intake_counts.c.source_id == source_id,
            intake_counts.c.minute >= first,
            intake_counts.c.minute < last,
        )
        .group_by(intake_counts.c.outcome, intake_counts.c.reason)
    ).all()
    accepted = 0
    rejected: Counter[str] = Counter()
    for r in rows:
        if r.outcome == ACCEPTED:
            accepted += int(r.n or 0)
        elif r.outcome == REJECTED:
            rejected[r.reason] += int(r.n or 0)
    return IntakeTotals(accepted=accepted, rejected=dict(rejected))
