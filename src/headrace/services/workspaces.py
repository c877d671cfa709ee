"""Use cases on workspaces: create one with its owner and token, read the caller's."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from headrace.log import get_logger
from headrace.security import Principal, Role, generate_token, hash_token
from headrace.services.errors import Conflict, InvalidInput, NotFound
from headrace.store import (
    DuplicateWorkspaceName,
    MemberRepository,
    TokenRepository,
    Workspace,
    WorkspaceRepository,
)
from headrace.store.workspaces import WORKSPACE_NAME_MAX_LENGTH

OWNER_MEMBER_NAME = "owner"
OWNER_TOKEN_DESCRIPTION = "owner token"

_log = get_logger("workspaces")


@dataclass(frozen=True)
class WorkspaceView:
    id: str
    name: str
    created_at: datetime

    @classmethod
    def of(cls, workspace: Workspace) -> WorkspaceView:
        return cls(id=workspace.id, name=workspace.name, created_at=workspace.created_at)


@dataclass(frozen=True)
class MemberView:
    """Who a token acts as: the member and its roles (what the UI may offer it)."""

    id: str
    name: str
    roles: list[dict[str, Any]]
    """`{"role": ..., "resourceIds": [...]}`; no resource ids means workspace-wide."""


@dataclass(frozen=True)
class CreatedWorkspace:
    workspace: WorkspaceView
    owner_member_id: str
    token: str
    """The owner token in clear: shown once, never stored."""


class WorkspaceService:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def create(self, name: str) -> CreatedWorkspace:
        """A workspace, an owner member and an owner API token, in one transaction."""
        with self._sessions.begin() as session:
            return create_workspace(session, name)

    def get(self, principal: Principal) -> WorkspaceView:
        with self._sessions() as session:
            workspace = WorkspaceRepository(session).get(principal.workspace_id)
        if workspace is None:
            raise NotFound("The workspace of this token no longer exists.")
        return WorkspaceView.of(workspace)

    def member(self, principal: Principal) -> MemberView:
        """The member the caller's token belongs to, with its roles."""
        with self._sessions() as session:
            member = MemberRepository(session).get(principal.member_id, principal.workspace_id)
            name = member.name if member is not None else ""
        return MemberView(
            id=principal.member_id,
            name=name,
            roles=[
                {"role": grant.role.value, "resourceIds": sorted(grant.resource_ids)}
                for grant in principal.grants
            ],
        )

    def find_by_name(self, name: str) -> WorkspaceView | None:
        with self._sessions() as session:
            workspace = WorkspaceRepository(session).get_by_name(name)
        return None if workspace is None else WorkspaceView.of(workspace)


def create_workspace(session: Session, name: str) -> CreatedWorkspace:
    """The body of `WorkspaceService.create`, for callers that own the transaction."""
    name = validate_workspace_name(name)
    try:
        workspace = WorkspaceRepository(session).add(name)
    except DuplicateWorkspaceName:
        raise Conflict(f"A workspace named {name!r} already exists.") from None
    owner = MemberRepository(session).add(
        workspace.id, OWNER_MEMBER_NAME, roles=[(Role.WORKSPACE_OWNER.value, ())]
    )
    token = generate_token()
    TokenRepository(session).add(owner.id, hash_token(token), OWNER_TOKEN_DESCRIPTION)
    _log.info("workspace created", extra={"workspace_id": workspace.id, "workspace_name": name})
    return CreatedWorkspace(
        workspace=WorkspaceView.of(workspace), owner_member_id=owner.id, token=token
    )


def validate_workspace_name(name: str) -> str:
    """The name with surrounding blanks removed; InvalidInput if it is empty or odd."""
    name = name.strip()
    if not name:
        raise InvalidInput("A workspace name must not be empty.")
    if len(name) > WORKSPACE_NAME_MAX_LENGTH:
        raise InvalidInput(
            f"A workspace name must be at most {WORKSPACE_NAME_MAX_LENGTH} characters long."
        )
    if any(unicodedata.category(char).startswith("C") for char in name):
        raise InvalidInput("A workspace name must not contain control characters.")
    return name
