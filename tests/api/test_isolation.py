"""A member of another workspace sees nothing: every id of another workspace is a 404."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from headrace.services import Services
from tests.api.support import TRACK_EVENT, Caller, only_error, owner_of


@pytest.fixture
def other(client: TestClient, services: Services) -> Caller:
    return owner_of(client, services, "other")


@pytest.fixture
def things(owner: Caller) -> dict[str, str]:
    function = owner.create_function()
    destination = owner.create_destination(function["id"])
    source = owner.data(owner.post("/sources", {"name": "web", "kind": "TRACKING"}), 201)
    member = owner.create_member({"role": "FUNCTIONS_READ_ONLY"})
    token = next(
        t["id"] for t in owner.data(owner.get("/tokens")) if t["memberId"] == member.member_id
    )
    return {
        "function": function["id"],
        "version": function["latestVersion"]["id"],
        "destination": destination["id"],
        "source": source["id"],
        "member": member.member_id,
        "token": token,
    }


def test_lists_of_another_workspace_are_empty(other: Caller, things: dict[str, str]) -> None:
    for path in ("/functions", "/sources", "/destinations", "/insert-function-instances", "/audit"):
        assert other.data(other.get(path)) == [], path
    assert [m["id"] for m in other.data(other.get("/members"))] == [other.member_id]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/functions/{function}"),
        ("patch", "/functions/{function}"),
        ("delete", "/functions/{function}"),
        ("get", "/functions/{function}/versions"),
        ("get", "/functions/{function}/versions/{version}"),
        ("post", "/functions/{function}/deploy"),
        ("get", "/sources/{source}"),
        ("patch", "/sources/{source}"),
        ("delete", "/sources/{source}"),
        ("get", "/destinations/{destination}"),
        ("patch", "/destinations/{destination}"),
        ("delete", "/destinations/{destination}"),
        ("get", "/members/{member}"),
        ("patch", "/members/{member}"),
        ("delete", "/members/{member}"),
        ("delete", "/tokens/{token}"),
    ],
)
def test_ids_of_another_workspace_are_404_never_403(
    other: Caller, things: dict[str, str], method: str, path: str
) -> None:
    url = path.format(**things)

    if method == "get":
        response = other.get(url)
    elif method == "patch":
        response = other.patch(url, {})
    elif method == "post":
        response = other.post(url)
    else:
        response = other.delete(url)

    assert only_error(response, 404)["type"] == "not-found"


def test_referring_to_another_workspace_in_a_body_is_404_naming_the_field(
    other: Caller, things: dict[str, str]
) -> None:
    restore = other.post(
        f"/functions/{things['function']}/versions", {"versionId": things["version"]}
    )
    destination = other.post(
        "/destinations",
        {"name": "x", "kind": "FUNCTION", "functionId": things["function"], "settings": {}},
    )
    connected = other.post(
        "/destinations",
        {
            "name": "x",
            "kind": "WEBHOOK",
            "sourceIds": [things["source"]],
            "settings": {"url": "https://example.com"},
        },
    )
    preview = other.post(
        "/functions/preview", {"functionId": things["function"], "payload": TRACK_EVENT}
    )
    token = other.post("/tokens", {"memberId": things["member"], "description": "steal"})

    assert only_error(restore, 404)["type"] == "not-found"
    assert only_error(destination, 404)["field"] == "functionId"
    assert only_error(connected, 404)["field"] == "sourceIds[0]"
    assert only_error(preview, 404)["field"] == "functionId"
    assert only_error(token, 404)["field"] == "memberId"


def test_display_names_are_unique_per_workspace_only(owner: Caller, other: Caller) -> None:
    owner.create_function(displayName="Same")

    assert other.create_function(displayName="Same")["displayName"] == "Same"
