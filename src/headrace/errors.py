"""The one error table of the product: categories, and the errors user code raises.

A leaf module: every layer may import it, it imports nothing of headrace.
"""

from __future__ import annotations

from enum import StrEnum


class ErrorCategory(StrEnum):
    """What users see for a failed (or filtered) invocation, and whether it is retried."""

    RETRY = "retry"
    TIMEOUT = "timeout"
    MESSAGE_REJECTED = "message_rejected"
    UNSUPPORTED_EVENT_TYPE = "unsupported_event_type"
    FILTERED = "filtered"
    INVALID_SETTINGS = "invalid_settings"
    BAD_REQUEST = "bad_request"

    @property
    def retryable(self) -> bool:
        return self in (ErrorCategory.RETRY, ErrorCategory.TIMEOUT)


class FunctionError(Exception):
    """Base of the errors a function may raise on purpose; each carries its category."""

    category: ErrorCategory = ErrorCategory.BAD_REQUEST


class RetryError(FunctionError):
    """A temporary failure: the event is retried with backoff."""

    category = ErrorCategory.RETRY


class InvalidEventPayload(FunctionError):
    """The event is malformed for this function: not retried."""

    category = ErrorCategory.MESSAGE_REJECTED


class ValidationError(FunctionError):
    """The event (or an emitted event) fails validation: not retried."""

    category = ErrorCategory.MESSAGE_REJECTED


class EventNotSupported(FunctionError):
    """The function has no handler for this event type."""

    category = ErrorCategory.UNSUPPORTED_EVENT_TYPE


class DropEvent(FunctionError):
    """An insert function filters the event out; not a failure."""

    category = ErrorCategory.FILTERED


class FunctionLoadError(FunctionError):
    """The function's code does not load: syntax, forbidden import, module-level error."""

    category = ErrorCategory.INVALID_SETTINGS

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


USER_ERRORS: dict[str, type[FunctionError]] = {
    cls.__name__: cls
    for cls in (RetryError, InvalidEventPayload, ValidationError, EventNotSupported, DropEvent)
}
"""The error classes a function can use without importing them."""
