"""Function usage: the pipeline and preview record invocations; members read them by day."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from headrace.security import Principal
from headrace.services.authorization import can_view_function
from headrace.services.errors import InvalidInput
from headrace.store.functions import FunctionRepository
from headrace.store.usage import UsageRepository

DEFAULT_USAGE_DAYS = 30
"""The window GET /usage covers when no `from` is given."""
MAX_USAGE_DAYS = 366


@dataclass(frozen=True)
class DayUsage:
    day: date
    invocations: int
    execution_ms: float


@dataclass(frozen=True)
class FunctionUsage:
    function_id: str
    display_name: str | None
    """None once the function has been deleted."""
    invocations: int
    execution_ms: float
    days: list[DayUsage]


class UsageService:
    def __init__(self, engine: Engine, sessions: sessionmaker[Session]) -> None:
        self._engine = engine
        self._sessions = sessions
        self._usage = UsageRepository()

    def record_invocation(
        self,
        workspace_id: str,
        function_id: str,
        duration_ms: float,
        at: datetime | None = None,
    ) -> None:
        """Count one invocation of a function that ran for `duration_ms`, on the UTC day of `at`."""
        self.record_invocations(workspace_id, function_id, 1, duration_ms, at)

    def record_invocations(
        self,
        workspace_id: str,
        function_id: str,
        count: int,
        duration_ms: float,
        at: datetime | None = None,
    ) -> None:
        """Count `count` invocations that together ran for `duration_ms`."""
        day = (at or datetime.now(UTC)).astimezone(UTC).date()
        with self._engine.begin() as conn:
            self._usage.add(conn, workspace_id, function_id, day, count, duration_ms)

    def report(
        self, principal: Principal, first: date | None = None, last: date | None = None
    ) -> list[FunctionUsage]:
        """Per function the caller may view: totals and each day with invocations."""
        last = last or datetime.now(UTC).date()
        first = first or last - timedelta(days=DEFAULT_USAGE_DAYS - 1)
        if first > last:
            raise InvalidInput("from must not be after to.", field="from")
        if (last - first).days >= MAX_USAGE_DAYS:
            raise InvalidInput(f"The range may cover at most {MAX_USAGE_DAYS} days.", field="from")
        with self._sessions() as session:
            rows = self._usage.between(session.connection(), principal.workspace_id, first, last)
            names = {
                f.id: f.display_name
                for f in FunctionRepository(session).in_workspace(principal.workspace_id)
            }
        by_function: dict[str, list[DayUsage]] = {}
        for row in rows:
            if can_view_function(principal, row.function_id):
                by_function.setdefault(row.function_id, []).append(
                    DayUsage(row.day, row.invocations, row.execution_ms)
                )
        return [
            FunctionUsage(
                function_id=function_id,
                display_name=names.get(function_id),
                invocations=sum(d.invocations for d in days),
                execution_ms=round(sum(d.execution_ms for d in days), 3),
                days=days,
            )
            for function_id, days in by_function.items()
        ]
