"""Schema migrations: run the Alembic revisions shipped in the package, report the state."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from headrace.log import get_logger
from headrace.store.database import StoreError, describe_failure

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
"""Found from the installed package, never from the working directory."""

_log = get_logger("store.migrate")


@dataclass(frozen=True)
class MigrationResult:
    before: frozenset[str]
    after: frozenset[str]

    @property
    def changed(self) -> bool:
        return self.before != self.after


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revisions() -> frozenset[str]:
    return frozenset(ScriptDirectory.from_config(alembic_config()).get_heads())


def current_revisions(engine: Engine) -> frozenset[str]:
    """The revisions recorded in the database; empty for a database never migrated."""
    try:
        with engine.connect() as connection:
            return frozenset(MigrationContext.configure(connection).get_current_heads())
    except SQLAlchemyError as exc:
        raise StoreError(describe_failure(engine, exc)) from None


def is_at_head(engine: Engine) -> bool:
    return current_revisions(engine) == head_revisions()


def upgrade_to_head(engine: Engine) -> MigrationResult:
    """Apply every pending revision in one transaction; a no-op when already at head.

    On SQLite the transaction is `BEGIN IMMEDIATE`: two processes starting on a fresh data
    directory at once take turns instead of both creating the tables.
    """
    try:
        with engine.connect() as connection:
            if connection.dialect.name == "sqlite":
                connection.exec_driver_sql("BEGIN IMMEDIATE")
            else:
                connection.begin()
            before = frozenset(MigrationContext.configure(connection).get_current_heads())
            command.upgrade(alembic_config(connection), "head")
            after = frozenset(MigrationContext.configure(connection).get_current_heads())
            connection.commit()
    except SQLAlchemyError as exc:
        raise StoreError(describe_failure(engine, exc)) from None
    result = MigrationResult(before=before, after=after)
    if result.changed:
        _log.info(
            "database migrated",
            extra={
                "from_revision": ",".join(sorted(before)) or None,
                "to_revision": ",".join(sorted(after)),
            },
        )
    return result
