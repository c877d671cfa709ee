"""A call that fails as a whole (a timeout, a crashed worker) fails only the event that
caused it: the others of the call are tried again, each on its own."""

from __future__ import annotations

import itertools
from typing import Any

from sqlalchemy import Engine, select

from headrace.pipeline import FunctionInstancePlan
from headrace.runtime import FunctionKind, FunctionSpec
from headrace.store.deliveries import delivery_records
from tests.pipeline.conftest import Clock, Receiver, StaticCatalog
from tests.pipeline.test_delivery import SOURCE, ingest, statuses, track, webhook
from tests.runtime.support import ESCAPE

_keys = itertools.count()

HANGS_ON_SLOW = (
    "def on_track(event, settings):\n"
    "    if event['properties'].get('slow'):\n"
    "        while True:\n"
    "            pass\n"
    "    return event\n"
)

CRASHES_ON_EXIT = ESCAPE + (
    "\n\ndef on_track(event, settings):\n"
    "    if event['properties'].get('exit'):\n"
    "        _escape_import('os')._exit(3)\n"
    "    return event\n"
)


def insert_function(code: str, timeout_s: float = 5.0) -> FunctionInstancePlan:
    key = f"test-call-failures:{next(_keys)}"
    spec = FunctionSpec(key, code, FunctionKind.INSERT, timeout_s=timeout_s)
    return FunctionInstancePlan(instance_id=key, function_id="fn_1", spec=spec, settings={})


def record_of(engine: Engine, message_id: str) -> Any:
    with engine.connect() as conn:
        return conn.execute(
            select(delivery_records).where(delivery_records.c.message_id == message_id)
        ).one()


def test_an_event_that_hangs_times_out_alone(
    engine: Engine,
    catalog: StaticCatalog,
    receiver: tuple[Receiver, str],
    clock: Clock,
    run: Any,
) -> None:
    state, url = receiver
    catalog.add(SOURCE, webhook(url, insert=insert_function(HANGS_ON_SLOW, timeout_s=0.3)))

    ingest(
        engine,
        clock,
        track("m1", properties={}),
        track("m2", properties={"slow": True}),
        track("m3", properties={}),
    )
    run()

    assert sorted(e["messageId"] for e in state.events()) == ["m1", "m3"]
    assert statuses(engine) == {("delivered", ""): 2, ("retrying", "timeout"): 1}
    assert record_of(engine, "m2").category == "timeout"


def test_an_event_that_crashes_the_worker_fails_alone(
    engine: Engine,
    catalog: StaticCatalog,
    receiver: tuple[Receiver, str],
    clock: Clock,
    run: Any,
) -> None:
    state, url = receiver
    catalog.add(SOURCE, webhook(url, insert=insert_function(CRASHES_ON_EXIT)))

    ingest(
        engine,
        clock,
        track("m1", properties={}),
        track("m2", properties={"exit": True}),
        track("m3", properties={}),
    )
    run()

    assert sorted(e["messageId"] for e in state.events()) == ["m1", "m3"]
    record = record_of(engine, "m2")
    assert record.status == "failed"
    assert "WorkerCrashed" in record.error
