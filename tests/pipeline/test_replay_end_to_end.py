"""Replay as a user lives it, on a real `headrace serve` with a retry window of two seconds:
events sent through the tracking API expire against a receiver that is down, the delivery
endpoints show them, and once the receiver (or the function) is fixed a replay delivers
each of them exactly once with its original messageId."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from headrace.pipeline.catalog import CATALOG_TTL_S
from tests.helpers import ServerProcess, start_server
from tests.pipeline.conftest import Receiver

RETRY_WINDOW_S = 2.0
PIPELINE_ENV = {
    "HEADRACE_EGRESS_ALLOW": "127.0.0.1",
    "HEADRACE_LEASE_S": "2",
    "HEADRACE_RETRY_WINDOW_S": str(RETRY_WINDOW_S),
    "HEADRACE_RETRY_BASE_S": "0.1",
    "HEADRACE_RETRY_CAP_S": "0.3",
}
DEADLINE_S = 20.0
QUIET_S = 0.5
"""Room for a duplicate delivery to show up, were there one."""
EVENTS = 5

BROKEN_CODE = """\
async def on_track(event, settings):
    if event["event"] != "Order Completed":
        raise ValidationError("only orders")
    order = event["properties"]["order_id"]  # a typo: events carry orderId
    await fetch(settings["url"], method="POST", json={"order": order})
"""
FIXED_CODE = """\
async def on_track(event, settings):
    if event["event"] != "Order Completed":
        raise ValidationError("only orders")
    response = await fetch(settings["url"], method="POST", json=event)
    if not response.ok:
        raise RetryError(f"the receiver answered {response.status}")
"""


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    running = start_server(tmp_path / "data", tmp_path / "logs", env=PIPELINE_ENV)
    yield running
    running.stop()


@pytest.fixture
def api(server: ServerProcess) -> Iterator[httpx.Client]:
    with server.client(server.owner_token) as client:
        yield client


def data(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()["data"]


def wait_for(condition: Callable[[], Any], what: str) -> Any:
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def create_source(api: httpx.Client) -> dict[str, Any]:
    body = {"name": "Web", "kind": "TRACKING"}
    return dict(data(api.post("/api/v1/sources", json=body), 201))


def create_destination(api: httpx.Client, **body: Any) -> dict[str, Any]:
    return dict(data(api.post("/api/v1/destinations", json=body), 201))


def send(server: ServerProcess, source: dict[str, Any], events: list[dict[str, Any]]) -> None:
    with httpx.Client(base_url=server.url, auth=(source["writeKey"], ""), timeout=5) as http:
        assert http.post("/v1/batch", json={"batch": events}).status_code == 200


def orders(count: int, prefix: str) -> list[dict[str, Any]]:
    return [
        {
            "type": "track",
            "event": "Order Completed",
            "userId": f"user-{n}",
            "messageId": f"{prefix}-{n}",
            "properties": {"orderId": n},
        }
        for n in range(count)
    ]


def totals(api: httpx.Client, destination: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = data(api.get(f"/api/v1/destinations/{destination['id']}/delivery"))
    return dict(found["totals"])


def records(api: httpx.Client, destination: dict[str, Any], query: str) -> list[dict[str, Any]]:
    path = f"/api/v1/destinations/{destination['id']}/delivery/events?{query}"
    found: list[dict[str, Any]] = data(api.get(path))
    return found


def replay(
    api: httpx.Client, destination: dict[str, Any], since: datetime, **fields: Any
) -> dict[str, Any]:
    until = datetime.now(UTC) + timedelta(minutes=1)
    body = {"from": since.isoformat(), "to": until.isoformat(), **fields}
    found: dict[str, Any] = data(
        api.post(f"/api/v1/destinations/{destination['id']}/replay", json=body)
    )
    return found


def expired_while_down(
    server: ServerProcess, api: httpx.Client, state: Receiver, hook_url: str
) -> tuple[dict[str, Any], datetime, list[dict[str, Any]]]:
    """A webhook destination whose receiver answers 503 until every one of EVENTS sent
    events has expired: the destination, when they were sent, and the events."""
    state.status = 503
    source = create_source(api)
    hook = create_destination(
        api, name="Receiver", kind="WEBHOOK", sourceIds=[source["id"]], settings={"url": hook_url}
    )
    since = datetime.now(UTC) - timedelta(seconds=1)
    sent = orders(EVENTS, "lost")
    send(server, source, sent)
    wait_for(lambda: totals(api, hook)["expired"] == EVENTS, "the events to expire")
    return hook, since, sent


def arrived_once(receiver: Receiver, expected: list[str]) -> None:
    """Every one of `expected` arrived, and nothing arrived twice."""
    wait_for(lambda: len(receiver.events()) >= len(expected), "the replayed events")
    time.sleep(QUIET_S)
    assert sorted(str(e["messageId"]) for e in receiver.events()) == sorted(expected)


def test_events_that_expired_while_the_receiver_was_down_arrive_once_each_when_replayed(
    server: ServerProcess, api: httpx.Client, receiver: tuple[Receiver, str]
) -> None:
    state, hook_url = receiver
    hook, since, sent = expired_while_down(server, api, state, hook_url)

    expired = records(api, hook, "status=expired")
    assert sorted(r["messageId"] for r in expired) == [e["messageId"] for e in sent]
    assert {(r["category"], r["error"]) for r in expired} == {
        ("retry", "the webhook answered HTTP 503")
    }
    assert state.events() == []

    state.status = 200
    answer = replay(api, hook, since, statuses=["expired"])

    assert answer == {"replayed": EVENTS, "statuses": ["expired"], "categories": []}
    arrived_once(state, [e["messageId"] for e in sent])
    wait_for(lambda: totals(api, hook)["delivered"] == EVENTS, "the deliveries to be counted")
    assert replay(api, hook, since, statuses=["expired"])["replayed"] == 0


def test_a_replay_goes_through_the_filters_the_destination_has_now(
    server: ServerProcess, api: httpx.Client, receiver: tuple[Receiver, str]
) -> None:
    state, hook_url = receiver
    hook, since, sent = expired_while_down(server, api, state, hook_url)

    not_user_2 = {"title": "Not user 2", "if": "userId = 'user-2'", "actions": [{"type": "DROP"}]}
    data(api.post(f"/api/v1/destinations/{hook['id']}/filters", json=not_user_2), 201)
    time.sleep(CATALOG_TTL_S)  # the pipeline looks destinations up again after this long
    state.status = 200
    answer = replay(api, hook, since, statuses=["expired"])

    assert answer["replayed"] == EVENTS
    arrived_once(state, [e["messageId"] for e in sent if e["userId"] != "user-2"])
    [filtered] = wait_for(lambda: records(api, hook, "status=filtered"), "the dropped event")
    assert (filtered["messageId"], filtered["category"], filtered["error"]) == (
        "lost-2",
        "filtered",
        "dropped by filter 'Not user 2'",
    )


def test_events_a_function_failed_with_bad_request_arrive_when_replayed_after_a_fix(
    server: ServerProcess, api: httpx.Client, receiver: tuple[Receiver, str]
) -> None:
    state, hook_url = receiver
    source = create_source(api)
    function = data(
        api.post(
            "/api/v1/functions",
            json={
                "displayName": "Orders",
                "resourceType": "DESTINATION",
                "code": BROKEN_CODE,
                "settings": [{"name": "url", "type": "STRING", "required": True}],
            },
        ),
        201,
    )
    destination = create_destination(
        api,
        name="Orders",
        kind="FUNCTION",
        functionId=function["id"],
        sourceIds=[source["id"]],
        settings={"url": hook_url},
    )
    since = datetime.now(UTC) - timedelta(seconds=1)
    sent = orders(EVENTS, "order")
    not_an_order = {"type": "track", "event": "Cart Viewed", "userId": "u", "messageId": "cart"}
    send(server, source, [*sent, not_an_order])
    wait_for(lambda: totals(api, destination)["failed"] == EVENTS + 1, "the events to fail")
    assert totals(api, destination)["failedByCategory"] == {
        "bad_request": EVENTS,
        "message_rejected": 1,
    }

    data(api.patch(f"/api/v1/functions/{function['id']}", json={"code": FIXED_CODE}))
    deployed = data(api.post(f"/api/v1/functions/{function['id']}/deploy", json={}))
    assert deployed["instanceIds"] == [destination["id"]]
    time.sleep(CATALOG_TTL_S)  # the pipeline looks destinations up again after this long
    answer = replay(api, destination, since, statuses=["failed"], categories=["bad_request"])

    assert answer == {"replayed": EVENTS, "statuses": ["failed"], "categories": ["bad_request"]}
    arrived_once(state, [e["messageId"] for e in sent])
    wait_for(lambda: totals(api, destination)["delivered"] == EVENTS, "the deliveries counted")


def test_plain_deliveries_are_recorded_only_while_debug_capture_is_on(
    server: ServerProcess, api: httpx.Client, receiver: tuple[Receiver, str]
) -> None:
    state, hook_url = receiver
    source = create_source(api)
    hook = create_destination(
        api, name="Receiver", kind="WEBHOOK", sourceIds=[source["id"]], settings={"url": hook_url}
    )
    send(server, source, orders(1, "before"))
    wait_for(lambda: totals(api, hook)["delivered"] == 1, "the first delivery")

    data(api.post(f"/api/v1/destinations/{hook['id']}/debug", json={"minutes": 5}))
    time.sleep(CATALOG_TTL_S)  # the pipeline looks destinations up again after this long
    send(server, source, orders(1, "during"))
    wait_for(lambda: totals(api, hook)["delivered"] == 2, "the second delivery")

    [captured] = records(api, hook, "status=delivered")
    assert captured["messageId"] == "during-0"
    assert [r["status"] for r in captured["requests"]] == [200]
    assert len(state.events()) == 2
