"""Source functions: run each stored webhook request through its source's `on_request`, then
route the events it emitted, keep its objects, and ack, retry or expire the request with
its outcome recorded, in one transaction."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import orjson
from sqlalchemy import Connection, Engine

from headrace.errors import ErrorCategory
from headrace.log import get_logger
from headrace.pipeline.catalog import FunctionInstancePlan
from headrace.pipeline.deliver import DEFAULT_LEASE_S, fate_of_error
from headrace.pipeline.retry import SourceRetryPolicy
from headrace.pipeline.router import QUEUE_ROUTE
from headrace.runtime import SandboxPool
from headrace.runtime.egress import Fetcher
from headrace.spec import Arrival, prepare_event
from headrace.store.database import write_transaction
from headrace.store.deliveries import DeliveryLog, DeliveryRecord
from headrace.store.intake import IntakeLog
from headrace.store.queue import Job, NewJob, Retry, WorkQueue
from headrace.store.source_objects import (
    COLLECTION_MAX_LENGTH,
    OBJECT_ID_MAX_LENGTH,
    SourceObject,
    SourceObjectStore,
)
from headrace.store.usage import UsageRepository

QUEUE_SOURCE = "source"
"""Webhook requests waiting for their source's function; target_id is the source."""

SOURCE_CONCURRENCY = 4
"""Requests one source step runs at once (and claims at once, so that a claimed request
never waits behind others for longer than one function's deadline)."""

MAX_OBJECT_BYTES = 32 * 1024
"""The largest `Segment.set` properties kept, as JSON."""


_log = get_logger("pipeline")


@dataclass(frozen=True)
class FunctionSourcePlan:
    """A FUNCTION source as the runner needs it."""

    id: str
    workspace_id: str
    enabled: bool
    function: FunctionInstancePlan | None
    """None when its function or pinned version no longer exists."""


class SourceCatalog(Protocol):
    def function_source(self, source_id: str) -> FunctionSourcePlan | None:
        """The FUNCTION source (enabled or not), or None if there is none with this id."""


@dataclass
class RequestRun:
    """One stored request on its way through its source's function."""

    job: Job
    request_id: str
    logs: list[str] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    """Emitted, checked and stamped: what goes on to the router."""
    objects: list[SourceObject] = field(default_factory=list)
    rejected: Counter[str] = field(default_factory=Counter)
    """Why emitted events or objects were left out, by reason."""
    status: str = "failed"
    category: ErrorCategory | None = None
    error: str | None = None
    invocation: tuple[str, str, float] | None = None
    """(workspace, function, duration in ms) of the call, counted for usage on settling."""

    def end(self, status: str, category: ErrorCategory | None, error: str | None) -> None:
        self.status, self.category, self.error = status, category, error


class SourceRunner:
    """Claims webhook requests and settles each: delivered (its events routed), filtered
    (the source is disabled), retrying, expired (out of tries) or failed.

    Parameters: `engine` the store; `catalog` the function sources; `pool` the sandbox;
    `fetcher` for the functions' `fetch` (its egress policy refuses this service's own
    webhook URLs); `policy` the retry policy; `lease_s` the claim lease in seconds;
    `on_emitted` is called after events were queued for routing (to wake the router).
    """

    def __init__(
        self,
        engine: Engine,
        catalog: SourceCatalog,
        pool: SandboxPool,
        fetcher: Fetcher,
        *,
        policy: SourceRetryPolicy | None = None,
        lease_s: float = DEFAULT_LEASE_S,
        on_emitted: Callable[[], None] = lambda: None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._engine = engine
        self._catalog = catalog
        self._pool = pool
        self._fetcher = fetcher
        self._policy = policy or SourceRetryPolicy()
        self._lease_s = lease_s
        self._on_emitted = on_emitted
        self._clock = clock
        self._queue = WorkQueue()
        self._log = DeliveryLog()
        self._usage = UsageRepository()
        self._intake = IntakeLog()
        self._objects = SourceObjectStore()
        self._calls = ThreadPoolExecutor(SOURCE_CONCURRENCY, thread_name_prefix="source")

    def close(self) -> None:
        self._calls.shutdown(wait=True)

    def run_once(self, max_jobs: int = SOURCE_CONCURRENCY) -> int:
        """Claim and settle one batch of due requests; the number claimed (0 when idle)."""
        with self._engine.connect() as conn:
            if not self._queue.has_due(conn, QUEUE_SOURCE, self._clock()):
                return 0
        with write_transaction(self._engine) as conn:
            jobs = self._queue.claim(conn, QUEUE_SOURCE, max_jobs, self._lease_s, self._clock())
        if not jobs:
            return 0
        runs = list(self._calls.map(self._run_or_retry, jobs))
        self._settle(runs)
        return len(jobs)

    # -- one request -----------------------------------------------------------------------

    def _run_or_retry(self, job: Job) -> RequestRun:
        """The request's run; if running it failed in headrace itself (a bug, a plan that
        does not load), a retried attempt, so it expires in the end instead of coming back
        with its lease forever. The run keeps its request id, and any logs and usage."""
        run, request = _opened(job)
        if request is None:
            return run
        try:
            self._run(run, request)
        except Exception as exc:  # noqa: BLE001
            _log.exception("running a source function failed", extra={"source_id": job.target_id})
            message = f"headrace failed while running the source function: {type(exc).__name__}"
            run.end("retrying", ErrorCategory.RETRY, f"{message}: {exc}")
        return run

    def _run(self, run: RequestRun, request: dict[str, Any]) -> None:
        job = run.job
        plan = self._catalog.function_source(job.target_id)
        if plan is None:
            run.end("failed", ErrorCategory.BAD_REQUEST, "the source was deleted")
        elif not plan.enabled:
            run.end("filtered", None, "the source is disabled")
        elif plan.function is None:
            run.end("failed", ErrorCategory.INVALID_SETTINGS, "the source's function is gone")
        elif plan.function.settings_error:
            run.end("failed", ErrorCategory.INVALID_SETTINGS, plan.function.settings_error)
        else:
            self._call(plan, plan.function, request, run)

    def _call(
        self,
        plan: FunctionSourcePlan,
        function: FunctionInstancePlan,
        request: dict[str, Any],
        run: RequestRun,
    ) -> None:
        outcome = self._pool.invoke(
            function.spec, "request", request, function.settings, fetcher=self._fetcher
        )
        run.invocation = (
            plan.workspace_id,
            function.function_id,
            float(outcome.get("durationMs") or 0.0),
        )
        run.logs.extend(outcome.get("logs") or [])
        run.requests.extend(outcome.get("requests") or [])
        if not outcome["ok"]:
            run.end(*fate_of_error(outcome.get("error") or {}))
            return
        result = outcome.get("result") or {}
        arrival = Arrival.of(datetime.fromtimestamp(run.job.first_enqueued_at, UTC))
        for emitted in result.get("events") or []:
            event, reason = prepare_event(emitted, arrival)
            if event is None:
                kind = emitted.get("type") if isinstance(emitted, dict) else None
                run.rejected[f"{kind or 'event'}: {reason}"] += 1
            else:
                run.events.append(event)
        for emitted in result.get("objects") or []:
            kept, reason = _source_object(plan.id, emitted, self._clock())
            if kept is None:
                run.rejected[f"Segment.set: {reason}"] += 1
            else:
                run.objects.append(kept)
        if run.rejected and not run.events and not run.objects:
            reasons = "; ".join(sorted(run.rejected))
            run.end(
                "failed", ErrorCategory.MESSAGE_REJECTED, f"nothing emitted was valid: {reasons}"
            )
        else:
            run.end("delivered", None, None)

    # -- settling --------------------------------------------------------------------------

    def _settle(self, runs: list[RequestRun]) -> None:
        now = self._clock()
        with write_transaction(self._engine) as conn:
            # A request whose lease ran out may be with another worker now: its outcome
            # (and what it emitted) is that worker's to record.
            held = self._queue.held(conn, [run.job for run in runs])
            routed = self._write(conn, [run for run in runs if run.job.id in held], now)
        if routed:
            self._on_emitted()

    def _write(self, conn: Connection, runs: list[RequestRun], now: float) -> bool:
        """Ack, retry or expire each request, queue what it emitted, keep its objects,
        counts, record and usage; whether any events were queued."""
        done: list[Job] = []
        retries: list[Retry] = []
        routed: list[NewJob] = []
        objects: list[SourceObject] = []
        records: list[DeliveryRecord] = []
        for run in runs:
            job = run.job
            status = run.status
            if status == "retrying":
                not_before = self._policy.next_attempt_at(job.attempts, now)
                if not_before is None:
                    status = "expired"
                    done.append(job)
                else:
                    retries.append(Retry(job, not_before, run.error or ""))
            else:
                done.append(job)
            if status == "delivered":
                objects.extend(run.objects)
                if run.events:
                    routed.append(
                        NewJob(
                            queue=QUEUE_ROUTE,
                            workspace_id=job.workspace_id,
                            target_id=job.target_id,
                            payload=orjson.dumps(run.events),
                            first_enqueued_at=now,
                            not_before=now,
                        )
                    )
            records.append(
                DeliveryRecord(
                    workspace_id=job.workspace_id,
                    destination_id=job.target_id,
                    message_id=run.request_id,
                    at=now,
                    status=status,
                    category=run.category.value if run.category else "",
                    error=run.error,
                    attempts=job.attempts + 1,
                    payload=job.payload,
                    logs=orjson.dumps(run.logs).decode(),
                    requests=orjson.dumps(run.requests).decode(),
                    latency_ms=(now - job.first_enqueued_at) * 1000,
                )
            )
        self._queue.ack(conn, done)
        self._queue.retry(conn, retries)
        self._queue.enqueue(conn, routed)
        self._objects.upsert(conn, objects)
        for run in runs:
            accepted = len(run.events) if run.status == "delivered" else 0
            if accepted or run.rejected:
                self._intake.write(conn, run.job.target_id, int(now // 60), accepted, run.rejected)
        self._log.write(conn, records)
        today = datetime.fromtimestamp(now, UTC).date()
        for run in runs:
            if run.invocation is not None:
                workspace_id, function_id, duration_ms = run.invocation
                self._usage.add(conn, workspace_id, function_id, today, 1, duration_ms)
        return bool(routed)


def _source_object(source_id: str, emitted: Any, now: float) -> tuple[SourceObject | None, str]:
    """The object to keep from one `Segment.set`, or why it cannot be kept."""
    if not isinstance(emitted, dict):
        return None, "an object must be a JSON object"
    collection, object_id = emitted.get("collection"), emitted.get("id")
    if not isinstance(collection, str) or not 0 < len(collection) <= COLLECTION_MAX_LENGTH:
        return None, f"'collection' must be a string of 1 to {COLLECTION_MAX_LENGTH} characters"
    if isinstance(object_id, int) and not isinstance(object_id, bool):
        object_id = str(object_id)
    if not isinstance(object_id, str) or not 0 < len(object_id) <= OBJECT_ID_MAX_LENGTH:
        return None, f"'id' must be a string of 1 to {OBJECT_ID_MAX_LENGTH} characters"
    properties = orjson.dumps(emitted.get("properties") or {})
    if len(properties) > MAX_OBJECT_BYTES:
        return None, (
            f"the properties are {len(properties)} bytes, over the {MAX_OBJECT_BYTES}-byte limit"
        )
    return SourceObject(source_id, collection, object_id, properties.decode(), now), ""


def _opened(job: Job) -> tuple[RequestRun, dict[str, Any] | None]:
    """The run of a stored request and the request; None (and the run ended) if the stored
    request is not readable."""
    try:
        request = orjson.loads(job.payload)
    except orjson.JSONDecodeError:
        request = None
    if not isinstance(request, dict):
        run = RequestRun(job, "")
        run.end("failed", ErrorCategory.BAD_REQUEST, "the stored request is not readable")
        return run, None
    return RequestRun(job, str(request.get("id", ""))), request
