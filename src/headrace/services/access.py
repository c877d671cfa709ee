"""Authentication: who a bearer token acts as, with the roles of its member."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from headrace.security import Principal, Role, RoleGrant, hash_token, looks_like_token
from headrace.services.errors import Unauthenticated
from headrace.store import MemberRepository, TokenRepository

_UNKNOWN_TOKEN = "The API token is not valid."


class AccessService:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def authenticate(self, token: str) -> Principal:
        """The caller behind `token`; Unauthenticated if no such token exists."""
        if not looks_like_token(token):
            raise Unauthenticated(_UNKNOWN_TOKEN)
        with self._sessions() as session:
            owner = TokenRepository(session).find_owner(hash_token(token))
            if owner is None:
                raise Unauthenticated(_UNKNOWN_TOKEN)
            member = MemberRepository(session).get(owner.member_id)
            grants = tuple(
                RoleGrant(role=Role(grant.role), resource_ids=frozenset(grant.resource_ids))
                for grant in (member.roles if member is not None else [])
                if grant.role in Role.__members__
            )
        return Principal(
            workspace_id=owner.workspace_id,
            member_id=owner.member_id,
            token_id=owner.token_id,
            grants=grants,
        )
