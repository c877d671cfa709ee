"""The tracking API on the in-process app: write keys, limits, rejections, durability."""

from __future__ import annotations

import base64
import fcntl
import gzip
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from headrace.services import Services
from headrace.services.ingest import WRITE_KEY_TTL_S, IngestError, WriteInterrupted
from headrace.store.database import sqlite_path
from headrace.store.delivery_queries import IntakeTotals
from headrace.store.queue import jobs
from tests.api.support import Caller, connected_source
from tests.helpers import intake_counts

RUN_PIPELINE = False
"""Without the pipeline's own workers: accepted events stay in the queue to be looked at."""


@pytest.fixture
def write_key(owner: Caller) -> str:
    key: str = connected_source(owner, "Web")["writeKey"]
    return key


def basic(write_key: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{write_key}:".encode()).decode()}


def queued_events(services: Services) -> list[dict[str, Any]]:
    """The events queued for delivery, in the order they were accepted."""
    with services.engine.connect() as conn:
        payloads = conn.execute(
            select(jobs.c.payload).where(jobs.c.queue == "deliver").order_by(jobs.c.id)
        ).scalars()
        return [orjson.loads(payload) for payload in payloads]


TRACK = {"userId": "u1", "event": "Signed Up", "properties": {"plan": "pro"}}


def test_a_track_call_with_basic_auth_is_accepted_and_queued(
    client: TestClient, services: Services, write_key: str
) -> None:
    response = client.post("/v1/track", json=TRACK, headers=basic(write_key))

    assert response.status_code == 200
    assert response.json() == {"success": True}
    [event] = queued_events(services)
    assert event["type"] == "track"
    assert event["properties"] == {"plan": "pro"}
    assert {"messageId", "receivedAt", "timestamp"} <= event.keys()


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("page", {"anonymousId": "a1", "name": "Home", "properties": {"path": "/"}}),
        ("screen", {"userId": "u1", "name": "Settings"}),
        ("group", {"userId": "u1", "groupId": "g1", "traits": {"name": "Acme"}}),
        ("alias", {"userId": "u2", "previousId": "u1"}),
    ],
)
def test_each_event_type_has_an_endpoint_that_queues_the_event_as_that_type(
    client: TestClient, services: Services, write_key: str, path: str, body: dict[str, Any]
) -> None:
    response = client.post(f"/v1/{path}", json=body, headers=basic(write_key))

    assert response.status_code == 200
    assert response.json() == {"success": True}
    [event] = queued_events(services)
    assert event["type"] == path
    assert body.items() <= event.items()


@pytest.mark.parametrize(
    ("path", "body", "reason"),
    [
        ("group", {"userId": "u1", "traits": {"name": "Acme"}}, "group events need 'groupId'"),
        ("alias", {"userId": "u2"}, "alias events need 'previousId'"),
    ],
)
def test_an_event_without_the_field_its_type_needs_is_rejected_with_the_reason(
    client: TestClient,
    services: Services,
    write_key: str,
    path: str,
    body: dict[str, Any],
    reason: str,
) -> None:
    response = client.post(f"/v1/{path}", json=body, headers=basic(write_key))

    assert response.status_code == 200
    assert response.json() == {"success": True, "rejected": [{"index": 0, "reason": reason}]}
    assert queued_events(services) == []


def test_a_batch_of_exactly_2500_events_is_accepted(
    client: TestClient, services: Services, write_key: str
) -> None:
    batch = [{"type": "page", "anonymousId": f"a{i}"} for i in range(2500)]

    response = client.post("/v1/batch", json={"batch": batch}, headers=basic(write_key))

    assert response.json() == {"success": True}
    assert len(queued_events(services)) == 2500


def test_the_write_key_may_come_in_the_body(
    client: TestClient, services: Services, write_key: str
) -> None:
    response = client.post("/v1/identify", json={"userId": "u1", "writeKey": write_key})

    assert response.status_code == 200
    [event] = queued_events(services)
    assert "writeKey" not in event


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Basic " + base64.b64encode(b"wrong:").decode()}],
    ids=["missing", "unknown"],
)
def test_a_missing_or_unknown_write_key_is_401(
    client: TestClient, services: Services, headers: dict[str, str]
) -> None:
    response = client.post("/v1/track", json=TRACK, headers=headers)

    assert response.status_code == 401
    assert set(response.json()) == {"code", "message"}
    assert queued_events(services) == []


def test_a_batch_merges_its_context_and_lists_the_rejected_events(
    client: TestClient, services: Services, write_key: str
) -> None:
    body = {
        "batch": [
            {"type": "track", "userId": "u1", "event": "A"},
            {"type": "track", "userId": "u1"},
            {"type": "group", "userId": "u1", "groupId": "g1", "context": {"ip": "1.1.1.1"}},
        ],
        "context": {"ip": "9.9.9.9", "library": {"name": "test"}},
    }

    response = client.post("/v1/batch", json=body, headers=basic(write_key))

    assert response.status_code == 200
    assert response.json() == {
        "success": True,
        "rejected": [{"index": 1, "reason": "track events need 'event'"}],
    }
    first, third = queued_events(services)
    assert first["context"] == {"ip": "9.9.9.9", "library": {"name": "test"}}
    assert third["context"]["ip"] == "1.1.1.1"


def test_rejections_are_counted_per_source_with_their_reason(
    client: TestClient, services: Services, write_key: str, owner: Caller
) -> None:
    client.post(
        "/v1/batch",
        json={"batch": [{"type": "track", "userId": "u"}, {"type": "page", "userId": "u"}]},
        headers=basic(write_key),
    )
    [source] = owner.data(owner.get("/sources"))

    with services.engine.connect() as conn:
        totals = intake_counts(conn, source["id"])
    assert totals == IntakeTotals(accepted=1, rejected={"track events need 'event'": 1})


def test_import_takes_the_same_body_as_batch(
    client: TestClient, services: Services, write_key: str
) -> None:
    body = {"batch": [{"type": "page", "anonymousId": "a1", "name": "Home"}]}

    assert client.post("/v1/import", json=body, headers=basic(write_key)).status_code == 200
    assert queued_events(services)[0]["name"] == "Home"


def test_a_gzipped_body_is_accepted(client: TestClient, services: Services, write_key: str) -> None:
    response = client.post(
        "/v1/track",
        content=gzip.compress(orjson.dumps(TRACK)),
        headers={**basic(write_key), "Content-Encoding": "gzip"},
    )

    assert response.status_code == 200
    assert len(queued_events(services)) == 1


@pytest.mark.parametrize(
    ("path", "content", "code"),
    [
        ("/v1/track", b"{not json", "invalid_json"),
        ("/v1/track", b"[1, 2]", "invalid_body"),
        ("/v1/batch", b'{"batch": {"type": "track"}}', "invalid_batch"),
        ("/v1/track", orjson.dumps({**TRACK, "blob": "x" * 600_000}), "payload_too_large"),
        ("/v1/batch", orjson.dumps({"batch": [{"type": "page"}] * 2501}), "batch_too_large"),
    ],
    ids=["not-json", "not-object", "batch-not-list", "over-500-kb", "over-2500-events"],
)
def test_a_request_that_cannot_be_read_is_a_400_and_queues_nothing(
    client: TestClient, services: Services, write_key: str, path: str, content: bytes, code: str
) -> None:
    response = client.post(path, content=content, headers=basic(write_key))

    assert response.status_code == 400
    assert response.json()["code"] == code
    assert set(response.json()) == {"code", "message"} and response.json()["message"]
    assert queued_events(services) == []


def test_a_small_gzip_that_inflates_past_500_kb_is_a_400_and_queues_nothing(
    client: TestClient, services: Services, write_key: str
) -> None:
    inflating = gzip.compress(orjson.dumps({**TRACK, "blob": "x" * 2_000_000}))
    response = client.post(
        "/v1/track", content=inflating, headers={**basic(write_key), "Content-Encoding": "gzip"}
    )

    assert len(inflating) < 10_000
    assert response.status_code == 400
    assert response.json()["code"] == "payload_too_large"
    assert queued_events(services) == []


def test_bad_gzip_is_a_400(client: TestClient, write_key: str) -> None:
    response = client.post(
        "/v1/track", content=b"not gzip", headers={**basic(write_key), "Content-Encoding": "gzip"}
    )

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_gzip"


def test_an_event_over_32_kb_is_rejected_alone(
    client: TestClient, services: Services, write_key: str
) -> None:
    big = {"type": "track", "userId": "u", "event": "Big", "properties": {"x": "y" * 40_000}}
    body = {"batch": [big, {"type": "track", "userId": "u", "event": "Small"}]}

    response = client.post("/v1/batch", json=body, headers=basic(write_key))

    assert response.json()["rejected"][0]["index"] == 0
    assert [e["event"] for e in queued_events(services)] == ["Small"]


def test_a_disabled_source_does_not_accept_events(
    client: TestClient, owner: Caller, write_key: str
) -> None:
    [source] = owner.data(owner.get("/sources"))
    owner.data(owner.patch(f"/sources/{source['id']}", {"enabled": False}))

    assert client.post("/v1/track", json=TRACK, headers=basic(write_key)).status_code == 401


def test_a_source_disabled_while_in_use_stops_accepting_within_the_write_key_ttl(
    client: TestClient, owner: Caller, write_key: str
) -> None:
    assert client.post("/v1/track", json=TRACK, headers=basic(write_key)).status_code == 200
    [source] = owner.data(owner.get("/sources"))
    owner.data(owner.patch(f"/sources/{source['id']}", {"enabled": False}))

    time.sleep(WRITE_KEY_TTL_S + 0.1)

    assert client.post("/v1/track", json=TRACK, headers=basic(write_key)).status_code == 401


def test_a_message_id_sent_again_is_accepted_but_queued_once(
    client: TestClient, services: Services, write_key: str
) -> None:
    first = {**TRACK, "messageId": "m-1"}
    client.post("/v1/track", json=first, headers=basic(write_key))

    again = client.post("/v1/batch", json={"batch": [first, first]}, headers=basic(write_key))

    assert again.status_code == 200
    assert [e["messageId"] for e in queued_events(services)] == ["m-1"]


def test_events_of_a_source_with_no_destination_are_counted_and_queue_nothing(
    client: TestClient, services: Services, owner: Caller
) -> None:
    source = owner.data(owner.post("/sources", {"name": "Alone", "kind": "TRACKING"}), 201)

    response = client.post("/v1/track", json=TRACK, headers=basic(source["writeKey"]))

    assert response.status_code == 200
    assert queued_events(services) == []
    with services.engine.connect() as conn:
        assert intake_counts(conn, source["id"]) == IntakeTotals(accepted=1, rejected={})


@contextmanager
def write_lock_held(services: Services) -> Iterator[None]:
    """The database's write lock, held by someone else (as the pipeline holds it while it
    claims or settles): ingest requests must wait for it."""
    path = sqlite_path(services.engine)
    assert path is not None
    with path.with_name(path.name + "-writers.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


class Sending(threading.Thread):
    """One tracking request, sent to the ingest service from a thread of its own."""

    def __init__(self, services: Services, write_key: str, message_id: str) -> None:
        super().__init__()
        self.args = (services, write_key, message_id)
        self.error: BaseException | None = None
        self.start()

    def run(self) -> None:
        services, write_key, message_id = self.args
        try:
            services.ingest.accept(
                "track",
                orjson.dumps({**TRACK, "messageId": message_id}),
                authorization=basic(write_key)["Authorization"],
                content_encoding=None,
            )
        except BaseException as exc:  # noqa: BLE001 - the test looks at it
            self.error = exc


def group_sizes(services: Services, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many requests each of ingest's transactions writes, from now on."""
    sizes: list[int] = []
    write_group = services.ingest._write_group

    def recording(group: list[Any]) -> None:
        sizes.append(len(group))
        write_group(group)

    monkeypatch.setattr(services.ingest, "_write_group", recording)
    return sizes


def one_then_three_together(
    services: Services, write_key: str, odd_key: str
) -> tuple[Sending, list[Sending]]:
    """While the write lock is held: "a" comes first (it writes alone once the lock is
    free), then "b", one with `odd_key`, and "c", which wait and are written together."""
    with write_lock_held(services):
        first = Sending(services, write_key, "a")
        time.sleep(0.2)
        together = [
            Sending(services, write_key, "b"),
            Sending(services, odd_key, "odd"),
            Sending(services, write_key, "c"),
        ]
        time.sleep(0.2)
    for s in [first, *together]:
        s.join(10)
    return first, together


def test_requests_that_wait_for_the_write_lock_answer_only_once_they_are_committed(
    services: Services, write_key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    sizes = group_sizes(services, monkeypatch)
    with write_lock_held(services):
        sending = [Sending(services, write_key, f"m-{i}") for i in range(4)]
        time.sleep(0.3)
        answered_while_held = [s.name for s in sending if not s.is_alive()]
        queued_while_held = queued_events(services)
    for s in sending:
        s.join(10)

    assert answered_while_held == []
    assert queued_while_held == []
    assert [s.error for s in sending] == [None] * 4
    assert sorted(e["messageId"] for e in queued_events(services)) == [f"m-{i}" for i in range(4)]
    # The first writes what waited when it came; the rest, waiting meanwhile, go together.
    assert len(sizes) == 2 and sum(sizes) == 4, sizes


def test_a_request_whose_write_fails_fails_alone_among_those_written_together(
    services: Services, owner: Caller, write_key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Requests that waited together are written in one transaction; when the database
    refuses one of them (a trigger here), the others are still committed and answered."""
    refused = connected_source(owner, "Refused")
    with services.engine.begin() as conn:
        conn.exec_driver_sql(
            "CREATE TRIGGER refuse BEFORE INSERT ON intake_counts"
            f" WHEN NEW.source_id = '{refused['id']}'"
            " BEGIN SELECT RAISE(ABORT, 'this source is refused'); END"
        )
    sizes = group_sizes(services, monkeypatch)
    first, together = one_then_three_together(services, write_key, refused["writeKey"])

    assert first.error is None
    assert [s.error is None for s in together] == [True, False, True]
    assert "this source is refused" in str(together[1].error)
    assert sorted(e["messageId"] for e in queued_events(services)) == ["a", "b", "c"]
    assert sizes == [1, 3]


def test_requests_whose_group_write_is_interrupted_do_not_answer_as_accepted(
    services: Services, owner: Caller, write_key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The thread writing a group is interrupted (KeyboardInterrupt) midway: nothing of the
    group is committed, and none of its requests returns as if it were."""
    interrupting = connected_source(owner, "Interrupting")
    write = services.ingest._write

    def interrupted_for_one_source(conn: Any, pending: Any) -> bool:
        if pending.source.id == interrupting["id"]:
            raise KeyboardInterrupt
        return write(conn, pending)

    monkeypatch.setattr(services.ingest, "_write", interrupted_for_one_source)
    first, together = one_then_three_together(services, write_key, interrupting["writeKey"])

    assert first.error is None
    assert isinstance(together[0].error, KeyboardInterrupt)  # the one writing the group
    # The others are told to send their events again.
    for s in together[1:]:
        assert isinstance(s.error, IngestError)
        assert (s.error.status, s.error.code) == (503, "store_unavailable")
        assert isinstance(s.error.__cause__, WriteInterrupted)
    assert [e["messageId"] for e in queued_events(services)] == ["a"]
