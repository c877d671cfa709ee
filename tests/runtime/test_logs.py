"""Log capture: console.log and print land in the outcome, in order, up to a byte cap."""

from __future__ import annotations

from headrace.runtime import SandboxPool
from tests.runtime.conftest import MakeInstance
from tests.runtime.support import event


def test_console_log_and_print_are_captured_in_order(
    pool: SandboxPool, instance: MakeInstance
) -> None:
    spec = instance(
        """
        def on_track(event, settings):
            console.log("first", 1)
            print("second", 2)
            console.warn("third")
            print("a", "b", sep="-")
            console.error("fifth", {"k": "v"})
            return None
        """
    )
    logs = pool.invoke(spec, "event", event("track"))["logs"]
    assert logs == ["first 1", "second 2", "WARN third", "a-b", "ERROR fifth {'k': 'v'}"]


def test_logs_belong_to_the_invocation_that_wrote_them(
    pool: SandboxPool, instance: MakeInstance
) -> None:
    spec = instance("def on_track(event, settings):\n    print(event['event'])\n")
    first = pool.invoke(spec, "event", event("track", event="One"))
    second = pool.invoke(spec, "event", event("track", event="Two"))
    assert first["logs"] == ["One"]
    assert second["logs"] == ["Two"]


def test_logs_are_kept_when_the_function_fails(pool: SandboxPool, instance: MakeInstance) -> None:
    spec = instance(
        "def on_track(event, settings):\n    console.log('before')\n    raise RetryError('later')\n"
    )
    outcome = pool.invoke(spec, "event", event("track"))
    assert outcome["error"]["category"] == "retry"
    assert outcome["logs"] == ["before"]


def test_logs_are_capped_at_4_kb_with_a_truncation_marker(
    pool: SandboxPool, instance: MakeInstance
) -> None:
    spec = instance(
        """
        def on_track(event, settings):
            for i in range(100):
                print(str(i % 10) * 99)
        """
    )
    logs = pool.invoke(spec, "event", event("track"))["logs"]
    assert logs[-1] == "[logs truncated: over the 4096-byte cap]"
    kept = logs[:-1]
    assert sum(len(line) for line in kept) == 4096
    assert kept[0] == "0" * 99
    assert kept[-1] == "1" * (4096 - 41 * 99)


def test_the_log_cap_is_set_per_function(pool: SandboxPool, instance: MakeInstance) -> None:
    spec = instance("def on_track(event, settings):\n    print('x' * 500)\n", log_cap_bytes=100)
    assert pool.invoke(spec, "event", event("track"))["logs"] == [
        "x" * 100,
        "[logs truncated: over the 100-byte cap]",
    ]


def test_the_cap_starts_afresh_for_the_next_invocation(
    pool: SandboxPool, instance: MakeInstance
) -> None:
    spec = instance(
        """
        def on_track(event, settings):
            print("x" * 5000)

        def on_identify(event, settings):
            print("fine")
        """
    )
    pool.invoke(spec, "event", event("track"))
    assert pool.invoke(spec, "event", event("identify"))["logs"] == ["fine"]


def test_what_the_module_body_prints_is_not_in_the_first_calls_logs(
    pool: SandboxPool, instance: MakeInstance
) -> None:
    spec = instance(
        """
        print("loading")
        def on_track(event, settings):
            print("handling")
        """
    )

    assert pool.invoke(spec, "event", event())["logs"] == ["handling"]
