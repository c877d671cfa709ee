"""`/api/v1/workspace`: the workspace of the caller's token."""

from __future__ import annotations

from fastapi import APIRouter

from headrace.api.auth import CurrentPrincipal, ServicesDep
from headrace.api.schemas import Envelope, MemberOut, RoleOut, WorkspaceOut

router = APIRouter(tags=["workspace"])


@router.get("/workspace", response_model=Envelope[WorkspaceOut], response_model_by_alias=True)
def get_workspace(principal: CurrentPrincipal, services: ServicesDep) -> Envelope[WorkspaceOut]:
    workspace = services.workspaces.get(principal)
    member = services.workspaces.member(principal)
    return Envelope(
        data=WorkspaceOut(
            id=workspace.id,
            name=workspace.name,
            created_at=workspace.created_at,
            member=MemberOut(
                id=member.id,
                name=member.name,
                roles=[
                    RoleOut(role=r["role"], resource_ids=r["resourceIds"]) for r in member.roles
                ],
            ),
        )
    )
