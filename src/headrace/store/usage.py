"""Function usage: invocations and execution time per function per day (UTC)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Float,
    Index,
    PrimaryKeyConstraint,
    String,
    Table,
    select,
)

from headrace.store.base import ID_LENGTH, Base
from headrace.store.counters import add_to_counters

DAY_LENGTH = 10
"""`YYYY-MM-DD`: sorts and compares as text on every database."""

function_usage = Table(
    "function_usage",
    Base.metadata,
    Column("workspace_id", String(ID_LENGTH), nullable=False),
    Column("function_id", String(ID_LENGTH), nullable=False),
    Column("day", String(DAY_LENGTH), nullable=False),
    Column("invocations", BigInteger, nullable=False),
    Column("execution_ms", Float, nullable=False),
    PrimaryKeyConstraint("function_id", "day"),
    Index("ix_function_usage_workspace_id_day", "workspace_id", "day"),
)


@dataclass(frozen=True)
class UsageRow:
    function_id: str
    day: date
    invocations: int
    execution_ms: float


class UsageRepository:
    """Counters added in the caller's transaction (an upsert, so concurrent writers add up)."""

    def add(
        self,
        conn: Connection,
        workspace_id: str,
        function_id: str,
        day: date,
        invocations: int,
        execution_ms: float,
    ) -> None:
        add_to_counters(
            conn,
            function_usage,
            ("function_id", "day"),
            ("invocations", "execution_ms"),
            [
                {
                    "function_id": function_id,
                    "day": day.isoformat(),
                    "workspace_id": workspace_id,
                    "invocations": invocations,
                    "execution_ms": execution_ms,
                }
            ],
        )

    def between(
        self, conn: Connection, workspace_id: str, first: date, last: date
    ) -> Sequence[UsageRow]:
        """Every row of the workspace from `first` to `last`, both included."""
        rows = conn.execute(
            select(function_usage)
            .where(
                function_usage.c.workspace_id == workspace_id,
                function_usage.c.day >= first.isoformat(),
                function_usage.c.day <= last.isoformat(),
            )
            .order_by(function_usage.c.function_id, function_usage.c.day)
        ).all()
        return [
            UsageRow(
                function_id=row.function_id,
                day=date.fromisoformat(row.day),
                invocations=int(row.invocations),
                execution_ms=float(row.execution_ms),
            )
            for row in rows
        ]
