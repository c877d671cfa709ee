"""Workspaces, members with roles, and tokens as the repositories store them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC

import pytest
from sqlalchemy.orm import Session

from headrace.services import Services
from headrace.store import (
    DuplicateWorkspaceName,
    MemberRepository,
    TokenRepository,
    WorkspaceRepository,
)


@pytest.fixture
def session(services: Services) -> Iterator[Session]:
    with services.sessions.begin() as session:
        yield session


def test_workspace_names_are_unique(session: Session) -> None:
    workspaces = WorkspaceRepository(session)
    workspaces.add("acme")

    with pytest.raises(DuplicateWorkspaceName):
        workspaces.add("acme")


def test_ids_are_opaque_prefixed_random_strings(session: Session) -> None:
    first = WorkspaceRepository(session).add("one")
    second = WorkspaceRepository(session).add("two")

    assert first.id.startswith("ws_") and second.id.startswith("ws_")
    assert first.id != second.id
    assert len(first.id) == len("ws_") + 26


def test_timestamps_read_back_as_utc(services: Services) -> None:
    with services.sessions.begin() as session:
        workspace_id = WorkspaceRepository(session).add("acme").id

    with services.sessions() as session:
        workspace = WorkspaceRepository(session).get(workspace_id)

    assert workspace is not None
    assert workspace.created_at.tzinfo is UTC


def test_member_roles_keep_their_resource_limits(services: Services) -> None:
    with services.sessions.begin() as session:
        workspace = WorkspaceRepository(session).add("acme")
        member_id = (
            MemberRepository(session)
            .add(
                workspace.id,
                "ada",
                roles=[("FUNCTIONS_ADMIN", ["fn_b", "fn_a"]), ("SOURCE_ADMIN", [])],
            )
            .id
        )

    with services.sessions() as session:
        member = MemberRepository(session).get(member_id)

    assert member is not None
    assert [(role.role, role.resource_ids) for role in member.roles] == [
        ("FUNCTIONS_ADMIN", ["fn_a", "fn_b"]),
        ("SOURCE_ADMIN", []),
    ]


def test_token_owner_is_found_by_hash_with_its_workspace(session: Session) -> None:
    workspace = WorkspaceRepository(session).add("acme")
    member = MemberRepository(session).add(workspace.id, "ada")
    token = TokenRepository(session).add(member.id, "a" * 64, "ci")

    owner = TokenRepository(session).find_owner("a" * 64)

    assert owner is not None
    assert (owner.token_id, owner.member_id, owner.workspace_id) == (
        token.id,
        member.id,
        workspace.id,
    )


def test_unknown_hash_has_no_owner(session: Session) -> None:
    assert TokenRepository(session).find_owner("b" * 64) is None
