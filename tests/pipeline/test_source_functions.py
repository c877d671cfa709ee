"""Source functions in the pipeline: stored webhook requests run through `on_request`, their
events checked, stamped and routed, their objects kept, their failures retried or ended
with a category; and the loop guard. Last, the whole thing as a user meets it."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import random
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from headrace.config import Settings
from headrace.pipeline import (
    QUEUE_ROUTE,
    QUEUE_SOURCE,
    FunctionInstancePlan,
    FunctionSourcePlan,
    SourceRetryPolicy,
    SourceRunner,
)
from headrace.pipeline.retry import (
    SOURCE_RETRY_ATTEMPTS,
    SOURCE_RETRY_CAP_S,
    SOURCE_RETRY_FIRST_MAX_S,
    SOURCE_RETRY_FIRST_MIN_S,
)
from headrace.runtime import EgressPolicy, FunctionKind, FunctionSpec, SandboxPool
from headrace.runtime.egress import Fetcher
from headrace.services.webhooks import LOOP_REFUSAL, WebhookLoopGuard
from headrace.store.base import utcnow
from headrace.store.delivery_queries import (
    RECENT_LIMIT_MAX,
    StoredOutcome,
    intake_totals,
    recent_outcomes,
)
from headrace.store.queue import NewJob, WorkQueue, jobs
from headrace.store.source_objects import SourceObjectStore
from headrace.store.sources import Source
from headrace.store.usage import function_usage
from headrace.store.workspaces import Workspace
from tests.helpers import ServerProcess, outcome_counts, start_server
from tests.pipeline.conftest import Clock, Receiver

SOURCE_ID = "src_1"
_keys = itertools.count()


@dataclass
class StaticSources:
    """The function sources as the services layer would hand them down."""

    plans: dict[str, FunctionSourcePlan] = field(default_factory=dict)

    def function_source(self, source_id: str) -> FunctionSourcePlan | None:
        return self.plans.get(source_id)


def source_function(code: str, enabled: bool = True, **settings: Any) -> FunctionSourcePlan:
    key = f"test-source:{next(_keys)}"
    function = FunctionInstancePlan(
        instance_id=SOURCE_ID,
        function_id="fn_1",
        spec=FunctionSpec(key, code, FunctionKind.SOURCE),
        settings=settings,
    )
    return FunctionSourcePlan(SOURCE_ID, "ws_1", enabled, function)


def handler(body: str) -> str:
    return "def on_request(request, settings):\n" + "".join(
        f"    {line}\n" for line in textwrap.dedent(body).strip().splitlines()
    )


def receive(
    engine: Engine,
    clock: Clock,
    body: Any = None,
    *,
    headers: dict[str, str] | None = None,
    url: str = "http://127.0.0.1:8080/v1/webhooks/tok",
    request_id: str = "req_1",
) -> None:
    """A webhook request as the webhook endpoint stores it."""
    stored = {
        "id": request_id,
        "method": "POST",
        "url": url,
        "headers": headers or {"content-type": "application/json"},
        "body": body if isinstance(body, str) else orjson.dumps(body or {}).decode(),
    }
    with engine.connect() as conn:
        WorkQueue().enqueue(
            conn,
            [NewJob(QUEUE_SOURCE, "ws_1", SOURCE_ID, orjson.dumps(stored), clock.now, clock.now)],
        )
        conn.commit()


@pytest.fixture
def sources(engine: Engine) -> StaticSources:
    # Objects belong to a source row; the rest of the runner never reads the table.
    with Session(engine) as session:
        session.add(Workspace(id="ws_1", name="acme", created_at=utcnow()))
        session.flush()
        session.add(
            Source(
                id=SOURCE_ID, workspace_id="ws_1", name="Payments", kind="FUNCTION",
                settings="{}", secrets="{}", enabled=True, created_at=utcnow(),
                updated_at=utcnow(),
            )
        )  # fmt: skip
        session.commit()
    return StaticSources()


@pytest.fixture
def fetcher(receiver: tuple[Receiver, str]) -> Iterator[Fetcher]:
    """Egress to 127.0.0.1 allowed, as an operator would for a local receiver; this service
    (for the loop guard) listens on the receiver's port."""
    _state, url = receiver
    port = httpx.URL(url).port or 80
    settings = Settings(port=port)
    guard = WebhookLoopGuard(settings, lambda token: token == "known-token")
    fetcher = Fetcher(EgressPolicy(frozenset({"127.0.0.1"}), (), refuse_url=guard))
    yield fetcher
    fetcher.close()


@pytest.fixture
def runner(
    engine: Engine, sources: StaticSources, pool: SandboxPool, fetcher: Fetcher, clock: Clock
) -> Iterator[SourceRunner]:
    policy = SourceRetryPolicy(max_attempts=3, first_min_s=1, first_max_s=2, cap_s=3)
    runner = SourceRunner(engine, sources, pool, fetcher, policy=policy, clock=clock)
    yield runner
    runner.close()


def routed_events(engine: Engine) -> list[list[dict[str, Any]]]:
    """The events of each route job, in order."""
    with engine.connect() as conn:
        payloads = conn.execute(
            select(jobs.c.payload).where(jobs.c.queue == QUEUE_ROUTE).order_by(jobs.c.id)
        ).scalars()
        return [orjson.loads(p) for p in payloads]


def records(engine: Engine) -> list[StoredOutcome]:
    with engine.connect() as conn:
        return list(reversed(recent_outcomes(conn, SOURCE_ID, limit=RECENT_LIMIT_MAX)))


def totals(engine: Engine) -> dict[tuple[str, str], int]:
    with engine.connect() as conn:
        return outcome_counts(conn, SOURCE_ID)


# -- events ---------------------------------------------------------------------------------


def test_emitted_events_are_stamped_and_routed_as_one_job(
    engine: Engine, sources: StaticSources, runner: SourceRunner, clock: Clock
) -> None:
    sources.plans[SOURCE_ID] = source_function(
        handler(
            """
            body = request.json()
            Segment.identify({"userId": body["customer"], "traits": {"plan": "pro"}})
            Segment.track({"userId": body["customer"], "event": "Order Completed"})
            """
        )
    )

    receive(engine, clock, {"customer": "c-1"})
    assert runner.run_once() == 1

    [events] = routed_events(engine)
    assert [(e["type"], e["userId"]) for e in events] == [("identify", "c-1"), ("track", "c-1")]
    assert all(e["messageId"] and e["receivedAt"] and e["timestamp"] for e in events)
    assert totals(engine) == {("delivered", ""): 1}
    with engine.connect() as conn:
        usage = conn.execute(select(function_usage.c.function_id, function_usage.c.invocations))
        assert usage.all() == [("fn_1", 1)]
    with engine.connect() as conn:
        assert WorkQueue().depth(conn, QUEUE_SOURCE) == 0


def test_an_emitted_event_the_tracking_api_would_refuse_is_left_out_and_counted(
    engine: Engine, sources: StaticSources, runner: SourceRunner, clock: Clock
) -> None:
    sources.plans[SOURCE_ID] = source_function(
        handler(
            """
            Segment.track({"userId": "u1", "event": "Kept"})
            Segment.track({"userId": "u1", "event": "Late", "timestamp": "yesterday"})
            Segment.track({"userId": "u1", "event": "Big", "properties": {"x": "y" * 32668}})
            """
        )
    )

    receive(engine, clock)
    runner.run_once()

    # "Big" fits when emitted, but not once stamped with its messageId and times.
    [events] = routed_events(engine)
    assert [e["event"] for e in events] == ["Kept"]
    with engine.connect() as conn:
        intake = intake_totals(conn, SOURCE_ID, 0, clock.now + 60)
    assert intake.accepted == 1
    assert sum(intake.rejected.values()) == 2
    assert any("not an ISO 8601 timestamp" in reason for reason in intake.rejected)
    assert any("over the 32768-byte limit" in reason for reason in intake.rejected)


def test_a_request_whose_every_emitted_event_is_refused_fails_as_message_rejected(
    engine: Engine, sources: StaticSources, runner: SourceRunner, clock: Clock
) -> None:
    sources.plans[SOURCE_ID] = source_function(
        handler('Segment.track({"userId": "u1", "event": "Late", "timestamp": 12})')
    )

    receive(engine, clock)
    runner.run_once()

    assert routed_events(engine) == []
    [record] = records(engine)
    assert (record.status, record.category) == ("failed", "message_rejected")
    assert "'timestamp' must be an ISO 8601 string" in (record.error or "")


def test_a_request_that_emits_nothing_is_delivered(
    engine: Engine, sources: StaticSources, runner: SourceRunner, clock: Clock
) -> None:
    sources.plans[SOURCE_ID] = source_function(handler("console.log('ping')"))

    receive(engine, clock)
    runner.run_once()

    assert routed_events(engine) == []
    assert totals(engine) == {("delivered", ""): 1}


# -- objects --------------------------------------------------------------------------------


def test_objects_are_kept_per_collection_and_id_the_latest_winning(
    engine: Engine, sources: StaticSources, runner: SourceRunner, clock: Clock
) -> None:
    sources.plans[SOURCE_ID] = source_function(
        handler(
            """
            body = request.json()
            Segment.set({"collection": "rooms", "id": body["room"], "properties": body["props"]})
            Segment.set({"collection": "rooms", "id": 7, "properties": {"beds": 1}})
            """
        )
    )

    receive(engine, clock, {"room": "r1", "props": {"beds": 2}}, request_id="req_1")
    runner.run_once()
    clock.now += 1
    receive(engine, clock, {"room": "r1", "props": {"beds": 3}}, request_id="req_2")
    runner.run_once()

    with engine.connect() as conn:
        kept = SourceObjectStore().recent(conn, SOURCE_ID)
    assert sorted((o.collection, o.object_id, o.properties) for o in kept) == [
        ("rooms", "7", '{"beds":1}'),
        ("rooms", "r1", '{"beds":3}'),
    ]
    assert routed_events(engine) == []


def test_an_object_that_cannot_be_kept_is_counted_as_rejected(
    engine: Engine, sources: StaticSources, runner: SourceRunner, clock: Clock
) -> None:
    sources.plans[SOURCE_ID] = source_function(
        handler(
            """
            Segment.set({"collection": "c" * 101, "id": "x", "properties": {}})
            Segment.track({"userId": "u1", "event": "Kept"})
            """
        )
    )

    receive(engine, clock)
    runner.run_once()

    with engine.connect() as conn:
        assert SourceObjectStore().recent(conn, SOURCE_ID) == []
        intake = intake_totals(conn, SOURCE_ID, 0, clock.now + 60)
    assert list(intake.rejected) == [
        "Segment.set: 'collection' must be a string of 1 to 100 characters"
    ]


def test_objects_of_a_failed_request_are_not_kept(
    engine: Engine, sources: StaticSources, runner: SourceRunner, clock: Clock
) -> None:
    sources.plans[SOURCE_ID] = source_function(
        handler(
            """
            Segment.set({"collection": "rooms", "id": "r1", "properties": {}})
            raise ValidationError("changed my mind")
            """
        )
    )

    receive(engine, clock)
    runner.run_once()

    with engine.connect() as conn:
        assert SourceObjectStore().recent(conn, SOURCE_ID) == []


# -- failures and retries -------------------------------------------------------------------


def test_a_validation_error_fails_the_request_with_its_logs_and_the_request_kept(
    engine: Engine, sources: StaticSources, runner: SourceRunner, clock: Clock
) -> None:
    sources.plans[SOURCE_ID] = source_function(
        handler(
            """
            console.log("checking", request.headers.get("X-Signature"))
            raise ValidationError("bad signature")
            """
        )
    )

    receive(
        engine, clock, {"a": 1}, headers={"content-type": "application/json", "x-signature": "s"}
    )
    runner.run_once()
    clock.now += 100
    runner.run_once()

    [record] = records(engine)
    assert (record.status, record.category) == ("failed", "message_rejected")
    assert record.error == "ValidationError: bad signature"
    assert record.message_id == "req_1"
    assert record.logs == ["checking s"]
    assert orjson.loads(record.payload)["body"] == '{"a":1}'


def test_a_retry_error_is_retried_until_the_tries_run_out_then_expires(
    engine: Engine, sources: StaticSources, runner: SourceRunner, clock: Clock
) -> None:
    sources.plans[SOURCE_ID] = source_function(handler("raise RetryError('the API is down')"))

    receive(engine, clock)
    for _ in range(5):
        runner.run_once()
        clock.now += 10

    assert [(r.status, r.category, r.attempts) for r in records(engine)] == [
        ("retrying", "retry", 1),
        ("retrying", "retry", 2),
        ("expired", "retry", 3),
    ]
    with engine.connect() as conn:
        assert WorkQueue().depth(conn, QUEUE_SOURCE) == 0


class FailingSources(StaticSources):
    """Loading the source's plan fails (as a database error would)."""

    def function_source(self, source_id: str) -> FunctionSourcePlan | None:
        raise RuntimeError("the plan could not be loaded")


def test_a_request_headrace_fails_on_is_retried_until_it_expires(
    engine: Engine, sources: StaticSources, fetcher: Fetcher, pool: SandboxPool, clock: Clock
) -> None:
    policy = SourceRetryPolicy(max_attempts=3, first_min_s=1, first_max_s=2, cap_s=3)
    runner = SourceRunner(engine, FailingSources(), pool, fetcher, policy=policy, clock=clock)

    receive(engine, clock)
    for _ in range(5):
        runner.run_once()
        clock.now += 10
    runner.close()

    message = "headrace failed while running the source function: RuntimeError: "
    assert [(r.status, r.error) for r in records(engine)] == [
        ("retrying", f"{message}the plan could not be loaded"),
        ("retrying", f"{message}the plan could not be loaded"),
        ("expired", f"{message}the plan could not be loaded"),
    ]
    assert {r.message_id for r in records(engine)} == {"req_1"}  # the request, still named
    with engine.connect() as conn:
        assert WorkQueue().depth(conn, QUEUE_SOURCE) == 0


def test_a_request_taken_over_after_its_lease_is_recorded_and_routed_once(
    engine: Engine, sources: StaticSources, fetcher: Fetcher, pool: SandboxPool, clock: Clock
) -> None:
    sources.plans[SOURCE_ID] = source_function(
        handler(
            """
            n = 0
            while n < 5_000_000:  # long enough for the lease to run out meanwhile
                n += 1
            Segment.track({"userId": "u1", "event": "Paid"})
            """
        )
    )
    first = SourceRunner(engine, sources, pool, fetcher, lease_s=60, clock=clock)
    second = SourceRunner(engine, sources, pool, fetcher, lease_s=60, clock=clock)
    receive(engine, clock)

    slow = threading.Thread(target=first.run_once)
    slow.start()
    wait_for(lambda: claimed(engine))
    clock.now += 120  # the first runner's lease is over: the second takes the request
    taken_over = second.run_once()
    slow.join()
    first.close()
    second.close()

    assert taken_over == 1
    assert [[e["event"] for e in events] for events in routed_events(engine)] == [["Paid"]]
    assert totals(engine) == {("delivered", ""): 1}


def claimed(engine: Engine) -> bool:
    with engine.connect() as conn:
        token = conn.execute(select(jobs.c.lease_token).where(jobs.c.queue == QUEUE_SOURCE))
        return token.scalar() is not None


def test_a_retried_request_waits_for_its_backoff(
    engine: Engine, sources: StaticSources, runner: SourceRunner, clock: Clock
) -> None:
    sources.plans[SOURCE_ID] = source_function(handler("raise RetryError('later')"))

    receive(engine, clock)
    runner.run_once()
    clock.now += 0.5  # under the first wait of 1-2 s
    assert runner.run_once() == 0
    clock.now += 2
    assert runner.run_once() == 1


def test_a_retried_request_that_succeeds_emits_its_events_once(
    engine: Engine, sources: StaticSources, runner: SourceRunner, clock: Clock
) -> None:
    # The worker keeps module globals between calls: the first call fails, the next works.
    code = "calls = []\n" + handler(
        """
            calls.append(1)
            Segment.track({"userId": "u1", "event": f"Try {len(calls)}"})
            if len(calls) == 1:
                raise RetryError("not yet")
            """
    )
    sources.plans[SOURCE_ID] = source_function(code)

    receive(engine, clock)
    runner.run_once()
    clock.now += 10
    runner.run_once()

    assert [[e["event"] for e in events] for events in routed_events(engine)] == [["Try 2"]]
    assert totals(engine) == {("retrying", "retry"): 1, ("delivered", ""): 1}


def test_a_timeout_is_retried(
    engine: Engine, sources: StaticSources, runner: SourceRunner, clock: Clock
) -> None:
    plan = source_function(handler("while True:\n    pass"))
    assert plan.function is not None
    spec = plan.function.spec
    fast = FunctionSpec(spec.key, spec.code, spec.kind, timeout_s=0.2)
    sources.plans[SOURCE_ID] = FunctionSourcePlan(
        SOURCE_ID, "ws_1", True, FunctionInstancePlan(SOURCE_ID, "fn_1", fast, {})
    )

    receive(engine, clock)
    runner.run_once()

    assert totals(engine) == {("retrying", "timeout"): 1}


@pytest.mark.parametrize(
    ("body", "category"),
    [
        ("raise EventNotSupported('not this one')", "unsupported_event_type"),
        ("raise KeyError('orderId')", "bad_request"),
        ("request.json()", "message_rejected"),
    ],
)
def test_other_errors_end_the_request_with_their_category(
    engine: Engine,
    sources: StaticSources,
    runner: SourceRunner,
    clock: Clock,
    body: str,
    category: str,
) -> None:
    sources.plans[SOURCE_ID] = source_function(handler(body))

    receive(engine, clock, "{not json")
    runner.run_once()
    clock.now += 100
    runner.run_once()

    assert totals(engine) == {("failed", category): 1}


def test_settings_that_do_not_fit_fail_as_invalid_settings(
    engine: Engine, sources: StaticSources, runner: SourceRunner, clock: Clock
) -> None:
    plan = source_function(handler("pass"))
    assert plan.function is not None
    broken = FunctionInstancePlan(
        SOURCE_ID, "fn_1", plan.function.spec, {}, settings_error="the setting 'secret' is required"
    )
    sources.plans[SOURCE_ID] = FunctionSourcePlan(SOURCE_ID, "ws_1", True, broken)

    receive(engine, clock)
    runner.run_once()

    [record] = records(engine)
    assert (record.status, record.category) == ("failed", "invalid_settings")
    assert record.error == "the setting 'secret' is required"


def test_a_request_for_a_disabled_source_is_filtered(
    engine: Engine, sources: StaticSources, runner: SourceRunner, clock: Clock
) -> None:
    sources.plans[SOURCE_ID] = source_function(handler("Segment.track({})"), enabled=False)

    receive(engine, clock)
    runner.run_once()

    assert totals(engine) == {("filtered", ""): 1}


def test_a_request_for_a_deleted_source_fails(
    engine: Engine, runner: SourceRunner, clock: Clock
) -> None:
    receive(engine, clock)
    runner.run_once()

    [record] = records(engine)
    assert (record.status, record.category, record.error) == (
        "failed",
        "bad_request",
        "the source was deleted",
    )


# -- the retry policy -----------------------------------------------------------------------


def test_the_source_retry_defaults_are_segments() -> None:
    policy = SourceRetryPolicy()

    assert SOURCE_RETRY_ATTEMPTS == 6
    assert (SOURCE_RETRY_FIRST_MIN_S, SOURCE_RETRY_FIRST_MAX_S) == (60.0, 180.0)
    assert SOURCE_RETRY_CAP_S == 1200.0
    rng = random.Random(7)
    first_waits = [policy.backoff_s(0, rng) for _ in range(200)]
    assert min(first_waits) >= 60 and max(first_waits) <= 180
    assert all(policy.backoff_s(n, rng) <= 1200 for n in range(10))
    assert policy.backoff_s(5, rng) == 1200  # 60 * 2**5 is past the cap already


def test_the_source_retry_policy_gives_up_after_the_last_try() -> None:
    policy = SourceRetryPolicy()

    assert [policy.next_attempt_at(n, 0.0) is None for n in range(6)] == [
        False, False, False, False, False, True,
    ]  # fmt: skip


# -- the loop guard -------------------------------------------------------------------------


def test_a_function_cannot_fetch_this_services_own_webhook_urls(
    engine: Engine,
    sources: StaticSources,
    runner: SourceRunner,
    clock: Clock,
    receiver: tuple[Receiver, str],
) -> None:
    state, url = receiver
    own = url.replace("/hook", "/v1/webhooks/any-token")
    sources.plans[SOURCE_ID] = source_function(
        handler(
            f"""
            import asyncio
            asyncio.get_event_loop().run_until_complete(fetch("{own}", method="POST", body="x"))
            """
        )
    )

    receive(engine, clock)
    runner.run_once()

    [record] = records(engine)
    assert (record.status, record.category) == ("failed", "bad_request")
    assert record.error == f"FetchError: {LOOP_REFUSAL}"
    [trace] = record.requests
    assert trace["error"] == LOOP_REFUSAL
    assert state.refused == 0 and state.events() == []


def test_the_loop_guard_also_refuses_another_host_carrying_one_of_our_tokens() -> None:
    guard = WebhookLoopGuard(
        Settings(host="0.0.0.0", port=8080, public_url="https://hooks.example.com/headrace"),
        lambda token: token == "ours",
    )

    refused = [
        "http://127.0.0.1:8080/v1/webhooks/x",
        "http://localhost:8080/v1/webhooks/x",
        "http://127.0.0.2:8080/v1/webhooks/x",
        "http://[::1]:8080/v1/webhooks/x",
        "https://hooks.example.com/headrace/v1/webhooks/x",
        "https://HOOKS.example.com:443/headrace/v1/webhooks/x?a=1",
        "https://proxy.example.net/v1/webhooks/ours",
    ]
    allowed = [
        "http://127.0.0.1:8080/v1/track",
        "http://127.0.0.1:9999/v1/webhooks/x",
        "https://hooks.example.com/elsewhere",
        "https://other.example.com/v1/webhooks/theirs",
    ]
    assert [guard(u) for u in refused] == [LOOP_REFUSAL] * len(refused)
    assert [guard(u) for u in allowed] == [None] * len(allowed)


# -- as a user meets it ---------------------------------------------------------------------

PAYMENT_SOURCE_CODE = """\
import hashlib
import hmac


def on_request(request, settings):
    expected = hmac.new(
        settings["signingSecret"].encode(), request.text().encode(), hashlib.sha256
    ).hexdigest()
    given = request.headers.get("Payhook-Signature") or ""
    if not hmac.compare_digest(expected, given):
        raise ValidationError("the signature does not match")
    payment = request.json()
    if payment["type"] != "payment.succeeded":
        return
    order = payment["data"]
    Segment.track({
        "userId": order["customer"],
        "event": "Order Completed",
        "properties": {"orderId": order["id"], "revenue": order["amount"] / 100,
                       "currency": order["currency"]},
    })
    Segment.set({"collection": "orders", "id": order["id"], "properties": {"status": "paid"}})
"""
RETRYING_SOURCE_CODE = """\
def on_request(request, settings):
    raise RetryError("the upstream API is down")
"""
SIGNING_SECRET = "whsec_test_5ae1f0c3"
SERVE_ENV = {
    "HEADRACE_EGRESS_ALLOW": "127.0.0.1",
    "HEADRACE_LEASE_S": "5",
    "HEADRACE_SOURCE_RETRY_ATTEMPTS": "3",
    "HEADRACE_SOURCE_RETRY_FIRST_MIN_S": "0.1",
    "HEADRACE_SOURCE_RETRY_FIRST_MAX_S": "0.2",
    "HEADRACE_SOURCE_RETRY_CAP_S": "0.5",
}
DEADLINE_S = 30.0


def wait_for(condition: Callable[[], Any], deadline_s: float = DEADLINE_S) -> Any:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("timed out")


def data(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()["data"]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    server = start_server(tmp_path / "data", tmp_path / "logs", env=SERVE_ENV)
    yield server
    server.stop()


def make_source(api: httpx.Client, name: str, code: str, **settings: str) -> dict[str, Any]:
    function = data(
        api.post(
            "/api/v1/functions",
            json={
                "displayName": name,
                "resourceType": "SOURCE",
                "code": code,
                "settings": [
                    {"name": k, "type": "STRING", "required": True, "sensitive": True}
                    for k in settings
                ],
            },
        ),
        201,
    )
    source: dict[str, Any] = data(
        api.post(
            "/api/v1/sources",
            json={"name": name, "kind": "FUNCTION", "functionId": function["id"],
                  "settings": settings},
        ),
        201,
    )  # fmt: skip
    return source


def test_a_payment_providers_webhook_becomes_an_order_completed_event_at_a_destination(
    server: ServerProcess, receiver: tuple[Receiver, str]
) -> None:
    state, hook_url = receiver
    with server.client(server.owner_token) as api:
        source = make_source(api, "Payhook", PAYMENT_SOURCE_CODE, signingSecret=SIGNING_SECRET)
        data(
            api.post(
                "/api/v1/destinations",
                json={"name": "Orders", "kind": "WEBHOOK", "sourceIds": [source["id"]],
                      "settings": {"url": hook_url}},
            ),
            201,
        )  # fmt: skip
        flaky = make_source(api, "Flaky", RETRYING_SOURCE_CODE)
    assert source["webhookUrl"].startswith(f"{server.url}/v1/webhooks/")

    payment = orjson.dumps(
        {
            "type": "payment.succeeded",
            "data": {"id": "ord_1042", "customer": "cus_77", "amount": 4250, "currency": "EUR"},
        }
    )
    signature = hmac.new(SIGNING_SECRET.encode(), payment, hashlib.sha256).hexdigest()
    headers = {"Content-Type": "application/json", "Payhook-Signature": signature}
    answer = httpx.post(source["webhookUrl"], content=payment, headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.json()["success"] is True

    [event] = wait_for(state.events)
    assert (event["type"], event["event"], event["userId"]) == (
        "track",
        "Order Completed",
        "cus_77",
    )
    assert event["properties"] == {"orderId": "ord_1042", "revenue": 42.5, "currency": "EUR"}
    assert event["messageId"] and event["receivedAt"]

    forged = {**headers, "Payhook-Signature": "0" * 64}
    assert httpx.post(source["webhookUrl"], content=payment, headers=forged).status_code == 200
    assert httpx.post(flaky["webhookUrl"], json={"n": 1}).status_code == 200

    with server.client(server.owner_token) as api:
        rejected = wait_for(
            lambda: data(api.get(f"/api/v1/sources/{source['id']}/delivery/events?status=failed"))[
                "records"
            ]
        )
        tries = wait_for(
            lambda: [
                r
                for r in data(api.get(f"/api/v1/sources/{flaky['id']}/delivery/events"))["records"]
                if r["status"] == "expired"
            ]
        )
        flaky_records = data(api.get(f"/api/v1/sources/{flaky['id']}/delivery/events"))
        objects = data(api.get(f"/api/v1/sources/{source['id']}/delivery/events"))["objects"]
        totals = data(api.get(f"/api/v1/sources/{source['id']}/delivery"))

    [record] = rejected
    assert record["category"] == "message_rejected"
    assert record["error"] == "ValidationError: the signature does not match"
    assert record["payload"]["headers"]["payhook-signature"] == "0" * 64
    assert [(r["status"], r["attempts"]) for r in reversed(flaky_records["records"])] == [
        ("retrying", 1),
        ("retrying", 2),
        ("expired", 3),
    ]
    assert tries[0]["error"] == "RetryError: the upstream API is down"
    assert objects == [
        {"collection": "orders", "id": "ord_1042", "properties": {"status": "paid"},
         "updatedAt": objects[0]["updatedAt"]}
    ]  # fmt: skip
    assert totals["total"] == 2
    assert totals["events"] == {"accepted": 1, "rejected": []}
    assert len(state.events()) == 1


HOOKED_SOURCE_CODE = """\
def on_request(request, settings):
    Segment.track({"event": "Hooked", "userId": "u1"})
"""
QUIET_S = 0.5
"""Room for a request that slipped past the loop guard to show up at the source."""


def failed_records(api: httpx.Client, destination_id: str, count: int) -> list[dict[str, Any]]:
    """The destination's failed records once there are `count` of them, else []."""
    path = f"/api/v1/destinations/{destination_id}/delivery/events?status=failed"
    found: list[dict[str, Any]] = data(api.get(path))
    return found if len(found) == count else []


def test_a_webhook_destination_pointed_at_a_function_sources_own_url_fails_as_a_loop(
    server: ServerProcess,
) -> None:
    with server.client(server.owner_token) as api:
        hooked = make_source(api, "Hooked", HOOKED_SOURCE_CODE)
        web = data(api.post("/api/v1/sources", json={"name": "Web", "kind": "TRACKING"}), 201)
        loop = data(
            api.post(
                "/api/v1/destinations",
                json={"name": "Loop", "kind": "WEBHOOK", "sourceIds": [web["id"]],
                      "settings": {"url": hooked["webhookUrl"]}},
            ),
            201,
        )  # fmt: skip
        step = {"type": "track", "event": "Step", "userId": "u1"}
        batch = [{**step, "messageId": "m1"}, {**step, "messageId": "m2"}]
        sent = httpx.post(
            f"{server.url}/v1/batch", auth=(web["writeKey"], ""), json={"batch": batch}
        )
        assert sent.status_code == 200, sent.text

        failed = wait_for(lambda: failed_records(api, loop["id"], count=2))
        time.sleep(QUIET_S)
        at_the_source = data(api.get(f"/api/v1/sources/{hooked['id']}/delivery"))

    assert hooked["webhookUrl"].startswith(f"{server.url}/v1/webhooks/")
    assert sorted(r["messageId"] for r in failed) == ["m1", "m2"]
    assert {(r["category"], r["error"]) for r in failed} == {("invalid_settings", LOOP_REFUSAL)}
    assert at_the_source["total"] == 0
    assert at_the_source["events"] == {"accepted": 0, "rejected": []}
