"""Routing keeps going past a route job it cannot read."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from headrace.pipeline import QUEUE_ROUTE
from headrace.store.queue import NewJob, WorkQueue
from tests.pipeline.conftest import Clock, Receiver, StaticCatalog
from tests.pipeline.test_delivery import SOURCE, ingest, track, webhook


def test_an_unreadable_route_job_is_dropped_and_the_ones_behind_it_are_routed(
    engine: Engine,
    catalog: StaticCatalog,
    receiver: tuple[Receiver, str],
    clock: Clock,
    run: Any,
) -> None:
    state, url = receiver
    catalog.add(SOURCE, webhook(url))
    with engine.connect() as conn:
        damaged = [b"not json", b'{"not": "a list"}', b"[1, 2]"]
        WorkQueue().enqueue(
            conn,
            [NewJob(QUEUE_ROUTE, "ws_1", SOURCE, raw, clock.now, clock.now) for raw in damaged],
        )
        conn.commit()
    ingest(engine, clock, track("m1"))

    run()

    assert [e["messageId"] for e in state.events()] == ["m1"]
    with engine.connect() as conn:
        assert WorkQueue().depth(conn, QUEUE_ROUTE) == 0
