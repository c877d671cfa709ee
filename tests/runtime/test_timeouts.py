"""The deadline: a call that runs too long is killed, reported as a timeout, and replaced."""

from __future__ import annotations

import time

from headrace.runtime import FunctionKind, SandboxPool
from tests.runtime.conftest import MakeInstance
from tests.runtime.support import event

RUNAWAY = """
    import asyncio

    calls = 0

    def on_track(event, settings):
        while True:
            pass

    async def on_page(event, settings):
        await asyncio.sleep(10)

    def on_identify(event, settings):
        global calls
        calls += 1
        return calls
    """


def test_an_infinite_loop_times_out(pool: SandboxPool, instance: MakeInstance) -> None:
    spec = instance(RUNAWAY, timeout_s=0.5)
    started = time.monotonic()
    outcome = pool.invoke(spec, "event", event("track"))
    assert time.monotonic() - started < 2.0
    assert not outcome["ok"]
    assert outcome["error"]["type"] == "Timeout"
    assert outcome["error"]["category"] == "timeout"
    assert outcome["error"]["message"] == "the function did not finish within 0.5 s"
    assert outcome["durationMs"] >= 500


def test_an_awaited_sleep_past_the_deadline_times_out(
    pool: SandboxPool, instance: MakeInstance
) -> None:
    spec = instance(RUNAWAY, timeout_s=0.3)
    assert pool.invoke(spec, "event", event("page"))["error"]["category"] == "timeout"


def test_the_next_call_after_a_timeout_runs_in_a_fresh_worker(
    pool: SandboxPool, instance: MakeInstance
) -> None:
    spec = instance(RUNAWAY, timeout_s=0.5)
    assert pool.invoke(spec, "event", event("identify"))["result"] == 1
    assert pool.invoke(spec, "event", event("identify"))["result"] == 2
    pool.invoke(spec, "event", event("track"))
    # The worker was killed and replaced: its globals start over.
    assert pool.invoke(spec, "event", event("identify"))["result"] == 1


def test_run_once_applies_its_own_timeout(pool: SandboxPool) -> None:
    code = "def on_track(event, settings):\n    while True:\n        pass\n"
    outcome = pool.run_once(code, FunctionKind.DESTINATION, "event", event("track"), timeout_s=0.3)
    assert outcome["error"]["message"] == "the function did not finish within 0.3 s"


def test_a_module_body_that_never_finishes_is_a_load_error(
    pool: SandboxPool, instance: MakeInstance
) -> None:
    spec = instance(
        "while True:\n    pass\n\ndef on_track(event, settings):\n    pass\n", timeout_s=0.3
    )
    error = pool.invoke(spec, "event", event("track"))["error"]
    assert error["type"] == "FunctionLoadError"
    assert error["category"] == "invalid_settings"
    assert "did not finish within 0.3 s" in error["message"]


def test_each_event_of_a_call_has_the_timeout_to_itself(
    pool: SandboxPool, instance: MakeInstance
) -> None:
    # 20 events of 50 ms are 1 s of work: past one 0.3 s timeout, within 20 of them.
    spec = instance(
        "import time\n\ndef on_track(event, settings):\n    time.sleep(0.05)\n    return 1\n",
        timeout_s=0.3,
    )

    outcome = pool.invoke(spec, "each", [event("track") for _ in range(20)])

    assert outcome["ok"], outcome["error"]
    assert [one["ok"] for one in outcome["result"]] == [True] * 20
