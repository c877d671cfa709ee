"""Event delivery and filters of a destination (its chart is in test_connect.py and
test_walkthrough.py): the recent failures with their logs and request traces, debug
capture and replay, and a filter written with an inline FQL error, previewed, saved and
applied."""

from __future__ import annotations

import re
from typing import Any

import httpx
from playwright.sync_api import Page, expect

from tests.web.support import Receiver, Workspace, replace_code, sign_in, snap

REJECTING_CODE = """\
async def on_track(event, settings):
    await fetch(settings["url"], method="POST", json={"checking": event["event"]})
    if event["event"] == "Bad":
        console.log("no orderId in", event["messageId"])
        raise ValidationError("orderId is missing")
"""


def _source(workspace: Workspace) -> dict[str, Any]:
    return workspace.create("/sources", {"name": "website", "kind": "TRACKING"})


def _track(workspace: Workspace, source: dict[str, Any], *names: str) -> None:
    batch = [{"type": "track", "userId": "u1", "event": name} for name in names]
    answer = httpx.post(
        f"{workspace.server.url}/v1/batch", auth=(source["writeKey"], ""), json={"batch": batch}
    )
    assert answer.json() == {"success": True}


def _rejecting_destination(
    workspace: Workspace, source: dict[str, Any], receiver: Receiver, path: str
) -> dict[str, Any]:
    function = workspace.create(
        "/functions",
        {
            "displayName": "Orders API",
            "resourceType": "DESTINATION",
            "code": REJECTING_CODE,
            "settings": [{"name": "url", "type": "STRING"}],
        },
    )
    return workspace.create(
        "/destinations",
        {
            "name": "Orders API",
            "kind": "FUNCTION",
            "functionId": function["id"],
            "sourceIds": [source["id"]],
            "settings": {"url": f"{receiver.url}{path}"},
        },
    )


def _stat(page: Page, label: str) -> Any:
    return page.locator(f"[data-stat='{label}'] .value")


def test_failures_show_their_category_logs_and_request_traces(
    page: Page, workspace: Workspace, receiver: Receiver
) -> None:
    source = _source(workspace)
    destination = _rejecting_destination(workspace, source, receiver, "/failures")
    _track(workspace, source, "Good", "Bad")
    receiver.wait_for("/failures", 2)
    sign_in(
        page, workspace.server, workspace.token, f"/destinations/{destination['id']}?tab=delivery"
    )

    expect(_stat(page, "Failed")).to_have_text("1")
    expect(page.locator("[data-stat=Failed] .detail")).to_have_text("Message Rejected: 1")
    failure = page.locator("details.failure")
    expect(failure).to_have_count(1)
    failure.locator("summary").click()
    expect(failure).to_contain_text("ValidationError: orderId is missing")
    expect(failure.locator(".logs")).to_contain_text("no orderId in")
    expect(failure.locator(".requests")).to_contain_text(f"{receiver.url}/failures")
    expect(failure).to_contain_text('"event": "Bad"')


def test_debug_capture_is_switched_on_and_failures_are_replayed(
    page: Page, workspace: Workspace, receiver: Receiver
) -> None:
    source = _source(workspace)
    destination = _rejecting_destination(workspace, source, receiver, "/replayed")
    _track(workspace, source, "Bad", "Bad")
    receiver.wait_for("/replayed", 2)
    sign_in(
        page, workspace.server, workspace.token, f"/destinations/{destination['id']}?tab=delivery"
    )
    expect(_stat(page, "Failed")).to_have_text("2")

    page.get_by_role("switch", name="Debug capture").check()
    expect(page.get_by_role("switch", name=re.compile("Debug capture on until"))).to_be_checked()
    assert workspace.get(f"/destinations/{destination['id']}")["debugUntil"] is not None

    page.get_by_role("button", name="Replay…").click()
    dialog = page.get_by_role("dialog", name="Replay events")
    dialog.get_by_role("checkbox", name="failed").check()
    dialog.get_by_role("button", name="Replay").click()
    expect(page.get_by_role("status").filter(has_text="queued again")).to_have_text(
        "2 event(s) queued again for delivery."
    )
    receiver.wait_for("/replayed", 4)


def test_a_filter_shows_its_fql_error_in_place_then_drops_matching_events(
    page: Page, workspace: Workspace, receiver: Receiver
) -> None:
    source = _source(workspace)
    destination = workspace.create(
        "/destinations",
        {
            "name": "Ads",
            "kind": "WEBHOOK",
            "sourceIds": [source["id"]],
            "settings": {"url": f"{receiver.url}/filtered"},
        },
    )
    sign_in(
        page, workspace.server, workspace.token, f"/destinations/{destination['id']}?tab=filters"
    )
    expect(page.get_by_text("No filters")).to_be_visible()

    page.get_by_role("button", name="New filter").click()
    dialog = page.get_by_role("dialog", name="New filter")
    dialog.get_by_label("Title").fill("No test events")
    replace_code(page, "event = 'Test' and (", editor=".fql-host")
    dialog.get_by_role("button", name="Save filter").click()
    expect(dialog.get_by_test_id("fql-error")).to_contain_text("at position")
    expect(dialog.locator(".fql-host.invalid")).to_be_visible()

    replace_code(page, "event = 'Test'", editor=".fql-host")
    replace_code(page, '{"type": "track", "event": "Test", "userId": "u1"}', editor=".json-host")
    dialog.get_by_role("button", name="Preview").click()
    expect(dialog.get_by_test_id("filter-preview")).to_contain_text("Dropped")
    snap(page, "filters")
    dialog.get_by_role("button", name="Save filter").click()
    expect(page.get_by_text("No test events", exact=True)).to_be_visible()

    # Nothing was sent to the destination before, so no cached plan predates the filter.
    _track(workspace, source, "Test", "Probe")
    receiver.wait_for("/filtered", 1)
    page.get_by_role("tab", name="Event delivery").click()
    expect(_stat(page, "Filtered")).to_have_text("1")
    assert [r.body["event"] for r in receiver.at("/filtered")] == ["Probe"]
