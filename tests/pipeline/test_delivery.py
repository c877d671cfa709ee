"""Routing and delivery end to end on a real store, sandbox and HTTP receiver."""

from __future__ import annotations

import itertools
from typing import Any

import orjson
from sqlalchemy import Engine, select

from headrace.pipeline import (
    QUEUE_ROUTE,
    DestinationPlan,
    FunctionInstancePlan,
)
from headrace.runtime import FunctionKind, FunctionSpec
from headrace.store.delivery_queries import recent_outcomes
from headrace.store.queue import NewJob, WorkQueue
from headrace.store.usage import function_usage
from tests.helpers import outcome_counts
from tests.pipeline.conftest import Clock, Receiver, StaticCatalog

SOURCE = "src_1"
_keys = itertools.count()


def track(message_id: str, **fields: Any) -> dict[str, Any]:
    return {
        "type": "track",
        "event": "Order Completed",
        "userId": "u1",
        "messageId": message_id,
        **fields,
    }


def webhook(url: str, dest_id: str = "dst_1", **fields: Any) -> DestinationPlan:
    return DestinationPlan(
        id=dest_id, workspace_id="ws_1", name="Orders hook", kind="WEBHOOK", enabled=True,
        names=frozenset({"Orders hook"}), webhook_url=url, **fields,
    )  # fmt: skip


def instance(code: str, kind: FunctionKind, **settings: Any) -> FunctionInstancePlan:
    key = f"test-pipeline:{next(_keys)}"
    return FunctionInstancePlan(
        instance_id=key, function_id="fn_1", spec=FunctionSpec(key, code, kind), settings=settings
    )


def ingest(engine: Engine, clock: Clock, *events: dict[str, Any]) -> None:
    with engine.connect() as conn:
        WorkQueue().enqueue(
            conn,
            [NewJob(QUEUE_ROUTE, "ws_1", SOURCE, orjson.dumps(list(events)), clock.now, clock.now)],
        )
        conn.commit()


def statuses(engine: Engine, dest_id: str = "dst_1") -> dict[tuple[str, str], int]:
    with engine.connect() as conn:
        return outcome_counts(conn, dest_id)


def test_each_event_reaches_the_webhook_once_per_message_id(
    engine: Engine, catalog: StaticCatalog, receiver: tuple[Receiver, str], clock: Clock, run: Any
) -> None:
    state, url = receiver
    catalog.add(SOURCE, webhook(url))

    ingest(engine, clock, track("m1"), track("m2"), track("m1"))
    ingest(engine, clock, track("m2"))
    run()

    assert sorted(e["messageId"] for e in state.events()) == ["m1", "m2"]
    assert statuses(engine) == {("delivered", ""): 2}


def test_an_insert_function_transforms_the_event_before_delivery(
    engine: Engine, catalog: StaticCatalog, receiver: tuple[Receiver, str], clock: Clock, run: Any
) -> None:
    state, url = receiver
    code = (
        "def on_track(event, settings):\n"
        "    event['properties'] = {'tier': settings['tier']}\n"
        "    return event\n"
    )
    catalog.add(SOURCE, webhook(url, insert=instance(code, FunctionKind.INSERT, tier="gold")))

    ingest(engine, clock, track("m1"))
    run()

    assert state.events()[0]["properties"] == {"tier": "gold"}
    with engine.connect() as conn:
        usage = conn.execute(select(function_usage.c.function_id, function_usage.c.invocations))
        assert usage.all() == [("fn_1", 1)]


def test_an_event_the_insert_function_drops_is_recorded_as_filtered(
    engine: Engine, catalog: StaticCatalog, receiver: tuple[Receiver, str], clock: Clock, run: Any
) -> None:
    state, url = receiver
    code = (
        "def on_track(event, settings):\n"
        "    if event['messageId'] == 'drop':\n"
        "        raise DropEvent('no')\n"
        "    return event\n"
    )
    catalog.add(SOURCE, webhook(url, insert=instance(code, FunctionKind.INSERT)))

    ingest(engine, clock, track("drop"), track("keep"))
    run()

    assert [e["messageId"] for e in state.events()] == ["keep"]
    assert statuses(engine) == {("delivered", ""): 1, ("filtered", "filtered"): 1}


def test_a_503_is_retried_with_backoff_and_delivered_once_the_endpoint_recovers(
    engine: Engine, catalog: StaticCatalog, receiver: tuple[Receiver, str], clock: Clock, run: Any
) -> None:
    state, url = receiver
    catalog.add(SOURCE, webhook(url))
    state.status = 503

    ingest(engine, clock, track("m1"))
    run()
    clock.now += 10
    run()
    state.status = 200
    clock.now += 10
    run()

    assert [e["messageId"] for e in state.events()] == ["m1"]
    totals = statuses(engine)
    assert totals[("retrying", "retry")] == 2
    assert totals[("delivered", "")] == 1


def test_a_4xx_is_discarded_as_bad_request_without_retry(
    engine: Engine, catalog: StaticCatalog, receiver: tuple[Receiver, str], clock: Clock, run: Any
) -> None:
    state, url = receiver
    catalog.add(SOURCE, webhook(url))
    state.status = 400

    ingest(engine, clock, track("m1"))
    run()
    clock.now += 50
    run()

    assert statuses(engine) == {("failed", "bad_request"): 1}
    with engine.connect() as conn:
        [record] = recent_outcomes(conn, "dst_1")
    assert record.error == "the webhook answered HTTP 400"


def test_an_event_still_failing_after_the_window_is_kept_as_expired(
    engine: Engine, catalog: StaticCatalog, receiver: tuple[Receiver, str], clock: Clock, run: Any
) -> None:
    state, url = receiver
    catalog.add(SOURCE, webhook(url))
    state.status = 503

    ingest(engine, clock, track("m1"))
    for _ in range(40):
        run()
        clock.now += 5

    with engine.connect() as conn:
        [expired] = recent_outcomes(conn, "dst_1", statuses=["expired"])
        assert WorkQueue().depth(conn, "deliver") == 0
    assert orjson.loads(expired.payload)["messageId"] == "m1"


def test_a_function_destination_retry_error_is_retried(
    engine: Engine, catalog: StaticCatalog, clock: Clock, run: Any
) -> None:
    code = "def on_track(event, settings):\n    raise RetryError('later')\n"
    catalog.add(
        SOURCE,
        DestinationPlan(
            id="dst_1", workspace_id="ws_1", name="fn", kind="FUNCTION", enabled=True,
            names=frozenset({"fn"}), function=instance(code, FunctionKind.DESTINATION),
        ),
    )  # fmt: skip

    ingest(engine, clock, track("m1"))
    run()

    assert statuses(engine) == {("retrying", "retry"): 1}
    with engine.connect() as conn:
        [record] = recent_outcomes(conn, "dst_1")
    assert record.error == "RetryError: later"


def test_integrations_all_false_keeps_the_event_from_unnamed_destinations(
    engine: Engine, catalog: StaticCatalog, receiver: tuple[Receiver, str], clock: Clock, run: Any
) -> None:
    state, url = receiver
    catalog.add(SOURCE, webhook(url))
    catalog.add(SOURCE, webhook(url, dest_id="dst_2"))

    ingest(engine, clock, track("m1", integrations={"All": False}))
    ingest(engine, clock, track("m2", integrations={"All": False, "Orders hook": True}))
    run()

    assert sorted(e["messageId"] for e in state.events()) == ["m2", "m2"]


def test_invalid_settings_are_not_retried(
    engine: Engine, catalog: StaticCatalog, receiver: tuple[Receiver, str], clock: Clock, run: Any
) -> None:
    _state, url = receiver
    catalog.add(SOURCE, webhook(url, settings_error="the setting 'apiKey' is required"))

    ingest(engine, clock, track("m1"))
    run()

    assert statuses(engine) == {("failed", "invalid_settings"): 1}


def test_a_function_that_crashes_its_worker_is_categorized_and_the_next_event_delivered(
    engine: Engine, catalog: StaticCatalog, clock: Clock, run: Any
) -> None:
    # Reaches os past the import allowlist, as hostile code would, to end the process.
    code = (
        "def on_track(event, settings):\n"
        "    if event['messageId'] == 'crash':\n"
        "        for cls in ().__class__.__base__.__subclasses__():\n"
        "            if cls.__name__ == 'catch_warnings':\n"
        "                cls()._module.__builtins__['__import__']('os')._exit(9)\n"
        "    return 'ok'\n"
    )
    catalog.add(
        SOURCE,
        DestinationPlan(
            id="dst_1", workspace_id="ws_1", name="fn", kind="FUNCTION", enabled=True,
            names=frozenset({"fn"}), function=instance(code, FunctionKind.DESTINATION),
        ),
    )  # fmt: skip

    ingest(engine, clock, track("crash"))
    run()
    ingest(engine, clock, track("fine"))
    run()

    assert statuses(engine) == {("failed", "bad_request"): 1, ("delivered", ""): 1}
    with engine.connect() as conn:
        [record] = recent_outcomes(conn, "dst_1", statuses=["failed"])
    assert record.error is not None
    assert "WorkerCrashed" in record.error and "exited with status 9" in record.error
