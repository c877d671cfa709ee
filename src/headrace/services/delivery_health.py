"""Which destinations and source functions of a workspace are failing consistently, and
with what error."""

from __future__ import annotations

import math
import time
from collections import Counter
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from headrace.security import Principal
from headrace.services.authorization import can_view_records, require_member
from headrace.services.pinning import PinnedInstance, SecretBoxSource
from headrace.services.redaction import redact, sensitive_values
from headrace.store.database import IN_LIST_MAX
from headrace.store.deliveries import delivery_counts, delivery_records
from headrace.store.destinations import Destination
from headrace.store.sources import Source

HEALTH_ATTEMPTS = 20
"""N: a target is failing when more than half of its last N attempts failed."""

HEALTH_SILENCE_MINUTES = 15
"""M: a target is failing when nothing was delivered for M minutes while events arrived."""

HEALTH_LOOKBACK_MINUTES = 60
"""How far back the last N attempts are looked for."""

ATTEMPT_STATUSES = ("delivered", "retrying", "failed", "expired")
"""Outcomes that were attempts at delivery (a filtered event was not attempted)."""


@dataclass(frozen=True)
class FailingTarget:
    kind: str
    """"destination" or "source"."""
    id: str
    name: str
    function_id: str | None
    reason: str
    attempts: int
    failures: int
    dominant_category: str
    dominant_error: str | None
    """The most recent error message of the dominant category, with sensitive setting
    values redacted; only for members who may read the target's records (it may quote
    an event), else None."""


class DeliveryHealthService:
    def __init__(self, sessions: sessionmaker[Session], secrets: SecretBoxSource) -> None:
        self._sessions = sessions
        self._secrets = secrets

    def failing(self, principal: Principal, now: float | None = None) -> list[FailingTarget]:
        """The workspace's destinations and function sources failing consistently: more
        than half of the last HEALTH_ATTEMPTS attempts failed, or nothing delivered for
        HEALTH_SILENCE_MINUTES while events arrived."""
        require_member(principal)
        now = time.time() if now is None else now
        current = math.floor(now / 60)
        with self._sessions() as session:
            targets: list[tuple[str, PinnedInstance, str]] = [
                ("destination", d, d.name)
                for d in session.scalars(
                    select(Destination).where(Destination.workspace_id == principal.workspace_id)
                )
            ]
            targets += [
                ("source", s, s.name)
                for s in session.scalars(
                    select(Source).where(
                        Source.workspace_id == principal.workspace_id,
                        Source.function_id.is_not(None),
                    )
                )
            ]
            counts = _recent_counts(session, [target.id for _, target, _ in targets], current)
            failing = []
            for kind, target, name in targets:
                found = _judge(counts.get(target.id, []), current)
                if found is None:
                    continue
                reason, attempts, failures, category = found
                error = _latest_error(session, target.id, category)
                if error is not None:
                    if can_view_records(principal, target.id, target.function_id):
                        error = redact(error, sensitive_values(self._secrets(), [target]))
                    else:
                        error = None
                failing.append(
                    FailingTarget(
                        kind, target.id, name, target.function_id, reason, attempts, failures,
                        category, error,
                    )
                )  # fmt: skip
        return failing


def _recent_counts(
    session: Session, target_ids: list[str], current_minute: int
) -> dict[str, list[tuple[int, str, str, int]]]:
    """Each target's attempt counts of the lookback window, (minute, status, category,
    count) newest minute first: one query for many targets."""
    counts: dict[str, list[tuple[int, str, str, int]]] = {}
    for start in range(0, len(target_ids), IN_LIST_MAX):
        rows = session.execute(
            select(
                delivery_counts.c.destination_id,
                delivery_counts.c.minute,
                delivery_counts.c.status,
                delivery_counts.c.category,
                delivery_counts.c.count,
            )
            .where(
                delivery_counts.c.destination_id.in_(target_ids[start : start + IN_LIST_MAX]),
                delivery_counts.c.minute > current_minute - HEALTH_LOOKBACK_MINUTES,
                delivery_counts.c.status.in_(ATTEMPT_STATUSES),
            )
            .order_by(delivery_counts.c.destination_id, delivery_counts.c.minute.desc())
        ).all()
        for target_id, minute, status, category, count in rows:
            counts.setdefault(target_id, []).append((minute, status, category, count))
    return counts


def _judge(
    rows: list[tuple[int, str, str, int]], current_minute: int
) -> tuple[str, int, int, str] | None:
    if not rows:
        return None
    attempts = failures = 0
    categories: Counter[str] = Counter()
    recent_attempts = recent_delivered = 0
    for minute, status, category, count in rows:
        if minute > current_minute - HEALTH_SILENCE_MINUTES:
            recent_attempts += count
            if status == "delivered":
                recent_delivered += count
        counted = min(count, HEALTH_ATTEMPTS - attempts)
        if counted > 0:
            # Rows are per minute, newest first: only the newest N attempts count (within
            # the minute where N is reached, rows are taken in the order they come).
            attempts += counted
            if status != "delivered":
                failures += counted
                categories[category or "unknown"] += counted
    if failures * 2 > attempts:
        reason = f"{failures} of the last {attempts} attempts failed"
    elif recent_attempts and not recent_delivered:
        reason = f"nothing delivered in the last {HEALTH_SILENCE_MINUTES} minutes"
        for _minute, status, category, count in rows:
            if status != "delivered":
                categories[category or "unknown"] += count
    else:
        return None
    category = categories.most_common(1)[0][0] if categories else "unknown"
    return reason, attempts, failures, category


def _latest_error(session: Session, target_id: str, category: str) -> str | None:
    """The error of the target's newest record in `category`, if one is kept."""
    latest = session.execute(
        select(func.max(delivery_records.c.id)).where(
            delivery_records.c.destination_id == target_id,
            delivery_records.c.category == category,
        )
    ).scalar_one_or_none()
    if latest is None:
        return None
    error: str | None = session.execute(
        select(delivery_records.c.error).where(delivery_records.c.id == latest)
    ).scalar_one_or_none()
    return error
