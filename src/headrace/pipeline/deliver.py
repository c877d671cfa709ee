"""Delivery: take (event, destination) jobs through the insert function and the destination,
then ack, retry or expire each one and record its outcome, in one transaction."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import Engine

from headrace.errors import ErrorCategory
from headrace.pipeline.catalog import Catalog, DestinationPlan, FunctionInstancePlan
from headrace.pipeline.retry import RetryPolicy
from headrace.pipeline.webhook import post_event
from headrace.runtime import SandboxPool
from headrace.runtime.egress import Fetcher
from headrace.store.deliveries import DeliveryLog, DeliveryRecord
from headrace.store.queue import Job, Retry, WorkQueue, begin_immediate

QUEUE_DELIVER = "deliver"
DELIVER_CLAIM_MAX = 200
"""Jobs one delivery step claims at once (spread over their destinations)."""

WEBHOOK_CONCURRENCY = 16
"""Webhook requests in flight at once per delivery worker."""

DEFAULT_LEASE_S = 120.0
"""How long a claimed job stays invisible to other workers (HEADRACE_LEASE_S)."""


@dataclass
class Item:
    """One job's event on its way through a destination's steps."""

    job: Job
    raw: bytes
    message_id: str
    logs: list[str] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    status: str | None = None
    category: ErrorCategory | None = None
    error: str | None = None

    @property
    def pending(self) -> bool:
        return self.status is None

    def end(self, status: str, category: ErrorCategory | None, error: str | None) -> None:
        self.status, self.category, self.error = status, category, error


def _message_id(raw: bytes) -> str:
    try:
        event = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return ""
    return str(event.get("messageId", "")) if isinstance(event, dict) else ""


class Deliverer:
    """Claims delivery jobs and settles each: delivered, filtered, retrying, expired, failed.

    Parameters: `engine` the store; `catalog` the destinations; `pool` the sandbox for
    function and insert destinations; `fetcher` for webhooks (with the egress policy);
    `policy` the retry policy; `lease_s` the claim lease in seconds.
    """

    def __init__(
        self,
        engine: Engine,
        catalog: Catalog,
        pool: SandboxPool,
        fetcher: Fetcher,
        *,
        policy: RetryPolicy | None = None,
        lease_s: float = DEFAULT_LEASE_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._engine = engine
        self._catalog = catalog
        self._pool = pool
        self._fetcher = fetcher
        self._policy = policy or RetryPolicy()
        self._lease_s = lease_s
        self._clock = clock
        self._queue = WorkQueue()
        self._log = DeliveryLog()
        self._webhooks = ThreadPoolExecutor(WEBHOOK_CONCURRENCY, thread_name_prefix="webhook")

    def close(self) -> None:
        self._webhooks.shutdown(wait=True)

    def run_once(self, max_jobs: int = DELIVER_CLAIM_MAX) -> int:
        """Claim and settle one batch of due jobs; the number claimed (0 when idle)."""
        with self._engine.connect() as conn:
            begin_immediate(conn)
            jobs = self._queue.claim(conn, QUEUE_DELIVER, max_jobs, self._lease_s, self._clock())
            conn.commit()
        if not jobs:
            return 0
        by_destination: dict[str, list[Job]] = defaultdict(list)
        for job in jobs:
            by_destination[job.target_id].append(job)
        items: list[Item] = []
        for destination_id, group in by_destination.items():
            items.extend(self._deliver(destination_id, group))
        self._settle(items)
        return len(jobs)

    # -- one destination -------------------------------------------------------------------

    def _deliver(self, destination_id: str, jobs: Sequence[Job]) -> list[Item]:
        items = [Item(job, job.payload, _message_id(job.payload)) for job in jobs]
        plan = self._catalog.destination(destination_id)
        if plan is None:
            self._end_all(items, "failed", ErrorCategory.BAD_REQUEST, "the destination was deleted")
            return items
        if not plan.enabled:
            self._end_all(items, "filtered", None, "the destination is disabled")
            return items
        if plan.settings_error:
            self._end_all(items, "failed", ErrorCategory.INVALID_SETTINGS, plan.settings_error)
            return items
        # Destination filters run here, before the insert function (next issue).
        if plan.insert is not None:
            self._run_function(plan, plan.insert, items, is_insert=True)
        pending = [item for item in items if item.pending]
        if pending:
            if plan.kind == "WEBHOOK":
                self._post_webhooks(plan, pending)
            elif plan.function is not None:
                self._run_function(plan, plan.function, pending, is_insert=False)
            else:
                self._end_all(
                    pending, "failed", ErrorCategory.INVALID_SETTINGS, "no function to deliver to"
                )
        return items

    def _run_function(
        self,
        plan: DestinationPlan,
        instance: FunctionInstancePlan,
        items: list[Item],
        *,
        is_insert: bool,
    ) -> None:
        if instance.settings_error:
            self._end_all(items, "failed", ErrorCategory.INVALID_SETTINGS, instance.settings_error)
            return
        payload = [orjson.Fragment(item.raw) for item in items]
        outcome = self._pool.invoke(instance.spec, "each", payload, instance.settings)
        self._catalog.record_invocations(
            plan.workspace_id, instance.function_id, len(items), float(outcome["durationMs"])
        )
        per_event = outcome["result"] if isinstance(outcome.get("result"), list) else None
        if per_event is None or len(per_event) != len(items):
            # The call as a whole failed (timeout, crash, code that does not load).
            error = outcome.get("error") or {}
            for item in items:
                item.logs.extend(outcome.get("logs") or [])
                item.requests.extend(outcome.get("requests") or [])
                self._end_failure(item, error)
            return
        for item, result in zip(items, per_event, strict=True):
            item.logs.extend(result.get("logs") or [])
            item.requests.extend(result.get("requests") or [])
            if not result["ok"]:
                self._end_failure(item, result.get("error") or {})
            elif is_insert:
                item.raw = orjson.dumps(result["result"])
            else:
                item.end("delivered", None, None)

    def _post_webhooks(self, plan: DestinationPlan, items: list[Item]) -> None:
        url = plan.webhook_url or ""
        attempts = self._webhooks.map(
            lambda item: post_event(self._fetcher, url, plan.webhook_headers, item.raw), items
        )
        for item, attempt in zip(items, attempts, strict=True):
            item.requests.append(attempt.trace)
            if attempt.category is None:
                item.end("delivered", None, None)
            else:
                self._end_category(item, attempt.category, attempt.error)

    # -- fates -----------------------------------------------------------------------------

    def _end_failure(self, item: Item, error: dict[str, Any]) -> None:
        try:
            category = ErrorCategory(str(error.get("category")))
        except ValueError:
            category = ErrorCategory.BAD_REQUEST
        message = f"{error.get('type', 'Error')}: {error.get('message', '')}"
        self._end_category(item, category, message)

    def _end_category(self, item: Item, category: ErrorCategory, message: str | None) -> None:
        if category is ErrorCategory.FILTERED:
            item.end("filtered", category, message)
        elif category.retryable:
            item.end("retrying", category, message)
        else:
            item.end("failed", category, message)

    def _end_all(
        self, items: list[Item], status: str, category: ErrorCategory | None, message: str
    ) -> None:
        for item in items:
            item.end(status, category, message)

    def _settle(self, items: list[Item]) -> None:
        now = self._clock()
        done: list[Job] = []
        retries: list[Retry] = []
        records: list[DeliveryRecord] = []
        for item in items:
            job = item.job
            status = item.status or "failed"
            if status == "retrying":
                not_before = self._policy.next_attempt_at(job.attempts, job.first_enqueued_at, now)
                if not_before is None:
                    status = "expired"
                    done.append(job)
                else:
                    retries.append(Retry(job, not_before, item.error or ""))
            else:
                done.append(job)
            records.append(
                DeliveryRecord(
                    workspace_id=job.workspace_id,
                    destination_id=job.target_id,
                    message_id=item.message_id,
                    at=now,
                    status=status,
                    category=item.category.value if item.category else "",
                    error=item.error,
                    attempts=job.attempts + 1,
                    payload=job.payload,
                    logs=orjson.dumps(item.logs).decode(),
                    requests=orjson.dumps(item.requests).decode(),
                    latency_ms=(now - job.first_enqueued_at) * 1000,
                )
            )
        with self._engine.connect() as conn:
            begin_immediate(conn)
            self._queue.ack(conn, done)
            self._queue.retry(conn, retries)
            self._log.write(conn, records)
            conn.commit()
