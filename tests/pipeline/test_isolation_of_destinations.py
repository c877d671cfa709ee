"""One destination that is down never holds back the others connected to the same source."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from functools import partial
from http.server import BaseHTTPRequestHandler
from typing import Any

import orjson
import pytest
from sqlalchemy import Engine, func, select

from headrace.pipeline import Deliverer, PipelineWorkers, Router, deliver
from headrace.pipeline.catalog import DestinationPlan
from headrace.pipeline.deliver import QUEUE_DELIVER, SETTLE_TRIES
from headrace.pipeline.retry import RetryPolicy
from headrace.pipeline.webhook import WebhookSender
from headrace.runtime import EgressPolicy, FunctionKind, SandboxPool
from headrace.store.delivery_queries import recent_outcomes
from headrace.store.queue import NewJob, WorkQueue, jobs
from headrace.store.usage import function_usage
from tests.helpers import free_port
from tests.pipeline.conftest import Clock, Receiver, StaticCatalog, serving
from tests.pipeline.test_delivery import (
    SOURCE,
    ingest,
    instance,
    statuses,
    track,
    webhook,
)

EVENTS = 30
HANGING_TIMEOUT_S = 2.0
"""The webhook timeout of the test with an endpoint that never answers."""


def leased_jobs(engine: Engine, target_id: str) -> int:
    """How many of a destination's jobs are claimed (held by a worker) now."""
    with engine.connect() as conn:
        held = conn.execute(
            select(func.count()).where(
                jobs.c.target_id == target_id, jobs.c.lease_token.is_not(None)
            )
        ).scalar_one()
    return int(held)


class Unavailable(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(503)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture(params=["nothing-listens", "answers-503"])
def dead_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """The URL of an endpoint that is down: a port nobody listens on, or a server that
    answers every request with 503."""
    if request.param == "nothing-listens":
        yield f"http://127.0.0.1:{free_port()}/hook"
    else:
        with serving(Unavailable) as url:
            yield url


def test_a_dead_destination_does_not_hold_back_the_healthy_one_on_the_same_source(
    engine: Engine,
    catalog: StaticCatalog,
    receiver: tuple[Receiver, str],
    dead_url: str,
    clock: Clock,
    run: Any,
) -> None:
    state, healthy_url = receiver
    catalog.add(SOURCE, webhook(dead_url, dest_id="dead"))
    catalog.add(SOURCE, webhook(healthy_url, dest_id="healthy"))
    sent = [track(f"m{i:02}") for i in range(EVENTS)]

    ingest(engine, clock, *sent)
    run()

    assert sorted(e["messageId"] for e in state.events()) == [e["messageId"] for e in sent]
    assert statuses(engine, "healthy") == {("delivered", ""): EVENTS}
    assert statuses(engine, "dead") == {("retrying", "retry"): EVENTS}
    with engine.connect() as conn:
        assert WorkQueue().depth(conn, "deliver") == EVENTS


def test_a_busy_destination_gets_the_share_of_a_claim_that_quiet_ones_leave(
    engine: Engine,
    catalog: StaticCatalog,
    pool: SandboxPool,
    webhooks: WebhookSender,
    receiver: tuple[Receiver, str],
    clock: Clock,
) -> None:
    """One step claims up to `max_jobs` across the due destinations, an equal share each:
    what the destinations with a job or two leave goes to the one with a backlog."""
    _state, url = receiver
    backlog = {"busy": 100, "quiet-1": 1, "quiet-2": 2, "quiet-3": 1}
    for dest_id, count in backlog.items():
        catalog.add(SOURCE, webhook(url, dest_id=dest_id))
        queued_for(engine, clock, dest_id, count)
    deliverer = Deliverer(engine, catalog, pool, webhooks, clock=clock)

    deliverer.run_once(max_jobs=40)
    deliverer.finish()
    deliverer.close()

    # A share is 10; the quiet ones take 4, and the busy one the other 36.
    assert statuses(engine, "busy") == {("delivered", ""): 36}
    for quiet in ("quiet-1", "quiet-2", "quiet-3"):
        assert statuses(engine, quiet) == {("delivered", ""): backlog[quiet]}


def queued_for(engine: Engine, clock: Clock, dest_id: str, count: int) -> None:
    """`count` events queued for delivery to `dest_id` (as the router would have)."""
    with engine.connect() as conn:
        WorkQueue().enqueue(
            conn,
            [
                NewJob(
                    QUEUE_DELIVER, "ws_1", dest_id, orjson.dumps(track(f"{dest_id}-{i}")),
                    clock.now, clock.now,
                )
                for i in range(count)
            ],
        )  # fmt: skip
        conn.commit()


@pytest.fixture
def hanging_and_healthy(
    engine: Engine,
    catalog: StaticCatalog,
    receiver: tuple[Receiver, str],
    hanging_url: str,
    clock: Clock,
) -> Receiver:
    """Destinations "hanging" (never answers) and "healthy" on SOURCE, EVENTS events routed
    to each; what the healthy one received."""
    state, healthy_url = receiver
    catalog.add(SOURCE, webhook(hanging_url, dest_id="hanging"))
    catalog.add(SOURCE, webhook(healthy_url, dest_id="healthy"))
    ingest(engine, clock, *[track(f"m{i:02}") for i in range(EVENTS)])
    Router(engine, catalog, clock=clock).run_once()
    return state


def test_a_destination_that_never_answers_does_not_delay_the_healthy_one(
    engine: Engine,
    catalog: StaticCatalog,
    pool: SandboxPool,
    hanging_and_healthy: Receiver,
    clock: Clock,
) -> None:
    state = hanging_and_healthy
    sender = WebhookSender(EgressPolicy.allowing(["127.0.0.1"]), timeout_s=HANGING_TIMEOUT_S)
    deliverer = Deliverer(engine, catalog, pool, sender, clock=clock)
    delivering = threading.Thread(target=deliverer.run_once)

    delivering.start()
    deadline = time.monotonic() + HANGING_TIMEOUT_S
    while len(state.events()) < EVENTS and time.monotonic() < deadline:
        time.sleep(0.02)
    arrived_before_the_timeout = len(state.events())
    delivering.join()
    deliverer.close()
    sender.close()

    assert arrived_before_the_timeout == EVENTS
    assert statuses(engine, "healthy") == {("delivered", ""): EVENTS}
    assert statuses(engine, "hanging") == {("retrying", "timeout"): EVENTS}


class FailingCatalog(StaticCatalog):
    """Loading the plan of destination "broken" fails (as a database error would)."""

    def destination(self, destination_id: str) -> DestinationPlan | None:
        if destination_id == "broken":
            raise RuntimeError("the plan could not be loaded")
        return super().destination(destination_id)


def test_a_destination_headrace_fails_on_is_retried_then_expires_and_the_others_are_settled(
    engine: Engine,
    pool: SandboxPool,
    webhooks: WebhookSender,
    receiver: tuple[Receiver, str],
    clock: Clock,
) -> None:
    state, url = receiver
    catalog = FailingCatalog()
    catalog.add(SOURCE, webhook(url, dest_id="broken"))
    catalog.add(SOURCE, webhook(url, dest_id="healthy"))
    ingest(engine, clock, *[track(f"m{i:02}") for i in range(EVENTS)])
    Router(engine, catalog, clock=clock).run_once()
    policy = RetryPolicy(window_s=20, base_s=1, cap_s=4)
    deliverer = Deliverer(engine, catalog, pool, webhooks, policy=policy, clock=clock)

    deliverer.run_once()

    assert len(state.events()) == EVENTS
    assert statuses(engine, "healthy") == {("delivered", ""): EVENTS}
    assert statuses(engine, "broken") == {("retrying", "retry"): EVENTS}
    with engine.connect() as conn:
        [record, *_] = recent_outcomes(conn, "broken")
    assert record.error == (
        "headrace failed while delivering: RuntimeError: the plan could not be loaded"
    )

    for _ in range(100):  # every attempt counts: past the retry window the jobs end
        clock.now += 5
        deliverer.run_once()
        with engine.connect() as conn:
            if WorkQueue().depth(conn, "deliver") == 0:
                break
    deliverer.close()

    assert statuses(engine, "broken")[("expired", "retry")] == EVENTS
    assert len(state.events()) == EVENTS


def test_a_slow_destination_keeps_its_lease_while_the_others_keep_finishing(
    engine: Engine, pool: SandboxPool, webhooks: WebhookSender
) -> None:
    lease_s = 0.9  # extended every 0.3 s
    arrivals: dict[str, int] = {}
    lock = threading.Lock()

    class Paced(BaseHTTPRequestHandler):
        """/slow answers after 2 s; /steady-N after N x 0.2 s (a finish every 0.2 s)."""

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            name = self.path.strip("/")
            time.sleep(2.0 if name == "slow" else 0.2 * int(name.rsplit("-", 1)[1]))
            with lock:
                arrivals[name] = arrivals.get(name, 0) + 1
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return

    catalog = StaticCatalog()
    clock = Clock()
    with serving(Paced) as url:
        base = url.rsplit("/", 1)[0]
        catalog.add(SOURCE, webhook(f"{base}/slow", dest_id="slow"))
        for n in range(1, 7):
            catalog.add(SOURCE, webhook(f"{base}/steady-{n}", dest_id=f"steady-{n}"))
        ingest(engine, clock, track("m1"))
        Router(engine, catalog, clock=clock).run_once()
        first = Deliverer(engine, catalog, pool, webhooks, lease_s=lease_s)
        second = Deliverer(engine, catalog, pool, webhooks, lease_s=lease_s)
        workers = PipelineWorkers({"deliver": first.run_once})
        workers.start()
        time.sleep(1.3)  # past the first lease; the steady ones finished every 0.2 s
        taken_over = second.run_once()
        workers.stop()
        first.close()
        second.close()

    assert taken_over == 0
    assert arrivals == {"slow": 1, **{f"steady-{n}": 1 for n in range(1, 7)}}


def test_a_hanging_destination_with_a_backlog_holds_back_no_other_destination(
    engine: Engine,
    catalog: StaticCatalog,
    pool: SandboxPool,
    hanging_and_healthy: Receiver,
    clock: Clock,
) -> None:
    """Many claims' worth of jobs wait for a destination that never answers: the healthy
    destination's jobs all go at once, and the hanging one's stay queued, not stuck in
    threads."""
    state = hanging_and_healthy
    # Each claim takes 3 jobs per destination; the hanging one's 3 take 2 timeouts each.
    sender = WebhookSender(EgressPolicy.allowing(["127.0.0.1"]), timeout_s=1.0, concurrency=2)
    deliverer = Deliverer(engine, catalog, pool, sender, clock=clock, groups_each=2)
    workers = PipelineWorkers({"deliver": partial(deliverer.run_once, 6)})

    workers.start()
    started = time.monotonic()
    while len(state.events()) < EVENTS and time.monotonic() - started < 5:
        time.sleep(0.02)
    waited = time.monotonic() - started
    hanging_held = leased_jobs(engine, "hanging")
    workers.stop()
    deliverer.close()
    sender.close()

    assert sorted(e["messageId"] for e in state.events()) == [f"m{i:02}" for i in range(EVENTS)]
    assert waited < 1.5, f"{waited:.2f} s"  # one claim of 3 takes 2 s behind the hanging one
    assert statuses(engine, "healthy") == {("delivered", ""): EVENTS}
    assert 3 <= hanging_held <= 6, hanging_held  # 2 groups of 3 in flight at most


def test_a_group_that_cannot_be_settled_is_given_up_and_the_others_go_on(
    engine: Engine,
    catalog: StaticCatalog,
    pool: SandboxPool,
    webhooks: WebhookSender,
    receiver: tuple[Receiver, str],
    clock: Clock,
) -> None:
    """The database refuses every outcome of destination "refused" (a trigger): its group is
    tried SETTLE_TRIES times, then given up, while "healthy" is delivered and settled, and
    delivery goes on."""
    state, url = receiver
    catalog.add(SOURCE, webhook(url, dest_id="refused"))
    catalog.add(SOURCE, webhook(url, dest_id="healthy"))
    with engine.begin() as conn:
        for event in ("INSERT", "UPDATE"):
            conn.exec_driver_sql(
                f"CREATE TRIGGER refuse_{event.lower()} BEFORE {event} ON delivery_counts"
                " WHEN NEW.destination_id = 'refused'"
                " BEGIN SELECT RAISE(ABORT, 'outcomes of this destination are refused'); END"
            )
    ingest(engine, clock, *[track(f"m{i:02}") for i in range(5)])
    Router(engine, catalog, clock=clock).run_once()
    deliverer = Deliverer(engine, catalog, pool, webhooks, clock=clock, groups_each=1)

    first_step = deliverer.run_once()  # both groups claimed; only "healthy" settled
    ingest(engine, clock, *[track(f"n{i:02}") for i in range(5)])
    Router(engine, catalog, clock=clock).run_once()
    deliverer.run_once()  # "refused" tried once more (once a step), so its next 5 wait
    leased_while_tried = leased_jobs(engine, "refused")
    for _ in range(SETTLE_TRIES - 1):
        deliverer.run_once()  # the last try gives its first group up: the next 5 are claimed
    deliverer.close()

    assert first_step == 10
    assert leased_while_tried == 5
    assert statuses(engine, "healthy") == {("delivered", ""): 10}
    assert statuses(engine, "refused") == {}
    # Given up, they come back when their leases end; and its place in flight is free, so
    # the next 5 were claimed.
    assert leased_jobs(engine, "refused") == 10
    assert len(state.events()) == 20  # each destination's 10 were sent


def test_the_usage_of_a_group_whose_settle_failed_is_counted_once_it_is_settled(
    engine: Engine,
    catalog: StaticCatalog,
    pool: SandboxPool,
    webhooks: WebhookSender,
    receiver: tuple[Receiver, str],
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The insert function ran for 5 events, but the database refused their outcomes (a
    trigger). Its invocations are not written then, nor lost: they are written with the
    settle that succeeds, once."""
    # The first step waits for its group however slowly the sandbox starts.
    monkeypatch.setattr(deliver, "GROUP_PATIENCE_S", 30.0)
    state, url = receiver
    identity = instance("def on_track(event, settings):\n    return event\n", FunctionKind.INSERT)
    catalog.add(SOURCE, webhook(url, dest_id="refused", insert=identity))
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "CREATE TRIGGER refuse BEFORE INSERT ON delivery_counts"
            " BEGIN SELECT RAISE(ABORT, 'outcomes are refused for now'); END"
        )
    ingest(engine, clock, *[track(f"m{i}") for i in range(5)])
    Router(engine, catalog, clock=clock).run_once()
    deliverer = Deliverer(engine, catalog, pool, webhooks, clock=clock)

    deliverer.run_once()  # invoked and sent; the settle fails
    settle_failed = "settling delivered jobs failed; trying again" in caplog.text
    with engine.connect() as conn:
        usage_while_refused = conn.execute(select(function_usage)).all()
        conn.exec_driver_sql("DROP TRIGGER refuse")
        conn.commit()
    deliverer.run_once()  # the same group's settle, tried again
    deliverer.close()

    assert settle_failed
    assert usage_while_refused == []
    assert len(state.events()) == 5
    assert statuses(engine, "refused") == {("delivered", ""): 5}
    with engine.connect() as conn:
        usage = conn.execute(select(function_usage.c.function_id, function_usage.c.invocations))
        assert usage.all() == [("fn_1", 5)]
