"""Workspaces and their members (with roles): tables and the queries that serve them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship, selectinload

from headrace.store.base import ID_LENGTH, Base, UTCDateTime, new_id, utcnow

WORKSPACE_NAME_MAX_LENGTH = 100
MEMBER_NAME_MAX_LENGTH = 200
ROLE_MAX_LENGTH = 40
RESOURCE_ID_MAX_LENGTH = 64


class Workspace(Base):
    __tablename__ = "workspaces"

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    name: Mapped[str] = mapped_column(String(WORKSPACE_NAME_MAX_LENGTH), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Member(Base):
    """Someone (or something) acting in one workspace; tokens and roles hang off a member."""

    __tablename__ = "members"

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(MEMBER_NAME_MAX_LENGTH))
    email: Mapped[str | None] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    roles: Mapped[list[MemberRole]] = relationship(
        back_populates="member", cascade="all, delete-orphan", order_by="MemberRole.role"
    )


class MemberRole(Base):
    """One role granted to a member; with no resources it covers the whole workspace."""

    __tablename__ = "member_roles"
    __table_args__ = (UniqueConstraint("member_id", "role"),)

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    member_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("members.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[str] = mapped_column(String(ROLE_MAX_LENGTH))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    member: Mapped[Member] = relationship(back_populates="roles")
    resources: Mapped[list[MemberRoleResource]] = relationship(
        cascade="all, delete-orphan", order_by="MemberRoleResource.resource_id"
    )

    @property
    def resource_ids(self) -> list[str]:
        return [resource.resource_id for resource in self.resources]


class MemberRoleResource(Base):
    """Limits a member role to one resource (a function, a source, ...) of the workspace."""

    __tablename__ = "member_role_resources"

    member_role_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("member_roles.id", ondelete="CASCADE"), primary_key=True
    )
    resource_id: Mapped[str] = mapped_column(String(RESOURCE_ID_MAX_LENGTH), primary_key=True)


class DuplicateWorkspaceName(Exception):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


class WorkspaceRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, name: str) -> Workspace:
        """Insert a workspace; raises DuplicateWorkspaceName if the name is taken.

        The unique index decides, so two concurrent creators cannot both win. No savepoint:
        after the error the caller's transaction is rolled back as a whole.
        """
        if self.get_by_name(name) is not None:
            raise DuplicateWorkspaceName(name)
        workspace = Workspace(id=new_id("ws"), name=name, created_at=utcnow())
        self._session.add(workspace)
        try:
            self._session.flush()
        except IntegrityError:
            raise DuplicateWorkspaceName(name) from None
        return workspace

    def get(self, workspace_id: str) -> Workspace | None:
        return self._session.get(Workspace, workspace_id)

    def get_by_name(self, name: str) -> Workspace | None:
        return self._session.scalars(select(Workspace).where(Workspace.name == name)).first()

    def list(self) -> Sequence[Workspace]:
        return self._session.scalars(select(Workspace).order_by(Workspace.created_at)).all()


class MemberRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def add(
        self,
        workspace_id: str,
        name: str,
        *,
        email: str | None = None,
        roles: Iterable[tuple[str, Iterable[str]]] = (),
    ) -> Member:
        """Insert a member with its roles, each given as (role, resource ids)."""
        now = utcnow()
        member = Member(
            id=new_id("mem"), workspace_id=workspace_id, name=name, email=email, created_at=now
        )
        for role, resource_ids in roles:
            member.roles.append(
                MemberRole(
                    id=new_id("role"),
                    role=role,
                    created_at=now,
                    resources=[MemberRoleResource(resource_id=rid) for rid in resource_ids],
                )
            )
        self._session.add(member)
        self._session.flush()
        return member

    def get(self, member_id: str, workspace_id: str | None = None) -> Member | None:
        """The member with this id; with `workspace_id`, only if it belongs to it."""
        query = (
            select(Member)
            .where(Member.id == member_id)
            .options(selectinload(Member.roles).selectinload(MemberRole.resources))
        )
        if workspace_id is not None:
            query = query.where(Member.workspace_id == workspace_id)
        return self._session.scalars(query).first()

    def list(self, workspace_id: str) -> Sequence[Member]:
        return self._session.scalars(
            select(Member)
            .where(Member.workspace_id == workspace_id)
            .options(selectinload(Member.roles).selectinload(MemberRole.resources))
            .order_by(Member.created_at, Member.id)
        ).all()

    def find_by_email(self, workspace_id: str, email: str) -> Member | None:
        return self._session.scalars(
            select(Member).where(Member.workspace_id == workspace_id, Member.email == email)
        ).first()

    def set_roles(self, member: Member, roles: Iterable[tuple[str, Iterable[str]]]) -> None:
        """Replace every role of `member` with `roles`, each given as (role, resource ids)."""
        member.roles.clear()
        # Flushed before the new rows go in: (member, role) is unique.
        self._session.flush()
        now = utcnow()
        for role, resource_ids in roles:
            member.roles.append(
                MemberRole(
                    id=new_id("role"),
                    role=role,
                    created_at=now,
                    resources=[MemberRoleResource(resource_id=rid) for rid in resource_ids],
                )
            )
        self._session.flush()

    def count_with_role(self, workspace_id: str, role: str) -> int:
        return len(
            self._session.scalars(
                select(MemberRole.id)
                .join(Member, Member.id == MemberRole.member_id)
                .where(Member.workspace_id == workspace_id, MemberRole.role == role)
            ).all()
        )

    def delete(self, member: Member) -> None:
        self._session.delete(member)
        self._session.flush()
