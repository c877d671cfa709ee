"""Member roles and the caller identity that authorization decisions are made on."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Role(StrEnum):
    WORKSPACE_OWNER = "WORKSPACE_OWNER"
    FUNCTIONS_ADMIN = "FUNCTIONS_ADMIN"
    FUNCTIONS_READ_ONLY = "FUNCTIONS_READ_ONLY"
    SOURCE_ADMIN = "SOURCE_ADMIN"


@dataclass(frozen=True)
class RoleGrant:
    """A role, limited to `resource_ids` when any are given, else workspace-wide."""

    role: Role
    resource_ids: frozenset[str] = frozenset()

    def covers(self, resource_id: str | None) -> bool:
        return not self.resource_ids or (
            resource_id is not None and resource_id in self.resource_ids
        )


@dataclass(frozen=True)
class Principal:
    """The authenticated caller: a token of a member of exactly one workspace."""

    workspace_id: str
    member_id: str
    token_id: str
    grants: tuple[RoleGrant, ...] = field(default=())

    def has_role(self, role: Role, resource_id: str | None = None) -> bool:
        """True if the caller is an owner, or holds `role` for `resource_id`."""
        return any(
            grant.role is Role.WORKSPACE_OWNER or (grant.role is role and grant.covers(resource_id))
            for grant in self.grants
        )
