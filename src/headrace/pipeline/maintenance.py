"""Housekeeping of the pipeline's tables: message ids past the dedupe window, delivery
records past their retention. Its own step and transaction, so that routing and delivery
never wait behind it."""

from __future__ import annotations

import time
from collections.abc import Callable

from sqlalchemy import Engine

from headrace.store.database import write_transaction
from headrace.store.dedupe import DEDUPE_WINDOW_S, SeenMessages
from headrace.store.deliveries import prune_records

MAINTENANCE_EVERY_S = 60.0
"""How often the housekeeping runs."""


class Maintenance:
    def __init__(self, engine: Engine, *, clock: Callable[[], float] = time.time) -> None:
        self._engine = engine
        self._clock = clock
        self._seen = SeenMessages()
        self._next_run = 0.0

    def run_once(self) -> int:
        """Clean up when it is time; always 0, as it claims no jobs."""
        now = self._clock()
        if now < self._next_run:
            return 0
        with write_transaction(self._engine) as conn:
            self._seen.forget_before(conn, now - DEDUPE_WINDOW_S)
            prune_records(conn, now)
        self._next_run = now + MAINTENANCE_EVERY_S
        return 0
