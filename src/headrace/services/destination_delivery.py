"""Event delivery of a destination as users see it: outcomes over time, the recent records
(redacted), the debug-capture switch, and replay of what expired or failed."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy.orm import Session, sessionmaker

from headrace.pipeline import DestinationPlan, queue_for
from headrace.security import Principal
from headrace.services import audit
from headrace.services.authorization import require_member, require_view_records
from headrace.services.delivery_params import (
    check_record_filter,
    delivery_period,
)
from headrace.services.destinations import find_destination
from headrace.services.errors import InvalidInput
from headrace.services.instances import require_change
from headrace.services.pinning import PinnedInstance, SecretBoxSource
from headrace.services.redaction import RecordView, sensitive_values, shown_record
from headrace.store.deliveries import (
    DELIVERY_STATUSES,
    REPLAYABLE_STATUSES,
    mark_replayed,
    replayable_records,
)
from headrace.store.delivery_queries import StoredOutcome, outcome_totals, recent_outcomes
from headrace.store.delivery_stats import latency_percentiles, outcome_series
from headrace.store.destinations import Destination, InsertFunctionInstanceRepository
from headrace.store.queue import NewJob, WorkQueue

DEBUG_MAX_MINUTES = 60
"""The longest debug capture one request may switch on."""

REPLAY_MAX_EVENTS = 100_000
"""Events one replay request re-enqueues at most (ask again for the rest)."""


@dataclass(frozen=True)
class DeliverySummary:
    since: datetime
    until: datetime
    totals: dict[str, int]
    """Status -> count."""
    failed_by_category: dict[str, int]
    series: list[dict[str, Any]]
    """Per minute that had outcomes: {"minute": datetime, <status>: count, ...}."""
    latency_p50_ms: float | None
    latency_p95_ms: float | None


@dataclass(frozen=True)
class DeliveryEvent(RecordView):
    message_id: str


@dataclass(frozen=True)
class ReplayResult:
    replayed: int
    statuses: list[str]
    categories: list[str] = field(default_factory=list)


class DestinationDeliveryService:
    """Parameters: `sessions` the store; `secrets` the key that opens sensitive settings
    (to redact their values from records); `plan_of` the destination's current delivery
    plan (which queue a replayed event goes to); `wake` nudges the pipeline."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        secrets: SecretBoxSource,
        plan_of: Callable[[str], DestinationPlan | None],
        wake: Callable[[], None] = lambda: None,
    ) -> None:
        self._sessions = sessions
        self._secrets = secrets
        self._plan_of = plan_of
        self._wake = wake
        self._queue = WorkQueue()

    def summary(
        self,
        principal: Principal,
        destination_id: str,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> DeliverySummary:
        """Outcomes by status, failures by category, a per-minute series and delivery
        latency over [since, until) (default: the last 24 hours), counted by the minute."""
        require_member(principal)
        since, until = delivery_period(since, until)
        start, end = since.timestamp(), until.timestamp()
        with self._sessions() as session:
            destination = find_destination(session, principal, destination_id)
            conn = session.connection()
            totals: Counter[str] = Counter()
            failed: Counter[str] = Counter()
            for total in outcome_totals(conn, destination.id, start, end):
                totals[total.status] += total.count
                if total.status == "failed":
                    failed[total.category or "unknown"] += total.count
            series = outcome_series(conn, destination.id, start, end)
            latency = latency_percentiles(conn, destination.id, start, end, (0.5, 0.95))
        return DeliverySummary(
            since=since,
            until=until,
            totals={status: totals[status] for status in DELIVERY_STATUSES},
            failed_by_category=dict(failed),
            series=[
                {
                    "minute": datetime.fromtimestamp(m.minute * 60, UTC),
                    **{status: m.by_status[status] for status in DELIVERY_STATUSES},
                }
                for m in series
            ],
            latency_p50_ms=latency[0.5],
            latency_p95_ms=latency[0.95],
        )

    def events(
        self,
        principal: Principal,
        destination_id: str,
        *,
        status: str | None = None,
        category: str | None = None,
        limit: int = 100,
    ) -> list[DeliveryEvent]:
        """The destination's kept records, newest first, with secret setting values and
        credential headers redacted. They show events as sent: this needs SOURCE_ADMIN for
        the destination, or a functions role for its function."""
        check_record_filter(status, category)
        with self._sessions() as session:
            destination = find_destination(session, principal, destination_id)
            require_view_records(principal, destination.id, destination.function_id)
            stored = recent_outcomes(
                session.connection(),
                destination.id,
                statuses=[status] if status else None,
                categories=[category] if category else None,
                limit=limit,
            )
            secrets = self._secret_values(session, destination)
        return [_event(record, secrets) for record in stored]

    def debug(self, principal: Principal, destination_id: str, minutes: int) -> datetime | None:
        """Record plain deliveries too for the next `minutes` (0 switches it off); until when."""
        if not 0 <= minutes <= DEBUG_MAX_MINUTES:
            raise InvalidInput(
                f"'minutes' must be between 0 and {DEBUG_MAX_MINUTES}.", field="minutes"
            )
        with self._sessions.begin() as session:
            destination = find_destination(session, principal, destination_id)
            require_change(principal, destination, destination.id)
            destination.debug_until = time.time() + minutes * 60 if minutes else None
            audit.record(
                session,
                principal,
                "destination.debug_capture",
                "destination",
                destination.id,
                {"minutes": minutes},
            )
            until = destination.debug_until
        return None if until is None else datetime.fromtimestamp(until, UTC)

    def replay(
        self,
        principal: Principal,
        destination_id: str,
        since: datetime,
        until: datetime,
        statuses: Sequence[str],
        categories: Sequence[str] | None = None,
    ) -> ReplayResult:
        """Enqueue again the events that ended with `statuses` (expired, failed) in [since,
        until), through the destination's current filters, insert function and version;
        each keeps its messageId. The records are marked, so a second replay of the same
        period does not send them twice."""
        chosen = list(dict.fromkeys(statuses)) or ["expired"]
        for status in chosen:
            if status not in REPLAYABLE_STATUSES:
                raise InvalidInput(
                    f"'statuses' may hold {' and '.join(REPLAYABLE_STATUSES)}, not {status!r}.",
                    field="statuses",
                )
        check_record_filter(None, *(categories or []))
        since, until = delivery_period(since, until)
        with self._sessions.begin() as session:
            destination = find_destination(session, principal, destination_id)
            require_change(principal, destination, destination.id)
            plan = self._plan_of(destination.id)
            if plan is None:
                raise InvalidInput("The destination cannot receive events.", field="id")
            conn = session.connection()
            records = replayable_records(
                conn,
                destination.id,
                since.timestamp(),
                until.timestamp(),
                chosen,
                list(categories) if categories else None,
            )[:REPLAY_MAX_EVENTS]
            now = time.time()
            self._queue.enqueue(
                conn,
                [
                    NewJob(
                        queue=queue_for(plan),
                        workspace_id=destination.workspace_id,
                        target_id=destination.id,
                        payload=record.payload,
                        first_enqueued_at=now,
                        not_before=now,
                    )
                    for record in records
                ],
            )
            mark_replayed(conn, [record.record_id for record in records], now)
            audit.record(
                session,
                principal,
                "destination.replayed",
                "destination",
                destination.id,
                {
                    "from": since.isoformat(),
                    "to": until.isoformat(),
                    "statuses": chosen,
                    "categories": list(categories or []),
                    "events": len(records),
                },
            )
        if records:
            self._wake()
        return ReplayResult(len(records), chosen, list(categories or []))

    def _secret_values(self, session: Session, destination: Destination) -> list[str]:
        instances: list[PinnedInstance] = [destination]
        insert = InsertFunctionInstanceRepository(session).of_destination(destination.id)
        if insert is not None:
            instances.append(insert)
        return sensitive_values(self._secrets(), instances)


def _event(record: StoredOutcome, secrets: list[str]) -> DeliveryEvent:
    try:
        payload = orjson.loads(record.payload)
    except orjson.JSONDecodeError:
        payload = None
    return DeliveryEvent(message_id=record.message_id, **shown_record(record, payload, secrets))
