"""The README's five minutes in the browser, as the first user with the owner token: a new
function, a test run, a save, a destination on a new tracking source, events sent with its
write key arriving at the destination's endpoint, and the destination's delivery chart."""

from __future__ import annotations

import re

import httpx
from playwright.sync_api import Page, expect

from tests.helpers import ServerProcess
from tests.web.support import Receiver, replace_code, sign_in, snap

EDITED_CODE = """\
async def on_track(event, settings):
    response = await fetch(settings["url"], method="POST", json={"seen": event["event"]})
    console.log(f"{event['event']} sent: {response.status}")
"""


def test_from_a_new_function_to_events_arriving_at_its_destination(
    page: Page, server: ServerProcess, receiver: Receiver
) -> None:
    sign_in(page, server, server.owner_token)
    expect(page.get_by_test_id("workspace-name")).to_have_text("default")
    expect(page.get_by_test_id("roles")).to_have_text("Workspace owner")

    page.get_by_role("button", name="New function").click()
    dialog = page.get_by_role("dialog", name="New function")
    expect(dialog.get_by_role("radio", name=re.compile("Destination"))).to_be_checked()
    dialog.get_by_label("Name").fill("Hello")
    dialog.get_by_role("button", name="Create function").click()
    expect(page.get_by_test_id("latest-version")).to_have_text("Latest: version 1")
    expect(page.locator(".cm-host .cm-content")).to_contain_text("async def on_identify")

    page.get_by_label("Endpoint URL").fill(f"{receiver.url}/try")
    page.get_by_role("button", name="Run", exact=True).click()
    output = page.get_by_test_id("test-output")
    expect(output).to_contain_text("Succeeded")
    expect(output.get_by_role("region", name="Logs")).to_contain_text(
        "track test-message-1 sent: 200"
    )
    expect(output.get_by_role("region", name="Requests")).to_contain_text(f"{receiver.url}/try")
    assert receiver.wait_for("/try", 1)[0].body["event"] == "Order Completed"
    snap(page, "editor")

    replace_code(page, EDITED_CODE)
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_test_id("latest-version")).to_have_text("Latest: version 2")

    page.get_by_role("button", name="Connect").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("New tracking source name").fill("website")
    dialog.get_by_role("button", name="Create source").click()
    expect(dialog.get_by_role("checkbox", name=re.compile("website"))).to_be_checked()
    dialog.get_by_label("Endpoint URL").fill(f"{receiver.url}/hello")
    dialog.get_by_role("button", name="Create destination").click()
    expect(page).to_have_url(re.compile(r"#/destinations/dst_"))
    expect(page.locator(".subtitle")).to_contain_text("Runs Hello · version 2")

    page.get_by_role("link", name="Sources").click()
    page.get_by_role("link", name="website").click()
    write_key = page.get_by_label("Write key").input_value()
    for name in ("Signed Up", "Order Completed", "Logged Out"):
        answer = httpx.post(
            f"{server.url}/v1/track", auth=(write_key, ""), json={"userId": "u1", "event": name}
        )
        assert answer.json() == {"success": True}

    arrived = receiver.wait_for("/hello", 3)
    assert sorted(r.body["seen"] for r in arrived) == ["Logged Out", "Order Completed", "Signed Up"]

    page.get_by_role("link", name="Destinations").click()
    page.get_by_role("link", name="Hello").click()
    page.get_by_role("tab", name="Event delivery").click()
    expect(page.locator("[data-stat=Delivered] .value")).to_have_text("3")
    expect(page.get_by_test_id("delivery-chart")).to_have_attribute("data-events", "3")
