"""Destination filters on live traffic: they run on each event before the insert function
and the destination, and what they drop is recorded as filtered; and debug capture."""

from __future__ import annotations

import dataclasses
from typing import Any

from sqlalchemy import Engine, select

from headrace.pipeline import DestinationPlan
from headrace.pipeline.filters import CompiledFilter, compile_filters
from headrace.runtime import FunctionKind
from headrace.store.delivery_queries import StoredOutcome, recent_outcomes
from headrace.store.usage import function_usage
from tests.pipeline.conftest import Clock, Receiver, StaticCatalog
from tests.pipeline.test_delivery import SOURCE, ingest, instance, statuses, webhook

SMALL_ORDERS = {
    "id": "flt_small",
    "title": "Drop small orders",
    "if": "event = 'Order Completed' and properties.total < 10",
    "actions": [{"type": "DROP"}],
}
NO_IP = {
    "id": "flt_ip",
    "title": "Strip the IP address",
    "if": "all",
    "actions": [{"type": "DROP_PROPERTIES", "fields": {"context": ["ip"]}}],
}


def order(message_id: str, total: float) -> dict[str, Any]:
    return {
        "type": "track",
        "event": "Order Completed",
        "userId": "u1",
        "messageId": message_id,
        "properties": {"total": total, "currency": "USD"},
        "context": {"ip": "203.0.113.7", "locale": "en-US"},
    }


def filters(*specs: dict[str, Any]) -> tuple[CompiledFilter, ...]:
    return compile_filters(list(specs))


def records(engine: Engine, status: str | None = None) -> list[StoredOutcome]:
    with engine.connect() as conn:
        return recent_outcomes(conn, "dst_1", statuses=None if status is None else [status])


def invocations(engine: Engine) -> int:
    with engine.connect() as conn:
        total = conn.execute(select(function_usage.c.invocations)).scalars().all()
    return sum(total)


# --- the example --------------------------------------------------------------------


def test_a_small_order_is_dropped_and_recorded_as_filtered_by_the_filter_title(
    engine: Engine, catalog: StaticCatalog, receiver: tuple[Receiver, str], clock: Clock, run: Any
) -> None:
    state, url = receiver
    catalog.add(SOURCE, webhook(url, filters=filters(SMALL_ORDERS, NO_IP)))

    ingest(engine, clock, order("small", 5))
    run()

    assert state.events() == []
    assert statuses(engine) == {("filtered", "filtered"): 1}
    [record] = records(engine)
    assert (record.message_id, record.category) == ("small", "filtered")
    assert record.error == "dropped by filter 'Drop small orders'"


def test_a_large_order_arrives_without_the_properties_a_filter_drops(
    engine: Engine, catalog: StaticCatalog, receiver: tuple[Receiver, str], clock: Clock, run: Any
) -> None:
    state, url = receiver
    catalog.add(SOURCE, webhook(url, filters=filters(SMALL_ORDERS, NO_IP)))

    ingest(engine, clock, order("large", 25))
    run()

    [received] = state.events()
    assert received["messageId"] == "large"
    assert received["context"] == {"locale": "en-US"}
    assert received["properties"] == {"total": 25, "currency": "USD"}
    assert statuses(engine) == {("delivered", ""): 1}


def test_a_filter_without_a_title_is_named_by_its_id(
    engine: Engine, catalog: StaticCatalog, receiver: tuple[Receiver, str], clock: Clock, run: Any
) -> None:
    _state, url = receiver
    untitled = {key: value for key, value in SMALL_ORDERS.items() if key != "title"}
    catalog.add(SOURCE, webhook(url, filters=filters(untitled)))

    ingest(engine, clock, order("small", 5))
    run()

    [record] = records(engine)
    assert record.error == "dropped by filter 'flt_small'"


# --- filters come before the insert function ------------------------------------------------

SHOW_CONTEXT = (
    "def on_track(event, settings):\n"
    "    event['properties']['contextSeen'] = event.get('context')\n"
    "    return event\n"
)
"""An insert function that passes on what `context` it was given."""


def test_the_insert_function_sees_the_event_as_the_filters_left_it(
    engine: Engine, catalog: StaticCatalog, receiver: tuple[Receiver, str], clock: Clock, run: Any
) -> None:
    state, url = receiver
    insert = dataclasses.replace(
        instance(SHOW_CONTEXT, FunctionKind.INSERT), handlers=frozenset({"on_track"})
    )
    catalog.add(SOURCE, webhook(url, filters=filters(NO_IP), insert=insert))

    ingest(engine, clock, order("large", 25))
    run()

    [received] = state.events()
    assert received["properties"]["contextSeen"] == {"locale": "en-US"}


def test_an_event_a_filter_drops_never_reaches_the_insert_function(
    engine: Engine, catalog: StaticCatalog, receiver: tuple[Receiver, str], clock: Clock, run: Any
) -> None:
    state, url = receiver
    insert = dataclasses.replace(
        instance(SHOW_CONTEXT, FunctionKind.INSERT), handlers=frozenset({"on_track"})
    )
    catalog.add(SOURCE, webhook(url, filters=filters(SMALL_ORDERS), insert=insert))

    ingest(engine, clock, order("small", 5), order("large", 25))
    run()

    assert [e["messageId"] for e in state.events()] == ["large"]
    assert invocations(engine) == 1
    assert statuses(engine) == {("delivered", ""): 1, ("filtered", "filtered"): 1}


# --- sampling and disabled filters -----------------------------------------------------------


def test_a_sample_of_0_drops_every_matching_event(
    engine: Engine, catalog: StaticCatalog, receiver: tuple[Receiver, str], clock: Clock, run: Any
) -> None:
    state, url = receiver
    none = {"title": "Sample nothing", "if": "all", "actions": [{"type": "SAMPLE", "percent": 0}]}
    catalog.add(SOURCE, webhook(url, filters=filters(none)))

    ingest(engine, clock, *[order(f"m{i}", 25) for i in range(5)])
    run()

    assert state.events() == []
    assert statuses(engine) == {("filtered", "filtered"): 5}
    assert {r.error for r in records(engine)} == {"sampled out by filter 'Sample nothing'"}


def test_a_sample_of_1_keeps_every_matching_event(
    engine: Engine, catalog: StaticCatalog, receiver: tuple[Receiver, str], clock: Clock, run: Any
) -> None:
    state, url = receiver
    every = {"title": "Sample all", "if": "all", "actions": [{"type": "SAMPLE", "percent": 1}]}
    catalog.add(SOURCE, webhook(url, filters=filters(every)))

    ingest(engine, clock, *[order(f"m{i}", 25) for i in range(5)])
    run()

    assert len(state.events()) == 5
    assert statuses(engine) == {("delivered", ""): 5}


def test_a_disabled_filter_is_skipped(
    engine: Engine, catalog: StaticCatalog, receiver: tuple[Receiver, str], clock: Clock, run: Any
) -> None:
    state, url = receiver
    catalog.add(SOURCE, webhook(url, filters=filters({**SMALL_ORDERS, "enabled": False})))

    ingest(engine, clock, order("small", 5))
    run()

    assert [e["messageId"] for e in state.events()] == ["small"]
    assert statuses(engine) == {("delivered", ""): 1}


def test_filters_that_no_longer_compile_fail_events_as_invalid_settings(
    engine: Engine, catalog: StaticCatalog, receiver: tuple[Receiver, str], clock: Clock, run: Any
) -> None:
    state, url = receiver
    problem = "filters[0].if: unknown function 'nope'"
    catalog.add(SOURCE, webhook(url, filters_error=problem))

    ingest(engine, clock, order("m1", 25))
    run()

    assert state.events() == []
    assert statuses(engine) == {("failed", "invalid_settings"): 1}
    [record] = records(engine)
    assert record.error == problem


# --- debug capture --------------------------------------------------------------------------


def test_while_debug_capture_is_on_plain_deliveries_are_kept_as_records(
    engine: Engine, catalog: StaticCatalog, receiver: tuple[Receiver, str], clock: Clock, run: Any
) -> None:
    _state, url = receiver
    catalog.add(SOURCE, webhook(url, debug_until=clock.now + 600))

    ingest(engine, clock, order("m1", 25), order("m2", 25))
    run()

    kept = records(engine)
    assert sorted(r.message_id for r in kept) == ["m1", "m2"]
    assert {(r.status, r.category) for r in kept} == {("delivered", "")}


def test_without_debug_capture_plain_deliveries_leave_no_record(
    engine: Engine, catalog: StaticCatalog, receiver: tuple[Receiver, str], clock: Clock, run: Any
) -> None:
    _state, url = receiver
    catalog.add(SOURCE, webhook(url))

    ingest(engine, clock, order("m1", 25))
    run()

    assert statuses(engine) == {("delivered", ""): 1}
    assert records(engine) == []


def test_once_debug_capture_has_ended_plain_deliveries_leave_no_record(
    engine: Engine, catalog: StaticCatalog, receiver: tuple[Receiver, str], clock: Clock, run: Any
) -> None:
    _state, url = receiver
    catalog.add(SOURCE, webhook(url, debug_until=clock.now - 1))

    ingest(engine, clock, order("m1", 25))
    run()

    assert statuses(engine) == {("delivered", ""): 1}
    assert records(engine) == []


def test_while_debug_capture_is_on_a_functions_logs_are_kept_with_its_delivery(
    engine: Engine, catalog: StaticCatalog, clock: Clock, run: Any
) -> None:
    code = "def on_track(event, settings):\n    print('sent', event['messageId'])\n"
    function = dataclasses.replace(
        instance(code, FunctionKind.DESTINATION), handlers=frozenset({"on_track"})
    )
    catalog.add(
        SOURCE,
        DestinationPlan(
            id="dst_1", workspace_id="ws_1", name="fn", kind="FUNCTION", enabled=True,
            names=frozenset({"fn"}), function=function, debug_until=clock.now + 600,
        ),
    )  # fmt: skip

    ingest(engine, clock, order("m1", 25))
    run()

    [record] = records(engine)
    assert record.status == "delivered"
    assert record.logs == ["sent m1"]
