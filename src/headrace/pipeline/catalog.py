"""What the pipeline needs to know about destinations, handed down by the services layer."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from headrace.runtime import FunctionSpec

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


class CachedCatalog:
    """A catalog that remembers answers for `ttl_s`, so routing does not ask per event."""

    def __init__(self, inner: Catalog, ttl_s: float = CATALOG_TTL_S) -> None:
        self._inner = inner
        self._ttl_s = ttl_s
        self._lock = threading.Lock()
        self._sources: dict[str, tuple[float, Sequence[DestinationPlan]]] = {}
        self._destinations: dict[str, tuple[float, DestinationPlan | None]] = {}

    def destinations_of_source(self, source_id: str) -> Sequence[DestinationPlan]:
        now = time.monotonic()
        with self._lock:
            hit = self._sources.get(source_id)
        if hit is not None and hit[0] > now:
            return hit[1]
        plans = self._inner.destinations_of_source(source_id)
        with self._lock:
            self._sources[source_id] = (now + self._ttl_s, plans)
        return plans

    def destination(self, destination_id: str) -> DestinationPlan | None:
        now = time.monotonic()
        with self._lock:
            hit = self._destinations.get(destination_id)
        if hit is not None and hit[0] > now:
            return hit[1]
        plan = self._inner.destination(destination_id)
        with self._lock:
            self._destinations[destination_id] = (now + self._ttl_s, plan)
        return plan

    def record_invocations(
        self, workspace_id: str, function_id: str, count: int, duration_ms: float
    ) -> None:
        self._inner.record_invocations(workspace_id, function_id, count, duration_ms)
