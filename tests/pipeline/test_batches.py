"""Batching destinations: a function's `on_batch`, an insert function's `on_batch` and a
webhook that sends batches get their events collected per destination, on queue "batch"."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from sqlalchemy import Engine, select

from headrace.pipeline import QUEUE_BATCH, QUEUE_DELIVER, DestinationPlan, Router
from headrace.pipeline.filters import compile_filter
from headrace.runtime import EgressPolicy, FunctionKind, SandboxPool
from headrace.store.delivery_queries import StoredOutcome, recent_outcomes
from headrace.store.queue import jobs
from tests.pipeline.conftest import Clock, Receiver, StaticCatalog
from tests.pipeline.test_delivery import (
    SOURCE,
    ingest,
    instance,
    statuses,
    track,
    webhook,
)

MAX_EVENTS = 20
MAX_WAIT_S = 10.0
BACKOFF_CAP_S = 4.0
"""The longest backoff of the `run` fixture's retry policy."""

REPORTER = """
async def on_batch(events, settings):
    await fetch(settings["url"], method="POST", json={
        "handler": "on_batch",
        "ids": [e["messageId"] for e in events],
        "types": [e["type"] for e in events],
    })
    answers = settings.get("answers", {})
    return [answers.get(e["messageId"], {"status": 200}) for e in events]

async def on_track(event, settings):
    await fetch(settings["url"], method="POST", json={
        "handler": "on_track", "ids": [event["messageId"]], "types": [event["type"]],
    })
"""
"""A destination function that tells the receiver, per call, which handler got which events,
and answers each event with the status `settings.answers` names for it (200 otherwise)."""

REPORTER_HANDLERS = frozenset({"on_batch", "on_track"})


@pytest.fixture(scope="module")
def pool() -> Iterator[SandboxPool]:
    """A pool whose operator allowed functions to reach the receiver on 127.0.0.1."""
    with SandboxPool(EgressPolicy.allowing(["127.0.0.1"])) as sandbox:
        yield sandbox


def identify(message_id: str) -> dict[str, Any]:
    return {"type": "identify", "userId": "u1", "messageId": message_id, "traits": {"plan": "pro"}}


def function_destination(
    code: str, handlers: frozenset[str], dest_id: str = "dst_1", **settings: Any
) -> DestinationPlan:
    function = dataclasses.replace(
        instance(code, FunctionKind.DESTINATION, **settings), handlers=handlers
    )
    return DestinationPlan(
        id=dest_id, workspace_id="ws_1", name="Warehouse", kind="FUNCTION", enabled=True,
        names=frozenset({"Warehouse"}), function=function,
        batch_max_events=MAX_EVENTS, batch_max_wait_s=MAX_WAIT_S,
    )  # fmt: skip


def reporter(url: str, **answers: dict[str, Any]) -> DestinationPlan:
    return function_destination(REPORTER, REPORTER_HANDLERS, url=url, answers=answers)


def calls(state: Receiver) -> list[tuple[str, list[str]]]:
    """(handler, messageIds) of each call the reporter function made, in order."""
    return [(body["handler"], body["ids"]) for body in state.events()]


def waiting_jobs(engine: Engine) -> list[tuple[str, str, int]]:
    """(queue, messageId, attempts) of every job still on a queue, by messageId."""
    with engine.connect() as conn:
        rows = conn.execute(select(jobs.c.queue, jobs.c.payload, jobs.c.attempts)).all()
    return sorted((q, orjson.loads(body)["messageId"], attempts) for q, body, attempts in rows)


def records(engine: Engine, status: str) -> list[StoredOutcome]:
    with engine.connect() as conn:
        return recent_outcomes(conn, "dst_1", statuses=[status])


def twenty_orders() -> list[dict[str, Any]]:
    return [track(f"m{i:02}") for i in range(MAX_EVENTS)]


# --- collecting batches --------------------------------------------------------------------


def test_a_full_batch_goes_to_on_batch_in_one_call(
    engine: Engine, catalog: StaticCatalog, receiver: tuple[Receiver, str], clock: Clock, run: Any
) -> None:
    state, url = receiver
    catalog.add(SOURCE, reporter(url))

    ingest(engine, clock, *twenty_orders())
    run()

    assert calls(state) == [("on_batch", [f"m{i:02}" for i in range(MAX_EVENTS)])]
    assert statuses(engine) == {("delivered", ""): MAX_EVENTS}


def test_more_events_than_max_events_are_split_into_full_batches(
    engine: Engine, catalog: StaticCatalog, receiver: tuple[Receiver, str], clock: Clock, run: Any
) -> None:
    state, url = receiver
    catalog.add(SOURCE, reporter(url))

    ingest(engine, clock, *[track(f"m{i:02}") for i in range(2 * MAX_EVENTS)])
    run()

    assert [len(ids) for _, ids in calls(state)] == [MAX_EVENTS, MAX_EVENTS]
    assert statuses(engine) == {("delivered", ""): 2 * MAX_EVENTS}


def test_a_batch_short_of_max_events_waits_until_max_wait_has_passed(
    engine: Engine, catalog: StaticCatalog, receiver: tuple[Receiver, str], clock: Clock, run: Any
) -> None:
    state, url = receiver
    catalog.add(SOURCE, reporter(url))

    ingest(engine, clock, track("m1"), track("m2"), track("m3"))
    run()
    clock.now += MAX_WAIT_S - 1
    run()

    assert calls(state) == []
    assert [q for q, _, _ in waiting_jobs(engine)] == [QUEUE_BATCH] * 3

    clock.now += 1
    run()

    assert calls(state) == [("on_batch", ["m1", "m2", "m3"])]
    assert waiting_jobs(engine) == []


def test_a_batch_keeps_ingest_order_and_mixes_event_types(
    engine: Engine, catalog: StaticCatalog, receiver: tuple[Receiver, str], clock: Clock, run: Any
) -> None:
    state, url = receiver
    catalog.add(SOURCE, reporter(url))

    ingest(engine, clock, track("a"), identify("b"))
    ingest(engine, clock, track("c"), identify("d"), track("e"))
    run()
    clock.now += MAX_WAIT_S
    run()

    [body] = state.events()
    assert body["ids"] == ["a", "b", "c", "d", "e"]
    assert body["types"] == ["track", "identify", "track", "identify", "track"]


def test_a_lone_event_goes_to_its_own_handler_when_the_function_has_one(
    engine: Engine, catalog: StaticCatalog, receiver: tuple[Receiver, str], clock: Clock, run: Any
) -> None:
    state, url = receiver
    catalog.add(SOURCE, reporter(url))

    ingest(engine, clock, track("alone"))
    run()
    clock.now += MAX_WAIT_S
    run()

    assert calls(state) == [("on_track", ["alone"])]
    assert statuses(engine) == {("delivered", ""): 1}


def test_a_lone_event_without_its_own_handler_still_goes_to_on_batch(
    engine: Engine, catalog: StaticCatalog, receiver: tuple[Receiver, str], clock: Clock, run: Any
) -> None:
    state, url = receiver
    catalog.add(SOURCE, reporter(url))

    ingest(engine, clock, identify("alone"))
    run()
    clock.now += MAX_WAIT_S
    run()

    assert calls(state) == [("on_batch", ["alone"])]
    assert statuses(engine) == {("delivered", ""): 1}


def test_events_a_filter_drops_are_left_out_of_the_batch(
    engine: Engine, catalog: StaticCatalog, receiver: tuple[Receiver, str], clock: Clock, run: Any
) -> None:
    state, url = receiver
    drop_m2 = compile_filter(
        {"title": "Not m2", "if": "messageId = 'm2'", "actions": [{"type": "DROP"}]}
    )
    catalog.add(SOURCE, dataclasses.replace(reporter(url), filters=(drop_m2,)))

    ingest(engine, clock, track("m1"), track("m2"), track("m3"))
    run()
    clock.now += MAX_WAIT_S
    run()

    assert calls(state) == [("on_batch", ["m1", "m3"])]
    assert statuses(engine) == {("delivered", ""): 2, ("filtered", "filtered"): 1}


# --- per-event statuses from on_batch ---------------------------------------------------------


def test_events_on_batch_answers_with_500_are_retried_and_the_others_delivered(
    engine: Engine, catalog: StaticCatalog, receiver: tuple[Receiver, str], clock: Clock, run: Any
) -> None:
    _state, url = receiver
    busy = {"status": 500, "errormessage": "shard busy"}
    catalog.add(SOURCE, reporter(url, m03=busy, m11=busy))

    ingest(engine, clock, *twenty_orders())
    run()

    assert statuses(engine) == {("delivered", ""): 18, ("retrying", "retry"): 2}
    assert waiting_jobs(engine) == [(QUEUE_BATCH, "m03", 1), (QUEUE_BATCH, "m11", 1)]
    retrying = records(engine, "retrying")
    assert sorted(r.message_id for r in retrying) == ["m03", "m11"]
    assert {r.error for r in retrying} == {"on_batch returned status 500: shard busy"}


def test_retried_events_of_a_batch_arrive_together_in_the_next_batch(
    engine: Engine, catalog: StaticCatalog, receiver: tuple[Receiver, str], clock: Clock, run: Any
) -> None:
    state, url = receiver
    busy = {"status": 500, "errormessage": "shard busy"}
    plan = reporter(url, m03=busy, m11=busy)
    catalog.add(SOURCE, plan)
    ingest(engine, clock, *twenty_orders())
    run()

    catalog.destinations[plan.id] = reporter(url)  # the endpoint has recovered
    clock.now += BACKOFF_CAP_S + MAX_WAIT_S
    run()

    assert calls(state)[1:] == [("on_batch", ["m03", "m11"])]
    assert statuses(engine) == {("delivered", ""): MAX_EVENTS, ("retrying", "retry"): 2}
    assert waiting_jobs(engine) == []


def test_an_event_on_batch_answers_with_400_fails_as_bad_request_with_its_message(
    engine: Engine, catalog: StaticCatalog, receiver: tuple[Receiver, str], clock: Clock, run: Any
) -> None:
    _state, url = receiver
    catalog.add(SOURCE, reporter(url, m07={"status": 400, "errormessage": "email is invalid"}))

    ingest(engine, clock, *twenty_orders())
    run()

    assert statuses(engine) == {("delivered", ""): 19, ("failed", "bad_request"): 1}
    [failed] = records(engine, "failed")
    assert failed.message_id == "m07"
    assert failed.error is not None and "email is invalid" in failed.error
    assert waiting_jobs(engine) == []


@pytest.mark.parametrize("status", [408, 429])
def test_an_on_batch_answer_of_408_or_429_is_retried(
    engine: Engine,
    catalog: StaticCatalog,
    receiver: tuple[Receiver, str],
    clock: Clock,
    run: Any,
    status: int,
) -> None:
    _state, url = receiver
    catalog.add(SOURCE, reporter(url, m00={"status": status}))

    ingest(engine, clock, *twenty_orders())
    run()

    assert statuses(engine) == {("delivered", ""): 19, ("retrying", "retry"): 1}
    [retrying] = records(engine, "retrying")
    assert retrying.error == f"on_batch returned status {status}"
    assert waiting_jobs(engine) == [(QUEUE_BATCH, "m00", 1)]


# --- on_batch raising ---------------------------------------------------------------------


def test_retry_error_from_on_batch_retries_every_event_of_the_batch(
    engine: Engine, catalog: StaticCatalog, clock: Clock, run: Any
) -> None:
    code = "def on_batch(events, settings):\n    raise RetryError('the API is busy')\n"
    catalog.add(SOURCE, function_destination(code, frozenset({"on_batch"})))

    ingest(engine, clock, track("m1"), track("m2"), identify("m3"))
    run()
    clock.now += MAX_WAIT_S
    run()

    assert statuses(engine) == {("retrying", "retry"): 3}
    assert {r.error for r in records(engine, "retrying")} == {"RetryError: the API is busy"}
    assert [attempts for _, _, attempts in waiting_jobs(engine)] == [1, 1, 1]


def test_an_on_batch_running_past_its_timeout_retries_every_event_of_the_batch(
    engine: Engine, catalog: StaticCatalog, clock: Clock, run: Any
) -> None:
    code = "import asyncio\n\nasync def on_batch(events, settings):\n    await asyncio.sleep(10)\n"
    plan = function_destination(code, frozenset({"on_batch"}))
    function = plan.function
    assert function is not None
    slow = dataclasses.replace(function, spec=dataclasses.replace(function.spec, timeout_s=0.3))
    catalog.add(SOURCE, dataclasses.replace(plan, function=slow))

    ingest(engine, clock, track("m1"), track("m2"), identify("m3"))
    run()
    clock.now += MAX_WAIT_S
    run()

    assert statuses(engine) == {("retrying", "timeout"): 3}
    assert {r.error for r in records(engine, "retrying")} == {
        "Timeout: the function did not finish within 0.3 s"
    }
    assert [attempts for _, _, attempts in waiting_jobs(engine)] == [1, 1, 1]


def test_any_other_exception_from_on_batch_fails_every_event_as_bad_request(
    engine: Engine, catalog: StaticCatalog, clock: Clock, run: Any
) -> None:
    code = "def on_batch(events, settings):\n    raise ValueError('no such table')\n"
    catalog.add(SOURCE, function_destination(code, frozenset({"on_batch"})))

    ingest(engine, clock, track("m1"), track("m2"), identify("m3"))
    run()
    clock.now += MAX_WAIT_S
    run()

    assert statuses(engine) == {("failed", "bad_request"): 3}
    assert {r.error for r in records(engine, "failed")} == {"ValueError: no such table"}
    assert waiting_jobs(engine) == []


# --- an insert function's on_batch ------------------------------------------------------------


def test_an_insert_on_batch_replaces_events_by_message_id_and_omitted_ones_are_filtered(
    engine: Engine, catalog: StaticCatalog, receiver: tuple[Receiver, str], clock: Clock, run: Any
) -> None:
    state, url = receiver
    code = (
        "def on_batch(events, settings):\n"
        "    kept = [e for e in events if e['messageId'] != 'm2']\n"
        "    for e in kept:\n"
        "        e['properties'] = {'enriched': True}\n"
        "    return list(reversed(kept))\n"
    )
    insert = dataclasses.replace(
        instance(code, FunctionKind.INSERT), handlers=frozenset({"on_batch"})
    )
    catalog.add(SOURCE, webhook(url, insert=insert, batch_max_events=3))

    ingest(engine, clock, track("m1"), track("m2"), track("m3"))
    run()

    received = sorted(state.events(), key=lambda e: e["messageId"])
    assert [(e["messageId"], e["properties"]) for e in received] == [
        ("m1", {"enriched": True}),
        ("m3", {"enriched": True}),
    ]
    assert statuses(engine) == {("delivered", ""): 2, ("filtered", "filtered"): 1}
    [filtered] = records(engine, "filtered")
    assert filtered.message_id == "m2"
    assert filtered.error == "the insert function's on_batch did not return this event"


REWRITER = """
def on_batch(events, settings):
    rewritten = []
    for event in events[:-1]:
        out = {"type": "track", "event": "Rewritten", "userId": "u1",
               "properties": {"from": event["messageId"]}}
        if settings["ids"] == "new":
            out["messageId"] = "new-" + event["messageId"]
        rewritten.append(out)
    return rewritten
"""
"""An insert function whose on_batch rewrites every event but the last into a new one,
without a messageId or with one of its own."""


@pytest.mark.parametrize("ids", ["none", "new"])
def test_an_insert_on_batch_whose_output_has_other_message_ids_is_matched_by_position(
    engine: Engine,
    catalog: StaticCatalog,
    receiver: tuple[Receiver, str],
    clock: Clock,
    run: Any,
    ids: str,
) -> None:
    state, url = receiver
    insert = dataclasses.replace(
        instance(REWRITER, FunctionKind.INSERT, ids=ids), handlers=frozenset({"on_batch"})
    )
    catalog.add(SOURCE, webhook(url, insert=insert, batch_max_events=3))

    ingest(engine, clock, track("m1"), track("m2"), track("m3"))
    run()

    received = sorted(state.events(), key=lambda e: e["properties"]["from"])
    assert [(e["event"], e["properties"]["from"]) for e in received] == [
        ("Rewritten", "m1"),
        ("Rewritten", "m2"),
    ]
    assert statuses(engine) == {("delivered", ""): 2, ("filtered", "filtered"): 1}
    [filtered] = records(engine, "filtered")
    assert filtered.message_id == "m3"
    assert filtered.error == "the insert function's on_batch did not return this event"


# --- a webhook that sends batches ----------------------------------------------------------


def test_a_batching_webhook_receives_one_post_with_a_json_array_of_the_events(
    engine: Engine, catalog: StaticCatalog, receiver: tuple[Receiver, str], clock: Clock, run: Any
) -> None:
    state, url = receiver
    catalog.add(SOURCE, webhook(url, send_batches=True, batch_max_events=3))

    ingest(engine, clock, track("m1"), identify("m2"), track("m3"))
    run()

    assert state.events() == [[track("m1"), identify("m2"), track("m3")]]
    assert statuses(engine) == {("delivered", ""): 3}


def test_a_503_to_a_batch_retries_every_event_of_it(
    engine: Engine, catalog: StaticCatalog, receiver: tuple[Receiver, str], clock: Clock, run: Any
) -> None:
    state, url = receiver
    catalog.add(SOURCE, webhook(url, send_batches=True, batch_max_events=3))
    state.status = 503

    ingest(engine, clock, track("m1"), identify("m2"), track("m3"))
    run()

    assert state.refused == 1
    assert statuses(engine) == {("retrying", "retry"): 3}
    assert [attempts for _, _, attempts in waiting_jobs(engine)] == [1, 1, 1]


# --- routing ------------------------------------------------------------------------------


def test_the_router_puts_batching_destinations_jobs_on_the_batch_queue(
    engine: Engine, catalog: StaticCatalog, clock: Clock
) -> None:
    url = "http://127.0.0.1:9/hook"
    batch_insert = dataclasses.replace(
        instance("def on_batch(events, settings):\n    return events\n", FunctionKind.INSERT),
        handlers=frozenset({"on_batch"}),
    )
    plain_insert = dataclasses.replace(
        instance("def on_track(event, settings):\n    return event\n", FunctionKind.INSERT),
        handlers=frozenset({"on_track"}),
    )
    catalog.add(SOURCE, webhook(url, dest_id="plain"))
    catalog.add(SOURCE, webhook(url, dest_id="plain_insert", insert=plain_insert))
    catalog.add(SOURCE, webhook(url, dest_id="sends_batches", send_batches=True))
    catalog.add(SOURCE, webhook(url, dest_id="batch_insert", insert=batch_insert))
    catalog.add(SOURCE, reporter(url))
    catalog.add(
        SOURCE,
        function_destination(
            "def on_track(event, settings):\n    pass\n", frozenset({"on_track"}), "per_event"
        ),
    )

    ingest(engine, clock, track("m1"))
    Router(engine, catalog, clock=clock).run_once()

    with engine.connect() as conn:
        queued = dict(conn.execute(select(jobs.c.target_id, jobs.c.queue)).all())
    assert queued == {
        "plain": QUEUE_DELIVER,
        "plain_insert": QUEUE_DELIVER,
        "per_event": QUEUE_DELIVER,
        "sends_batches": QUEUE_BATCH,
        "batch_insert": QUEUE_BATCH,
        "dst_1": QUEUE_BATCH,
    }
