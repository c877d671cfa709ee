"""The function editor: errors from a save at their line, Save versus Save & Deploy, the
version history with its diff and restore, and the Settings tab."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import Page, expect

from tests.web.support import Workspace, replace_code, sign_in, snap

V1 = "async def on_track(event, settings):\n    return 'v1'\n"
V2 = "async def on_track(event, settings):\n    return 'v2'\n"


def _function(workspace: Workspace, code: str = V1, **extra: Any) -> dict[str, Any]:
    body = {"displayName": "Orders", "resourceType": "DESTINATION", "code": code, **extra}
    return workspace.create("/functions", body)


def _instance(workspace: Workspace, function_id: str, name: str) -> dict[str, Any]:
    body = {"name": name, "kind": "FUNCTION", "functionId": function_id}
    return workspace.create("/destinations", body)


def test_a_save_refused_for_broken_code_marks_the_line(page: Page, workspace: Workspace) -> None:
    function = _function(workspace)
    sign_in(page, workspace.server, workspace.token, f"/functions/{function['id']}")

    replace_code(page, "async def on_track(event, settings):\n    return (\n")
    page.get_by_role("button", name="Save", exact=True).click()

    banner = page.get_by_role("alert")
    expect(banner).to_contain_text("Not saved")
    expect(banner).to_contain_text("line 2")
    expect(page.locator(".cm-host .cm-gutter-lint .cm-lint-marker-error")).to_have_count(1)
    expect(page.locator(".cm-host .cm-lintRange-error")).to_contain_text("return (")
    expect(page.get_by_test_id("latest-version")).to_have_text("Latest: version 1")


def test_save_keeps_instances_on_their_version_and_deploy_moves_the_chosen_ones(
    page: Page, workspace: Workspace
) -> None:
    function = _function(workspace)
    chosen = _instance(workspace, function["id"], "Orders EU")
    other = _instance(workspace, function["id"], "Orders US")
    sign_in(page, workspace.server, workspace.token, f"/functions/{function['id']}")

    replace_code(page, V2)
    expect(page.get_by_text("Unsaved changes")).to_be_visible()
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_test_id("latest-version")).to_have_text("Latest: version 2")
    expect(page.get_by_text("Deployed: v1 on 2 instances")).to_be_visible()

    page.get_by_role("button", name="Save & Deploy").click()
    dialog = page.get_by_role("dialog", name="Deploy version 2")
    dialog.get_by_role("checkbox", name="Deploy to Orders US").uncheck()
    dialog.get_by_role("button", name="Deploy to 1").click()
    expect(page.get_by_text("Deployed: v1 on 1 instance, v2 on 1 instance")).to_be_visible()

    latest = workspace.get(f"/functions/{function['id']}")["latestVersion"]["id"]
    assert workspace.get(f"/destinations/{chosen['id']}")["versionId"] == latest
    assert (
        workspace.get(f"/destinations/{other['id']}")["versionId"]
        == function["latestVersion"]["id"]
    )


def test_save_and_deploy_saves_the_edits_first(page: Page, workspace: Workspace) -> None:
    function = _function(workspace)
    instance = _instance(workspace, function["id"], "Orders EU")
    sign_in(page, workspace.server, workspace.token, f"/functions/{function['id']}")

    replace_code(page, V2)
    page.get_by_role("button", name="Save & Deploy").click()
    page.get_by_role("dialog").get_by_role("button", name="Save and deploy to 1").click()

    expect(page.get_by_text("Deployed: v2 on 1 instance")).to_be_visible()
    deployed = workspace.get(f"/destinations/{instance['id']}")["versionId"]
    assert workspace.get(f"/functions/{function['id']}/versions/{deployed}")["code"] == V2


def test_history_shows_the_diff_and_restores_a_version(page: Page, workspace: Workspace) -> None:
    function = _function(workspace)
    with workspace.api() as http:
        http.patch(f"/functions/{function['id']}", json={"code": V2}).raise_for_status()
    sign_in(page, workspace.server, workspace.token, f"/functions/{function['id']}")

    page.get_by_role("button", name="History").click()
    dialog = page.get_by_role("dialog", name="Version history")
    expect(dialog.get_by_role("option", name=re.compile("Version 1"))).to_have_attribute(
        "aria-selected", "true"
    )
    expect(
        dialog.locator(".cm-mergeView .cm-deletedChunk, .cm-mergeView .cm-changedLine")
    ).not_to_have_count(0)
    expect(dialog.locator(".cm-merge-a")).to_contain_text("return 'v1'")
    expect(dialog.locator(".cm-merge-b")).to_contain_text("return 'v2'")
    snap(page, "history")
    dialog.get_by_role("button", name="Restore version 1").click()

    expect(page.get_by_test_id("latest-version")).to_have_text("Latest: version 3")
    expect(page.locator(".cm-host .cm-content")).to_contain_text("return 'v1'")
    versions = workspace.get(f"/functions/{function['id']}/versions")
    assert (versions[0]["version"], versions[0]["restoredFrom"]) == (3, 1)


def test_settings_tab_adds_a_setting_previews_it_and_saves_it(
    page: Page, workspace: Workspace
) -> None:
    function = _function(workspace)
    sign_in(page, workspace.server, workspace.token, f"/functions/{function['id']}")

    page.get_by_role("tab", name="Settings").click()
    page.get_by_role("button", name="Add setting").click()
    form = page.get_by_role("form", name="New setting")
    form.get_by_label("Label").fill("API key")
    expect(form.get_by_label("Name")).to_have_value("apiKey")
    form.get_by_label("Description").fill("From the CRM's admin page.")
    form.get_by_label("Required").check()
    form.get_by_label(re.compile("^Sensitive")).check()
    form.get_by_role("button", name="Add setting").click()

    preview = page.get_by_label("Settings preview")
    expect(preview.get_by_label(re.compile("^API key"))).to_have_attribute("type", "password")
    expect(preview).to_contain_text("From the CRM's admin page.")
    snap(page, "settings")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_test_id("latest-version")).to_have_text("Latest: version 2")

    saved = workspace.get(f"/functions/{function['id']}")["settings"]
    assert saved == [
        {
            "name": "apiKey",
            "label": "API key",
            "description": "From the CRM's admin page.",
            "type": "STRING",
            "required": True,
            "sensitive": True,
        }
    ]


def test_settings_tab_edits_and_deletes_settings(page: Page, workspace: Workspace) -> None:
    settings = [
        {"name": "region", "type": "STRING"},
        {"name": "verbose", "type": "BOOLEAN"},
    ]
    function = _function(workspace, settings=settings)
    sign_in(page, workspace.server, workspace.token, f"/functions/{function['id']}?tab=settings")

    page.locator("[data-setting=region]").get_by_role("button", name="Edit").click()
    page.get_by_role("form", name="Edit region").get_by_label("Label").fill("Region")
    page.get_by_role("button", name="Update setting").click()
    page.get_by_role("button", name="Delete verbose").click()
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_test_id("latest-version")).to_have_text("Latest: version 2")

    saved = workspace.get(f"/functions/{function['id']}")["settings"]
    assert [(s["name"], s["label"]) for s in saved] == [("region", "Region")]
