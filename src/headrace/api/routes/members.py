"""`/api/v1/members` and `/api/v1/tokens`: the workspace's people, roles and API tokens."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import Field, StrictStr

from headrace.api.auth import CurrentPrincipal, ServicesDep
from headrace.api.schemas import ApiIn, ApiOut, DeletedOut, Envelope
from headrace.security import Role
from headrace.services.members import RoleView

router = APIRouter(tags=["members"])


class RoleIn(ApiIn):
    role: Role
    resource_ids: list[StrictStr] = Field(default_factory=list)

    def view(self) -> RoleView:
        return RoleView(role=self.role, resource_ids=list(self.resource_ids))


class RoleOut(ApiOut):
    role: Role
    resource_ids: list[str]


class MemberIn(ApiIn):
    email: StrictStr
    roles: list[RoleIn]
    name: StrictStr | None = None


class MemberPatch(ApiIn):
    roles: list[RoleIn] | None = None
    name: StrictStr | None = None


class MemberOut(ApiOut):
    id: str
    name: str
    email: str | None
    roles: list[RoleOut]
    created_at: datetime


class TokenIn(ApiIn):
    member_id: StrictStr
    description: StrictStr


class TokenOut(ApiOut):
    id: str
    member_id: str
    description: str
    created_at: datetime


class CreatedTokenOut(TokenOut):
    token: str
    """The token itself: shown in this response only."""


@router.post("/members", status_code=201, response_model=Envelope[MemberOut])
def create_member(
    body: MemberIn, principal: CurrentPrincipal, services: ServicesDep
) -> Envelope[MemberOut]:
    view = services.members.create(
        principal, email=body.email, roles=[r.view() for r in body.roles], name=body.name
    )
    return Envelope(data=MemberOut.model_validate(view))


@router.get("/members", response_model=Envelope[list[MemberOut]])
def list_members(principal: CurrentPrincipal, services: ServicesDep) -> Envelope[list[MemberOut]]:
    return Envelope(
        data=[MemberOut.model_validate(m) for m in services.members.list_all(principal)]
    )


@router.get("/members/{member_id}", response_model=Envelope[MemberOut])
def get_member(
    member_id: str, principal: CurrentPrincipal, services: ServicesDep
) -> Envelope[MemberOut]:
    return Envelope(data=MemberOut.model_validate(services.members.get(principal, member_id)))


@router.patch("/members/{member_id}", response_model=Envelope[MemberOut])
def update_member(
    member_id: str, body: MemberPatch, principal: CurrentPrincipal, services: ServicesDep
) -> Envelope[MemberOut]:
    roles = [r.view() for r in body.roles] if body.roles is not None else None
    view = services.members.update(principal, member_id, roles=roles, name=body.name)
    return Envelope(data=MemberOut.model_validate(view))


@router.delete("/members/{member_id}", response_model=Envelope[DeletedOut])
def delete_member(
    member_id: str, principal: CurrentPrincipal, services: ServicesDep
) -> Envelope[DeletedOut]:
    services.members.delete(principal, member_id)
    return Envelope(data=DeletedOut(id=member_id))


@router.post("/tokens", status_code=201, response_model=Envelope[CreatedTokenOut], tags=["tokens"])
def create_token(
    body: TokenIn, principal: CurrentPrincipal, services: ServicesDep
) -> Envelope[CreatedTokenOut]:
    created = services.members.create_token(
        principal, member_id=body.member_id, description=body.description
    )
    view = created.token
    return Envelope(
        data=CreatedTokenOut(
            id=view.id,
            member_id=view.member_id,
            description=view.description,
            created_at=view.created_at,
            token=created.secret,
        )
    )


@router.get("/tokens", response_model=Envelope[list[TokenOut]], tags=["tokens"])
def list_tokens(principal: CurrentPrincipal, services: ServicesDep) -> Envelope[list[TokenOut]]:
    return Envelope(data=[TokenOut.model_validate(t) for t in services.members.tokens(principal)])


@router.delete("/tokens/{token_id}", response_model=Envelope[DeletedOut], tags=["tokens"])
def delete_token(
    token_id: str, principal: CurrentPrincipal, services: ServicesDep
) -> Envelope[DeletedOut]:
    services.members.delete_token(principal, token_id)
    return Envelope(data=DeletedOut(id=token_id))
