"""Every table of headrace, imported in one place so that the metadata is complete."""

from headrace.store.audit import AuditEntry
from headrace.store.base import Base
from headrace.store.dedupe import seen_messages
from headrace.store.deliveries import delivery_counts, delivery_latency, delivery_records
from headrace.store.destination_filters import DestinationFilter
from headrace.store.destinations import Destination, InsertFunctionInstance, destination_sources
from headrace.store.functions import Function, FunctionVersion
from headrace.store.intake import intake_counts
from headrace.store.queue import jobs
from headrace.store.source_objects import source_objects
from headrace.store.sources import Source
from headrace.store.tokens import ApiToken
from headrace.store.usage import function_usage
from headrace.store.workspaces import Member, MemberRole, MemberRoleResource, Workspace

metadata = Base.metadata

__all__ = [
    "ApiToken",
    "AuditEntry",
    "Base",
    "Destination",
    "DestinationFilter",
    "Function",
    "FunctionVersion",
    "InsertFunctionInstance",
    "Member",
    "MemberRole",
    "MemberRoleResource",
    "Source",
    "Workspace",
    "delivery_counts",
    "delivery_latency",
    "delivery_records",
    "destination_sources",
    "function_usage",
    "intake_counts",
    "jobs",
    "metadata",
    "seen_messages",
    "source_objects",
]
