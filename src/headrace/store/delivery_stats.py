"""Delivery outcomes over time: per-minute series by status and category, and latency
percentiles read from the per-minute histograms."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

from sqlalchemy import Connection, func, select

from headrace.store.deliveries import bucket_latency_ms, delivery_counts, delivery_latency
from headrace.store.delivery_queries import minutes_overlapping


@dataclass
class MinuteOutcomes:
    minute: int
    """Minutes since the epoch."""
    by_status: Counter[str] = field(default_factory=Counter)
    failed_by_category: Counter[str] = field(default_factory=Counter)


def outcome_series(
    conn: Connection, target_id: str, since: float, until: float
) -> list[MinuteOutcomes]:
    """Per-minute outcomes of `target_id` over the minutes overlapping [since, until), only
    the minutes that had any, oldest first."""
    first, last = minutes_overlapping(since, until)
    rows = conn.execute(
        select(
            delivery_counts.c.minute,
            delivery_counts.c.status,
            delivery_counts.c.category,
            delivery_counts.c.count,
        ).where(
            delivery_counts.c.destination_id == target_id,
            delivery_counts.c.minute >= first,
            delivery_counts.c.minute < last,
        )
    ).all()
    minutes: dict[int, MinuteOutcomes] = {}
    for minute, status, category, count in rows:
        bucket = minutes.setdefault(int(minute), MinuteOutcomes(int(minute)))
        bucket.by_status[str(status)] += int(count)
        if status == "failed":
            bucket.failed_by_category[str(category) or "unknown"] += int(count)
    return [minutes[m] for m in sorted(minutes)]


def latency_percentiles(
    conn: Connection, target_id: str, since: float, until: float, quantiles: tuple[float, ...]
) -> dict[float, float | None]:
    """Ingest-to-delivery latency (ms) of delivered events at each quantile, None when
    nothing was delivered."""
    first, last = minutes_overlapping(since, until)
    rows = conn.execute(
        select(delivery_latency.c.bucket, func.sum(delivery_latency.c.count))
        .where(
            delivery_latency.c.destination_id == target_id,
            delivery_latency.c.minute >= first,
            delivery_latency.c.minute < last,
        )
        .group_by(delivery_latency.c.bucket)
    ).all()
    histogram: defaultdict[int, int] = defaultdict(int)
    for bucket, count in rows:
        histogram[int(bucket)] += int(count or 0)
    total = sum(histogram.values())
    answers: dict[float, float | None] = {}
    for q in quantiles:
        if total == 0:
            answers[q] = None
            continue
        rank, seen = q * total, 0
        for bucket in sorted(histogram):
            seen += histogram[bucket]
            if seen >= rank:
                answers[q] = round(bucket_latency_ms(bucket), 1)
                break
    return answers
