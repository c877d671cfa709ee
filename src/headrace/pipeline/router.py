"""Routing: turn each accepted event into one delivery job per destination it goes to."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import orjson
from sqlalchemy import Engine

from headrace.log import get_logger
from headrace.pipeline.catalog import Catalog
from headrace.pipeline.deliver import DEFAULT_LEASE_S, queue_for
from headrace.pipeline.integrations import selects
from headrace.store.dedupe import MESSAGE_ID_LENGTH, SeenMessages
from headrace.store.queue import NewJob, WorkQueue, begin_immediate

QUEUE_ROUTE = "route"
_log = get_logger("pipeline")

ROUTE_CLAIM_MAX = 50
"""Route jobs (each one ingest request's events) claimed at once."""


class Router:
    """Claims route jobs and fans their events out to delivery jobs, in one transaction,
    skipping messageIds the source already sent within the dedupe window."""

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
        self._catalog = catalog
        self._lease_s = lease_s
        self._clock = clock
        self._queue = WorkQueue()
        self._seen = SeenMessages()

    def run_once(self, max_jobs: int = ROUTE_CLAIM_MAX) -> int:
        now = self._clock()
        with self._engine.connect() as conn:
            begin_immediate(conn)
            jobs = self._queue.claim(conn, QUEUE_ROUTE, max_jobs, self._lease_s, now)
            deliveries: list[NewJob] = []
            for job in jobs:
                destinations = self._catalog.destinations_of_source(job.target_id)
                if not destinations:
                    continue  # nowhere to go: no need to read or remember the events
                events = _events(job.payload)
                if events is None:
                    # Ingest only queues lists of event objects: anything else is damage,
                    # and must not hold up every job behind it.
                    _log.error("unreadable route job dropped", extra={"job": job.id})
                    continue
                fresh = self._seen.first_sightings(
                    conn, job.target_id, [str(e.get("messageId", "")) for e in events], now
                )
                for event in events:
                    message_id = str(event.get("messageId", ""))[:MESSAGE_ID_LENGTH]
                    if message_id not in fresh:
                        continue  # a duplicate, or a repeat within this very request
                    fresh.discard(message_id)
                    raw = orjson.dumps(event)
                    integrations = event.get("integrations")
                    deliveries.extend(
                        NewJob(
                            queue=queue_for(destination),
                            workspace_id=job.workspace_id,
                            target_id=destination.id,
                            payload=raw,
                            first_enqueued_at=job.first_enqueued_at,
                            not_before=now,
                        )
                        for destination in destinations
                        if selects(integrations, destination.names)
                    )
            self._queue.enqueue(conn, deliveries)
            self._queue.ack(conn, jobs)
            conn.commit()
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
