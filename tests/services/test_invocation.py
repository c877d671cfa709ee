"""What the pipeline gets from the store: destinations as plans, instances with their
pinned code and decrypted settings."""

from __future__ import annotations

from fastapi.testclient import TestClient

from headrace.services import Services
from tests.api.support import INSERT_CODE, SECRET, Caller, owner_of


def test_a_function_destination_plan_carries_the_pinned_version_and_settings(
    client: TestClient, services: Services
) -> None:
    owner: Caller = owner_of(client, services)
    function = owner.create_function()
    source = owner.data(owner.post("/sources", {"name": "web", "kind": "TRACKING"}), 201)
    destination = owner.create_destination(function["id"], sourceIds=[source["id"]])
    owner.patch(f"/functions/{function['id']}", {"code": "def on_track(e, s):\n    pass\n"})

    plans = services.catalog.destinations_of_source(source["id"])

    assert [p.id for p in plans] == [destination["id"]]
    plan = plans[0]
    assert plan.function is not None
    assert plan.function.spec.key == (
        f"{owner.workspace_id}:{destination['id']}:{function['latestVersion']['id']}"
    )
    assert "console.log" in plan.function.spec.code
    assert plan.function.settings == {"apiKey": SECRET, "region": "eu"}
    # owner_of makes the workspace "acme"; the function is "Send to API".
    assert plan.names == {destination["name"], destination["id"], "Send to API (acme)"}


def test_a_webhook_plan_has_its_url_and_decrypted_headers(
    client: TestClient, services: Services
) -> None:
    owner = owner_of(client, services)
    destination = owner.data(
        owner.post(
            "/destinations",
            {
                "name": "hook",
                "kind": "WEBHOOK",
                "settings": {"url": "https://example.com/in", "headers": {"X-Key": SECRET}},
            },
        ),
        201,
    )

    plan = services.catalog.destination(destination["id"])

    assert plan is not None
    assert (plan.webhook_url, plan.webhook_headers) == ("https://example.com/in", {"X-Key": SECRET})


def test_disabled_destinations_are_not_routed_to(client: TestClient, services: Services) -> None:
    owner = owner_of(client, services)
    source = owner.data(owner.post("/sources", {"name": "web", "kind": "TRACKING"}), 201)
    owner.data(
        owner.post(
            "/destinations",
            {
                "name": "hook",
                "kind": "WEBHOOK",
                "enabled": False,
                "sourceIds": [source["id"]],
                "settings": {"url": "https://example.com/in"},
            },
        ),
        201,
    )

    assert services.catalog.destinations_of_source(source["id"]) == []


def test_an_enabled_insert_function_instance_is_part_of_the_plan(
    client: TestClient, services: Services
) -> None:
    owner = owner_of(client, services)
    function = owner.create_function(
        displayName="Enrich", resourceType="INSERT_DESTINATION", code=INSERT_CODE, settings=[]
    )
    destination = owner.data(
        owner.post(
            "/destinations",
            {"name": "hook", "kind": "WEBHOOK", "settings": {"url": "https://example.com/in"}},
        ),
        201,
    )
    owner.data(
        owner.post(
            "/insert-function-instances",
            {"functionId": function["id"], "destinationId": destination["id"]},
        ),
        201,
    )

    plan = services.catalog.destination(destination["id"])

    assert plan is not None and plan.insert is not None
    assert plan.insert.function_id == function["id"]


def test_recorded_invocations_show_in_usage(client: TestClient, services: Services) -> None:
    owner = owner_of(client, services)
    function = owner.create_function()

    services.catalog.record_invocations(owner.workspace_id, function["id"], 3, 12.5)

    usage = owner.data(owner.get("/usage"))
    assert (usage[0]["invocations"], usage[0]["executionMs"]) == (3, 12.5)
