"""Which handler an event reaches, and what a function instance keeps between calls."""

from __future__ import annotations

import pytest

from headrace.runtime import FunctionKind, SandboxPool
from headrace.spec import EVENT_TYPES
from tests.runtime.conftest import MakeInstance
from tests.runtime.support import event

SYNC_HANDLERS = "\n".join(
    f"def on_{t}(event, settings):\n    return {{'handler': 'on_{t}', 'type': event['type']}}\n"
    for t in EVENT_TYPES
)
ASYNC_HANDLERS = "\n".join(
    f"async def on_{t}(event, settings):\n"
    f"    await asyncio.sleep(0)\n"
    f"    return {{'handler': 'on_{t}', 'type': event['type']}}\n"
    for t in EVENT_TYPES
)
CAMEL_HANDLERS = "\n".join(
    f"def on{t.capitalize()}(event, settings):\n"
    f"    return {{'handler': 'on{t.capitalize()}', 'type': event['type']}}\n"
    for t in EVENT_TYPES
)


@pytest.mark.parametrize("kind", EVENT_TYPES)
def test_each_event_type_reaches_its_def_handler(
    pool: SandboxPool, instance: MakeInstance, kind: str
) -> None:
    outcome = pool.invoke(instance(SYNC_HANDLERS), "event", event(kind))
    assert outcome["ok"], outcome["error"]
    assert outcome["result"] == {"handler": f"on_{kind}", "type": kind}
    assert outcome["error"] is None


@pytest.mark.parametrize("kind", EVENT_TYPES)
def test_each_event_type_reaches_its_async_def_handler(
    pool: SandboxPool, instance: MakeInstance, kind: str
) -> None:
    outcome = pool.invoke(instance("import asyncio\n" + ASYNC_HANDLERS), "event", event(kind))
    assert outcome["ok"], outcome["error"]
    assert outcome["result"] == {"handler": f"on_{kind}", "type": kind}


@pytest.mark.parametrize("kind", EVENT_TYPES)
def test_camel_case_handlers_are_aliases(
    pool: SandboxPool, instance: MakeInstance, kind: str
) -> None:
    outcome = pool.invoke(instance(CAMEL_HANDLERS), "event", event(kind))
    assert outcome["ok"], outcome["error"]
    assert outcome["result"] == {"handler": f"on{kind.capitalize()}", "type": kind}


def test_handler_receives_the_event_and_the_settings(
    pool: SandboxPool, instance: MakeInstance
) -> None:
    spec = instance(
        """
        def on_track(event, settings):
            return {"event": event["event"], "total": event["properties"]["total"],
                    "apiKey": settings["apiKey"]}
        """
    )
    outcome = pool.invoke(spec, "event", event("track"), {"apiKey": "k-1"})
    assert outcome["result"] == {"event": "Order Completed", "total": 42, "apiKey": "k-1"}


def test_defining_both_spellings_of_a_handler_is_a_load_error_on_the_camel_case_line(
    pool: SandboxPool, instance: MakeInstance
) -> None:
    spec = instance(
        """
        def on_track(event, settings):
            return 1

        def onTrack(event, settings):
            return 2
        """
    )
    outcome = pool.invoke(spec, "event", event("track"))
    assert not outcome["ok"]
    assert outcome["error"]["type"] == "FunctionLoadError"
    assert outcome["error"]["category"] == "invalid_settings"
    assert outcome["error"]["line"] == 4
    assert "both on_track and onTrack are defined" in outcome["error"]["message"]


def test_an_event_without_a_handler_is_an_unsupported_event_type(
    pool: SandboxPool, instance: MakeInstance
) -> None:
    spec = instance(
        """
        def on_track(event, settings):
            return "tracked"
        """
    )
    outcome = pool.invoke(spec, "event", event("page"))
    assert not outcome["ok"]
    assert outcome["error"]["type"] == "EventNotSupported"
    assert outcome["error"]["category"] == "unsupported_event_type"
    assert "on_page" in outcome["error"]["message"]


def test_an_event_without_a_type_is_rejected(pool: SandboxPool, instance: MakeInstance) -> None:
    spec = instance("def on_track(event, settings):\n    return 1\n")
    outcome = pool.invoke(spec, "event", {"userId": "u", "event": "Signed Up"})
    assert outcome["error"]["type"] == "InvalidEventPayload"
    assert outcome["error"]["category"] == "message_rejected"


def test_an_event_that_is_not_an_object_is_rejected(
    pool: SandboxPool, instance: MakeInstance
) -> None:
    spec = instance("def on_track(event, settings):\n    return 1\n")
    outcome = pool.invoke(spec, "event", ["track"])
    assert outcome["error"]["category"] == "message_rejected"


def test_a_destination_result_that_is_not_json_is_reported_as_null(
    pool: SandboxPool, instance: MakeInstance
) -> None:
    spec = instance("def on_track(event, settings):\n    return object()\n")
    outcome = pool.invoke(spec, "event", event("track"))
    assert outcome["ok"]
    assert outcome["result"] is None


def test_an_insert_function_returns_the_transformed_event(
    pool: SandboxPool, instance: MakeInstance
) -> None:
    spec = instance(
        """
        def on_identify(event, settings):
            event["traits"]["email"] = event["traits"]["email"].upper()
            return event
        """,
        kind=FunctionKind.INSERT,
    )
    outcome = pool.invoke(spec, "event", event("identify"))
    assert outcome["ok"]
    assert outcome["result"] == event("identify", traits={"email": "ADA@EXAMPLE.COM"})


def test_an_insert_function_returning_a_non_event_is_a_bad_request(
    pool: SandboxPool, instance: MakeInstance
) -> None:
    spec = instance(
        "def on_track(event, settings):\n    return [event]\n", kind=FunctionKind.INSERT
    )
    outcome = pool.invoke(spec, "event", event("track"))
    assert outcome["error"]["type"] == "InvalidReturnValue"
    assert outcome["error"]["category"] == "bad_request"


def test_globals_persist_across_invocations_of_one_instance(
    pool: SandboxPool, instance: MakeInstance
) -> None:
    spec = instance(
        """
        calls = 0

        def on_track(event, settings):
            global calls
            calls += 1
            return calls
        """
    )
    results = [pool.invoke(spec, "event", event("track"))["result"] for _ in range(3)]
    assert results == [1, 2, 3]


def test_globals_do_not_persist_across_instances_of_the_same_code(
    pool: SandboxPool, instance: MakeInstance
) -> None:
    code = """
        calls = 0

        def on_track(event, settings):
            global calls
            calls += 1
            return calls
        """
    first, second = instance(code), instance(code)
    assert pool.invoke(first, "event", event("track"))["result"] == 1
    assert pool.invoke(first, "event", event("track"))["result"] == 2
    assert pool.invoke(second, "event", event("track"))["result"] == 1


def test_run_once_starts_from_fresh_globals_every_time(pool: SandboxPool) -> None:
    code = (
        "calls = []\ndef on_track(event, settings):\n    calls.append(1)\n    return len(calls)\n"
    )
    results = [
        pool.run_once(code, FunctionKind.DESTINATION, "event", event("track"))["result"]
        for _ in range(2)
    ]
    assert results == [1, 1]


def test_settings_arrive_with_each_call_and_are_not_remembered(
    pool: SandboxPool, instance: MakeInstance
) -> None:
    spec = instance("def on_track(event, settings):\n    return settings\n")
    assert pool.invoke(spec, "event", event("track"), {"apiKey": "a"})["result"] == {"apiKey": "a"}
    assert pool.invoke(spec, "event", event("track"), {"apiKey": "b"})["result"] == {"apiKey": "b"}
    assert pool.invoke(spec, "event", event("track"))["result"] == {}
