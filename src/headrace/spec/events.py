"""Segment spec event types and the checks every accepted or emitted event must pass."""

from __future__ import annotations

from typing import Any

EVENT_TYPES = ("track", "identify", "page", "screen", "group", "alias", "delete")

HANDLER_NAMES: dict[str, str] = {kind: f"on_{kind}" for kind in EVENT_TYPES}
"""The snake_case handler that receives each event type."""

# Fields an event of each type must carry besides an identity.
_REQUIRED_FIELDS: dict[str, tuple[str, ...]] = {
    "track": ("event",),
    "group": ("groupId",),
    "alias": ("previousId", "userId"),
}

OBJECT_FIELDS = ("collection", "id", "properties")
"""What `Segment.set(...)` needs to describe one object."""


def _present(value: Any) -> bool:
    return value is not None and value != ""


def validate_event(event: Any) -> str | None:
    """Why `event` is not a valid Segment event, or None when it is."""
    if not isinstance(event, dict):
        return f"an event must be a JSON object, got {type(event).__name__}"
    kind = event.get("type")
    if kind not in EVENT_TYPES:
        return f"unknown event type {kind!r}: expected one of {', '.join(EVENT_TYPES)}"
    if not (_present(event.get("userId")) or _present(event.get("anonymousId"))):
        return f"{kind} events need a userId or an anonymousId"
    for field in _REQUIRED_FIELDS.get(kind, ()):
        if not _present(event.get(field)):
            return f"{kind} events need {field!r}"
    if kind == "track" and not isinstance(event["event"], str):
        return "a track event's 'event' must be a string"
    for field in ("properties", "traits", "context", "integrations"):
        if field in event and not isinstance(event[field], dict):
            return f"{field!r} must be a JSON object"
    return None


def missing_object_fields(obj: Any) -> str | None:
    """Why `obj` is not a valid `Segment.set` object, or None when it is."""
    if not isinstance(obj, dict):
        return f"an object must be a dict, got {type(obj).__name__}"
    for field in OBJECT_FIELDS:
        if not _present(obj.get(field)):
            return f"Segment.set needs {field!r}"
    if not isinstance(obj["properties"], dict):
        return "Segment.set's 'properties' must be a dict"
    return None
