"""`cache`: a per-instance, process-local, size-bounded LRU cache with time-to-live."""

from __future__ import annotations

import inspect
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

DEFAULT_CACHE_ENTRIES = 1000


class Cache:
    def __init__(self, max_entries: int = DEFAULT_CACHE_ENTRIES) -> None:
        self._max_entries = max_entries
        self._entries: OrderedDict[str, tuple[float | None, Any]] = OrderedDict()

    async def load(self, key: str, ttl_ms: float | None, loader: Callable[[], Any]) -> Any:
        """The cached value for `key`, or `await loader()` stored for `ttl_ms`.

        A `ttl_ms` of None or -1 means the value never expires (only LRU evicts it).
        """
        now = time.monotonic()
        hit = self._entries.get(key)
        if hit is not None:
            expires_at, value = hit
            if expires_at is None or expires_at > now:
                self._entries.move_to_end(key)
                return value
            del self._entries[key]
        value = loader()
        if inspect.isawaitable(value):
            value = await value
        expires_at = None if ttl_ms is None or ttl_ms < 0 else now + ttl_ms / 1000
        self._entries[key] = (expires_at, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)
        return value

    def delete(self, key: str) -> None:
        self._entries.pop(key, None)
