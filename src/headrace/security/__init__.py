"""Authentication and authorization: token format, roles, the authenticated caller."""

from headrace.security.roles import Principal, Role, RoleGrant
from headrace.security.tokens import TOKEN_PREFIX, generate_token, hash_token, looks_like_token

__all__ = [
    "TOKEN_PREFIX",
    "Principal",
    "Role",
    "RoleGrant",
    "generate_token",
    "hash_token",
    "looks_like_token",
]
