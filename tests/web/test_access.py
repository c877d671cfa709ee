"""Signing in, what a member without a role for something sees, and the owner's audit trail
and usage pages."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Page, expect

from tests.web.support import Workspace, sign_in, snap

CODE = "async def on_track(event, settings):\n    return {'seen': event['event']}\n"


def _member(workspace: Workspace, role: str) -> str:
    """The token of a new member with `role` for the whole workspace."""
    member = workspace.create(
        "/members", {"email": f"{role.lower()}@example.com", "roles": [{"role": role}]}
    )
    return str(
        workspace.create("/tokens", {"memberId": member["id"], "description": "browser"})["token"]
    )


def _function(workspace: Workspace) -> dict[str, Any]:
    return workspace.create(
        "/functions", {"displayName": "Orders", "resourceType": "DESTINATION", "code": CODE}
    )


def test_signing_in_shows_the_workspace_and_the_role(page: Page, workspace: Workspace) -> None:
    sign_in(page, workspace.server, workspace.token)

    expect(page.get_by_test_id("workspace-name")).to_have_text(workspace.name)
    expect(page.get_by_test_id("roles")).to_have_text("Workspace owner")
    expect(page.get_by_role("heading", name="Functions", level=1)).to_be_visible()


def test_an_unknown_token_is_refused_with_the_api_message(page: Page, workspace: Workspace) -> None:
    page.goto(f"{workspace.server.url}/")
    page.get_by_label("API token").fill("hr_not_a_real_token")
    page.get_by_role("button", name="Sign in").click()

    expect(page.get_by_role("alert")).to_contain_text("The API token is not valid.")
    expect(page.get_by_label("API token")).to_be_visible()


def test_signing_out_forgets_the_token(page: Page, workspace: Workspace) -> None:
    sign_in(page, workspace.server, workspace.token)

    page.get_by_role("button", name="Sign out").click()
    page.reload()

    expect(page.get_by_label("API token")).to_be_visible()


def test_a_read_only_member_can_view_a_function_but_not_save_or_run_it(
    page: Page, workspace: Workspace
) -> None:
    function = _function(workspace)
    token = _member(workspace, "FUNCTIONS_READ_ONLY")
    sign_in(page, workspace.server, token)

    expect(page.get_by_test_id("roles")).to_have_text("Functions read-only")
    expect(page.get_by_role("button", name="New function")).to_be_disabled()
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Audit trail")).to_have_count(0)
    expect(nav.get_by_text("Audit trail")).to_have_attribute(
        "title", "Only workspace owners can read the audit trail."
    )
    page.get_by_role("link", name="Orders").click()

    expect(page.get_by_role("button", name="Save", exact=True)).to_be_disabled()
    expect(page.get_by_role("button", name="Save & Deploy")).to_be_disabled()
    expect(page.get_by_role("button", name="Save & Deploy")).to_have_attribute(
        "title", "Changing this function needs the FUNCTIONS_ADMIN role for it; you can view it."
    )
    expect(page.get_by_role("button", name="Run", exact=True)).to_be_disabled()
    expect(page.get_by_text("needs the FUNCTIONS_ADMIN role")).not_to_have_count(0)
    editor = page.get_by_role("textbox", name="Function code")
    expect(editor).to_have_attribute("aria-readonly", "true")
    editor.click()
    page.keyboard.type("broken(")
    expect(editor).not_to_contain_text("broken(")
    assert workspace.get(f"/functions/{function['id']}")["latestVersion"]["version"] == 1


def test_a_source_admin_cannot_create_functions(page: Page, workspace: Workspace) -> None:
    token = _member(workspace, "SOURCE_ADMIN")
    sign_in(page, workspace.server, token)

    expect(page.get_by_test_id("roles")).to_have_text("Source admin")
    new_function = page.get_by_role("button", name="New function")
    expect(new_function).to_be_disabled()
    expect(new_function).to_have_attribute(
        "title", "Creating a function needs the FUNCTIONS_ADMIN role for the whole workspace."
    )
    page.get_by_role("link", name="Sources").click()
    expect(page.get_by_role("button", name="New source").first).to_be_enabled()


def test_the_audit_trail_lists_changes_to_a_function(page: Page, workspace: Workspace) -> None:
    function = _function(workspace)
    with workspace.api() as http:
        http.patch(
            f"/functions/{function['id']}", json={"displayName": "Orders v2"}
        ).raise_for_status()
    sign_in(page, workspace.server, workspace.token, "/audit")

    entries = page.get_by_role("table", name="Audit entries")
    expect(entries.get_by_role("row")).to_have_count(3)
    expect(entries.get_by_role("row").nth(1)).to_contain_text("function.updated")
    expect(entries.get_by_role("row").nth(2)).to_contain_text("function.created")
    snap(page, "audit")

    page.get_by_label("Resource id").fill("fn_unknown")
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_text("Nothing recorded")).to_be_visible()


def test_usage_counts_test_runs_per_function(page: Page, workspace: Workspace) -> None:
    function = _function(workspace)
    event = {"type": "track", "event": "Signed Up", "userId": "u1"}
    with workspace.api() as http:
        for _ in range(2):
            preview = http.post(
                "/functions/preview", json={"functionId": function["id"], "payload": event}
            )
            assert preview.json()["data"]["ok"] is True
    sign_in(page, workspace.server, workspace.token, "/usage")

    usage = page.get_by_role("table", name="Usage by function")
    expect(usage.get_by_role("row", name="Orders")).to_contain_text("2")
    expect(page.get_by_test_id("usage-total")).to_have_text("2")
    snap(page, "usage")
