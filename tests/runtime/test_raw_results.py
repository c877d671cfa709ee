"""Raw JSON in and out: the pipeline forwards events without parsing them in the parent."""

from __future__ import annotations

import orjson

from headrace.runtime import FunctionKind, SandboxPool
from tests.runtime.conftest import MakeInstance
from tests.runtime.support import event

IDENTITY = """
def on_track(event, settings):
    event["seen"] = True
    return event

def on_batch(events, settings):
    return events[::-1]
"""


def test_a_fragment_payload_reaches_the_function_as_the_event(
    pool: SandboxPool, instance: MakeInstance
) -> None:
    spec = instance(IDENTITY, kind=FunctionKind.INSERT)

    outcome = pool.invoke(spec, "event", orjson.Fragment(orjson.dumps(event())))

    assert outcome["result"] == {**event(), "seen": True}


def test_raw_result_returns_the_result_as_json_bytes(
    pool: SandboxPool, instance: MakeInstance
) -> None:
    spec = instance(IDENTITY, kind=FunctionKind.INSERT)
    batch = [event(messageId="m1"), event(messageId="m2")]

    outcome = pool.invoke(spec, "batch", batch, raw_result=True)

    assert isinstance(outcome["result"], bytes)
    assert [e["messageId"] for e in orjson.loads(outcome["result"])] == ["m2", "m1"]


def test_per_event_outcomes_are_parsed_even_with_raw_result(
    pool: SandboxPool, instance: MakeInstance
) -> None:
    spec = instance("def on_track(event, settings):\n    return event\n", kind=FunctionKind.INSERT)

    outcome = pool.invoke(spec, "batch", [event(), event()], raw_result=True)

    assert [o["ok"] for o in outcome["result"]] == [True, True]
