"""The audit trail: recorded in the transaction of each change, read by owners."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy.orm import Session, sessionmaker

from headrace.security import Principal
from headrace.services.authorization import require_owner
from headrace.services.errors import InvalidInput
from headrace.store.audit import AuditEntry, AuditRepository


@dataclass(frozen=True)
class AuditView:
    id: str
    at: datetime
    actor: str | None
    action: str
    resource_type: str
    resource_id: str
    details: dict[str, Any]

    @classmethod
    def of(cls, entry: AuditEntry) -> AuditView:
        return cls(
            id=entry.id,
            at=entry.at,
            actor=entry.actor,
            action=entry.action,
            resource_type=entry.resource_type,
            resource_id=entry.resource_id,
            details=orjson.loads(entry.details),
        )


def record(
    session: Session,
    principal: Principal,
    action: str,
    resource_type: str,
    resource_id: str,
    details: Mapping[str, Any] | None = None,
) -> None:
    """Add an entry in the caller's transaction. `details` must never hold secret values:
    callers pass names of settings, never their values."""
    AuditRepository(session).add(
        principal.workspace_id,
        principal.member_id,
        action,
        resource_type,
        resource_id,
        orjson.dumps(dict(details or {})).decode(),
    )


class AuditService:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def list(
        self,
        principal: Principal,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        resource_id: str | None = None,
    ) -> list[AuditView]:
        require_owner(principal)
        for name, value in (("since", since), ("until", until)):
            if value is not None and value.tzinfo is None:
                raise InvalidInput(
                    f"{name} must include a time zone, as in 2026-01-01T00:00:00Z.", field=name
                )
        with self._sessions() as session:
            entries = AuditRepository(session).list(
                principal.workspace_id, since=since, until=until, resource_id=resource_id
            )
            return [AuditView.of(entry) for entry in entries]
