"""`GET /api/v1/health`: the destinations and source functions of the caller's workspace
that are failing consistently, each with why and its dominant error.

Outcomes are written straight into the store with the pipeline's own `DeliveryLog`, at
known times before now.
"""

from __future__ import annotations

import time
from typing import Any

import orjson
from fastapi.testclient import TestClient

from headrace.services import Services
from headrace.store.deliveries import DeliveryLog, DeliveryRecord
from tests.api.support import SOURCE_CODE, Caller, owner_of

HTTP_503 = "the webhook answered HTTP 503"
HTTP_502 = "the webhook answered HTTP 502"
HTTP_400 = "the webhook answered HTTP 400"


RUN_PIPELINE = False
"""Without the pipeline's own workers: the tests write the outcomes health is judged on."""


def minutes_ago(minutes: int) -> float:
    """The start of the minute `minutes` before this one: outcomes written from there on
    (within 60 s) share one per-minute counter."""
    return float((int(time.time()) // 60 - minutes) * 60)


def create_webhook(caller: Caller, name: str = "Orders API") -> dict[str, Any]:
    body = {"name": name, "kind": "WEBHOOK", "settings": {"url": "https://hooks.example.com/in"}}
    return dict(caller.data(caller.post("/destinations", body), 201))


def write(
    services: Services,
    caller: Caller,
    target: dict[str, Any],
    at: float,
    outcomes: list[tuple[str, str, str | None]],
) -> None:
    """(status, category, error) outcomes of `target`, one second apart from `at`."""
    records = [
        DeliveryRecord(
            workspace_id=caller.workspace_id,
            destination_id=target["id"],
            message_id=f"m-{at}-{n}",
            at=at + n,
            status=status,
            category=category,
            error=error,
            attempts=1,
            payload=orjson.dumps({"type": "track", "event": "Paid", "userId": "u1"}),
            logs="[]",
            requests="[]",
        )
        for n, (status, category, error) in enumerate(outcomes)
    ]
    with services.engine.begin() as conn:
        DeliveryLog().write(conn, records)


def health(caller: Caller) -> dict[str, Any]:
    found: dict[str, Any] = caller.data(caller.get("/health"))
    return found


DELIVERED = ("delivered", "", None)


def test_a_workspace_without_traffic_is_healthy(owner: Caller) -> None:
    create_webhook(owner)

    assert health(owner) == {"healthy": True, "failing": []}


def test_a_destination_with_most_recent_attempts_failed_is_listed_with_its_latest_error(
    owner: Caller, services: Services
) -> None:
    hook = create_webhook(owner)
    write(
        services,
        owner,
        hook,
        minutes_ago(3),
        [("retrying", "retry", HTTP_503)] * 11
        + [("expired", "retry", HTTP_502)]
        + [("failed", "bad_request", HTTP_400)] * 4
        + [DELIVERED] * 4,
    )

    found = health(owner)

    assert found == {
        "healthy": False,
        "failing": [
            {
                "kind": "destination",
                "id": hook["id"],
                "name": "Orders API",
                "functionId": None,
                "reason": "16 of the last 20 attempts failed",
                "attempts": 20,
                "failures": 16,
                "dominantCategory": "retry",
                "dominantError": HTTP_502,
            }
        ],
    }


def test_a_destination_that_delivered_nothing_for_15_minutes_while_events_arrived_is_listed(
    owner: Caller, services: Services
) -> None:
    hook = create_webhook(owner)
    write(services, owner, hook, minutes_ago(40), [DELIVERED] * 20)
    write(services, owner, hook, minutes_ago(5), [("retrying", "retry", HTTP_503)] * 3)

    [failing] = health(owner)["failing"]

    assert failing["id"] == hook["id"]
    assert failing["reason"] == "nothing delivered in the last 15 minutes"
    assert (failing["dominantCategory"], failing["dominantError"]) == ("retry", HTTP_503)


def test_a_destination_that_mostly_delivers_is_not_listed(
    owner: Caller, services: Services
) -> None:
    hook = create_webhook(owner)
    write(
        services,
        owner,
        hook,
        minutes_ago(2),
        [DELIVERED] * 10 + [("retrying", "retry", HTTP_503)] * 10,
    )

    assert health(owner) == {"healthy": True, "failing": []}


def test_a_destination_whose_last_20_attempts_mostly_delivered_is_not_listed(
    owner: Caller, services: Services
) -> None:
    hook = create_webhook(owner)
    write(services, owner, hook, minutes_ago(8), [("retrying", "retry", HTTP_503)] * 60)
    write(services, owner, hook, minutes_ago(1), [DELIVERED] * 15)

    # The last 20 attempts: 15 deliveries, then 5 of the earlier outage.
    assert health(owner)["failing"] == []


def test_filtered_events_are_not_failed_attempts(owner: Caller, services: Services) -> None:
    hook = create_webhook(owner)
    write(services, owner, hook, minutes_ago(20), [DELIVERED] * 2)
    write(services, owner, hook, minutes_ago(2), [("filtered", "filtered", "dropped")] * 20)

    assert health(owner)["healthy"] is True


def test_failures_more_than_an_hour_old_are_forgotten(owner: Caller, services: Services) -> None:
    hook = create_webhook(owner)
    write(services, owner, hook, minutes_ago(90), [("expired", "retry", HTTP_503)] * 20)

    assert health(owner)["healthy"] is True


def test_a_failing_source_function_is_listed_with_its_function(
    owner: Caller, services: Services
) -> None:
    function = owner.create_function(
        displayName="Shop hooks", resourceType="SOURCE", code=SOURCE_CODE, settings=[]
    )
    body = {"name": "Shop", "kind": "FUNCTION", "functionId": function["id"]}
    source = owner.data(owner.post("/sources", body), 201)
    refusal = "ValidationError: bad signature"
    write(services, owner, source, minutes_ago(1), [("failed", "message_rejected", refusal)] * 5)

    [failing] = health(owner)["failing"]

    assert (failing["kind"], failing["id"], failing["name"], failing["functionId"]) == (
        "source",
        source["id"],
        "Shop",
        function["id"],
    )
    assert (failing["dominantCategory"], failing["dominantError"]) == ("message_rejected", refusal)


def test_only_the_callers_workspace_is_judged(
    client: TestClient, owner: Caller, services: Services
) -> None:
    other = owner_of(client, services, name="globex")
    theirs = create_webhook(other, name="Their API")
    write(services, other, theirs, minutes_ago(2), [("failed", "bad_request", HTTP_400)] * 5)

    assert health(owner) == {"healthy": True, "failing": []}
    assert [f["id"] for f in health(other)["failing"]] == [theirs["id"]]


def test_any_member_may_see_the_health_of_the_workspace(owner: Caller, services: Services) -> None:
    hook = create_webhook(owner)
    write(services, owner, hook, minutes_ago(2), [("failed", "bad_request", HTTP_400)] * 5)
    reader = owner.create_member({"role": "FUNCTIONS_READ_ONLY"}, email="reader@example.com")

    assert [f["id"] for f in health(reader)["failing"]] == [hook["id"]]


def test_the_dominant_error_is_shown_only_to_members_who_may_read_the_records(
    owner: Caller, services: Services
) -> None:
    hook = create_webhook(owner)
    write(services, owner, hook, minutes_ago(2), [("failed", "bad_request", HTTP_400)] * 5)
    reader = owner.create_member({"role": "FUNCTIONS_READ_ONLY"}, email="reader@example.com")

    [seen_by_reader] = health(reader)["failing"]
    [seen_by_owner] = health(owner)["failing"]

    assert seen_by_reader["dominantError"] is None
    assert seen_by_owner["dominantError"] == HTTP_400


def test_a_sensitive_setting_quoted_in_the_dominant_error_is_redacted(
    owner: Caller, services: Services
) -> None:
    body = {
        "name": "Secret API",
        "kind": "WEBHOOK",
        "settings": {
            "url": "https://hooks.example.com/in",
            "headers": {"Authorization": "Bearer tok-s3cr3t-value"},
        },
    }
    hook = owner.data(owner.post("/destinations", body), 201)
    error = "the webhook refused Bearer tok-s3cr3t-value"
    write(services, owner, hook, minutes_ago(2), [("failed", "bad_request", error)] * 5)

    [failing] = health(owner)["failing"]

    assert failing["dominantError"] == "the webhook refused [redacted]"


def test_each_of_many_destinations_is_judged_on_its_own_attempts(
    owner: Caller, services: Services
) -> None:
    hooks = [create_webhook(owner, f"Hook {n}") for n in range(6)]
    for n, hook in enumerate(hooks):
        # Even-numbered hooks fail 15 of 20 attempts, odd-numbered ones deliver 15 of 20.
        failed, delivered = (15, 5) if n % 2 == 0 else (5, 15)
        outcomes = [("retrying", "retry", f"{HTTP_503} (hook {n})")] * failed
        write(services, owner, hook, minutes_ago(2), outcomes + [DELIVERED] * delivered)

    found = health(owner)["failing"]

    assert sorted((f["name"], f["failures"], f["dominantError"]) for f in found) == [
        (f"Hook {n}", 15, f"{HTTP_503} (hook {n})") for n in (0, 2, 4)
    ]
