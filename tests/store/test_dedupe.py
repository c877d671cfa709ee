"""Message ids per source: a repeat within 24 hours is a duplicate, after that it is new."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from headrace.store import open_engine, upgrade_to_head
from headrace.store.dedupe import DEDUPE_WINDOW_S, SeenMessages

NOW = 2_000_000.0


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = open_engine(f"sqlite:///{tmp_path / 'dedupe.db'}")
    upgrade_to_head(engine)
    yield engine
    engine.dispose()


def first_sightings(engine: Engine, source_id: str, ids: list[str], now: float) -> set[str]:
    with engine.connect() as conn:
        fresh = SeenMessages().first_sightings(conn, source_id, ids, now)
        conn.commit()
    return fresh


def test_a_message_id_seen_within_the_window_is_a_duplicate(engine: Engine) -> None:
    assert first_sightings(engine, "src_1", ["m1", "m2"], NOW) == {"m1", "m2"}

    assert first_sightings(engine, "src_1", ["m1", "m3"], NOW + DEDUPE_WINDOW_S - 1) == {"m3"}


def test_a_message_id_is_new_again_once_the_window_has_passed(engine: Engine) -> None:
    first_sightings(engine, "src_1", ["m1"], NOW)

    assert first_sightings(engine, "src_1", ["m1"], NOW + DEDUPE_WINDOW_S + 1) == {"m1"}
    assert first_sightings(engine, "src_1", ["m1"], NOW + DEDUPE_WINDOW_S + 2) == set()


def test_message_ids_are_per_source(engine: Engine) -> None:
    first_sightings(engine, "src_1", ["m1"], NOW)

    assert first_sightings(engine, "src_2", ["m1"], NOW) == {"m1"}
