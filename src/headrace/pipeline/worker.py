"""The pipeline's worker threads: a router and delivery workers, each polling its queue."""

from __future__ import annotations

import threading
from collections.abc import Callable

from sqlalchemy.exc import OperationalError

from headrace.log import get_logger

POLL_INTERVAL_S = 0.05
"""How long an idle worker sleeps before looking at its queue again (ingest in the same
process wakes the router at once)."""

ERROR_PAUSE_S = 1.0
"""How long a worker waits after a database error before trying again."""

_log = get_logger("pipeline")


class PipelineWorkers:
    """Runs each step function in its own thread until stopped.

    A step claims and settles one batch and returns how many jobs it handled; a step that
    found nothing waits POLL_INTERVAL_S (or until `wake`). Jobs in flight when the process
    dies are not lost: their leases expire and another worker takes them over.
    """

    def __init__(self, steps: dict[str, Callable[[], int]]) -> None:
        self._steps = steps
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        for name, step in self._steps.items():
            thread = threading.Thread(target=self._loop, args=(name, step), name=name, daemon=True)
            thread.start()
            self._threads.append(thread)
        _log.info("pipeline started", extra={"workers": sorted(self._steps)})

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout_s: float = 30.0) -> None:
        self._stop.set()
        self._wake.set()
        for thread in self._threads:
            thread.join(timeout_s)
        self._threads.clear()
        _log.info("pipeline stopped")

    def _loop(self, name: str, step: Callable[[], int]) -> None:
        while not self._stop.is_set():
            try:
                handled = step()
            except OperationalError as exc:
                _log.warning(
                    "database busy or unavailable", extra={"worker": name, "error": str(exc)}
                )
                self._stop.wait(ERROR_PAUSE_S)
                continue
            except Exception:  # noqa: BLE001
                # A bug must not silently stop delivery: log it with its traceback, go on.
                _log.exception("pipeline step failed", extra={"worker": name})
                self._stop.wait(ERROR_PAUSE_S)
                continue
            if handled == 0:
                self._wake.wait(POLL_INTERVAL_S)
                self._wake.clear()
