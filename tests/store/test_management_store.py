"""The management tables: versions numbered per function, unique names, write keys."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from headrace.services import Services
from headrace.store.functions import DuplicateDisplayName, FunctionRepository


def _function(session: Session, workspace_id: str, name: str = "f") -> FunctionRepository:
    repository = FunctionRepository(session)
    repository.add(
        workspace_id,
        display_name=name,
        description="",
        resource_type="DESTINATION",
        language="python",
        created_by=None,
    )
    return repository


def test_versions_are_numbered_from_one_per_function(services: Services) -> None:
    workspace = services.workspaces.create("acme").workspace
    with services.sessions.begin() as session:
        repository = FunctionRepository(session)
        first = repository.add(
            workspace.id,
            display_name="a",
            description="",
            resource_type="DESTINATION",
            language="python",
            created_by=None,
        )
        numbers = [
            repository.add_version(first, code="", settings="[]", timeout_ms=1, author=None).version
            for _ in range(3)
        ]

        assert numbers == [1, 2, 3]
        assert first.latest_version_id == repository.versions(first.id)[0].id


def test_display_names_are_unique_per_workspace(services: Services) -> None:
    workspace = services.workspaces.create("acme").workspace
    with services.sessions.begin() as session:
        repository = _function(session, workspace.id, "same")

        with pytest.raises(DuplicateDisplayName):
            _function(session, workspace.id, "same")
        assert len(repository.in_workspace(workspace.id)) == 1


def test_a_function_of_another_workspace_is_not_found(services: Services) -> None:
    a = services.workspaces.create("a").workspace
    b = services.workspaces.create("b").workspace
    with services.sessions.begin() as session:
        repository = _function(session, a.id)
        function_id = repository.in_workspace(a.id)[0].id

        assert repository.get(b.id, function_id) is None
        assert repository.get(a.id, function_id) is not None
