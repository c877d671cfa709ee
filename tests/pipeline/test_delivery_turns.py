"""Delivery threads of one process take turns, and a turn stays short while a destination
hangs: the thread whose jobs hang does not hold up the next."""

from __future__ import annotations

import threading
import time

from sqlalchemy import Engine

from headrace.pipeline import Deliverer, Router
from headrace.pipeline.webhook import WebhookSender
from headrace.runtime import EgressPolicy, SandboxPool
from tests.pipeline import test_delivery
from tests.pipeline.conftest import Receiver, StaticCatalog
from tests.pipeline.test_delivery import SOURCE, Clock, ingest, statuses, track, webhook

catalog = test_delivery.catalog
clock = test_delivery.clock

HANGING_TIMEOUT_S = 3.0


def test_a_delivery_thread_stuck_on_a_hanging_destination_does_not_stop_the_next(
    engine: Engine,
    catalog: StaticCatalog,
    pool: SandboxPool,
    receiver: tuple[Receiver, str],
    hanging_url: str,
    clock: Clock,
) -> None:
    state, healthy_url = receiver
    catalog.add(SOURCE, webhook(hanging_url, dest_id="hanging"))
    ingest(engine, clock, *[track(f"h{i:02}") for i in range(5)])
    Router(engine, catalog, clock=clock).run_once()
    sender = WebhookSender(EgressPolicy.allowing(["127.0.0.1"]), timeout_s=HANGING_TIMEOUT_S)
    turns = threading.Lock()
    stuck, other = (
        Deliverer(engine, catalog, pool, sender, clock=clock, turns=turns) for _ in range(2)
    )
    stuck_thread = threading.Thread(target=stuck.run_once)
    stuck_thread.start()
    time.sleep(0.3)  # the first thread holds the hanging destination's jobs now
    catalog.add(SOURCE, webhook(healthy_url, dest_id="healthy"))
    ingest(engine, clock, *[track(f"m{i:02}") for i in range(5)])
    Router(engine, catalog, clock=clock).run_once()

    started = time.monotonic()
    other_thread = threading.Thread(target=other.run_once)
    other_thread.start()
    while len(state.events()) < 5 and time.monotonic() - started < HANGING_TIMEOUT_S:
        time.sleep(0.02)
    waited = time.monotonic() - started
    for thread in (stuck_thread, other_thread):
        thread.join()
    for deliverer in (stuck, other):
        deliverer.close()
    sender.close()

    assert sorted(e["messageId"] for e in state.events()) == [f"m{i:02}" for i in range(5)]
    assert waited < HANGING_TIMEOUT_S / 2
    assert statuses(engine, "healthy") == {("delivered", ""): 5}
    assert statuses(engine, "hanging") == {("retrying", "timeout"): 10}
