"""Delivery records over time on a real SQLite store: what retention keeps, what replay is
offered, and how closely the latency histogram reads back."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, Table, func, select

from headrace.store import open_engine, upgrade_to_head
from headrace.store.deliveries import (
    RECORDS_MAX_AGE_S,
    RECORDS_PER_CATEGORY,
    DeliveryLog,
    DeliveryRecord,
    delivery_counts,
    delivery_latency,
    mark_replayed,
    prune_records,
    replayable_records,
)
from headrace.store.delivery_queries import RECENT_LIMIT_MAX, recent_outcomes
from headrace.store.delivery_stats import latency_percentiles
from tests.helpers import outcome_counts

NOW = 1_800_000_000.0
DAY_S = 86400.0


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = open_engine(f"sqlite:///{tmp_path / 'retention.db'}")
    upgrade_to_head(engine)
    yield engine
    engine.dispose()


def outcome(
    status: str,
    at: float,
    message_id: str = "m1",
    *,
    category: str | None = None,
    destination_id: str = "dst_1",
    payload: bytes = b"{}",
    captured: bool = False,
    latency_ms: float = 0.0,
) -> DeliveryRecord:
    default_category = {"delivered": "", "filtered": "filtered"}.get(status, "retry")
    return DeliveryRecord(
        workspace_id="ws_1",
        destination_id=destination_id,
        message_id=message_id,
        at=at,
        status=status,
        category=default_category if category is None else category,
        error=None,
        attempts=1,
        payload=payload,
        logs="[]",
        requests="[]",
        latency_ms=latency_ms,
        captured=captured,
    )


def write(engine: Engine, *outcomes: DeliveryRecord) -> None:
    with engine.connect() as conn:
        DeliveryLog().write(conn, list(outcomes))
        conn.commit()


def prune(engine: Engine, now: float = NOW) -> int:
    with engine.connect() as conn:
        removed = prune_records(conn, now)
        conn.commit()
    return removed


def kept_times(engine: Engine, status: str, destination_id: str = "dst_1") -> list[float]:
    with engine.connect() as conn:
        return sorted(
            r.at
            for r in recent_outcomes(
                conn, destination_id, statuses=[status], limit=RECENT_LIMIT_MAX
            )
        )


def one_per_second(status: str, count: int, **fields: Any) -> list[DeliveryRecord]:
    """`count` outcomes, a second apart, the newest a minute before NOW."""
    return [outcome(status, NOW - 60 - i, f"m{i}", **fields) for i in range(count)]


def row_count(conn: Connection, table: Table) -> int:
    return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def test_the_retention_rule_is_the_newest_100_records_per_category_for_at_most_30_days() -> None:
    assert RECORDS_PER_CATEGORY == 100
    assert RECORDS_MAX_AGE_S == 30 * 86400


# --- pruning by count ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "fields"),
    [("retrying", {}), ("filtered", {}), ("delivered", {"captured": True})],
)
def test_only_the_newest_records_per_category_are_kept_for_statuses_not_replayed(
    engine: Engine, status: str, fields: dict[str, Any]
) -> None:
    write(engine, *one_per_second(status, RECORDS_PER_CATEGORY + 5, **fields))

    removed = prune(engine)

    assert removed == 5
    newest = [NOW - 60 - i for i in range(RECORDS_PER_CATEGORY)]
    assert kept_times(engine, status) == sorted(newest)


def test_the_count_is_kept_per_destination_and_per_category(engine: Engine) -> None:
    write(
        engine,
        *one_per_second("retrying", RECORDS_PER_CATEGORY, category="retry"),
        *one_per_second("retrying", 3, category="invalid_response"),
        *one_per_second("retrying", RECORDS_PER_CATEGORY, category="retry", destination_id="dst_2"),
    )

    assert prune(engine) == 0
    assert len(kept_times(engine, "retrying")) == RECORDS_PER_CATEGORY + 3
    assert len(kept_times(engine, "retrying", "dst_2")) == RECORDS_PER_CATEGORY


@pytest.mark.parametrize("status", ["expired", "failed"])
def test_replayable_records_are_never_pruned_by_count(engine: Engine, status: str) -> None:
    write(engine, *one_per_second(status, RECORDS_PER_CATEGORY + 5))

    assert prune(engine) == 0
    assert len(kept_times(engine, status)) == RECORDS_PER_CATEGORY + 5


# --- pruning by age -----------------------------------------------------------------------


@pytest.mark.parametrize("status", ["expired", "failed", "retrying", "filtered"])
def test_records_older_than_the_max_age_are_removed_whatever_their_status(
    engine: Engine, status: str
) -> None:
    cutoff = NOW - RECORDS_MAX_AGE_S
    write(engine, outcome(status, cutoff - 1, "old"), outcome(status, cutoff + 1, "recent"))

    assert prune(engine) == 1
    assert kept_times(engine, status) == [cutoff + 1]


def test_counters_and_latency_older_than_the_max_age_are_removed(engine: Engine) -> None:
    cutoff = NOW - RECORDS_MAX_AGE_S
    write(
        engine,
        outcome("delivered", cutoff - 120, "old", latency_ms=40),
        outcome("failed", cutoff - 120, "old-failed"),
        outcome("delivered", cutoff + 120, "recent", latency_ms=40),
    )

    prune(engine)

    with engine.connect() as conn:
        counted = outcome_counts(conn, "dst_1")
        minutes = conn.execute(select(delivery_latency.c.minute)).scalars().all()
    assert counted == {("delivered", ""): 1}
    assert minutes == [int((cutoff + 120) // 60)]


def test_nothing_within_the_max_age_is_removed_from_the_counters(engine: Engine) -> None:
    write(
        engine,
        *[outcome("delivered", NOW - d * DAY_S, f"m{d}", latency_ms=5) for d in range(1, 29)],
    )

    prune(engine)

    with engine.connect() as conn:
        assert row_count(conn, delivery_counts) == 28
        assert row_count(conn, delivery_latency) == 28


# --- replay -------------------------------------------------------------------------------


def replayable(
    engine: Engine,
    since: float = NOW - DAY_S,
    until: float = NOW,
    statuses: tuple[str, ...] = ("expired", "failed"),
    categories: tuple[str, ...] | None = None,
) -> list[tuple[str, bytes]]:
    with engine.connect() as conn:
        found = replayable_records(conn, "dst_1", since, until, statuses, categories)
    return [(r.message_id, r.payload) for r in found]


def test_replay_offers_the_latest_record_of_each_message_oldest_first(engine: Engine) -> None:
    write(
        engine,
        outcome("failed", NOW - 300, "m1", payload=b"m1 first"),
        outcome("failed", NOW - 200, "m2", payload=b"m2"),
        outcome("expired", NOW - 100, "m1", payload=b"m1 latest"),
    )

    assert replayable(engine) == [("m2", b"m2"), ("m1", b"m1 latest")]


def test_replay_offers_only_records_within_since_and_until(engine: Engine) -> None:
    since, until = NOW - 1000, NOW - 100
    write(
        engine,
        outcome("failed", since - 1, "before"),
        outcome("failed", since, "first"),
        outcome("failed", until - 1, "last"),
        outcome("failed", until, "after"),
    )

    assert [m for m, _ in replayable(engine, since, until)] == ["first", "last"]


def test_replay_offers_only_the_statuses_asked_for(engine: Engine) -> None:
    write(
        engine,
        outcome("failed", NOW - 300, "failed", category="bad_request"),
        outcome("expired", NOW - 200, "expired"),
        outcome("retrying", NOW - 100, "retrying"),
        outcome("filtered", NOW - 50, "filtered"),
    )

    assert [m for m, _ in replayable(engine, statuses=("expired",))] == ["expired"]
    assert [m for m, _ in replayable(engine)] == ["failed", "expired"]


def test_replay_offers_only_the_categories_asked_for(engine: Engine) -> None:
    write(
        engine,
        outcome("failed", NOW - 300, "bad", category="bad_request"),
        outcome("failed", NOW - 200, "settings", category="invalid_settings"),
    )

    assert [m for m, _ in replayable(engine, categories=("invalid_settings",))] == ["settings"]


def test_records_marked_replayed_are_not_offered_again(engine: Engine) -> None:
    write(engine, outcome("failed", NOW - 300, "m1"), outcome("failed", NOW - 200, "m2"))
    with engine.connect() as conn:
        [first, _second] = replayable_records(conn, "dst_1", NOW - DAY_S, NOW, ["failed"])
        mark_replayed(conn, [first.record_id], NOW)
        conn.commit()

    assert [m for m, _ in replayable(engine)] == ["m2"]


def test_a_replayed_message_is_not_offered_again_through_an_older_record(
    engine: Engine,
) -> None:
    write(
        engine,
        outcome("failed", NOW - 300, "m1", payload=b"older"),
        outcome("expired", NOW - 200, "m1", payload=b"latest"),
    )
    with engine.connect() as conn:
        [latest] = replayable_records(conn, "dst_1", NOW - DAY_S, NOW, ["expired", "failed"])
        mark_replayed(conn, [latest.record_id], NOW)
        conn.commit()

    assert replayable(engine) == []


# --- latency histogram --------------------------------------------------------------------


def percentile(engine: Engine, q: float) -> float | None:
    with engine.connect() as conn:
        return latency_percentiles(conn, "dst_1", NOW - 3600, NOW + 60, (q,))[q]


@pytest.mark.parametrize("latency_ms", [1.0, 3.0, 17.0, 250.0, 1234.5, 98_765.0, 3_600_000.0])
def test_a_latency_reads_back_within_12_percent(engine: Engine, latency_ms: float) -> None:
    write(engine, outcome("delivered", NOW, latency_ms=latency_ms))

    read = percentile(engine, 0.5)

    assert read is not None
    assert abs(read - latency_ms) <= 0.12 * latency_ms


@pytest.mark.parametrize("q", [0.5, 0.9, 0.95, 0.99])
def test_percentiles_of_many_latencies_read_back_within_12_percent(
    engine: Engine, q: float
) -> None:
    # Spread over two decades and several minutes, as a real minute-by-minute series is.
    latencies = [20 * 1.013**i for i in range(400)]
    write(
        engine,
        *[
            outcome("delivered", NOW - 60 * (i % 5), f"m{i}", latency_ms=ms)
            for i, ms in enumerate(latencies)
        ],
    )
    true = sorted(latencies)[math.ceil(q * len(latencies)) - 1]

    read = percentile(engine, q)

    assert read is not None
    assert abs(read - true) <= 0.12 * true


def test_only_delivered_events_count_towards_latency(engine: Engine) -> None:
    write(
        engine,
        outcome("failed", NOW, "f", latency_ms=90_000),
        outcome("retrying", NOW, "r", latency_ms=90_000),
        outcome("filtered", NOW, "x", latency_ms=90_000),
    )

    assert percentile(engine, 0.5) is None
