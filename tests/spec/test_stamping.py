"""The tracking API's checks and stamps on each event."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from headrace.spec import MAX_EVENT_BYTES, Arrival, prepare_event

RECEIVED = Arrival.of(datetime(2026, 11, 24, 12, 0, 0, tzinfo=UTC))


def test_a_missing_message_id_is_generated_and_received_at_stamped() -> None:
    event, reason = prepare_event({"type": "track", "event": "A", "userId": "u"}, RECEIVED)

    assert reason is None and event is not None
    assert len(event["messageId"]) == 36
    assert event["receivedAt"] == "2026-11-24T12:00:00.000Z"
    assert event["timestamp"] == "2026-11-24T12:00:00.000Z"


def test_the_timestamp_is_corrected_for_the_clients_clock_by_sent_at() -> None:
    sent = {
        "type": "track",
        "event": "A",
        "userId": "u",
        "timestamp": "2026-11-24T11:00:00.000Z",
        "sentAt": "2026-11-24T11:00:10.000Z",
    }

    event, _ = prepare_event(sent, RECEIVED)

    assert event is not None
    assert event["originalTimestamp"] == "2026-11-24T11:00:00.000Z"
    assert event["timestamp"] == "2026-11-24T11:59:50.000Z"


def test_batch_context_and_integrations_merge_under_the_events_own() -> None:
    event, _ = prepare_event(
        {"type": "identify", "userId": "u", "context": {"ip": "1.2.3.4"}},
        RECEIVED,
        defaults={"context": {"ip": "9.9.9.9", "locale": "de"}, "integrations": {"All": False}},
    )

    assert event is not None
    assert event["context"] == {"ip": "1.2.3.4", "locale": "de"}
    assert event["integrations"] == {"All": False}


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        ({"type": "track", "userId": "u"}, "track events need 'event'"),
        ({"type": "track", "event": "A"}, "need a userId or an anonymousId"),
        ({"type": "group", "userId": "u"}, "group events need 'groupId'"),
        ({"type": "alias", "userId": "u"}, "alias events need 'previousId'"),
        ({"type": "alias", "previousId": "p"}, "need a userId or an anonymousId"),
        ({"type": "shout", "userId": "u"}, "unknown event type"),
        ({"type": "page", "userId": "u", "timestamp": "yesterday"}, "not an ISO 8601"),
        ({"type": "page", "userId": "u", "properties": []}, "'properties' must be a JSON object"),
        ({"type": "page", "userId": "u", "messageId": 5}, "'messageId' must be a string"),
        ([1, 2], "must be a JSON object"),
    ],
)
def test_invalid_events_are_rejected_with_the_reason(event: object, reason: str) -> None:
    prepared, why = prepare_event(event, RECEIVED)

    assert prepared is None
    assert why is not None and reason in why


def test_an_event_over_32_kb_is_rejected() -> None:
    big = {"type": "track", "event": "A", "userId": "u", "properties": {"x": "y" * MAX_EVENT_BYTES}}

    prepared, why = prepare_event(big, RECEIVED)

    assert prepared is None and why is not None and "32768-byte limit" in why
