"""`/api/v1/audit` records every change without secrets; `/api/v1/usage` counts calls."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from headrace.services import Services
from tests.api.support import SECRET, Caller, only_error


def test_audit_trail_shows_each_change_with_its_actor_newest_first(owner: Caller) -> None:
    function = owner.create_function()
    destination = owner.create_destination(function["id"])
    owner.patch(f"/functions/{function['id']}", {"code": "def on_track(e, s):\n    pass\n"})
    owner.post(f"/functions/{function['id']}/deploy")
    owner.post(
        f"/functions/{function['id']}/versions", {"versionId": function["latestVersion"]["id"]}
    )
    member = owner.create_member({"role": "FUNCTIONS_READ_ONLY"})
    owner.patch(f"/members/{member.member_id}", {"roles": [{"role": "FUNCTIONS_ADMIN"}]})
    owner.delete(f"/destinations/{destination['id']}")

    entries = owner.data(owner.get("/audit"))

    assert [e["action"] for e in entries] == [
        "destination.deleted",
        "member.roles_changed",
        "token.created",
        "member.created",
        "function.restored",
        "function.deployed",
        "function.updated",
        "destination.created",
        "function.created",
    ]
    assert {e["actor"] for e in entries} == {owner.member_id}


def test_audit_trail_never_holds_secret_values_or_code(owner: Caller) -> None:
    function = owner.create_function()
    destination = owner.create_destination(function["id"])
    owner.patch(f"/destinations/{destination['id']}", {"settings": {"apiKey": SECRET + "2"}})

    response = owner.get("/audit")

    assert SECRET not in response.text
    assert "on_track" not in response.text
    update = response.json()["data"][0]
    assert update["details"]["settings"] == ["apiKey"]


def test_audit_trail_filters_by_resource_and_time(owner: Caller) -> None:
    first = owner.create_function(displayName="first")
    owner.create_function(displayName="second")
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()

    by_resource = owner.data(owner.get("/audit", params={"resourceId": first["id"]}))
    since_future = owner.data(owner.get("/audit", params={"since": future}))
    until_future = owner.data(owner.get("/audit", params={"until": future}))

    assert [e["resourceId"] for e in by_resource] == [first["id"]]
    assert since_future == []
    assert len(until_future) == 2


def test_audit_since_that_is_not_a_time_is_422(owner: Caller) -> None:
    assert "since" in only_error(owner.get("/audit", params={"since": "yesterday"}), 422)["message"]


def test_usage_sums_invocations_and_execution_time_by_day(
    owner: Caller, services: Services
) -> None:
    function = owner.create_function()
    day = datetime(2026, 3, 1, 12, tzinfo=UTC)
    services.usage.record_invocation(owner.workspace_id, function["id"], 10.0, day)
    services.usage.record_invocations(owner.workspace_id, function["id"], 4, 30.0, day)
    services.usage.record_invocation(
        owner.workspace_id, function["id"], 5.0, day + timedelta(days=1)
    )

    usage = owner.data(owner.get("/usage", params={"from": "2026-03-01", "to": "2026-03-31"}))

    assert usage == [
        {
            "functionId": function["id"],
            "displayName": "Send to API",
            "invocations": 6,
            "executionMs": 45.0,
            "days": [
                {"day": "2026-03-01", "invocations": 5, "executionMs": 40.0},
                {"day": "2026-03-02", "invocations": 1, "executionMs": 5.0},
            ],
        }
    ]


def test_usage_outside_the_range_is_left_out(owner: Caller, services: Services) -> None:
    function = owner.create_function()
    services.usage.record_invocation(
        owner.workspace_id, function["id"], 1.0, datetime(2026, 2, 28, tzinfo=UTC)
    )

    assert owner.data(owner.get("/usage", params={"from": "2026-03-01", "to": "2026-03-02"})) == []


def test_usage_with_from_after_to_is_400_naming_from(owner: Caller) -> None:
    response = owner.get("/usage", params={"from": "2026-03-02", "to": "2026-03-01"})

    assert only_error(response, 400)["field"] == "from"
