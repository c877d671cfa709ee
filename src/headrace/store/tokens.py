"""API tokens: stored only as a hash, each belonging to one member of one workspace."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ForeignKey, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from headrace.store.base import ID_LENGTH, Base, UTCDateTime, new_id, utcnow
from headrace.store.workspaces import Member

TOKEN_HASH_LENGTH = 64
"""A sha256 hex digest."""
TOKEN_DESCRIPTION_MAX_LENGTH = 200


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    member_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("members.id", ondelete="CASCADE"), index=True
    )
    description: Mapped[str] = mapped_column(String(TOKEN_DESCRIPTION_MAX_LENGTH))
    token_hash: Mapped[str] = mapped_column(String(TOKEN_HASH_LENGTH), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


@dataclass(frozen=True)
class TokenOwner:
    """Who a token acts as: the token, its member and the member's workspace."""

    token_id: str
    member_id: str
    workspace_id: str


class TokenRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, member_id: str, token_hash: str, description: str) -> ApiToken:
        token = ApiToken(
            id=new_id("tok"),
            member_id=member_id,
            description=description,
            token_hash=token_hash,
            created_at=utcnow(),
        )
        self._session.add(token)
        self._session.flush()
        return token

    def find_owner(self, token_hash: str) -> TokenOwner | None:
        """The member and workspace of the token with this hash, in one query."""
        row = self._session.execute(
            select(ApiToken.id, ApiToken.member_id, Member.workspace_id)
            .join(Member, Member.id == ApiToken.member_id)
            .where(ApiToken.token_hash == token_hash)
        ).first()
        if row is None:
            return None
        return TokenOwner(token_id=row[0], member_id=row[1], workspace_id=row[2])

    def get(self, workspace_id: str, token_id: str) -> ApiToken | None:
        """The token with this id if its member belongs to `workspace_id`."""
        return self._session.scalars(
            select(ApiToken)
            .join(Member, Member.id == ApiToken.member_id)
            .where(ApiToken.id == token_id, Member.workspace_id == workspace_id)
        ).first()

    def list(self, workspace_id: str) -> Sequence[ApiToken]:
        return self._session.scalars(
            select(ApiToken)
            .join(Member, Member.id == ApiToken.member_id)
            .where(Member.workspace_id == workspace_id)
            .order_by(ApiToken.created_at, ApiToken.id)
        ).all()

    def delete(self, token: ApiToken) -> None:
        self._session.delete(token)
        self._session.flush()
