"""A destination's event delivery through the API: the summary (`/delivery`), the kept
records (`/delivery/events`, redacted), debug capture (`/debug`) and replay (`/replay`).

Outcomes are written straight into the store with the pipeline's own `DeliveryLog`, so each
test knows exactly what was recorded; the pipeline workers are off, so replayed events stay
in the `jobs` table to be looked at.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from headrace.pipeline.deliver import QUEUE_BATCH, QUEUE_DELIVER
from headrace.services import Services
from headrace.store.deliveries import DeliveryLog, DeliveryRecord
from headrace.store.queue import jobs
from tests.api.support import SECRET, Caller, only_error, owner_of

HOOK_URL = "https://hooks.example.com/in"
HOOK_SECRET = "Bearer s3cr3t-value"
REDACTED = "[redacted]"
LATENCY_TOLERANCE = 0.125
"""Latency percentiles are read from histograms good to about 12 %."""
CLOCK_SLACK_S = 5.0

INSERT_CODE = """\
def on_track(event, settings):
    return event
"""


RUN_PIPELINE = False
"""Without the pipeline's own workers: the tests write and read delivery records themselves."""


@pytest.fixture
def anchor() -> float:
    """The start of a minute half an hour ago: records are written from here on."""
    return float((int(time.time()) // 60 - 30) * 60)


def create_webhook(caller: Caller, **settings: Any) -> dict[str, Any]:
    body = {"name": "Hook", "kind": "WEBHOOK", "settings": {"url": HOOK_URL, **settings}}
    return dict(caller.data(caller.post("/destinations", body), 201))


def record(
    services: Services,
    destination: dict[str, Any],
    message_id: str,
    at: float,
    status: str,
    category: str = "",
    *,
    error: str | None = None,
    latency_ms: float = 0.0,
    logs: Sequence[str] = (),
    requests: Sequence[dict[str, Any]] = (),
    properties: dict[str, Any] | None = None,
    attempts: int = 1,
    captured: bool = False,
    workspace_id: str | None = None,
) -> None:
    """One outcome of `destination`, written as the pipeline writes it."""
    event = {"type": "track", "event": "Order Completed", "userId": "u1", "messageId": message_id}
    if properties is not None:
        event["properties"] = properties
    outcome = DeliveryRecord(
        workspace_id=workspace_id or services_workspace(services, destination),
        destination_id=destination["id"],
        message_id=message_id,
        at=at,
        status=status,
        category=category,
        error=error,
        attempts=attempts,
        payload=orjson.dumps(event),
        logs=orjson.dumps(list(logs)).decode(),
        requests=orjson.dumps(list(requests)).decode(),
        latency_ms=latency_ms,
        captured=captured,
    )
    with services.engine.begin() as conn:
        DeliveryLog().write(conn, [outcome])


def services_workspace(services: Services, destination: dict[str, Any]) -> str:
    plan = services.invocations.destination(destination["id"])
    assert plan is not None
    return plan.workspace_id


def iso(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).isoformat()


def period(since: float, until: float) -> str:
    return urlencode({"from": iso(since), "to": iso(until)})


def summary(caller: Caller, destination: dict[str, Any], query: str = "") -> dict[str, Any]:
    path = f"/destinations/{destination['id']}/delivery" + (f"?{query}" if query else "")
    found: dict[str, Any] = caller.data(caller.get(path))
    return found


def events(caller: Caller, destination: dict[str, Any], query: str = "") -> list[dict[str, Any]]:
    path = f"/destinations/{destination['id']}/delivery/events" + (f"?{query}" if query else "")
    found: list[dict[str, Any]] = caller.data(caller.get(path))
    return found


def replay(
    caller: Caller, destination: dict[str, Any], since: float, until: float, **fields: Any
) -> Any:
    body = {"from": iso(since), "to": iso(until), **fields}
    return caller.post(f"/destinations/{destination['id']}/replay", body)


def queued(services: Services, destination: dict[str, Any]) -> list[tuple[str, str, float]]:
    """(queue, messageId, first enqueued at) of each job waiting for `destination`."""
    with services.engine.connect() as conn:
        rows = conn.execute(
            select(jobs.c.queue, jobs.c.payload, jobs.c.first_enqueued_at)
            .where(jobs.c.target_id == destination["id"])
            .order_by(jobs.c.id)
        ).all()
    return [(r.queue, orjson.loads(r.payload)["messageId"], r.first_enqueued_at) for r in rows]


# -- the summary ---------------------------------------------------------------------------


def test_summary_counts_outcomes_by_status_and_failures_by_category(
    owner: Caller, services: Services, anchor: float
) -> None:
    hook = create_webhook(owner)
    outcomes = [
        ("delivered", ""),
        ("delivered", ""),
        ("delivered", ""),
        ("retrying", "retry"),
        ("retrying", "timeout"),
        ("filtered", "filtered"),
        ("expired", "retry"),
        ("failed", "bad_request"),
        ("failed", "bad_request"),
        ("failed", "message_rejected"),
    ]
    for n, (status, category) in enumerate(outcomes):
        record(services, hook, f"m{n}", anchor + n, status, category)

    found = summary(owner, hook)

    assert found["totals"] == {
        "delivered": 3,
        "retrying": 2,
        "filtered": 1,
        "expired": 1,
        "failed": 3,
        "failedByCategory": {"bad_request": 2, "message_rejected": 1},
    }


def test_summary_covers_the_last_24_hours_by_default(owner: Caller) -> None:
    hook = create_webhook(owner)

    found = summary(owner, hook)

    since, until = datetime.fromisoformat(found["from"]), datetime.fromisoformat(found["to"])
    assert until - since == timedelta(hours=24)
    assert abs((until - datetime.now(UTC)).total_seconds()) < CLOCK_SLACK_S
    assert found["series"] == []
    assert found["latencyMs"] == {"p50": None, "p95": None}


def test_summary_series_lists_each_minute_that_had_outcomes_oldest_first(
    owner: Caller, services: Services, anchor: float
) -> None:
    hook = create_webhook(owner)
    record(services, hook, "a", anchor + 1, "delivered")
    record(services, hook, "b", anchor + 30, "delivered")
    record(services, hook, "c", anchor + 59, "failed", "bad_request")
    record(services, hook, "d", anchor + 120 + 5, "expired", "retry")

    series = summary(owner, hook)["series"]

    assert [datetime.fromisoformat(m["minute"]) for m in series] == [
        datetime.fromtimestamp(anchor, UTC),
        datetime.fromtimestamp(anchor + 120, UTC),
    ]
    assert [{k: v for k, v in m.items() if k != "minute"} for m in series] == [
        {"delivered": 2, "retrying": 0, "filtered": 0, "expired": 0, "failed": 1},
        {"delivered": 0, "retrying": 0, "filtered": 0, "expired": 1, "failed": 0},
    ]


def test_summary_latency_is_the_p50_and_p95_of_delivered_events(
    owner: Caller, services: Services, anchor: float
) -> None:
    hook = create_webhook(owner)
    for n in range(18):
        record(services, hook, f"fast-{n}", anchor + n, "delivered", latency_ms=40.0)
    for n in range(2):
        record(services, hook, f"slow-{n}", anchor + 60 + n, "delivered", latency_ms=1000.0)
    # Outcomes other than deliveries have no delivery latency.
    record(services, hook, "lost", anchor + 61, "expired", "retry", latency_ms=90_000.0)

    latency = summary(owner, hook)["latencyMs"]

    assert latency["p50"] == pytest.approx(40.0, rel=LATENCY_TOLERANCE)
    assert latency["p95"] == pytest.approx(1000.0, rel=LATENCY_TOLERANCE)


def test_summary_counts_only_the_period_asked_for(
    owner: Caller, services: Services, anchor: float
) -> None:
    hook = create_webhook(owner)
    record(services, hook, "before", anchor - 7200, "failed", "bad_request")
    record(services, hook, "inside", anchor + 10, "delivered", latency_ms=40.0)
    record(services, hook, "after", anchor + 600, "expired", "retry")

    found = summary(owner, hook, period(anchor, anchor + 300))

    assert datetime.fromisoformat(found["from"]) == datetime.fromtimestamp(anchor, UTC)
    assert datetime.fromisoformat(found["to"]) == datetime.fromtimestamp(anchor + 300, UTC)
    assert found["totals"] == {
        "delivered": 1,
        "retrying": 0,
        "filtered": 0,
        "expired": 0,
        "failed": 0,
        "failedByCategory": {},
    }
    assert len(found["series"]) == 1
    assert found["latencyMs"]["p50"] == pytest.approx(40.0, rel=LATENCY_TOLERANCE)


@pytest.mark.parametrize("length_s", [0, -3600], ids=["empty", "backwards"])
def test_a_period_that_does_not_end_after_it_starts_is_refused(
    owner: Caller, anchor: float, length_s: int
) -> None:
    hook = create_webhook(owner)

    response = owner.get(f"/destinations/{hook['id']}/delivery?{period(anchor, anchor + length_s)}")

    assert only_error(response, 400)["field"] == "from"


def refused_field(response: Any) -> str:
    """The field a 400 or 422 refusal names (422s name it in their message)."""
    assert response.status_code in (400, 422), response.text
    error: dict[str, Any] = response.json()["errors"][0]
    return str(error.get("field") or error["message"])


def test_a_period_start_without_a_time_zone_is_refused(owner: Caller) -> None:
    hook = create_webhook(owner)

    response = owner.get(f"/destinations/{hook['id']}/delivery?from=2026-01-01T00:00:00")

    assert "from" in refused_field(response)


# -- the records ---------------------------------------------------------------------------


def test_events_list_the_kept_records_newest_first(
    owner: Caller, services: Services, anchor: float
) -> None:
    hook = create_webhook(owner)
    record(
        services,
        hook,
        "m-failed",
        anchor + 1,
        "failed",
        "bad_request",
        error="the webhook answered HTTP 400",
        logs=["posting"],
        requests=[{"method": "POST", "url": HOOK_URL, "status": 400}],
    )
    record(services, hook, "m-delivered", anchor + 2, "delivered")
    record(services, hook, "m-expired", anchor + 3, "expired", "retry", attempts=7)

    found = events(owner, hook)

    assert [e["messageId"] for e in found] == ["m-expired", "m-failed"]
    failed = found[1]
    assert datetime.fromisoformat(failed["at"]) == datetime.fromtimestamp(anchor + 1, UTC)
    assert (failed["status"], failed["category"], failed["error"], failed["attempts"]) == (
        "failed",
        "bad_request",
        "the webhook answered HTTP 400",
        1,
    )
    assert failed["logs"] == ["posting"]
    assert failed["requests"] == [{"method": "POST", "url": HOOK_URL, "status": 400}]
    assert failed["payload"]["messageId"] == "m-failed"
    assert found[0]["attempts"] == 7


def test_events_list_plain_deliveries_captured_while_debugging(
    owner: Caller, services: Services, anchor: float
) -> None:
    hook = create_webhook(owner)
    record(services, hook, "plain", anchor + 1, "delivered")
    record(services, hook, "captured", anchor + 2, "delivered", captured=True)

    assert [(e["messageId"], e["status"]) for e in events(owner, hook)] == [
        ("captured", "delivered")
    ]


def test_events_can_be_narrowed_by_status_category_and_limit(
    owner: Caller, services: Services, anchor: float
) -> None:
    hook = create_webhook(owner)
    record(services, hook, "r1", anchor + 1, "retrying", "retry")
    record(services, hook, "f1", anchor + 2, "failed", "bad_request")
    record(services, hook, "f2", anchor + 3, "failed", "message_rejected")
    record(services, hook, "e1", anchor + 4, "expired", "retry")
    record(services, hook, "f3", anchor + 5, "failed", "bad_request")

    def ids(query: str) -> list[str]:
        return [e["messageId"] for e in events(owner, hook, query)]

    assert ids("status=failed") == ["f3", "f2", "f1"]
    assert ids("category=retry") == ["e1", "r1"]
    assert ids("status=failed&category=bad_request") == ["f3", "f1"]
    assert ids("limit=2") == ["f3", "e1"]


@pytest.mark.parametrize(
    ("query", "field"), [("status=lost", "status"), ("category=oops", "category")]
)
def test_events_with_an_unknown_status_or_category_are_refused(
    owner: Caller, query: str, field: str
) -> None:
    hook = create_webhook(owner)

    response = owner.get(f"/destinations/{hook['id']}/delivery/events?{query}")

    assert only_error(response, 400)["field"] == field


@pytest.mark.parametrize("limit", [0, 1001])
def test_events_with_a_limit_outside_1_to_1000_are_refused(owner: Caller, limit: int) -> None:
    hook = create_webhook(owner)

    response = owner.get(f"/destinations/{hook['id']}/delivery/events?limit={limit}")

    assert "limit" in only_error(response, 422)["message"]


# -- redaction -----------------------------------------------------------------------------


def record_leaking(services: Services, destination: dict[str, Any], secret: str, at: float) -> None:
    """A failed outcome whose error, logs, request trace and event all hold `secret`."""
    record(
        services,
        destination,
        "leaky",
        at,
        "failed",
        "bad_request",
        error=f"refused: {secret}",
        logs=[f"using {secret}"],
        requests=[{"method": "POST", "url": f"{HOOK_URL}?auth={secret}", "status": 400}],
        properties={"echo": secret, "nested": [{"again": secret}]},
    )


def assert_redacted(event: dict[str, Any]) -> None:
    assert event["error"] == f"refused: {REDACTED}"
    assert event["logs"] == [f"using {REDACTED}"]
    assert event["requests"][0]["url"] == f"{HOOK_URL}?auth={REDACTED}"
    assert event["payload"]["properties"] == {"echo": REDACTED, "nested": [{"again": REDACTED}]}


def test_a_webhooks_header_value_is_redacted_wherever_a_record_holds_it(
    owner: Caller, services: Services, anchor: float
) -> None:
    hook = create_webhook(owner, headers={"Authorization": HOOK_SECRET})
    record_leaking(services, hook, HOOK_SECRET, anchor)

    response = owner.get(f"/destinations/{hook['id']}/delivery/events")

    assert "s3cr3t" not in response.text
    assert_redacted(owner.data(response)[0])


def test_a_function_destinations_sensitive_setting_is_redacted_wherever_a_record_holds_it(
    owner: Caller, services: Services, anchor: float
) -> None:
    function = owner.create_function()
    destination = owner.create_destination(function["id"])  # apiKey is SECRET, sensitive
    record_leaking(services, destination, SECRET, anchor)

    response = owner.get(f"/destinations/{destination['id']}/delivery/events")

    assert SECRET not in response.text
    assert_redacted(owner.data(response)[0])


def test_the_insert_functions_sensitive_setting_is_redacted_too(
    owner: Caller, services: Services, anchor: float
) -> None:
    hook = create_webhook(owner)
    insert = owner.create_function(
        displayName="Enrich",
        resourceType="INSERT_DESTINATION",
        code=INSERT_CODE,
        settings=[{"name": "token", "type": "STRING", "required": True, "sensitive": True}],
    )
    body = {"functionId": insert["id"], "destinationId": hook["id"], "settings": {"token": SECRET}}
    owner.data(owner.post("/insert-function-instances", body), 201)
    record_leaking(services, hook, SECRET, anchor)

    response = owner.get(f"/destinations/{hook['id']}/delivery/events")

    assert SECRET not in response.text
    assert_redacted(owner.data(response)[0])


def test_request_headers_named_like_credentials_are_redacted(
    owner: Caller, services: Services, anchor: float
) -> None:
    hook = create_webhook(owner)
    trace = {
        "method": "POST",
        "url": "https://api.example.com/orders",
        "status": 401,
        "headers": {
            "Authorization": "Basic dXNlcjpwYXNz",
            "X-Api-Key": "k-12345678",
            "Cookie": "session=abcdef",
            "Content-Type": "application/json",
        },
    }
    record(services, hook, "m1", anchor, "failed", "bad_request", requests=[trace])

    headers = events(owner, hook)[0]["requests"][0]["headers"]

    assert headers == {
        "Authorization": REDACTED,
        "X-Api-Key": REDACTED,
        "Cookie": REDACTED,
        "Content-Type": "application/json",
    }


# -- who may look --------------------------------------------------------------------------


def test_a_member_without_source_admin_for_the_destination_sees_the_summary_not_the_records(
    owner: Caller, services: Services, anchor: float
) -> None:
    hook = create_webhook(owner)
    other = create_webhook(owner, url="https://hooks.example.com/other")
    record(services, hook, "m1", anchor, "failed", "bad_request")
    reader = owner.create_member({"role": "FUNCTIONS_READ_ONLY"}, email="reader@example.com")
    elsewhere = owner.create_member(
        {"role": "SOURCE_ADMIN", "resourceIds": [other["id"]]}, email="other@example.com"
    )

    for member in (reader, elsewhere):
        refused = member.get(f"/destinations/{hook['id']}/delivery/events")
        assert "SOURCE_ADMIN" in only_error(refused, 403)["message"]
        assert summary(member, hook)["totals"]["failed"] == 1


def test_source_admin_for_the_destination_may_read_its_records(
    owner: Caller, services: Services, anchor: float
) -> None:
    hook = create_webhook(owner)
    record(services, hook, "m1", anchor, "failed", "bad_request")
    admin = owner.create_member(
        {"role": "SOURCE_ADMIN", "resourceIds": [hook["id"]]}, email="admin@example.com"
    )

    assert [e["messageId"] for e in events(admin, hook)] == ["m1"]


def test_a_functions_role_for_its_function_may_read_a_function_destinations_records(
    owner: Caller, services: Services, anchor: float
) -> None:
    function = owner.create_function()
    unrelated = owner.create_function(displayName="Another")
    destination = owner.create_destination(function["id"])
    record(services, destination, "m1", anchor, "failed", "bad_request")
    reader = owner.create_member(
        {"role": "FUNCTIONS_READ_ONLY", "resourceIds": [function["id"]]}, email="r@example.com"
    )
    stranger = owner.create_member(
        {"role": "FUNCTIONS_READ_ONLY", "resourceIds": [unrelated["id"]]}, email="s@example.com"
    )

    assert [e["messageId"] for e in events(reader, destination)] == ["m1"]
    refused = stranger.get(f"/destinations/{destination['id']}/delivery/events")
    assert only_error(refused, 403)["type"] == "forbidden"


def test_another_workspaces_destination_is_not_found(
    client: TestClient, services: Services, owner: Caller, anchor: float
) -> None:
    theirs = create_webhook(owner_of(client, services, name="globex"))
    path = f"/destinations/{theirs['id']}"
    body = {"from": iso(anchor), "to": iso(anchor + 60), "statuses": ["expired"]}

    assert owner.get(f"{path}/delivery").status_code == 404
    assert owner.get(f"{path}/delivery/events").status_code == 404
    assert owner.post(f"{path}/debug", {"minutes": 5}).status_code == 404
    assert owner.post(f"{path}/replay", body).status_code == 404


# -- debug capture -------------------------------------------------------------------------


def switch_debug(caller: Caller, destination: dict[str, Any], minutes: Any) -> Any:
    return caller.post(f"/destinations/{destination['id']}/debug", {"minutes": minutes})


def test_debug_capture_is_on_for_the_minutes_asked_for(owner: Caller, services: Services) -> None:
    hook = create_webhook(owner)

    answer = owner.data(switch_debug(owner, hook, 5))

    until = datetime.fromisoformat(answer["debugUntil"])
    expected = datetime.now(UTC) + timedelta(minutes=5)
    assert abs((until - expected).total_seconds()) < CLOCK_SLACK_S
    shown = owner.data(owner.get(f"/destinations/{hook['id']}"))["debugUntil"]
    assert datetime.fromisoformat(shown) == until


def test_the_pipeline_records_plain_deliveries_while_debug_capture_is_on(
    owner: Caller, services: Services
) -> None:
    hook = create_webhook(owner)

    owner.data(switch_debug(owner, hook, 5))

    plan = services.invocations.destination(hook["id"])
    assert plan is not None and plan.debug_until is not None
    assert abs(plan.debug_until - (time.time() + 300)) < CLOCK_SLACK_S


def test_zero_minutes_switches_debug_capture_off(owner: Caller, services: Services) -> None:
    hook = create_webhook(owner)
    owner.data(switch_debug(owner, hook, 5))

    answer = owner.data(switch_debug(owner, hook, 0))

    assert answer == {"debugUntil": None}
    assert owner.data(owner.get(f"/destinations/{hook['id']}"))["debugUntil"] is None
    plan = services.invocations.destination(hook["id"])
    assert plan is not None and plan.debug_until is None


@pytest.mark.parametrize("minutes", [61, -1, "5", 2.5])
def test_debug_capture_of_other_than_0_to_60_whole_minutes_is_refused(
    owner: Caller, minutes: Any
) -> None:
    hook = create_webhook(owner)

    response = switch_debug(owner, hook, minutes)

    assert "minutes" in only_error(response, 422)["message"]
    assert owner.data(owner.get(f"/destinations/{hook['id']}"))["debugUntil"] is None


def test_switching_debug_capture_is_audited(owner: Caller) -> None:
    hook = create_webhook(owner)

    owner.data(switch_debug(owner, hook, 5))

    entries = owner.data(owner.get("/audit", params={"resourceId": hook["id"]}))
    latest = entries[0]
    assert (latest["action"], latest["actor"], latest["details"]) == (
        "destination.debug_capture",
        owner.member_id,
        {"minutes": 5},
    )


def test_debug_capture_needs_the_roles_to_change_the_destination(owner: Caller) -> None:
    function = owner.create_function()
    destination = owner.create_destination(function["id"])
    reader = owner.create_member({"role": "FUNCTIONS_READ_ONLY"}, email="reader@example.com")
    source_admin = owner.create_member({"role": "SOURCE_ADMIN"}, email="admin@example.com")

    assert switch_debug(reader, destination, 5).status_code == 403
    refused = switch_debug(source_admin, destination, 5)  # lacks FUNCTIONS_ADMIN
    assert "FUNCTIONS_ADMIN" in only_error(refused, 403)["message"]
    assert owner.data(owner.get(f"/destinations/{destination['id']}"))["debugUntil"] is None


# -- replay --------------------------------------------------------------------------------


def test_replay_enqueues_the_expired_events_on_the_deliver_queue_with_their_message_ids(
    owner: Caller, services: Services, anchor: float
) -> None:
    hook = create_webhook(owner)
    for n in range(3):
        record(services, hook, f"lost-{n}", anchor + n, "expired", "retry")
    record(services, hook, "broken", anchor + 5, "failed", "bad_request")
    record(services, hook, "waiting", anchor + 6, "retrying", "retry")

    answer = owner.data(replay(owner, hook, anchor, time.time(), statuses=["expired"]))

    assert answer == {"replayed": 3, "statuses": ["expired"], "categories": []}
    waiting = queued(services, hook)
    assert [(queue, message_id) for queue, message_id, _ in waiting] == [
        (QUEUE_DELIVER, "lost-0"),
        (QUEUE_DELIVER, "lost-1"),
        (QUEUE_DELIVER, "lost-2"),
    ]


def test_replayed_events_start_a_fresh_retry_window(
    owner: Caller, services: Services, anchor: float
) -> None:
    hook = create_webhook(owner)
    record(services, hook, "lost", anchor, "expired", "retry")

    owner.data(replay(owner, hook, anchor, time.time(), statuses=["expired"]))

    [(_, _, first_enqueued_at)] = queued(services, hook)
    assert abs(first_enqueued_at - time.time()) < CLOCK_SLACK_S


def test_replay_replays_expired_events_when_no_statuses_are_given(
    owner: Caller, services: Services, anchor: float
) -> None:
    hook = create_webhook(owner)
    record(services, hook, "lost", anchor, "expired", "retry")
    record(services, hook, "broken", anchor + 1, "failed", "bad_request")

    answer = owner.data(replay(owner, hook, anchor, time.time()))

    assert (answer["replayed"], answer["statuses"]) == (1, ["expired"])
    assert [message_id for _, message_id, _ in queued(services, hook)] == ["lost"]


def test_replay_of_a_webhook_that_sends_batches_enqueues_on_the_batch_queue(
    owner: Caller, services: Services, anchor: float
) -> None:
    hook = create_webhook(owner, sendBatches=True)
    record(services, hook, "lost-0", anchor, "expired", "retry")
    record(services, hook, "lost-1", anchor + 1, "expired", "retry")

    owner.data(replay(owner, hook, anchor, time.time(), statuses=["expired"]))

    assert [(q, m) for q, m, _ in queued(services, hook)] == [
        (QUEUE_BATCH, "lost-0"),
        (QUEUE_BATCH, "lost-1"),
    ]


def test_replayed_events_are_not_offered_again(
    owner: Caller, services: Services, anchor: float
) -> None:
    hook = create_webhook(owner)
    record(services, hook, "lost-0", anchor, "expired", "retry")
    record(services, hook, "lost-1", anchor + 1, "expired", "retry")
    owner.data(replay(owner, hook, anchor, time.time(), statuses=["expired"]))

    again = owner.data(replay(owner, hook, anchor, time.time(), statuses=["expired"]))

    assert again["replayed"] == 0
    assert len(queued(services, hook)) == 2


def test_a_message_with_several_records_is_replayed_once(
    owner: Caller, services: Services, anchor: float
) -> None:
    hook = create_webhook(owner)
    record(services, hook, "twice", anchor, "expired", "retry")
    record(services, hook, "twice", anchor + 60, "expired", "retry")

    answer = owner.data(replay(owner, hook, anchor, time.time(), statuses=["expired"]))

    assert answer["replayed"] == 1
    assert [message_id for _, message_id, _ in queued(services, hook)] == ["twice"]


def test_replay_takes_only_the_failed_events_of_the_categories_asked_for(
    owner: Caller, services: Services, anchor: float
) -> None:
    hook = create_webhook(owner)
    record(services, hook, "bad-0", anchor, "failed", "bad_request")
    record(services, hook, "rejected", anchor + 1, "failed", "message_rejected")
    record(services, hook, "bad-1", anchor + 2, "failed", "bad_request")
    record(services, hook, "lost", anchor + 3, "expired", "retry")

    answer = owner.data(
        replay(owner, hook, anchor, time.time(), statuses=["failed"], categories=["bad_request"])
    )

    assert answer == {"replayed": 2, "statuses": ["failed"], "categories": ["bad_request"]}
    assert [message_id for _, message_id, _ in queued(services, hook)] == ["bad-0", "bad-1"]


def test_replay_takes_only_the_events_of_the_period(
    owner: Caller, services: Services, anchor: float
) -> None:
    hook = create_webhook(owner)
    record(services, hook, "before", anchor - 1, "expired", "retry")
    record(services, hook, "inside", anchor, "expired", "retry")
    record(services, hook, "at-the-end", anchor + 60, "expired", "retry")

    answer = owner.data(replay(owner, hook, anchor, anchor + 60, statuses=["expired"]))

    assert answer["replayed"] == 1
    assert [message_id for _, message_id, _ in queued(services, hook)] == ["inside"]


@pytest.mark.parametrize("status", ["delivered", "retrying", "filtered", "lost"])
def test_only_expired_and_failed_events_can_be_replayed(
    owner: Caller, services: Services, anchor: float, status: str
) -> None:
    hook = create_webhook(owner)
    record(services, hook, "m1", anchor, "retrying", "retry")

    response = replay(owner, hook, anchor, time.time(), statuses=[status])

    assert only_error(response, 400)["field"] == "statuses"
    assert queued(services, hook) == []


def test_replay_of_an_unknown_category_is_refused(
    owner: Caller, services: Services, anchor: float
) -> None:
    hook = create_webhook(owner)

    response = replay(owner, hook, anchor, time.time(), statuses=["failed"], categories=["oops"])

    assert only_error(response, 400)["field"] == "category"


def test_replay_of_a_period_that_does_not_end_after_it_starts_is_refused(
    owner: Caller, services: Services, anchor: float
) -> None:
    hook = create_webhook(owner)
    record(services, hook, "lost", anchor, "expired", "retry")

    response = replay(owner, hook, anchor, anchor, statuses=["expired"])

    assert only_error(response, 400)["field"] == "from"
    assert queued(services, hook) == []


def test_a_replay_period_start_without_a_time_zone_is_refused(
    owner: Caller, services: Services, anchor: float
) -> None:
    hook = create_webhook(owner)
    body = {"from": "2026-01-01T00:00:00", "to": iso(time.time()), "statuses": ["expired"]}

    response = owner.post(f"/destinations/{hook['id']}/replay", body)

    assert "from" in refused_field(response)
    assert queued(services, hook) == []


def test_replay_needs_the_roles_to_change_the_destination(
    owner: Caller, services: Services, anchor: float
) -> None:
    hook = create_webhook(owner)
    record(services, hook, "lost", anchor, "expired", "retry")
    reader = owner.create_member({"role": "FUNCTIONS_READ_ONLY"}, email="reader@example.com")

    response = replay(reader, hook, anchor, time.time(), statuses=["expired"])

    assert "SOURCE_ADMIN" in only_error(response, 403)["message"]
    assert queued(services, hook) == []
    assert owner.data(replay(owner, hook, anchor, time.time()))["replayed"] == 1


def test_replay_is_audited_with_the_number_of_events(
    owner: Caller, services: Services, anchor: float
) -> None:
    hook = create_webhook(owner)
    record(services, hook, "lost", anchor, "expired", "retry")

    owner.data(replay(owner, hook, anchor, time.time(), statuses=["expired"]))

    latest = owner.data(owner.get("/audit", params={"resourceId": hook["id"]}))[0]
    assert latest["action"] == "destination.replayed"
    assert (latest["details"]["statuses"], latest["details"]["events"]) == (["expired"], 1)
