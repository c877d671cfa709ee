"""Readiness: the database answers and its schema is at the newest revision."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from headrace.config import Settings
from headrace.store import StoreError, check_connection, head_revisions, open_engine
from headrace.store.migrate import current_revisions


@dataclass(frozen=True)
class Readiness:
    ready: bool
    reason: str
    revision: str | None = None


class HealthService:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        # The migrations shipped with this process do not change while it runs.
        self._heads = head_revisions()

    def readiness(self) -> Readiness:
        try:
            check_connection(self._engine)
            current = current_revisions(self._engine)
        except StoreError as exc:
            return Readiness(ready=False, reason=str(exc))
        revision = ",".join(sorted(current)) or None
        if current != self._heads:
            expected = ",".join(sorted(self._heads))
            return Readiness(
                ready=False,
                reason=f"The database schema is at revision {revision or 'none'}, "
                f"not {expected}; restart headrace to migrate it.",
                revision=revision,
            )
        return Readiness(
            ready=True, reason="The database is reachable and migrated.", revision=revision
        )


@dataclass(frozen=True)
class DatabaseStatus:
    usable: bool
    description: str


def describe_database(settings: Settings) -> DatabaseStatus:
    """The database's state for `headrace doctor`, without creating an SQLite file."""
    if settings.uses_embedded_database and not settings.database_path.exists():
        return DatabaseStatus(
            usable=True, description="not created yet; `headrace serve` creates it"
        )
    try:
        engine = open_engine(settings.effective_database_url)
        try:
            current = current_revisions(engine)
        finally:
            engine.dispose()
    except StoreError as exc:
        return DatabaseStatus(usable=False, description=str(exc))
    heads = head_revisions()
    revision = ",".join(sorted(current)) or None
    if current == heads:
        reason = f"reachable, schema at revision {revision} (the newest)"
    else:
        reason = (
            f"reachable, schema at revision {revision or 'none'}; `headrace serve` will "
            f"migrate it to {','.join(sorted(heads))}"
        )
    return DatabaseStatus(usable=True, description=reason)
