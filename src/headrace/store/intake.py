"""What the tracking API accepted and rejected, per source per minute, with the reasons."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
)

from headrace.store.base import ID_LENGTH, Base
from headrace.store.counters import add_to_counters

REASON_LENGTH = 200
ACCEPTED = "accepted"
REJECTED = "rejected"

intake_counts = Table(
    "intake_counts",
    Base.metadata,
    Column("source_id", String(ID_LENGTH), nullable=False),
    Column("minute", BigInteger, nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("reason", String(REASON_LENGTH), nullable=False),
    Column("count", Integer, nullable=False),
    PrimaryKeyConstraint("source_id", "minute", "outcome", "reason"),
)


class IntakeLog:
    def write(
        self,
        conn: Connection,
        source_id: str,
        minute: int,
        accepted: int,
        rejected: Mapping[str, int],
    ) -> None:
        rows = [
            {
                "source_id": source_id,
                "minute": minute,
                "outcome": outcome,
                "reason": reason[:REASON_LENGTH],
                "count": n,
            }
            for outcome, reason, n in [(ACCEPTED, "", accepted)]
            + [(REJECTED, reason, n) for reason, n in rejected.items()]
            if n
        ]
        add_to_counters(
            conn, intake_counts, ("source_id", "minute", "outcome", "reason"), ("count",), rows
        )
