"""Who may do what, after Segment's roles. Every refusal names the role that is missing.

Owners do everything. Functions admins create, edit, delete and preview functions (all,
or those in their resourceIds); functions read-only members view them. Connecting a
function to a source or destination, creating and enabling instances and deploying also
need SOURCE_ADMIN. Members and tokens are the owner's alone.
"""

from __future__ import annotations

from collections.abc import Iterable

from headrace.security import Principal, Role
from headrace.services.errors import Forbidden


def require(principal: Principal, role: Role, resource_id: str | None = None) -> None:
    """Forbidden unless the caller holds `role` for `resource_id` (or owns the workspace)."""
    if principal.has_role(role, resource_id):
        return
    scope = f" for {resource_id}" if resource_id is not None else " for the whole workspace"
    raise Forbidden(f"This needs the {role.value} role{scope}, which this token's member lacks.")


def require_owner(principal: Principal) -> None:
    if not principal.has_role(Role.WORKSPACE_OWNER):
        raise Forbidden(
            f"This needs the {Role.WORKSPACE_OWNER.value} role, which this token's member lacks."
        )


def require_each(principal: Principal, role: Role, resource_ids: Iterable[str]) -> None:
    for resource_id in resource_ids:
        require(principal, role, resource_id)


def can_view_function(principal: Principal, function_id: str) -> bool:
    return principal.has_role(Role.FUNCTIONS_ADMIN, function_id) or principal.has_role(
        Role.FUNCTIONS_READ_ONLY, function_id
    )


def require_view_function(principal: Principal, function_id: str) -> None:
    if not can_view_function(principal, function_id):
        raise Forbidden(
            f"This needs the {Role.FUNCTIONS_READ_ONLY.value} or {Role.FUNCTIONS_ADMIN.value} "
            f"role for {function_id}, which this token's member lacks."
        )


def require_member(principal: Principal) -> None:
    """Any role in the workspace: enough to view sources, destinations and instances."""
    if not principal.grants:
        raise Forbidden("This token's member has no role in the workspace.")


def can_view_records(principal: Principal, target_id: str, function_id: str | None) -> bool:
    """Delivery records show events and requests as they were sent: SOURCE_ADMIN for the
    source or destination, or a functions role for the function it runs, may read them."""
    return principal.has_role(Role.SOURCE_ADMIN, target_id) or (
        function_id is not None and can_view_function(principal, function_id)
    )


def require_view_records(principal: Principal, target_id: str, function_id: str | None) -> None:
    if not can_view_records(principal, target_id, function_id):
        raise Forbidden(
            f"Delivery records show events and requests as sent: this needs the "
            f"{Role.SOURCE_ADMIN.value} role for {target_id} (or a functions role for its "
            "function), which this token's member lacks."
        )
