"""Errors the use cases raise; each has a kebab-case type that the API shows as is."""

from __future__ import annotations


class ServiceError(Exception):
    """A request that cannot be carried out; the message is one sentence for users.

    `field` names the input at fault (`displayName`, `settings.apiKey`, `code`) and `line`
    the line of code, when there is one.
    """

    type: str = "bad-request"

    def __init__(self, message: str, *, field: str | None = None, line: int | None = None):
        super().__init__(message)
        self.field = field
        self.line = line


class InvalidInput(ServiceError):
    type = "invalid-request"


class Unprocessable(ServiceError):
    """Well-formed input that breaks a rule: code that does not load, a setting of the
    wrong type, a missing required setting.

    `position` is the 0-based character offset of the fault in the field's text (an
    invalid FQL expression), when there is one.
    """

    type = "validation-error"

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        line: int | None = None,
        position: int | None = None,
    ):
        super().__init__(message, field=field, line=line)
        self.position = position


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
