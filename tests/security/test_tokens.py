"""Token format and hashing; role grants and what they cover."""

from __future__ import annotations

from headrace.security import Principal, Role, RoleGrant, generate_token, hash_token


def test_tokens_have_the_hr_prefix_and_are_url_safe() -> None:
    token = generate_token()

    assert token.startswith("hr_")
    assert len(token) >= 40
    assert all(char.isalnum() or char in "-_" for char in token)


def test_tokens_are_unique() -> None:
    assert len({generate_token() for _ in range(1000)}) == 1000


def test_hash_is_sha256_hex_and_not_the_token() -> None:
    token = generate_token()

    digest = hash_token(token)

    assert len(digest) == 64
    assert token not in digest
    assert hash_token(token) == digest


def test_grant_without_resources_covers_the_whole_workspace() -> None:
    grant = RoleGrant(Role.FUNCTIONS_ADMIN)

    assert grant.covers("fn_any")
    assert grant.covers(None)


def test_grant_with_resources_covers_only_those() -> None:
    grant = RoleGrant(Role.FUNCTIONS_ADMIN, frozenset({"fn_a"}))

    assert grant.covers("fn_a")
    assert not grant.covers("fn_b")
    assert not grant.covers(None)


def test_workspace_owner_has_every_role() -> None:
    owner = Principal("ws_1", "mem_1", "tok_1", (RoleGrant(Role.WORKSPACE_OWNER),))

    assert all(owner.has_role(role, "anything") for role in Role)


def test_read_only_member_is_not_an_admin() -> None:
    reader = Principal("ws_1", "mem_1", "tok_1", (RoleGrant(Role.FUNCTIONS_READ_ONLY),))

    assert reader.has_role(Role.FUNCTIONS_READ_ONLY)
    assert not reader.has_role(Role.FUNCTIONS_ADMIN)
