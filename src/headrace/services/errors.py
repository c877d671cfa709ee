"""Errors the use cases raise; each has a kebab-case type that the API shows as is."""

from __future__ import annotations


class ServiceError(Exception):
    """A request that cannot be carried out; the message is one sentence for users."""

    type: str = "bad-request"


class InvalidInput(ServiceError):
    type = "invalid-request"


class Unauthenticated(ServiceError):
    type = "unauthorized"


class Forbidden(ServiceError):
    type = "forbidden"


class NotFound(ServiceError):
    type = "not-found"


class Conflict(ServiceError):
    type = "conflict"


class StartupError(Exception):
    """headrace cannot start (data directory, database, port); one sentence for users."""
