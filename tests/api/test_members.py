"""`/api/v1/members` and `/api/v1/tokens`: the owner adds people with roles and tokens."""

from __future__ import annotations

from tests.api.support import Caller, bearer, only_error


def test_the_creator_of_a_workspace_is_its_owner(owner: Caller) -> None:
    members = owner.data(owner.get("/members"))

    assert [(m["id"], m["roles"]) for m in members] == [
        (owner.member_id, [{"role": "WORKSPACE_OWNER", "resourceIds": []}])
    ]


def test_owner_adds_a_member_with_roles_limited_to_resources(owner: Caller) -> None:
    function = owner.create_function()

    member = owner.data(
        owner.post(
            "/members",
            {
                "email": "dev@example.com",
                "roles": [{"role": "FUNCTIONS_ADMIN", "resourceIds": [function["id"]]}],
            },
        ),
        201,
    )

    assert member["id"].startswith("mem_")
    assert member["email"] == "dev@example.com"
    assert member["roles"] == [{"role": "FUNCTIONS_ADMIN", "resourceIds": [function["id"]]}]


def test_a_role_limited_to_an_unknown_resource_is_404_naming_it(owner: Caller) -> None:
    response = owner.post(
        "/members",
        {"email": "d@example.com", "roles": [{"role": "FUNCTIONS_ADMIN", "resourceIds": ["fn_x"]}]},
    )

    assert only_error(response, 404)["field"] == "roles[0].resourceIds[0]"


def test_an_unknown_role_is_422(owner: Caller) -> None:
    response = owner.post("/members", {"email": "d@example.com", "roles": [{"role": "GOD"}]})

    assert "roles.0.role" in only_error(response, 422)["message"]


def test_an_email_twice_is_409(owner: Caller) -> None:
    owner.create_member({"role": "SOURCE_ADMIN"}, email="same@example.com")

    response = owner.post(
        "/members", {"email": "same@example.com", "roles": [{"role": "SOURCE_ADMIN"}]}
    )

    assert only_error(response, 409)["field"] == "email"


def test_patch_replaces_the_roles(owner: Caller) -> None:
    member = owner.create_member({"role": "FUNCTIONS_READ_ONLY"})

    updated = owner.data(
        owner.patch(f"/members/{member.member_id}", {"roles": [{"role": "FUNCTIONS_ADMIN"}]})
    )

    assert updated["roles"] == [{"role": "FUNCTIONS_ADMIN", "resourceIds": []}]
    function = member.post(
        "/functions",
        {
            "displayName": "now allowed",
            "resourceType": "DESTINATION",
            "code": "def on_track(e, s): pass",
        },
    )
    assert function.status_code == 201


def test_the_last_owner_cannot_lose_the_role_or_be_deleted(owner: Caller) -> None:
    demote = owner.patch(f"/members/{owner.member_id}", {"roles": [{"role": "SOURCE_ADMIN"}]})
    delete = owner.delete(f"/members/{owner.member_id}")

    assert only_error(demote, 409)["field"] == "roles"
    assert only_error(delete, 409)["field"] == "roles"


def test_deleting_a_member_ends_its_tokens(owner: Caller) -> None:
    member = owner.create_member({"role": "FUNCTIONS_READ_ONLY"})

    owner.data(owner.delete(f"/members/{member.member_id}"))

    assert member.get("/functions").status_code == 401


def test_a_token_is_shown_once_and_listed_without_it(owner: Caller) -> None:
    member = owner.create_member({"role": "FUNCTIONS_READ_ONLY"})

    created = owner.data(
        owner.post("/tokens", {"memberId": member.member_id, "description": "ci"}), 201
    )
    listed = owner.data(owner.get("/tokens"))

    assert created["token"].startswith("hr_")
    assert created["token"] not in str(listed)
    assert {t["id"] for t in listed} >= {created["id"]}
    assert (
        owner.client.get("/api/v1/functions", headers=bearer(created["token"])).status_code == 200
    )


def test_a_deleted_token_no_longer_authenticates(owner: Caller) -> None:
    member = owner.create_member({"role": "FUNCTIONS_READ_ONLY"})
    tokens = owner.data(owner.get("/tokens"))
    token_id = next(t["id"] for t in tokens if t["memberId"] == member.member_id)

    owner.data(owner.delete(f"/tokens/{token_id}"))

    assert member.get("/functions").status_code == 401


def test_a_token_for_an_unknown_member_is_404(owner: Caller) -> None:
    response = owner.post("/tokens", {"memberId": "mem_nope", "description": "x"})

    assert only_error(response, 404)["field"] == "memberId"
