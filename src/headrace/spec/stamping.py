"""What the tracking API does to an accepted event: limits, per-type checks and stamps."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, NamedTuple

import orjson

from headrace.spec.events import validate_event

MAX_EVENT_BYTES = 32 * 1024
MAX_REQUEST_BYTES = 500 * 1024
MAX_BATCH_EVENTS = 2500


def format_timestamp(moment: datetime) -> str:
    """ISO 8601 in UTC with milliseconds, as Segment writes timestamps."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Arrival(NamedTuple):
    """When a request (or a source function's call) arrived: the moment, and the
    `receivedAt` its events get, formatted once for all of them."""

    at: datetime
    text: str

    @classmethod
    def of(cls, moment: datetime) -> Arrival:
        return cls(moment, format_timestamp(moment))


def _parse_timestamp(value: Any, field: str) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"{field!r} must be an ISO 8601 string")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{field!r} is not an ISO 8601 timestamp: {value[:40]!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def prepare_event(
    event: Any,
    arrival: Arrival,
    *,
    defaults: dict[str, Any] | None = None,
) -> tuple[dict[str, Any] | None, str | None]:
    """The event ready to queue, or the reason it is rejected.

    `defaults` are a batch's top-level `context` and `integrations`, merged under the
    event's own. Stamps: `messageId` when missing, `receivedAt`, `originalTimestamp` (the
    timestamp the client sent) and `timestamp` corrected for the client's clock skew by
    `sentAt`.
    """
    if not isinstance(event, dict):
        return None, f"an event must be a JSON object, got {type(event).__name__}"
    event = dict(event)
    event.pop("writeKey", None)
    for field, value in (defaults or {}).items():
        own = event.get(field)
        if isinstance(value, dict) and (own is None or isinstance(own, dict)):
            event[field] = {**value, **(own or {})}
    reason = validate_event(event)
    if reason is not None:
        return None, reason
    if not event.get("messageId"):
        event["messageId"] = str(uuid.uuid4())
    elif not isinstance(event["messageId"], str):
        return None, "'messageId' must be a string"
    try:
        timestamp = _parse_timestamp(event.get("timestamp"), "timestamp")
        sent_at = _parse_timestamp(event.get("sentAt"), "sentAt")
    except ValueError as exc:
        return None, str(exc)
    event["receivedAt"] = arrival.text
    if timestamp is None:
        event["timestamp"] = arrival.text
    else:
        event["originalTimestamp"] = event["timestamp"]
        if sent_at is not None:
            timestamp = arrival.at - (sent_at - timestamp)
        event["timestamp"] = format_timestamp(timestamp)
    size = len(orjson.dumps(event))
    if size > MAX_EVENT_BYTES:
        return None, f"the event is {size} bytes, over the {MAX_EVENT_BYTES}-byte limit"
    return event, None
