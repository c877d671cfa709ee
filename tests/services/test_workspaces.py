"""Creating workspaces, authenticating their tokens, and the first-start bootstrap."""

from __future__ import annotations

import stat

import pytest
from sqlalchemy import func, select

from headrace.config import Settings
from headrace.security import Role
from headrace.services import (
    Conflict,
    InvalidInput,
    Services,
    Unauthenticated,
    ensure_default_workspace,
)
from headrace.store import Member


def test_created_workspace_token_authenticates_as_its_owner(services: Services) -> None:
    created = services.workspaces.create("acme")

    principal = services.access.authenticate(created.token)

    assert principal.workspace_id == created.workspace.id
    assert principal.member_id == created.owner_member_id
    assert principal.has_role(Role.WORKSPACE_OWNER)


def test_duplicate_workspace_name_is_a_conflict(services: Services) -> None:
    services.workspaces.create("acme")

    with pytest.raises(Conflict, match="'acme' already exists"):
        services.workspaces.create("acme")


def test_failed_create_leaves_nothing_behind(services: Services) -> None:
    services.workspaces.create("acme")

    with pytest.raises(Conflict):
        services.workspaces.create("acme")

    assert services.workspaces.find_by_name("acme") is not None
    with services.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Member)) == 1


@pytest.mark.parametrize("name", ["", "   ", "x" * 101, "tab\there"])
def test_unusable_workspace_names_are_invalid_input(services: Services, name: str) -> None:
    with pytest.raises(InvalidInput):
        services.workspaces.create(name)


def test_workspace_name_is_stripped(services: Services) -> None:
    assert services.workspaces.create("  acme ").workspace.name == "acme"


def test_unknown_token_is_unauthenticated(services: Services) -> None:
    with pytest.raises(Unauthenticated):
        services.access.authenticate("hr_" + "x" * 43)


def test_garbage_token_is_unauthenticated(services: Services) -> None:
    with pytest.raises(Unauthenticated):
        services.access.authenticate("not even close")


def test_first_bootstrap_creates_default_workspace_and_0600_token_file(
    settings: Settings, services: Services
) -> None:
    bootstrap = ensure_default_workspace(settings, services.sessions)

    assert bootstrap is not None
    assert bootstrap.created.workspace.name == "default"
    assert settings.owner_token_path.read_text().strip() == bootstrap.created.token
    assert stat.S_IMODE(settings.owner_token_path.stat().st_mode) == 0o600


def test_second_bootstrap_does_nothing(settings: Settings, services: Services) -> None:
    first = ensure_default_workspace(settings, services.sessions)
    assert first is not None

    assert ensure_default_workspace(settings, services.sessions) is None
    assert settings.owner_token_path.read_text().strip() == first.created.token


def test_owner_token_file_is_0600_even_if_it_existed_with_wider_mode(
    settings: Settings, services: Services
) -> None:
    settings.owner_token_path.write_text("stale")
    settings.owner_token_path.chmod(0o644)

    ensure_default_workspace(settings, services.sessions)

    assert stat.S_IMODE(settings.owner_token_path.stat().st_mode) == 0o600
