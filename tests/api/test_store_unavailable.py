"""When the database cannot take a write (here: its disk is full), a request answers 503
with the reason in a few words, nothing of it is half-written, and the service goes on once
the database can be written again."""

from __future__ import annotations

import orjson
from fastapi.testclient import TestClient

from headrace.services import Services
from headrace.store.queue import jobs
from tests.api.support import DESTINATION_CODE, Caller, connected_source, only_error
from tests.helpers import disk_full, intake_counts

RUN_PIPELINE = False
"""Without the pipeline's own workers: nothing else uses the database while it is full."""

EVENTS = 1000
"""Enough events that writing them needs new pages (each is queued and remembered)."""
TRACK = {"type": "track", "event": "Viewed", "userId": "u1"}


def queued(services: Services) -> int:
    with services.engine.connect() as conn:
        return len(conn.execute(jobs.select()).all())


def a_batch(prefix: str) -> bytes:
    events = [{"type": "track", "event": "Viewed", "userId": "u1", "messageId": f"{prefix}-{i}"}
              for i in range(EVENTS)]  # fmt: skip
    return orjson.dumps({"batch": events})


def test_a_tracking_request_the_store_cannot_take_is_a_503_to_send_again(
    client: TestClient, services: Services, owner: Caller
) -> None:
    source = connected_source(owner, "Web")
    auth = (source["writeKey"], "")

    with disk_full(services.engine):
        refused = client.post("/v1/batch", content=a_batch("m"), auth=auth)
        queued_while_full = queued(services)

    assert refused.status_code == 503
    assert refused.json()["code"] == "store_unavailable"
    assert "the disk is full" in refused.json()["message"]
    assert "Send them again" in refused.json()["message"]
    assert queued_while_full == 0
    with services.engine.connect() as conn:
        assert intake_counts(conn, source["id"]).accepted == 0
    # Sent again once the disk has room, every event is taken, once.
    assert client.post("/v1/batch", content=a_batch("m"), auth=auth).status_code == 200
    assert queued(services) == EVENTS


def test_a_management_request_the_store_cannot_take_is_a_503_saying_why(
    services: Services, owner: Caller
) -> None:
    big_code = DESTINATION_CODE + "# padding\n" * 5000  # too long for the pages left

    with disk_full(services.engine):
        refused = owner.post(
            "/functions",
            {"displayName": "Big", "resourceType": "DESTINATION", "code": big_code},
        )

    error = only_error(refused, 503)
    assert error["type"] == "store-unavailable"
    assert error["message"] == "headrace cannot answer now: the disk is full."
    assert owner.data(owner.get("/functions"), 200) == []
    created = owner.post(
        "/functions", {"displayName": "Big", "resourceType": "DESTINATION", "code": big_code}
    )
    assert created.status_code == 201


def test_a_tracking_request_whose_source_cannot_be_read_is_a_503_without_the_drivers_words(
    client: TestClient, services: Services, owner: Caller
) -> None:
    source = connected_source(owner, "Web")
    with services.engine.begin() as conn:  # as a damaged file would: the table is not there
        conn.exec_driver_sql("ALTER TABLE sources RENAME TO sources_elsewhere")

    refused = client.post("/v1/track", json=TRACK, auth=(source["writeKey"], ""))

    assert refused.status_code == 503
    assert refused.json() == {
        "code": "store_unavailable",
        "message": "The events could not be stored: the database could not be used."
        " Send them again (a messageId already stored is delivered once).",
    }
    assert queued(services) == 0
