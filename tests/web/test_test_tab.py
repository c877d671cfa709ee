"""The editor's Test tab: what a run shows (result, error with its category and line, logs
with the 4 KB cap, request traces), batches, source functions, and settings for a test."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import Page, expect

from tests.web.support import Workspace, replace_code, sign_in

FAILING_CODE = """\
async def on_track(event, settings):
    console.log("about to fail")
    raise RetryError("the API answered 503")
"""
CHATTY_CODE = """\
def on_track(event, settings):
    for i in range(100):
        console.log("x" * 100)
"""
BATCH_CODE = """\
def on_batch(events, settings):
    return [{"status": 200} for event in events]
"""
SOURCE_CODE = """\
def on_request(request, settings):
    body = request.json()
    Segment.track({"userId": body["user"], "event": "Invoice Paid"})
"""
GREETING_CODE = """\
def on_track(event, settings):
    return {"greeting": settings["greeting"], "loud": settings["loud"]}
"""


def _open(
    page: Page, workspace: Workspace, code: str, kind: str = "DESTINATION", **extra: Any
) -> None:
    function = workspace.create(
        "/functions", {"displayName": "Tried", "resourceType": kind, "code": code, **extra}
    )
    sign_in(page, workspace.server, workspace.token, f"/functions/{function['id']}")


def _run(page: Page) -> Any:
    page.get_by_role("button", name="Run", exact=True).click()
    return page.get_by_test_id("test-output")


def test_a_failed_run_shows_type_category_message_line_and_logs(
    page: Page, workspace: Workspace
) -> None:
    _open(page, workspace, FAILING_CODE)

    output = _run(page)

    expect(output).to_contain_text("Failed")
    error = output.get_by_role("region", name="Error")
    expect(error).to_contain_text("RetryError")
    expect(error).to_contain_text("retry")
    expect(error).to_contain_text("the API answered 503")
    expect(error.get_by_role("button", name="line 3")).to_be_visible()
    expect(output.get_by_role("region", name="Logs")).to_contain_text("about to fail")
    expect(page.locator(".cm-host .cm-lintRange-error")).to_contain_text("raise RetryError")


def test_logs_over_the_cap_are_marked_as_cut(page: Page, workspace: Workspace) -> None:
    _open(page, workspace, CHATTY_CODE)

    logs = _run(page).get_by_role("region", name="Logs")

    expect(logs).to_contain_text("cut at 4 KB")
    expect(logs.locator("li.cut")).to_contain_text("logs truncated")


def test_an_array_runs_on_batch(page: Page, workspace: Workspace) -> None:
    _open(page, workspace, BATCH_CODE)

    page.get_by_label("Sample event").select_option(label="Batch (on_batch): an array of events")
    result = _run(page).get_by_role("region", name="Result")

    expect(result).to_contain_text('"status": 200')
    expect(result.locator("pre")).to_have_text(re.compile(r"^\[\s*\{"))


def test_a_source_function_runs_on_a_typed_request(page: Page, workspace: Workspace) -> None:
    _open(page, workspace, SOURCE_CODE, kind="SOURCE")

    replace_code(page, '{"body": {"user": "ada"}, "headers": {}}', editor=".json-host")
    output = _run(page)

    expect(output).to_contain_text("Succeeded")
    expect(output.get_by_role("region", name="Result")).to_contain_text('"userId": "ada"')


def test_the_run_uses_the_settings_filled_in_for_the_test(page: Page, workspace: Workspace) -> None:
    settings = [
        {"name": "greeting", "label": "Greeting", "type": "STRING", "required": True},
        {"name": "loud", "label": "Shout it", "type": "BOOLEAN"},
    ]
    _open(page, workspace, GREETING_CODE, settings=settings)

    page.get_by_label("Greeting").fill("hello")
    page.get_by_label("Shout it").check()
    result = _run(page).get_by_role("region", name="Result")

    expect(result).to_contain_text('"greeting": "hello"')
    expect(result).to_contain_text('"loud": true')


def test_invalid_json_is_reported_without_running(page: Page, workspace: Workspace) -> None:
    _open(page, workspace, GREETING_CODE)

    replace_code(page, '{"type": "track",', editor=".json-host")
    page.get_by_role("button", name="Run", exact=True).click()

    expect(page.get_by_role("alert")).to_contain_text("not valid JSON")
    expect(page.get_by_test_id("test-output")).to_have_count(0)
