"""Alembic environment: migrates the connection headrace hands over, or HEADRACE_DATABASE_URL."""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import Connection

from headrace.store import models
from headrace.store.database import open_engine


def run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=models.metadata,
        # SQLite cannot ALTER most things; batch mode rebuilds the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def main() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        run_migrations(connection)
        return
    # Run by a developer with the alembic command (see docs/development.md).
    url = os.environ.get("HEADRACE_DATABASE_URL") or context.config.get_main_option(
        "sqlalchemy.url"
    )
    if not url:
        raise SystemExit("Set HEADRACE_DATABASE_URL to the database to migrate.")
    engine = open_engine(url)
    with engine.connect() as own_connection:
        run_migrations(own_connection)
        own_connection.commit()


main()
