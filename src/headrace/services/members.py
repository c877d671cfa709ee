"""Members of a workspace, their roles and their API tokens: the owner's to manage."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from headrace.security import Principal, Role, generate_token, hash_token
from headrace.services import audit
from headrace.services.authorization import require_owner
from headrace.services.errors import Conflict, NotFound, Unprocessable
from headrace.store import MemberRepository, TokenRepository
from headrace.store.destinations import DestinationRepository
from headrace.store.functions import FunctionRepository
from headrace.store.sources import SourceRepository
from headrace.store.tokens import TOKEN_DESCRIPTION_MAX_LENGTH, ApiToken
from headrace.store.workspaces import MEMBER_NAME_MAX_LENGTH, Member

EMAIL_MAX_LENGTH = 320
# Deliberately loose: one @, something on each side, a dot in the domain. Mail decides.
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

_FUNCTION_ROLES = (Role.FUNCTIONS_ADMIN, Role.FUNCTIONS_READ_ONLY)


@dataclass(frozen=True)
class RoleView:
    role: Role
    resource_ids: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class MemberView:
    id: str
    name: str
    email: str | None
    roles: list[RoleView]
    created_at: datetime

    @classmethod
    def of(cls, member: Member) -> MemberView:
        return cls(
            id=member.id,
            name=member.name,
            email=member.email,
            roles=[RoleView(Role(r.role), r.resource_ids) for r in member.roles],
            created_at=member.created_at,
        )


@dataclass(frozen=True)
class TokenView:
    id: str
    member_id: str
    description: str
    created_at: datetime

    @classmethod
    def of(cls, token: ApiToken) -> TokenView:
        return cls(token.id, token.member_id, token.description, token.created_at)


@dataclass(frozen=True)
class CreatedToken:
    token: TokenView
    secret: str
    """The token in clear: shown once, never stored."""


class MemberService:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def list_all(self, principal: Principal) -> list[MemberView]:
        require_owner(principal)
        with self._sessions() as session:
            members = MemberRepository(session).list(principal.workspace_id)
            return [MemberView.of(m) for m in members]

    def get(self, principal: Principal, member_id: str) -> MemberView:
        require_owner(principal)
        with self._sessions() as session:
            return MemberView.of(_find(session, principal, member_id))

    def create(
        self,
        principal: Principal,
        *,
        email: str,
        roles: Sequence[RoleView],
        name: str | None = None,
    ) -> MemberView:
        require_owner(principal)
        email = _check_email(email)
        name = _check_member_name(name if name is not None else email)
        with self._sessions.begin() as session:
            repository = MemberRepository(session)
            if repository.find_by_email(principal.workspace_id, email) is not None:
                raise Conflict(f"A member with email {email!r} already exists.", field="email")
            grants = _check_roles(session, principal, roles)
            member = repository.add(principal.workspace_id, name, email=email, roles=grants)
            audit.record(
                session,
                principal,
                "member.created",
                "member",
                member.id,
                {"email": email, "roles": _roles_detail(grants)},
            )
            return MemberView.of(member)

    def update(
        self,
        principal: Principal,
        member_id: str,
        *,
        roles: Sequence[RoleView] | None = None,
        name: str | None = None,
    ) -> MemberView:
        require_owner(principal)
        with self._sessions.begin() as session:
            repository = MemberRepository(session)
            member = _find(session, principal, member_id)
            details: dict[str, object] = {}
            if name is not None:
                member.name = details["name"] = _check_member_name(name)
            if roles is not None:
                grants = _check_roles(session, principal, roles)
                was_owner = any(r.role == Role.WORKSPACE_OWNER for r in member.roles)
                stays_owner = any(role == Role.WORKSPACE_OWNER for role, _ in grants)
                if was_owner and not stays_owner:
                    _keep_an_owner(repository, principal)
                repository.set_roles(member, grants)
                details["roles"] = _roles_detail(grants)
            audit.record(
                session,
                principal,
                "member.roles_changed" if roles is not None else "member.updated",
                "member",
                member.id,
                details,
            )
            return MemberView.of(member)

    def delete(self, principal: Principal, member_id: str) -> None:
        """The member and every token of it; refused for the last owner."""
        require_owner(principal)
        with self._sessions.begin() as session:
            repository = MemberRepository(session)
            member = _find(session, principal, member_id)
            if any(r.role == Role.WORKSPACE_OWNER for r in member.roles):
                _keep_an_owner(repository, principal)
            audit.record(
                session, principal, "member.deleted", "member", member.id, {"email": member.email}
            )
            repository.delete(member)

    # -- tokens ----------------------------------------------------------------------------

    def tokens(self, principal: Principal) -> list[TokenView]:
        require_owner(principal)
        with self._sessions() as session:
            return [TokenView.of(t) for t in TokenRepository(session).list(principal.workspace_id)]

    def create_token(
        self, principal: Principal, *, member_id: str, description: str
    ) -> CreatedToken:
        require_owner(principal)
        description = description.strip()
        if not description or len(description) > TOKEN_DESCRIPTION_MAX_LENGTH:
            raise Unprocessable(
                f"description must be 1 to {TOKEN_DESCRIPTION_MAX_LENGTH} characters long.",
                field="description",
            )
        with self._sessions.begin() as session:
            member = _find(session, principal, member_id, field="memberId")
            secret = generate_token()
            token = TokenRepository(session).add(member.id, hash_token(secret), description)
            audit.record(
                session,
                principal,
                "token.created",
                "token",
                token.id,
                {"memberId": member.id, "description": description},
            )
            return CreatedToken(token=TokenView.of(token), secret=secret)

    def delete_token(self, principal: Principal, token_id: str) -> None:
        require_owner(principal)
        with self._sessions.begin() as session:
            repository = TokenRepository(session)
            token = repository.get(principal.workspace_id, token_id)
            if token is None:
                raise NotFound(f"There is no token {token_id} in this workspace.")
            audit.record(
                session,
                principal,
                "token.deleted",
                "token",
                token.id,
                {"memberId": token.member_id},
            )
            repository.delete(token)


def _find(
    session: Session, principal: Principal, member_id: str, field: str | None = None
) -> Member:
    member = MemberRepository(session).get(member_id, principal.workspace_id)
    if member is None:
        raise NotFound(f"There is no member {member_id} in this workspace.", field=field)
    return member


def _keep_an_owner(repository: MemberRepository, principal: Principal) -> None:
    if repository.count_with_role(principal.workspace_id, Role.WORKSPACE_OWNER.value) <= 1:
        raise Conflict("A workspace keeps at least one WORKSPACE_OWNER.", field="roles")


def _check_email(email: str) -> str:
    email = email.strip()
    if len(email) > EMAIL_MAX_LENGTH or not _EMAIL.match(email):
        raise Unprocessable(f"email {email[:80]!r} is not an email address.", field="email")
    return email


def _check_member_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > MEMBER_NAME_MAX_LENGTH:
        raise Unprocessable(
            f"name must be 1 to {MEMBER_NAME_MAX_LENGTH} characters long.", field="name"
        )
    return name


def _check_roles(
    session: Session, principal: Principal, roles: Sequence[RoleView]
) -> list[tuple[str, list[str]]]:
    """(role, resource ids) pairs; each resource a function (for the functions roles) or a
    source or destination (for SOURCE_ADMIN) of this workspace."""
    if not roles:
        raise Unprocessable("A member needs at least one role.", field="roles")
    seen: set[Role] = set()
    grants: list[tuple[str, list[str]]] = []
    for index, grant in enumerate(roles):
        if grant.role in seen:
            raise Unprocessable(f"Role {grant.role.value} is given twice.", field=f"roles[{index}]")
        seen.add(grant.role)
        if grant.role is Role.WORKSPACE_OWNER and grant.resource_ids:
            raise Unprocessable(
                "WORKSPACE_OWNER covers the whole workspace; it takes no resourceIds.",
                field=f"roles[{index}].resourceIds",
            )
        for position, resource_id in enumerate(grant.resource_ids):
            if not _is_resource_for(session, principal, grant.role, resource_id):
                what = "function" if grant.role in _FUNCTION_ROLES else "source or destination"
                raise NotFound(
                    f"There is no {what} {resource_id} in this workspace.",
                    field=f"roles[{index}].resourceIds[{position}]",
                )
        grants.append((grant.role.value, sorted(set(grant.resource_ids))))
    return grants


def _is_resource_for(session: Session, principal: Principal, role: Role, resource_id: str) -> bool:
    workspace_id = principal.workspace_id
    if role in _FUNCTION_ROLES:
        return FunctionRepository(session).get(workspace_id, resource_id) is not None
    return (
        SourceRepository(session).get(workspace_id, resource_id) is not None
        or DestinationRepository(session).get(workspace_id, resource_id) is not None
    )


def _roles_detail(grants: list[tuple[str, list[str]]]) -> list[dict[str, object]]:
    return [{"role": role, "resourceIds": ids} for role, ids in grants]
