"""What the pipeline needs to know about destinations, handed down by the services layer."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from headrace.runtime import FunctionSpec

T = TypeVar("T")

CATALOG_TTL_S = 1.0
"""How long a looked-up destination is reused before the database is asked again."""


@dataclass(frozen=True)
class FunctionInstancePlan:
    """A function instance pinned to its version, with its settings decrypted for the call."""

    instance_id: str
    function_id: str
    spec: FunctionSpec
    settings: dict[str, Any]
    settings_error: str | None = None
    """Why the settings are invalid for the pinned version (not retried), or None."""


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


class Catalog(Protocol):
    def destinations_of_source(self, source_id: str) -> Sequence[DestinationPlan]:
        """The enabled destinations connected to a source."""

    def destination(self, destination_id: str) -> DestinationPlan | None:
        """One destination (enabled or not), or None if it no longer exists."""

    def record_invocations(
        self, workspace_id: str, function_id: str, count: int, duration_ms: float
    ) -> None:
        """Count function invocations for usage."""


class _Memo(Generic[T]):
    """Answers by key, each kept for `ttl_s` seconds."""

    def __init__(self, ttl_s: float) -> None:
        self._ttl_s = ttl_s
        self._lock = threading.Lock()
        self._answers: dict[str, tuple[float, T]] = {}

    def get(self, key: str, compute: Callable[[str], T]) -> T:
        now = time.monotonic()
        with self._lock:
            hit = self._answers.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
        answer = compute(key)
        with self._lock:
            self._answers[key] = (now + self._ttl_s, answer)
        return answer


class CachedCatalog:
    """A catalog that remembers answers for `ttl_s`, so routing does not ask per event."""

    def __init__(self, inner: Catalog, ttl_s: float = CATALOG_TTL_S) -> None:
        self._inner = inner
        self._sources: _Memo[Sequence[DestinationPlan]] = _Memo(ttl_s)
        self._destinations: _Memo[DestinationPlan | None] = _Memo(ttl_s)

    def destinations_of_source(self, source_id: str) -> Sequence[DestinationPlan]:
        return self._sources.get(source_id, self._inner.destinations_of_source)

    def destination(self, destination_id: str) -> DestinationPlan | None:
        return self._destinations.get(destination_id, self._inner.destination)

    def record_invocations(
        self, workspace_id: str, function_id: str, count: int, duration_ms: float
    ) -> None:
        self._inner.record_invocations(workspace_id, function_id, count, duration_ms)
