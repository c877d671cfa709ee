"""Every table of headrace, imported in one place so that the metadata is complete."""

from headrace.store.base import Base
from headrace.store.tokens import ApiToken
from headrace.store.workspaces import Member, MemberRole, MemberRoleResource, Workspace

metadata = Base.metadata

__all__ = [
    "ApiToken",
    "Base",
    "Member",
    "MemberRole",
    "MemberRoleResource",
    "Workspace",
    "metadata",
]
