"""The Segment event model: event types, required fields and validation."""

from headrace.spec.events import (
    EVENT_TYPES,
    HANDLER_NAMES,
    OBJECT_FIELDS,
    missing_object_fields,
    validate_event,
)
from headrace.spec.stamping import (
    MAX_BATCH_EVENTS,
    MAX_EVENT_BYTES,
    MAX_REQUEST_BYTES,
    Arrival,
    format_timestamp,
    prepare_event,
)

__all__ = [
    "EVENT_TYPES",
    "HANDLER_NAMES",
    "MAX_BATCH_EVENTS",
    "MAX_EVENT_BYTES",
    "MAX_REQUEST_BYTES",
    "OBJECT_FIELDS",
    "Arrival",
    "format_timestamp",
    "missing_object_fields",
    "prepare_event",
    "validate_event",
]
