"""Every table of headrace, imported in one place so that the metadata is complete."""

from headrace.store.base import Base
from headrace.store.dedupe import seen_messages
from headrace.store.deliveries import delivery_counts, delivery_records
from headrace.store.queue import jobs
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
    "delivery_counts",
    "delivery_records",
    "jobs",
    "metadata",
    "seen_messages",
]
