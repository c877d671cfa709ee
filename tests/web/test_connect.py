"""Connecting: a webhook destination that receives tracked events (and shows them in its
delivery chart), a function's instance
whose secret is masked and never shown back, enable/disable, and an insert function
attached to a destination."""

from __future__ import annotations

import re

import httpx
from playwright.sync_api import Page, expect

from tests.web.support import Receiver, Workspace, sign_in, snap

SECRET = "sk_live_never_shown_again_42"
DESTINATION_CODE = "async def on_track(event, settings):\n    return None\n"
INSERT_CODE = "def on_track(event, settings):\n    return event\n"


def field_values(page: Page) -> list[str]:
    """What every input and text area of the page holds (which page.content() leaves out)."""
    values: list[str] = page.locator("input, textarea").evaluate_all(
        "fields => fields.map(field => field.value)"
    )
    return values


def test_a_webhook_destination_receives_events_sent_to_its_source(
    page: Page, workspace: Workspace, receiver: Receiver
) -> None:
    sign_in(page, workspace.server, workspace.token, "/destinations")
    expect(page.get_by_text("No destinations yet")).to_be_visible()

    page.get_by_role("button", name="New destination").first.click()
    dialog = page.get_by_role("dialog", name="New destination")
    dialog.get_by_role("textbox", name="Name", exact=True).fill("Audit log")
    dialog.get_by_label("New tracking source name").fill("checkout")
    dialog.get_by_role("button", name="Create source").click()
    dialog.get_by_role("textbox", name="URL", exact=True).fill(f"{receiver.url}/webhook")
    dialog.get_by_label("Headers name 1").fill("Authorization")
    dialog.get_by_label("Headers value 1").fill(f"Bearer {SECRET}")
    snap(page, "connect")
    dialog.get_by_role("button", name="Create destination").click()
    expect(page).to_have_url(re.compile(r"#/destinations/dst_"))

    source = next(s for s in workspace.get("/sources") if s["name"] == "checkout")
    answer = httpx.post(
        f"{workspace.server.url}/v1/batch",
        auth=(source["writeKey"], ""),
        json={"batch": [{"type": "track", "userId": "u1", "event": f"Step {i}"} for i in range(3)]},
    )
    assert answer.status_code == 200, answer.text

    arrived = receiver.wait_for("/webhook", 3)
    assert sorted(r.body["event"] for r in arrived) == ["Step 0", "Step 1", "Step 2"]
    assert arrived[0].headers["Authorization"] == f"Bearer {SECRET}"
    expect(page.get_by_label("Headers value 1")).to_have_value("")
    assert not any(SECRET in value for value in field_values(page))

    page.get_by_role("tab", name="Event delivery").click()
    expect(page.locator("[data-stat=Delivered] .value")).to_have_text("3")
    expect(page.get_by_test_id("delivery-chart")).to_have_attribute("data-events", "3")
    expect(page.locator("[data-testid=delivery-chart] rect[data-outcome=delivered]")).to_have_count(
        1
    )
    expect(page.locator("[data-stat='p95 latency'] .value")).to_have_text(re.compile(r"\d.* m?s$"))
    snap(page, "delivery")


def test_a_connected_function_masks_its_secret_and_can_be_disabled(
    page: Page, workspace: Workspace
) -> None:
    settings = [{"name": "apiKey", "label": "API key", "type": "STRING", "sensitive": True}]
    workspace.create(
        "/functions",
        {
            "displayName": "CRM",
            "resourceType": "DESTINATION",
            "code": DESTINATION_CODE,
            "settings": settings,
        },
    )
    sign_in(page, workspace.server, workspace.token)

    page.get_by_role("region", name="Destination functions").get_by_role(
        "button", name="Connect"
    ).click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_label("API key")).to_have_attribute("type", "password")
    dialog.get_by_label("API key").fill(SECRET)
    dialog.get_by_role("button", name="Create destination").click()

    key = page.get_by_label("API key")
    expect(key).to_have_value("")
    expect(key).to_have_attribute("placeholder", "•••••• (stored)")
    page.reload()
    expect(key).to_have_attribute("placeholder", "•••••• (stored)")
    expect(key).to_have_value("")
    assert not any(SECRET in value for value in field_values(page))
    [connected] = workspace.get("/destinations")
    assert workspace.get(f"/destinations/{connected['id']}")["settings"] == {"apiKey": "••••••"}

    page.get_by_role("switch", name="Enabled").uncheck()
    expect(page.get_by_role("switch", name="Disabled")).not_to_be_checked()
    destination = workspace.get("/destinations")[0]
    assert destination["enabled"] is False
    assert destination["settings"] == {"apiKey": "••••••"}


def test_an_insert_function_is_attached_to_a_destination(page: Page, workspace: Workspace) -> None:
    workspace.create(
        "/functions",
        {"displayName": "Scrub", "resourceType": "INSERT_DESTINATION", "code": INSERT_CODE},
    )
    destination = workspace.create(
        "/destinations",
        {"name": "Archive", "kind": "WEBHOOK", "settings": {"url": "https://example.com/in"}},
    )
    sign_in(page, workspace.server, workspace.token, f"/destinations/{destination['id']}")

    page.get_by_role("button", name="Attach an insert function").click()
    page.get_by_role("dialog").get_by_role("button", name="Attach").click()

    expect(page.get_by_role("link", name="Scrub")).to_be_visible()
    instance = workspace.get("/insert-function-instances")[0]
    assert instance["destinationId"] == destination["id"]


def test_the_catalog_lists_functions_by_kind_with_instances_and_versions(
    page: Page, workspace: Workspace
) -> None:
    function = workspace.create(
        "/functions",
        {"displayName": "CRM", "resourceType": "DESTINATION", "code": DESTINATION_CODE},
    )
    workspace.create(
        "/destinations", {"name": "CRM EU", "kind": "FUNCTION", "functionId": function["id"]}
    )
    with workspace.api() as http:
        http.patch(
            f"/functions/{function['id']}", json={"code": DESTINATION_CODE}
        ).raise_for_status()
    sign_in(page, workspace.server, workspace.token)

    destinations = page.get_by_role("region", name="Destination functions")
    expect(destinations.get_by_role("link", name="CRM", exact=True)).to_be_visible()
    expect(destinations).to_contain_text("latest v2")
    expect(destinations).to_contain_text("v1 on 1")
    expect(destinations.get_by_role("link", name="CRM EU")).to_be_visible()
    expect(page.get_by_role("region", name="Insert functions")).to_contain_text(
        "No insert functions yet"
    )
    snap(page, "catalog")
