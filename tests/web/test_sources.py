"""Sources in the browser: a source function connected as a source gets a webhook URL
whose requests become events, the URL can be rotated, and a request that failed can be
picked in the editor's Test tab to try again."""

from __future__ import annotations

import re

import httpx
from playwright.sync_api import Page, expect

from tests.web.support import Receiver, Workspace, sign_in

SOURCE_CODE = """\
def on_request(request, settings):
    body = request.json()
    Segment.track({"userId": body["user"], "event": "Invoice Paid"})
"""


def _source_function(workspace: Workspace) -> dict[str, object]:
    return workspace.create(
        "/functions", {"displayName": "Billing hook", "resourceType": "SOURCE", "code": SOURCE_CODE}
    )


def test_a_connected_source_function_turns_webhook_requests_into_events(
    page: Page, workspace: Workspace, receiver: Receiver
) -> None:
    _source_function(workspace)
    sign_in(page, workspace.server, workspace.token)

    page.get_by_role("region", name="Source functions").get_by_role(
        "button", name="Connect"
    ).click()
    page.get_by_role("dialog").get_by_role("button", name="Create source").click()
    expect(page).to_have_url(re.compile(r"#/sources/src_"))
    source_id = page.url.rsplit("/", 1)[1]
    workspace.create(
        "/destinations",
        {
            "name": "Ledger",
            "kind": "WEBHOOK",
            "sourceIds": [source_id],
            "settings": {"url": f"{receiver.url}/ledger"},
        },
    )
    url = page.get_by_label("Webhook URL").input_value()

    assert httpx.post(url, json={"user": "ada"}).status_code == 200
    assert receiver.wait_for("/ledger", 1)[0].body["userId"] == "ada"

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Rotate").click()
    expect(page.get_by_label("Webhook URL")).not_to_have_value(url)
    assert httpx.post(url, json={"user": "ada"}).status_code >= 400


def test_a_failed_request_can_be_picked_as_the_test_request(
    page: Page, workspace: Workspace
) -> None:
    function = _source_function(workspace)
    source = workspace.create(
        "/sources", {"name": "Billing", "kind": "FUNCTION", "functionId": function["id"]}
    )
    assert httpx.post(source["webhookUrl"], json={"customer": "ada"}).status_code == 200
    sign_in(page, workspace.server, workspace.token, f"/functions/{function['id']}")

    page.get_by_label("Recent events").select_option(label="Billing")
    page.get_by_role("list", name="Recent payloads").get_by_role("button").first.click()
    expect(page.locator(".json-host .cm-content")).to_contain_text('"customer": "ada"')
    page.get_by_role("button", name="Run", exact=True).click()

    error = page.get_by_test_id("test-output").get_by_role("region", name="Error")
    expect(error).to_contain_text("KeyError")
    expect(error).to_contain_text("bad_request")
