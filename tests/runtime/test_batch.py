"""Batch mode: `on_batch` gets the whole list; without it each event runs on its own."""

from __future__ import annotations

from headrace.runtime import FunctionKind, SandboxPool
from tests.runtime.conftest import MakeInstance
from tests.runtime.support import event

BATCH = [event("track", event="A"), event("identify"), event("track", event="B")]


def test_on_batch_receives_the_whole_list(pool: SandboxPool, instance: MakeInstance) -> None:
    spec = instance(
        """
        def on_track(event, settings):
            raise AssertionError("on_batch should be called instead")

        async def on_batch(events, settings):
            return {"count": len(events), "types": [e["type"] for e in events],
                    "key": settings["key"]}
        """
    )
    outcome = pool.invoke(spec, "batch", BATCH, {"key": "k"})
    assert outcome["ok"], outcome["error"]
    assert outcome["result"] == {"count": 3, "types": ["track", "identify", "track"], "key": "k"}


def test_on_batch_may_be_spelled_on_batch_in_camel_case(
    pool: SandboxPool, instance: MakeInstance
) -> None:
    spec = instance("def onBatch(events, settings):\n    return len(events)\n")
    assert pool.invoke(spec, "batch", BATCH)["result"] == 3


def test_without_on_batch_each_event_runs_on_its_own_handler(
    pool: SandboxPool, instance: MakeInstance
) -> None:
    spec = instance(
        """
        def on_track(event, settings):
            print("track", event["event"])
            return event["event"]

        def on_identify(event, settings):
            return "identified"
        """
    )
    outcome = pool.invoke(spec, "batch", BATCH)
    assert outcome["ok"]
    assert outcome["error"] is None
    assert [o["result"] for o in outcome["result"]] == ["A", "identified", "B"]
    assert [o["logs"] for o in outcome["result"]] == [["track A"], [], ["track B"]]
    assert all(o["ok"] and o["error"] is None for o in outcome["result"])
    assert all(o["requests"] == [] for o in outcome["result"])


def test_without_on_batch_each_event_fails_on_its_own(
    pool: SandboxPool, instance: MakeInstance
) -> None:
    spec = instance(
        """
        def on_track(event, settings):
            if event["event"] == "B":
                raise RetryError("B later")
            return "ok"
        """
    )
    outcome = pool.invoke(spec, "batch", BATCH)
    assert not outcome["ok"]
    per_event = outcome["result"]
    assert [o["ok"] for o in per_event] == [True, False, False]
    assert per_event[1]["error"]["category"] == "unsupported_event_type"
    assert per_event[2]["error"]["category"] == "retry"
    assert per_event[2]["error"]["message"] == "B later"


def test_per_event_status_from_a_destination_on_batch_is_passed_through(
    pool: SandboxPool, instance: MakeInstance
) -> None:
    spec = instance(
        """
        def on_batch(events, settings):
            return [
                {"status": 200 if e["type"] == "track" else 429, "errormessage": e["type"]}
                for e in events
            ]
        """
    )
    outcome = pool.invoke(spec, "batch", BATCH)
    assert outcome["ok"]
    assert outcome["result"] == [
        {"status": 200, "errormessage": "track"},
        {"status": 429, "errormessage": "identify"},
        {"status": 200, "errormessage": "track"},
    ]


def test_an_error_in_on_batch_fails_the_whole_batch(
    pool: SandboxPool, instance: MakeInstance
) -> None:
    spec = instance("def on_batch(events, settings):\n    raise RetryError('busy')\n")
    outcome = pool.invoke(spec, "batch", BATCH)
    assert outcome["error"]["category"] == "retry"
    assert outcome["result"] is None


def test_an_insert_on_batch_returns_the_transformed_events(
    pool: SandboxPool, instance: MakeInstance
) -> None:
    spec = instance(
        """
        def on_batch(events, settings):
            return [dict(e, seen=True) for e in events if e["type"] == "track"]
        """,
        kind=FunctionKind.INSERT,
    )
    outcome = pool.invoke(spec, "batch", BATCH)
    assert outcome["result"] == [dict(BATCH[0], seen=True), dict(BATCH[2], seen=True)]


def test_an_insert_without_on_batch_filters_events_one_by_one(
    pool: SandboxPool, instance: MakeInstance
) -> None:
    spec = instance(
        """
        def on_track(event, settings):
            if event["event"] == "A":
                return None
            return event
        """,
        kind=FunctionKind.INSERT,
    )
    per_event = pool.invoke(spec, "batch", BATCH)["result"]
    assert [o["error"]["category"] if o["error"] else None for o in per_event] == [
        "filtered",
        "unsupported_event_type",
        None,
    ]
    assert per_event[2]["result"] == BATCH[2]


def test_a_batch_that_is_not_a_list_is_rejected(pool: SandboxPool, instance: MakeInstance) -> None:
    spec = instance("def on_batch(events, settings):\n    return None\n")
    outcome = pool.invoke(spec, "batch", {"type": "track"})
    assert outcome["error"]["type"] == "InvalidEventPayload"
    assert outcome["error"]["category"] == "message_rejected"


def test_each_mode_runs_every_event_on_its_handler_even_with_on_batch(
    pool: SandboxPool, instance: MakeInstance
) -> None:
    spec = instance(
        """
        def on_track(event, settings):
            return "single"
        def on_batch(events, settings):
            return "batch"
        """
    )

    outcome = pool.invoke(spec, "each", [event(), event()])

    assert [o["result"] for o in outcome["result"]] == ["single", "single"]
