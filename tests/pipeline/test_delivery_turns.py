"""Delivery threads of one process take turns while each turn is quick, and go side by side
once one overruns (a destination that hangs holds up no one for long)."""

from __future__ import annotations

import threading
import time

from sqlalchemy import Engine

from headrace.pipeline import Deliverer, Router
from headrace.pipeline.deliver import DeliveryTurns
from headrace.pipeline.webhook import WebhookSender
from headrace.runtime import EgressPolicy, SandboxPool
from tests.pipeline import test_delivery
from tests.pipeline.conftest import Receiver, StaticCatalog
from tests.pipeline.test_delivery import SOURCE, Clock, ingest, statuses, track, webhook

catalog = test_delivery.catalog
clock = test_delivery.clock

HANGING_TIMEOUT_S = 3.0


def test_turns_do_not_overlap_while_each_is_quick() -> None:
    turns = DeliveryTurns(patience_s=5.0)
    inside = 0
    most_inside = 0
    count_lock = threading.Lock()

    def take_turns() -> None:
        nonlocal inside, most_inside
        for _ in range(20):
            with turns.turn():
                with count_lock:
                    inside += 1
                    most_inside = max(most_inside, inside)
                time.sleep(0.003)
                with count_lock:
                    inside -= 1

    threads = [threading.Thread(target=take_turns) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert most_inside == 1


def test_a_turn_that_overruns_lets_the_next_go_alongside_until_it_ends() -> None:
    turns = DeliveryTurns(patience_s=0.3)
    entered, release = threading.Event(), threading.Event()

    def slow_turn() -> None:
        with turns.turn():
            entered.set()
            release.wait(10)

    slow = threading.Thread(target=slow_turn)
    slow.start()
    entered.wait(5)
    started = time.monotonic()
    with turns.turn():
        first_wait = time.monotonic() - started
    started = time.monotonic()
    with turns.turn():  # the slow turn still lasts: no waiting at all now
        second_wait = time.monotonic() - started
    still_slow = slow.is_alive()
    release.set()
    slow.join()

    assert 0.25 <= first_wait < 2.0
    assert second_wait < 0.1
    assert still_slow


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
    turns = DeliveryTurns(patience_s=0.2)
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
