"""`cache.load(key, ttl_ms, loader)`: per-instance values with a time to live."""

from __future__ import annotations

import pytest

from headrace.runtime import SandboxPool
from tests.runtime.conftest import MakeInstance
from tests.runtime.support import event

CACHED = """
    import time

    loads = 0

    async def fetch_token():
        global loads
        loads += 1
        return f"token-{loads}"

    async def on_track(event, settings):
        ttl = settings.get("ttl_ms", 60_000)
        first = await cache.load("token", ttl, fetch_token)
        time.sleep(settings.get("sleep_s", 0))
        second = await cache.load("token", ttl, fetch_token)
        return [first, second, loads]

    def on_identify(event, settings):
        cache.delete("token")
    """


def test_load_calls_the_loader_once_and_caches_its_value(
    pool: SandboxPool, instance: MakeInstance
) -> None:
    spec = instance(CACHED)
    assert pool.invoke(spec, "event", event("track"))["result"] == ["token-1", "token-1", 1]
    assert pool.invoke(spec, "event", event("track"))["result"] == ["token-1", "token-1", 1]


def test_a_cached_value_expires_after_its_ttl(pool: SandboxPool, instance: MakeInstance) -> None:
    spec = instance(CACHED)
    outcome = pool.invoke(spec, "event", event("track"), {"ttl_ms": 30, "sleep_s": 0.06})
    assert outcome["result"] == ["token-1", "token-2", 2]


@pytest.mark.parametrize("ttl_ms", [None, -1])
def test_a_cached_value_without_ttl_never_expires(
    pool: SandboxPool, instance: MakeInstance, ttl_ms: int | None
) -> None:
    spec = instance(CACHED)
    outcome = pool.invoke(spec, "event", event("track"), {"ttl_ms": ttl_ms, "sleep_s": 0.05})
    assert outcome["result"] == ["token-1", "token-1", 1]


def test_delete_forgets_a_cached_value(pool: SandboxPool, instance: MakeInstance) -> None:
    spec = instance(CACHED)
    pool.invoke(spec, "event", event("track"))
    assert pool.invoke(spec, "event", event("identify"))["ok"]
    assert pool.invoke(spec, "event", event("track"))["result"] == ["token-2", "token-2", 2]


def test_a_plain_function_can_be_the_loader(pool: SandboxPool, instance: MakeInstance) -> None:
    spec = instance(
        """
        async def on_track(event, settings):
            return await cache.load("k", 1000, lambda: {"answer": 42})
        """
    )
    assert pool.invoke(spec, "event", event("track"))["result"] == {"answer": 42}


def test_the_cache_belongs_to_one_instance(pool: SandboxPool, instance: MakeInstance) -> None:
    code = """
        async def on_track(event, settings):
            return await cache.load("shared?", None, lambda: settings["value"])
        """
    first, second = instance(code), instance(code)
    assert pool.invoke(first, "event", event("track"), {"value": "first"})["result"] == "first"
    assert pool.invoke(second, "event", event("track"), {"value": "second"})["result"] == "second"
