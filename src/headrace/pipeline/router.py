"""Routing: turn each accepted event into one delivery job per destination it goes to."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import orjson
from sqlalchemy import Connection, Engine

from headrace.log import get_logger
from headrace.pipeline.catalog import Catalog, DestinationPlan
from headrace.pipeline.deliver import DEFAULT_LEASE_S, queue_for
from headrace.pipeline.integrations import selects
from headrace.store.database import write_transaction
from headrace.store.dedupe import MESSAGE_ID_LENGTH, SeenMessages
from headrace.store.queue import NewJob, WorkQueue

QUEUE_ROUTE = "route"
_log = get_logger("pipeline")

ROUTE_CLAIM_MAX = 50
"""Route jobs (each the events of one source function call) claimed at once."""


class FanOut:
    """Turns a source's accepted events into delivery jobs, one per destination each event
    goes to, skipping messageIds the source already sent within the dedupe window.

    Run `jobs` in the transaction that enqueues the jobs it returns: the tracking API does
    so as it accepts events, the router for events that source functions emitted. Look the
    source's destinations up before (`destinations`): when the catalog's cache has expired
    that rebuilds their plans, which need not hold the write lock.
    """

    def __init__(self, catalog: Catalog) -> None:
        self._catalog = catalog
        self._seen = SeenMessages()

    def destinations(self, source_id: str) -> Sequence[DestinationPlan]:
        return self._catalog.destinations_of_source(source_id)

    def jobs(
        self,
        conn: Connection,
        workspace_id: str,
        source_id: str,
        events: Sequence[dict[str, Any]],
        first_enqueued_at: float,
        now: float,
        *,
        destinations: Sequence[DestinationPlan],
    ) -> list[NewJob]:
        """`destinations`: the source's, from `destinations(source_id)`."""
        if not destinations or not events:
            return []  # nowhere to go: nothing to deliver, nothing to remember
        ids = [str(event.get("messageId", ""))[:MESSAGE_ID_LENGTH] for event in events]
        fresh = self._seen.first_sightings(conn, source_id, ids, now)
        targets = [(destination, queue_for(destination)) for destination in destinations]
        deliveries: list[NewJob] = []
        for event, message_id in zip(events, ids, strict=True):
            if message_id not in fresh:
                continue  # a duplicate, or a repeat within these very events
            fresh.discard(message_id)
            raw = orjson.dumps(event)
            integrations = event.get("integrations")
            for destination, queue in targets:
                if selects(integrations, destination.names):
                    deliveries.append(
                        NewJob(queue, workspace_id, destination.id, raw, first_enqueued_at, now)
                    )
        return deliveries


class Router:
    """Claims route jobs (events that source functions emitted) and fans their events out to
    delivery jobs, in one transaction."""

    def __init__(
        self,
        engine: Engine,
        catalog: Catalog,
        *,
        lease_s: float = DEFAULT_LEASE_S,
        clock: Callable[[], float] = time.time,
        on_routed: Callable[[], None] = lambda: None,
    ) -> None:
        """`on_routed` is called after delivery jobs were enqueued (to wake deliverers)."""
        self._engine = engine
        self._on_routed = on_routed
        self._fan_out = FanOut(catalog)
        self._lease_s = lease_s
        self._clock = clock
        self._queue = WorkQueue()

    def run_once(self, max_jobs: int = ROUTE_CLAIM_MAX) -> int:
        now = self._clock()
        with self._engine.connect() as conn:
            if not self._queue.has_due(conn, QUEUE_ROUTE, now):
                return 0
        with write_transaction(self._engine) as conn:
            jobs = self._queue.claim(conn, QUEUE_ROUTE, max_jobs, self._lease_s, now)
            deliveries: list[NewJob] = []
            for job in jobs:
                events = _events(job.payload)
                if events is None:
                    # Only lists of event objects are queued: anything else is damage, and
                    # must not hold up every job behind it.
                    _log.error("unreadable route job dropped", extra={"job": job.id})
                    continue
                deliveries += self._fan_out.jobs(
                    conn,
                    job.workspace_id,
                    job.target_id,
                    events,
                    job.first_enqueued_at,
                    now,
                    destinations=self._fan_out.destinations(job.target_id),
                )
            self._queue.enqueue(conn, deliveries)
            self._queue.ack(conn, jobs)
        if deliveries:
            self._on_routed()
        return len(jobs)


def _events(payload: bytes) -> list[dict[str, Any]] | None:
    try:
        events = orjson.loads(payload)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(events, list) or not all(isinstance(e, dict) for e in events):
        return None
    return events
