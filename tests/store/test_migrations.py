"""The schema is the Alembic history shipped in the package, applied at startup."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect

from headrace.store import head_revisions, is_at_head, open_engine, upgrade_to_head
from headrace.store.models import metadata


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    return open_engine(f"sqlite:///{tmp_path / 'headrace.db'}")


def test_fresh_database_is_not_at_head(engine: Engine) -> None:
    assert not is_at_head(engine)


def test_upgrade_brings_a_fresh_database_to_head(engine: Engine) -> None:
    result = upgrade_to_head(engine)

    assert result.before == frozenset()
    assert result.after == head_revisions()
    assert is_at_head(engine)


def test_upgrade_twice_changes_nothing(engine: Engine) -> None:
    upgrade_to_head(engine)

    assert not upgrade_to_head(engine).changed


def test_migrations_create_exactly_the_tables_the_models_declare(engine: Engine) -> None:
    upgrade_to_head(engine)

    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, metadata)

    assert differences == []


def test_migrations_are_found_whatever_the_working_directory(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)

    upgrade_to_head(engine)

    assert "workspaces" in inspect(engine).get_table_names()
