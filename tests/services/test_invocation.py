"""What the pipeline gets from the store: destinations as plans, instances with their
pinned code and decrypted settings; and what routing and delivery make of those plans."""

from __future__ import annotations

import base64
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from headrace.pipeline import QUEUE_BATCH, QUEUE_DELIVER, Deliverer, Router
from headrace.pipeline.webhook import WebhookSender
from headrace.services import Services
from headrace.store.delivery_queries import recent_outcomes
from headrace.store.queue import WorkQueue, jobs
from tests.api.support import INSERT_CODE, SECRET, Caller, owner_of
from tests.helpers import outcome_counts

RUN_PIPELINE = False
"""Without the pipeline's own workers: a test that delivers drives the pipeline itself."""


def test_a_function_destination_plan_carries_the_pinned_version_and_settings(
    client: TestClient, services: Services
) -> None:
    owner: Caller = owner_of(client, services)
    function = owner.create_function()
    source = owner.data(owner.post("/sources", {"name": "web", "kind": "TRACKING"}), 201)
    destination = owner.create_destination(function["id"], sourceIds=[source["id"]])
    owner.patch(f"/functions/{function['id']}", {"code": "def on_track(e, s):\n    pass\n"})

    plans = services.invocations.destinations_of_source(source["id"])

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

    plan = services.invocations.destination(destination["id"])

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

    assert services.invocations.destinations_of_source(source["id"]) == []


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

    plan = services.invocations.destination(destination["id"])

    assert plan is not None and plan.insert is not None
    assert plan.insert.function_id == function["id"]


def send(client: TestClient, source: dict[str, Any], *events: dict[str, Any]) -> None:
    """Events to a tracking source through the tracking API, with its write key."""
    key = base64.b64encode(f"{source['writeKey']}:".encode()).decode()
    answer = client.post(
        "/v1/batch", json={"batch": list(events)}, headers={"Authorization": f"Basic {key}"}
    )
    assert answer.json() == {"success": True}


def routed_to(services: Services) -> list[str]:
    """The destination of each delivery job the router made."""
    with services.engine.connect() as conn:
        targets = conn.execute(
            select(jobs.c.target_id).where(jobs.c.queue.in_([QUEUE_DELIVER, QUEUE_BATCH]))
        )
        return sorted(targets.scalars())


def test_an_event_for_a_function_by_its_display_name_and_workspace_reaches_only_that_one(
    client: TestClient, services: Services
) -> None:
    owner = owner_of(client, services)  # the workspace "acme"
    source = owner.data(owner.post("/sources", {"name": "web", "kind": "TRACKING"}), 201)
    hello = owner.create_function(displayName="Hello")
    other = owner.create_function(displayName="Other")
    greeter = owner.create_destination(hello["id"], name="Greeter", sourceIds=[source["id"]])
    owner.create_destination(other["id"], name="Other", sourceIds=[source["id"]])
    owner.data(
        owner.post(
            "/destinations",
            {"name": "hook", "kind": "WEBHOOK", "sourceIds": [source["id"]],
             "settings": {"url": "https://example.com/in"}},
        ),
        201,
    )  # fmt: skip

    send(
        client,
        source,
        {"type": "track", "event": "Hi", "userId": "u1",
         "integrations": {"All": False, "Hello (acme)": True}},
    )  # fmt: skip
    Router(services.engine, services.invocations).run_once()

    assert routed_to(services) == [greeter["id"]]


def connect_then_deploy_a_required_setting_it_lacks(owner: Caller) -> dict[str, Any]:
    """A tracking source with a FUNCTION destination pinned to a version whose settings it
    had, then moved by a deploy to a version that requires a setting it has no value for."""
    function = owner.create_function()
    source = owner.data(owner.post("/sources", {"name": "web", "kind": "TRACKING"}), 201)
    destination = owner.create_destination(function["id"], sourceIds=[source["id"]])
    settings = [*function["settings"], {"name": "accountId", "type": "STRING", "required": True}]
    owner.data(owner.patch(f"/functions/{function['id']}", {"settings": settings}))
    deployed = owner.data(owner.post(f"/functions/{function['id']}/deploy", {}))
    assert deployed["instanceIds"] == [destination["id"]]
    return {"source": source, "destination": destination}


def test_settings_invalid_for_the_deployed_version_are_the_plans_settings_error(
    client: TestClient, services: Services
) -> None:
    owner = owner_of(client, services)
    destination = connect_then_deploy_a_required_setting_it_lacks(owner)["destination"]

    plan = services.invocations.destination(destination["id"])

    assert plan is not None and plan.function is not None
    assert plan.function.settings_error == "Setting 'accountId' is required."


def test_events_for_settings_invalid_for_the_deployed_version_fail_and_are_not_retried(
    client: TestClient, services: Services
) -> None:
    owner = owner_of(client, services)
    made = connect_then_deploy_a_required_setting_it_lacks(owner)
    signed_up = {"type": "track", "event": "Signed Up", "userId": "u1"}
    send(client, made["source"], signed_up, signed_up, signed_up)

    webhooks = WebhookSender(services.egress_policy())
    deliverer = Deliverer(services.engine, services.invocations, services.sandbox(), webhooks)
    try:
        Router(services.engine, services.invocations).run_once()
        deliverer.run_once()
    finally:
        deliverer.close()
        webhooks.close()

    with services.engine.connect() as conn:
        totals = outcome_counts(conn, made["destination"]["id"])
        records = recent_outcomes(conn, made["destination"]["id"])
        waiting = [WorkQueue().depth(conn, queue) for queue in (QUEUE_DELIVER, QUEUE_BATCH)]
    assert totals == {("failed", "invalid_settings"): 3}
    assert {r.error for r in records} == {"Setting 'accountId' is required."}
    assert waiting == [0, 0]
