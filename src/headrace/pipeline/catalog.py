"""What the pipeline needs to know about destinations, handed down by the services layer."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from headrace.pipeline.filters import CompiledFilter
from headrace.runtime import FunctionSpec

T = TypeVar("T")

CATALOG_TTL_S = 1.0
"""How long a looked-up destination is reused before the database is asked again."""

DEFAULT_BATCH_MAX_EVENTS = 20
"""Events collected into one batch at most, unless the destination says otherwise."""

DEFAULT_BATCH_MAX_WAIT_S = 10.0
"""How long the first event of a batch waits for others, unless the destination says."""


@dataclass(frozen=True)
class FunctionInstancePlan:
    """A function instance pinned to its version, with its settings decrypted for the call."""

    instance_id: str
    function_id: str
    spec: FunctionSpec
    settings: dict[str, Any]
    settings_error: str | None = None
    """Why the settings are invalid for the pinned version (not retried), or None."""
    handlers: frozenset[str] = frozenset()
    """The handlers the code defines (`on_track`, `on_batch`, ...)."""

    @property
    def has_batch_handler(self) -> bool:
        """The code defines `on_batch`: the destination's events reach it in batches."""
        return "on_batch" in self.handlers


@dataclass(frozen=True)
class DestinationPlan:
    id: str
    workspace_id: str
    name: str
    kind: str
    """"WEBHOOK" or "FUNCTION"."""
    enabled: bool
    names: frozenset[str]
    """Every name the destination answers to in an event's `integrations` object."""
    webhook_url: str | None = None
    webhook_headers: dict[str, str] = field(default_factory=dict)
    function: FunctionInstancePlan | None = None
    insert: FunctionInstancePlan | None = None
    settings_error: str | None = None
    filters: tuple[CompiledFilter, ...] = ()
    """Run on each event before the insert function."""
    filters_error: str | None = None
    """Why a stored filter no longer compiles (the events fail as invalid settings)."""
    send_batches: bool = False
    """A WEBHOOK destination POSTs a JSON array of events per request."""
    batch_max_events: int = DEFAULT_BATCH_MAX_EVENTS
    batch_max_wait_s: float = DEFAULT_BATCH_MAX_WAIT_S
    debug_until: float | None = None
    """Until when plain deliveries are recorded too (epoch seconds)."""

    @property
    def batching(self) -> bool:
        """Whether the destination's events are collected into batches before delivery:
        its function or insert function defines `on_batch`, or its webhook sends batches."""
        return (
            self.send_batches
            or (self.function is not None and self.function.has_batch_handler)
            or (self.insert is not None and self.insert.has_batch_handler)
        )


class Catalog(Protocol):
    def destinations_of_source(self, source_id: str) -> Sequence[DestinationPlan]:
        """The enabled destinations connected to a source."""

    def destination(self, destination_id: str) -> DestinationPlan | None:
        """One destination (enabled or not), or None if it no longer exists."""


class Memo(Generic[T]):
    """Answers by key, each kept for `ttl_s` seconds; at most `max_entries` (then all are
    forgotten at once), and only those `remember` accepts."""

    def __init__(
        self,
        ttl_s: float,
        *,
        max_entries: int = 10_000,
        remember: Callable[[T], bool] = lambda _answer: True,
    ) -> None:
        self._ttl_s = ttl_s
        self._max_entries = max_entries
        self._remember = remember
        self._lock = threading.Lock()
        self._answers: dict[str, tuple[float, T]] = {}

    def get(self, key: str, compute: Callable[[str], T]) -> T:
        now = time.monotonic()
        with self._lock:
            hit = self._answers.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
        answer = compute(key)
        if self._remember(answer):
            with self._lock:
                if len(self._answers) >= self._max_entries:
                    self._answers.clear()
                self._answers[key] = (now + self._ttl_s, answer)
        return answer


class CachedCatalog:
    """A catalog that remembers answers for `ttl_s`, so routing does not ask per event."""

    def __init__(self, inner: Catalog, ttl_s: float = CATALOG_TTL_S) -> None:
        self._inner = inner
        self._sources: Memo[Sequence[DestinationPlan]] = Memo(ttl_s)
        self._destinations: Memo[DestinationPlan | None] = Memo(ttl_s)

    def destinations_of_source(self, source_id: str) -> Sequence[DestinationPlan]:
        return self._sources.get(source_id, self._inner.destinations_of_source)

    def destination(self, destination_id: str) -> DestinationPlan | None:
        return self._destinations.get(destination_id, self._inner.destination)
