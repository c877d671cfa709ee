"""The Segment event model: event types, required fields and validation."""

from headrace.spec.events import (
    EVENT_TYPES,
    HANDLER_NAMES,
    OBJECT_FIELDS,
    missing_object_fields,
    validate_event,
)

__all__ = [
    "EVENT_TYPES",
    "HANDLER_NAMES",
    "OBJECT_FIELDS",
    "missing_object_fields",
    "validate_event",
]
