"""Delivery: take (event, destination) jobs through the destination's filters, its insert
function and the destination itself, then ack, retry or expire each one and record its
outcome, in one transaction.

Destinations whose function (or insert function) defines `on_batch`, or whose webhook
sends batches, have their jobs on a queue of their own: they are claimed per destination
once `batch.maxEvents` are waiting or the oldest has waited `batch.maxWaitMs`.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import Connection, Engine

from headrace.errors import ErrorCategory
from headrace.log import get_logger
from headrace.pipeline.catalog import Catalog, DestinationPlan, FunctionInstancePlan
from headrace.pipeline.filters import ActionType, run_filters
from headrace.pipeline.retry import RetryPolicy
from headrace.pipeline.webhook import WebhookAttempt, WebhookSender, category_for_status
from headrace.runtime import SandboxPool
from headrace.store.database import write_transaction
from headrace.store.deliveries import DeliveryLog, DeliveryRecord, is_kept
from headrace.store.queue import DueTarget, Job, Retry, WorkQueue
from headrace.store.usage import UsageRepository

QUEUE_DELIVER = "deliver"
"""Jobs delivered one event at a time (in claimed groups)."""

QUEUE_BATCH = "batch"
"""Jobs of batching destinations, claimed per destination as whole batches."""

DELIVER_CLAIM_MAX = 500
"""Jobs one delivery step claims at once (spread over their destinations)."""

CALL_FAILURES_OF_ONE_EVENT = frozenset({"Timeout", "WorkerCrashed"})
"""Errors that end a whole call although a single event may have caused them."""

EACH_INVOKE_MAX = 50
"""Events handed to a function in one call when each runs on its own handler: a call that
fails as a whole (a crash, a timeout) is retried event by event, so this bounds the work
done twice."""

CLAIM_DESTINATIONS_MAX = 8
"""Destinations one delivery step claims jobs of at most (the due ones that waited longest
first), each with an equal share of DELIVER_CLAIM_MAX."""

GROUP_THREADS = 32
"""Groups of jobs one delivery worker has in flight at most: this step's, and the slow ones
it left running (see GROUP_PATIENCE_S)."""

SETTLE_TRIES = 3
"""Steps that try to settle a finished group before it is given up (its jobs then come back
when their leases end, and are delivered again)."""

GROUP_PATIENCE_S = 0.5
"""How long a delivery step waits for the groups it claimed. A group still running then is
left to finish in its thread while the next steps go on (see Deliverer): one slow or
hanging destination never keeps the others waiting."""

STOP_GRACE_S = 5.0
"""How long a stopping pipeline lets the groups in flight end by themselves before it cuts
their webhook requests short (see Deliverer.wait_for_groups)."""

DEFAULT_LEASE_S = 120.0
"""How long a claimed job stays invisible to other workers (HEADRACE_LEASE_S)."""


_log = get_logger("pipeline")


@dataclass(slots=True)
class _Group:
    """One destination's claimed jobs, on their way in a thread of their own."""

    destination_id: str
    jobs: list[Job]
    started: float
    """When it was handed to its thread (monotonic seconds)."""
    slow: bool = False
    """Outlasted GROUP_PATIENCE_S (and was logged as slow)."""
    items: list[Item] | None = None
    """The delivered items, once the group has finished (kept until they are settled)."""
    settle_failures: int = 0


def status_of(category: ErrorCategory) -> str:
    """The status an attempt that ended in `category` gets: filtered, retrying or failed."""
    if category is ErrorCategory.FILTERED:
        return "filtered"
    return "retrying" if category.retryable else "failed"


def fate_of_error(error: dict[str, Any]) -> tuple[str, ErrorCategory, str]:
    """(status, category, message) of a function's error outcome."""
    try:
        category = ErrorCategory(str(error.get("category")))
    except ValueError:
        category = ErrorCategory.BAD_REQUEST
    return (
        status_of(category),
        category,
        f"{error.get('type', 'Error')}: {error.get('message', '')}",
    )


def _batch_size(plan: DestinationPlan | None) -> int:
    """Jobs in one batch of a destination (as many as a claim takes, if it is gone)."""
    return plan.batch_max_events if plan is not None else DELIVER_CLAIM_MAX


def queue_for(plan: DestinationPlan) -> str:
    """The queue a destination's jobs wait on."""
    return QUEUE_BATCH if plan.batching else QUEUE_DELIVER


@dataclass(slots=True)
class Item:
    """One job's event on its way through a destination's steps."""

    job: Job
    raw: bytes
    """The event as it goes on (replaced by filters and the insert function)."""
    logs: list[str] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    status: str | None = None
    category: ErrorCategory | None = None
    error: str | None = None
    captured: bool = False
    """Record the outcome even if it is a plain delivery (debug capture)."""
    interrupted: bool = False
    """Its attempt was cut short because the service is stopping: it goes back to the queue
    without counting as an attempt."""
    _event: dict[str, Any] | None = field(default=None, repr=False)
    _parsed: bool = field(default=False, repr=False)

    @classmethod
    def of(cls, job: Job) -> Item:
        return cls(job, job.payload)

    @property
    def event(self) -> dict[str, Any] | None:
        """`raw` parsed, only when a step needs it (None if it is not a JSON object): most
        events are forwarded as the bytes they were queued as."""
        if not self._parsed:
            self._event, self._parsed = _object(self.raw), True
        return self._event

    @property
    def message_id(self) -> str:
        """The messageId the event was queued with (what it is recorded and replayed under,
        whatever an insert function made of it)."""
        event = self.event if self.raw is self.job.payload else _object(self.job.payload)
        return str(event.get("messageId", "")) if event is not None else ""

    @property
    def event_type(self) -> str:
        return str(self.event.get("type", "")) if self.event is not None else ""

    @property
    def pending(self) -> bool:
        return self.status is None

    def replace(self, event: dict[str, Any]) -> None:
        self._event, self._parsed = event, True
        self.raw = orjson.dumps(event)

    def end(self, status: str, category: ErrorCategory | None, error: str | None) -> None:
        self.status, self.category, self.error = status, category, error


def _object(raw: bytes) -> dict[str, Any] | None:
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


class Deliverer:
    """Claims delivery jobs and settles each: delivered, filtered, retrying, expired, failed.

    Parameters: `engine` the store; `catalog` the destinations; `pool` the sandbox for
    function and insert destinations; `webhooks` the sender for webhook destinations (with
    the egress policy); `policy` the retry policy; `lease_s` the claim lease in seconds;
    `groups_each` how many groups of one destination's jobs may be in flight at once.

    One Deliverer per process: its steps run in one thread (threads of one process share an
    interpreter lock, and two busy at once hand it back and forth at every socket or
    database call). Each step claims the due jobs of a few destinations, delivers each
    destination's group in a thread of its own and settles each group as soon as it ends.
    A group that outlasts GROUP_PATIENCE_S is left running: later steps settle it when it
    ends and keep its leases meanwhile. A destination with `groups_each` groups in flight
    is not claimed for until one ends: a distant destination still gets that many at once,
    and a hanging one holds no more jobs and threads than that while its backlog waits in
    the queue.
    """

    def __init__(
        self,
        engine: Engine,
        catalog: Catalog,
        pool: SandboxPool,
        webhooks: WebhookSender,
        *,
        policy: RetryPolicy | None = None,
        lease_s: float = DEFAULT_LEASE_S,
        clock: Callable[[], float] = time.time,
        groups_each: int = 2,
    ) -> None:
        self._engine = engine
        self._groups_each = max(1, groups_each)
        self._stepping = threading.Lock()
        """Held by a step, and by stopping (a step that outlived its thread's join must not
        touch the groups alongside)."""
        self._catalog = catalog
        self._pool = pool
        self._webhooks = webhooks
        self._policy = policy or RetryPolicy()
        self._lease_s = lease_s
        self._clock = clock
        self._queue = WorkQueue()
        self._log = DeliveryLog()
        self._usage = UsageRepository()
        self._usage_pending: dict[tuple[str, str], list[Any]] = {}
        """Invocations per (workspace, function) since the last settle, written with it."""
        self._usage_lock = threading.Lock()
        self._destinations = ThreadPoolExecutor(GROUP_THREADS, thread_name_prefix="destination")
        self._groups: dict[Future[list[Item]], _Group] = {}
        """Groups in flight or not yet settled; touched only under `_stepping`."""
        self._extend_at = 0.0

    def close(self) -> None:
        try:
            self.finish()
        except Exception:  # noqa: BLE001
            # Their leases run out, and another worker delivers them again.
            _log.exception("settling delivered jobs failed while stopping")
        self._destinations.shutdown(wait=True)

    def wait_for_groups(self, timeout_s: float) -> None:
        """Wait up to `timeout_s` for the groups in flight to end (keeping their leases),
        settling nothing: when the service stops, what ends within STOP_GRACE_S ends as it
        would have, and close settles it with the rest."""
        deadline = time.monotonic() + timeout_s
        with self._stepping:
            while (left_s := deadline - time.monotonic()) > 0:
                running = [future for future in self._groups if not future.done()]
                if not running:
                    return
                try:
                    self._extend_leases()
                except Exception:  # noqa: BLE001
                    _log.exception("extending leases failed while stopping")
                wait(running, timeout=min(left_s, self._until_extend() or left_s))

    def finish(self) -> int:
        """Wait for the groups in flight (keeping their leases) and settle them; the number
        of jobs settled."""
        settled = 0
        with self._stepping:
            while self._groups:
                running = [future for future in self._groups if not future.done()]
                if running:
                    self._extend_leases()
                    wait(running, timeout=self._until_extend(), return_when=FIRST_COMPLETED)
                settled += self._settle_finished()
        return settled

    def run_once(self, max_jobs: int = DELIVER_CLAIM_MAX) -> int:
        """Settle the groups that ended since the last step, claim due jobs and every batch
        that is ready, and wait up to GROUP_PATIENCE_S for them; the number of jobs claimed
        or settled (0 when idle)."""
        with self._stepping:
            self._extend_leases()
            handled = self._settle_finished()
            started: list[Future[list[Item]]] = []
            # Each claim starts at once: if a later claim fails, the earlier ones are still
            # delivered and settled, not left invisible until their leases end.
            for destination_id, jobs in self._claim_singles(max_jobs):
                started.append(self._start(destination_id, jobs))
                handled += len(jobs)
            for destination_id, jobs in self._claim_batches():
                started.append(self._start(destination_id, jobs))
                handled += len(jobs)
            self._await(started)
            return handled

    # -- claiming --------------------------------------------------------------------------

    def _claim_singles(self, max_jobs: int) -> list[tuple[str, list[Job]]]:
        """The due jobs of the destinations that waited longest (skipping those with as many
        groups in flight as allowed): an equal share of `max_jobs` each, and what those with
        fewer jobs leave to those with more."""
        room = min(CLAIM_DESTINATIONS_MAX, GROUP_THREADS - len(self._groups))
        if room <= 0:
            return []
        # A read first: an idle poll takes no write lock, and looks at no target.
        with self._engine.connect() as conn:
            if not self._queue.has_due(conn, QUEUE_DELIVER, self._clock()):
                return []
            next_due = self._queue.next_due_by_target(conn, QUEUE_DELIVER)
        now, full = self._clock(), self._full()
        due = sorted((at, target) for target, at in next_due.items() if at <= now)
        targets = [target for _at, target in due if target not in full][:room]
        if not targets:
            return []
        share = max(1, max_jobs // len(targets))
        with write_transaction(self._engine) as conn:
            now = self._clock()

            def claim(target: str, count: int) -> list[Job]:
                return self._queue.claim(
                    conn, QUEUE_DELIVER, count, self._lease_s, now, target_id=target
                )

            taken = {target: claim(target, share) for target in targets}
            # What the destinations with fewer jobs left goes to those that filled their share.
            left = max_jobs - sum(len(jobs) for jobs in taken.values())
            filled = [target for target in targets if len(taken[target]) == share]
            for index, target in enumerate(filled):
                if (more := left // (len(filled) - index)) > 0:
                    extra = claim(target, more)
                    taken[target] += extra
                    left -= len(extra)
        return [(target, jobs) for target, jobs in taken.items() if jobs]

    def _claim_batches(self) -> Iterator[tuple[str, list[Job]]]:
        """A batch of each batching destination that is ready (skipping those with as many
        groups in flight as allowed)."""
        with self._engine.connect() as conn:
            if not self._queue.has_due(conn, QUEUE_BATCH, self._clock()):
                return
            next_due = self._queue.next_due_by_target(conn, QUEUE_BATCH)
            now, full = self._clock(), self._full()
            ready = [
                (target_id, plan)
                for target_id, at in sorted(next_due.items(), key=lambda pair: pair[1])
                if at <= now and target_id not in full
                if self._has_batch(conn, target_id, plan := self._catalog.destination(target_id))
            ]
        for target_id, plan in ready:
            if len(self._groups) >= GROUP_THREADS:
                return
            if jobs := self._claim_batch(target_id, plan):
                yield target_id, jobs

    def _claim_batch(self, target_id: str, plan: DestinationPlan | None) -> list[Job]:
        """A batch of `target_id`'s jobs if it is still ready under the write lock (another
        worker may have taken part of it since)."""
        with write_transaction(self._engine) as conn:
            if not self._has_batch(conn, target_id, plan):
                return []
            size, now = _batch_size(plan), self._clock()
            return self._queue.claim(
                conn, QUEUE_BATCH, size, self._lease_s, now, target_id=target_id
            )

    def _has_batch(self, conn: Connection, target_id: str, plan: DestinationPlan | None) -> bool:
        """Whether `target_id` has a batch to send now (a deleted destination's jobs are
        taken at once, to be ended)."""
        size = _batch_size(plan)
        target = self._queue.due_target(conn, QUEUE_BATCH, self._clock(), target_id, up_to=size)
        return target is not None and (plan is None or self._batch_ready(plan, target))

    def _batch_ready(self, plan: DestinationPlan, target: DueTarget) -> bool:
        """Full, or its longest-waiting event has waited long enough (a destination that no
        longer batches takes what is there at once)."""
        return (
            not plan.batching
            or target.due >= plan.batch_max_events
            or self._clock() - target.waiting_since >= plan.batch_max_wait_s
        )

    # -- groups in flight ------------------------------------------------------------------

    def _start(self, destination_id: str, jobs: list[Job]) -> Future[list[Item]]:
        if not any(not future.done() for future in self._groups):
            self._extend_at = time.monotonic() + self._lease_s / 3
        batched = jobs[0].queue == QUEUE_BATCH
        future = self._destinations.submit(self._deliver, destination_id, jobs, batched=batched)
        self._groups[future] = _Group(destination_id, jobs, time.monotonic())
        return future

    def _await(self, started: list[Future[list[Item]]]) -> None:
        """Settle groups as they end, until every one of `started` has or GROUP_PATIENCE_S
        has passed; then every group that has been running longer than that is slow."""
        deadline = time.monotonic() + GROUP_PATIENCE_S
        waiting = set(started)
        while waiting:
            waiting = {future for future in waiting if not future.done()}
            left_s = deadline - time.monotonic()
            running = [future for future in self._groups if not future.done()]
            if waiting and running and left_s > 0:
                timeout = min(left_s, self._until_extend())
                wait(running, timeout=timeout, return_when=FIRST_COMPLETED)
                self._extend_leases()
            self._settle_finished(again=False)
            if left_s <= 0:
                break
        for future, group in self._groups.items():
            overran = time.monotonic() - group.started >= GROUP_PATIENCE_S
            if overran and not group.slow and not future.done():
                group.slow = True
                _log.info(
                    "a destination is slow: its group goes on in the background",
                    extra={"destination_id": group.destination_id, "jobs": len(group.jobs)},
                )

    def _settle_finished(self, *, again: bool = True) -> int:
        """Settle each group that has ended; the number of jobs settled. A group whose
        settling fails (logged) is tried again at the start of the next step (`again`),
        SETTLE_TRIES steps in all; the others settle meanwhile, and claiming goes on."""
        settled = 0
        for future, group in list(self._groups.items()):
            if not future.done() or (group.settle_failures and not again):
                continue
            if group.items is None:
                group.items = self._delivered(future, group.jobs)
            try:
                self._settle(group.items)
            except Exception:  # noqa: BLE001
                group.settle_failures += 1
                extra = {"destination_id": group.destination_id, "jobs": len(group.jobs)}
                if group.settle_failures < SETTLE_TRIES:
                    _log.exception("settling delivered jobs failed; trying again", extra=extra)
                    continue
                # Given up: the jobs come back when their leases end (no longer extended).
                _log.exception("settling delivered jobs failed; they will be redone", extra=extra)
            del self._groups[future]
            settled += len(group.jobs)
        return settled

    def _full(self) -> frozenset[str]:
        """The destinations with as many groups in flight as allowed: not to claim for now."""
        groups = Counter(group.destination_id for group in self._groups.values())
        return frozenset(d for d, count in groups.items() if count >= self._groups_each)

    def _until_extend(self) -> float:
        return max(0.0, self._extend_at - time.monotonic())

    def _extend_leases(self) -> None:
        """Every third of a lease, renew the leases of the groups still running, so that
        no other worker takes their jobs over meanwhile."""
        if time.monotonic() < self._extend_at:
            return
        running = [job for f, group in self._groups.items() if not f.done() for job in group.jobs]
        if running:
            with write_transaction(self._engine) as conn:
                self._queue.extend(conn, running, self._clock() + self._lease_s)
        self._extend_at = time.monotonic() + self._lease_s / 3

    def _delivered(self, future: Future[list[Item]], jobs: list[Job]) -> list[Item]:
        """A destination's delivered items; if delivering them failed in headrace itself (a
        bug), each is retried like a failed attempt, so its retries are counted and it
        expires in the end, instead of coming back with its lease forever."""
        try:
            return future.result()
        except Exception as exc:  # noqa: BLE001
            _log.exception(
                "delivering to a destination failed", extra={"destination_id": jobs[0].target_id}
            )
            items = [Item.of(job) for job in jobs]
            message = f"headrace failed while delivering: {type(exc).__name__}: {exc}"
            self._end_all(items, "retrying", ErrorCategory.RETRY, message)
            return items

    # -- one destination -------------------------------------------------------------------

    def _deliver(self, destination_id: str, jobs: Sequence[Job], *, batched: bool) -> list[Item]:
        items = [Item.of(job) for job in jobs]
        plan = self._catalog.destination(destination_id)
        if plan is None:
            self._end_all(items, "failed", ErrorCategory.BAD_REQUEST, "the destination was deleted")
            return items
        if not plan.enabled:
            self._end_all(items, "filtered", None, "the destination is disabled")
            return items
        problem = plan.settings_error or plan.filters_error
        if problem:
            self._end_all(items, "failed", ErrorCategory.INVALID_SETTINGS, problem)
            return items
        if plan.debug_until is not None and plan.debug_until > self._clock():
            for item in items:
                item.captured = True
        if plan.filters:
            self._filter(plan, items)
        pending = [item for item in items if item.pending]
        if plan.insert is not None and pending:
            self._run_function(plan, plan.insert, pending, is_insert=True, batched=batched)
        pending = [item for item in items if item.pending]
        if pending:
            if plan.kind == "WEBHOOK":
                if batched and plan.send_batches:
                    self._post_batch(plan, pending)
                else:
                    self._post_webhooks(plan, pending)
            elif plan.function is not None:
                self._run_function(plan, plan.function, pending, is_insert=False, batched=batched)
            else:
                self._end_all(
                    pending, "failed", ErrorCategory.INVALID_SETTINGS, "no function to deliver to"
                )
        return items

    def _filter(self, plan: DestinationPlan, items: list[Item]) -> None:
        titles = {f.id: f.title or f.id for f in plan.filters}
        edits = any(
            f.enabled and (f.drop_properties is not None or f.allow_properties is not None)
            for f in plan.filters
        )
        for item in items:
            if item.event is None:
                item.end("failed", ErrorCategory.MESSAGE_REJECTED, "the event is not an object")
                continue
            outcome = run_filters(plan.filters, item.event)
            if outcome.event is None:
                verb = "sampled out" if outcome.action is ActionType.SAMPLE else "dropped"
                title = titles.get(outcome.dropped_by or "", "?")
                item.end("filtered", ErrorCategory.FILTERED, f"{verb} by filter '{title}'")
            elif edits:
                item.replace(outcome.event)

    def _run_function(
        self,
        plan: DestinationPlan,
        instance: FunctionInstancePlan,
        items: list[Item],
        *,
        is_insert: bool,
        batched: bool,
    ) -> None:
        if instance.settings_error:
            self._end_all(items, "failed", ErrorCategory.INVALID_SETTINGS, instance.settings_error)
            return
        as_batch = (
            batched
            and instance.has_batch_handler
            and (len(items) > 1 or f"on_{items[0].event_type}" not in instance.handlers)
        )
        if as_batch:
            outcome = self._invoke(plan, instance, "batch", items)
            self._settle_batch_call(outcome, items, is_insert=is_insert)
            return
        for start in range(0, len(items), EACH_INVOKE_MAX):
            self._run_each(plan, instance, items[start : start + EACH_INVOKE_MAX], is_insert)

    def _invoke(
        self, plan: DestinationPlan, instance: FunctionInstancePlan, mode: str, items: list[Item]
    ) -> dict[str, Any]:
        payload = [orjson.Fragment(item.raw) for item in items]
        outcome = self._pool.invoke(instance.spec, mode, payload, instance.settings)
        key = (plan.workspace_id, instance.function_id)
        self._count_usage(key, len(items), float(outcome["durationMs"]))
        return outcome

    def _run_each(
        self,
        plan: DestinationPlan,
        instance: FunctionInstancePlan,
        items: list[Item],
        is_insert: bool,
    ) -> None:
        """Each event on its own handler, in one call."""
        outcome = self._invoke(plan, instance, "each", items)
        per_event = outcome["result"] if isinstance(outcome.get("result"), list) else None
        if per_event is None or len(per_event) != len(items):
            # The call as a whole failed (timeout, crash, code that does not load). One
            # event may have caused it: each gets a call of its own, so only that one fails.
            error_type = (outcome.get("error") or {}).get("type")
            if len(items) > 1 and error_type in CALL_FAILURES_OF_ONE_EVENT:
                for item in items:
                    self._run_each(plan, instance, [item], is_insert)
            else:
                self._end_with_call_failure(outcome, items)
            return
        for item, result in zip(items, per_event, strict=True):
            item.logs.extend(result.get("logs") or [])
            item.requests.extend(result.get("requests") or [])
            if not result["ok"]:
                self._end_failure(item, result.get("error") or {})
            elif is_insert:
                item.replace(result["result"])
            else:
                item.end("delivered", None, None)

    def _settle_batch_call(
        self, outcome: dict[str, Any], items: list[Item], *, is_insert: bool
    ) -> None:
        """One `on_batch` call's outcome, spread over the events of the batch."""
        if not outcome.get("ok"):
            self._end_with_call_failure(outcome, items)
            return
        for item in items:
            item.logs.extend(outcome.get("logs") or [])
            item.requests.extend(outcome.get("requests") or [])
        result = outcome.get("result")
        if is_insert:
            self._match_insert_batch(items, result if isinstance(result, list) else [])
            return
        statuses = result if isinstance(result, list) else []
        for index, item in enumerate(items):
            entry = statuses[index] if index < len(statuses) else None
            status = entry.get("status") if isinstance(entry, dict) else None
            if not isinstance(status, int) or isinstance(status, bool):
                status = 200  # no status for this event: it went through
            category = category_for_status(status)
            if category is None:
                item.end("delivered", None, None)
                continue
            message = str(entry.get("errormessage") or "") if isinstance(entry, dict) else ""
            message = f"on_batch returned status {status}" + (f": {message}" if message else "")
            self._end_category(item, category, message)

    def _match_insert_batch(self, items: list[Item], events: list[Any]) -> None:
        """An insert function's `on_batch` output: matched to its input by messageId when
        every output event carries one of the input's, else by position; input events
        without an output were filtered."""
        by_id = {item.message_id: item for item in items if item.message_id}
        ids = [e.get("messageId") if isinstance(e, dict) else None for e in events]
        matched: dict[int, dict[str, Any]] = {}
        if ids and all(isinstance(i, str) and i in by_id for i in ids):
            position = {id(item): index for index, item in enumerate(items)}
            for event, message_id in zip(events, ids, strict=True):
                matched[position[id(by_id[str(message_id)])]] = event
        else:
            matched = {i: e for i, e in enumerate(events[: len(items)]) if isinstance(e, dict)}
        for index, item in enumerate(items):
            if index in matched:
                item.replace(matched[index])
            else:
                item.end(
                    "filtered",
                    ErrorCategory.FILTERED,
                    "the insert function's on_batch did not return this event",
                )

    def _end_with_call_failure(self, outcome: dict[str, Any], items: list[Item]) -> None:
        error = outcome.get("error") or {}
        for item in items:
            item.logs.extend(outcome.get("logs") or [])
            item.requests.extend(outcome.get("requests") or [])
            self._end_failure(item, error)

    def _post_webhooks(self, plan: DestinationPlan, items: list[Item]) -> None:
        # Several at once, from this destination's own thread (and its own connections).
        bodies = [item.raw for item in items]
        attempts = self._webhooks.post_all(plan.webhook_url or "", plan.webhook_headers, bodies)
        for item, attempt in zip(items, attempts, strict=True):
            self._end_webhook(item, attempt)

    def _post_batch(self, plan: DestinationPlan, items: list[Item]) -> None:
        body = b"[" + b",".join(item.raw for item in items) + b"]"
        attempt = self._webhooks.post(plan.webhook_url or "", plan.webhook_headers, body)
        for item in items:
            self._end_webhook(item, attempt)

    def _end_webhook(self, item: Item, attempt: WebhookAttempt) -> None:
        item.requests.append(attempt.trace)
        item.interrupted = attempt.interrupted
        if attempt.category is None:
            item.end("delivered", None, None)
        else:
            self._end_category(item, attempt.category, attempt.error)

    # -- fates -----------------------------------------------------------------------------

    def _end_failure(self, item: Item, error: dict[str, Any]) -> None:
        item.end(*fate_of_error(error))

    def _end_category(self, item: Item, category: ErrorCategory, message: str | None) -> None:
        item.end(status_of(category), category, message)

    def _end_all(
        self, items: list[Item], status: str, category: ErrorCategory | None, message: str
    ) -> None:
        for item in items:
            item.end(status, category, message)

    def _settle(self, items: list[Item]) -> None:
        with self._usage_lock:
            usage, self._usage_pending = self._usage_pending, {}
        try:
            self._write(items, usage)
        except BaseException:
            for key, (count, duration_ms) in usage.items():  # counted with the next settle
                self._count_usage(key, count, duration_ms)
            raise

    def _count_usage(self, key: tuple[str, str], count: int, duration_ms: float) -> None:
        """Invocations of (workspace, function) to write with the next settle."""
        with self._usage_lock:  # destinations are delivered from several threads
            usage = self._usage_pending.setdefault(key, [0, 0.0])
            usage[0] += count
            usage[1] += duration_ms

    def _write(self, items: list[Item], usage: dict[tuple[str, str], list[Any]]) -> None:
        now = self._clock()
        done: list[Job] = []
        retries: list[Retry] = []
        records: list[DeliveryRecord] = []
        with write_transaction(self._engine) as conn:
            # A job whose lease ran out may be with another worker now: its outcome is
            # that worker's to record.
            held = self._queue.held(conn, [item.job for item in items])
            for item in items:
                job = item.job
                if job.id not in held:
                    continue
                if item.interrupted:
                    retries.append(Retry(job, now, item.error or "", counted=False))
                    records.append(self._record(item, "retrying", now))
                    continue
                status = item.status or "failed"
                if status == "retrying":
                    not_before = self._policy.next_attempt_at(
                        job.attempts, job.first_enqueued_at, now
                    )
                    if not_before is None:
                        status = "expired"
                        done.append(job)
                    else:
                        retries.append(Retry(job, not_before, item.error or ""))
                else:
                    done.append(job)
                records.append(self._record(item, status, now))
            self._queue.ack(conn, done)
            self._queue.retry(conn, retries)
            self._log.write(conn, records)
            today = datetime.now(UTC).date()
            for (workspace_id, function_id), (count, duration_ms) in usage.items():
                self._usage.add(conn, workspace_id, function_id, today, count, duration_ms)

    def _record(self, item: Item, status: str, now: float) -> DeliveryRecord:
        job = item.job
        kept = is_kept(status, item.captured)
        return DeliveryRecord(
            workspace_id=job.workspace_id,
            destination_id=job.target_id,
            # Plain deliveries are only counted: leave out what only a record would show.
            message_id=item.message_id if kept else "",
            at=now,
            status=status,
            category=item.category.value if item.category else "",
            error=item.error,
            attempts=job.attempts + 1,
            payload=job.payload,
            captured=item.captured,
            logs=orjson.dumps(item.logs).decode() if kept else "[]",
            requests=orjson.dumps(item.requests).decode() if kept else "[]",
            latency_ms=(now - job.first_enqueued_at) * 1000,
        )
