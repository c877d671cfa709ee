"""Segment's role rules: owners do everything; functions admins edit functions (all or
listed); read-only members view them without secrets; connecting functions, instances,
enabling and deploying also need SOURCE_ADMIN; members and tokens are the owner's."""

from __future__ import annotations

import pytest

from tests.api.support import DESTINATION_CODE, SECRET, TRACK_EVENT, Caller, only_error

FUNCTIONS_ADMIN = {"role": "FUNCTIONS_ADMIN"}
READ_ONLY = {"role": "FUNCTIONS_READ_ONLY"}
SOURCE_ADMIN = {"role": "SOURCE_ADMIN"}


def _new_function_body(name: str = "By admin") -> dict[str, object]:
    return {"displayName": name, "resourceType": "DESTINATION", "code": DESTINATION_CODE}


def test_read_only_member_sees_functions(owner: Caller) -> None:
    function = owner.create_function()
    reader = owner.create_member(READ_ONLY)

    assert reader.data(reader.get(f"/functions/{function['id']}"))["id"] == function["id"]
    assert [f["id"] for f in reader.data(reader.get("/functions"))] == [function["id"]]


def test_read_only_member_cannot_edit_a_function(owner: Caller) -> None:
    function = owner.create_function()
    reader = owner.create_member(READ_ONLY)

    error = only_error(reader.patch(f"/functions/{function['id']}", {"code": "x"}), 403)

    assert "FUNCTIONS_ADMIN" in error["message"]


def test_read_only_member_cannot_create_delete_or_preview(owner: Caller) -> None:
    function = owner.create_function()
    reader = owner.create_member(READ_ONLY)

    responses = [
        reader.post("/functions", _new_function_body()),
        reader.delete(f"/functions/{function['id']}"),
        reader.post("/functions/preview", {"functionId": function["id"], "payload": TRACK_EVENT}),
    ]

    assert [r.status_code for r in responses] == [403, 403, 403]


def test_read_only_member_never_sees_secret_values(owner: Caller) -> None:
    function = owner.create_function()
    destination = owner.create_destination(function["id"])
    reader = owner.create_member(READ_ONLY)

    response = reader.get(f"/destinations/{destination['id']}")

    assert response.status_code == 200
    assert SECRET not in response.text
    assert response.json()["data"]["settings"]["apiKey"] == "••••••"


def test_read_only_member_limited_to_resources_sees_only_those(owner: Caller) -> None:
    shown = owner.create_function(displayName="shown")
    hidden = owner.create_function(displayName="hidden")
    reader = owner.create_member({"role": "FUNCTIONS_READ_ONLY", "resourceIds": [shown["id"]]})

    listed = reader.data(reader.get("/functions"))
    response = reader.get(f"/functions/{hidden['id']}")

    assert [f["id"] for f in listed] == [shown["id"]]
    assert "FUNCTIONS_READ_ONLY" in only_error(response, 403)["message"]


def test_functions_admin_creates_edits_previews_and_deletes(owner: Caller) -> None:
    admin = owner.create_member(FUNCTIONS_ADMIN)

    function = admin.data(admin.post("/functions", _new_function_body()), 201)
    admin.data(admin.patch(f"/functions/{function['id']}", {"description": "mine"}))
    admin.data(
        admin.post("/functions/preview", {"functionId": function["id"], "payload": TRACK_EVENT})
    )
    admin.data(admin.delete(f"/functions/{function['id']}"))


def test_functions_admin_limited_to_a_function_edits_only_that_one(owner: Caller) -> None:
    mine = owner.create_function(displayName="mine")
    other = owner.create_function(displayName="other")
    admin = owner.create_member({"role": "FUNCTIONS_ADMIN", "resourceIds": [mine["id"]]})

    allowed = admin.patch(f"/functions/{mine['id']}", {"description": "ok"})
    refused = admin.patch(f"/functions/{other['id']}", {"description": "no"})
    create = admin.post("/functions", _new_function_body())

    assert allowed.status_code == 200
    assert only_error(refused, 403)["type"] == "forbidden"
    assert "whole workspace" in only_error(create, 403)["message"]


def test_functions_admin_cannot_connect_a_function_without_source_admin(owner: Caller) -> None:
    admin = owner.create_member(FUNCTIONS_ADMIN)
    function = admin.data(admin.post("/functions", _new_function_body()), 201)

    response = admin.post(
        "/destinations",
        {"name": "x", "kind": "FUNCTION", "functionId": function["id"], "settings": {}},
    )

    assert "SOURCE_ADMIN" in only_error(response, 403)["message"]


def test_functions_admin_cannot_deploy_without_source_admin(owner: Caller) -> None:
    function = owner.create_function()
    owner.create_destination(function["id"])
    admin = owner.create_member(FUNCTIONS_ADMIN)

    response = admin.post(f"/functions/{function['id']}/deploy")

    assert "SOURCE_ADMIN" in only_error(response, 403)["message"]


def test_source_admin_alone_cannot_connect_a_function(owner: Caller) -> None:
    function = owner.create_function()
    source_admin = owner.create_member(SOURCE_ADMIN)

    response = source_admin.post(
        "/destinations",
        {"name": "x", "kind": "FUNCTION", "functionId": function["id"], "settings": {}},
    )

    assert "FUNCTIONS_ADMIN" in only_error(response, 403)["message"]


def test_source_admin_manages_webhook_destinations_and_tracking_sources(owner: Caller) -> None:
    source_admin = owner.create_member(SOURCE_ADMIN)

    source = source_admin.data(
        source_admin.post("/sources", {"name": "w", "kind": "TRACKING"}), 201
    )
    destination = source_admin.data(
        source_admin.post(
            "/destinations",
            {
                "name": "hook",
                "kind": "WEBHOOK",
                "sourceIds": [source["id"]],
                "settings": {"url": "https://example.com/hook"},
            },
        ),
        201,
    )

    assert (
        source_admin.patch(f"/destinations/{destination['id']}", {"enabled": False}).status_code
        == 200
    )


def test_functions_and_source_admin_together_connect_enable_and_deploy(owner: Caller) -> None:
    both = owner.create_member(FUNCTIONS_ADMIN, SOURCE_ADMIN)
    function = both.data(
        both.post(
            "/functions",
            {**_new_function_body(), "settings": [{"name": "apiKey", "type": "STRING"}]},
        ),
        201,
    )

    destination = both.data(
        both.post(
            "/destinations",
            {"name": "x", "kind": "FUNCTION", "functionId": function["id"], "enabled": False},
        ),
        201,
    )
    both.data(both.patch(f"/destinations/{destination['id']}", {"enabled": True}))
    both.data(both.post(f"/functions/{function['id']}/deploy"))


def test_read_only_member_cannot_change_a_destination(owner: Caller) -> None:
    function = owner.create_function()
    destination = owner.create_destination(function["id"])
    reader = owner.create_member(READ_ONLY)

    response = reader.patch(f"/destinations/{destination['id']}", {"enabled": False})

    assert "SOURCE_ADMIN" in only_error(response, 403)["message"]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/members"),
        ("post", "/members"),
        ("get", "/tokens"),
        ("post", "/tokens"),
        ("get", "/audit"),
    ],
)
def test_only_owners_manage_members_tokens_and_read_the_audit_trail(
    owner: Caller, method: str, path: str
) -> None:
    admin = owner.create_member(FUNCTIONS_ADMIN, SOURCE_ADMIN)
    body = {"email": "x@example.com", "roles": [READ_ONLY], "memberId": admin.member_id}

    if method == "get":
        response = admin.get(path)
    else:
        payload = (
            {"email": "x@example.com", "roles": [READ_ONLY]}
            if path == "/members"
            else {"memberId": body["memberId"], "description": "mine"}
        )
        response = admin.post(path, payload)

    assert "WORKSPACE_OWNER" in only_error(response, 403)["message"]
