"""The pipeline as a user runs it: a real `headrace serve`, Segment's own Python client,
an insert function, a webhook receiver; then kill -9 mid-stream and a receiver that fails."""

from __future__ import annotations

import signal
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import httpx
import pytest
import segment.analytics as segment_analytics

from headrace.config import DATABASE_FILE_NAME
from headrace.pipeline.deliver import STOP_GRACE_S
from headrace.pipeline.webhook import NOT_SENT, STOPPED
from tests.helpers import ServerProcess, start_server
from tests.pipeline.conftest import Receiver, hanging_endpoint, serving

PIPELINE_ENV = {
    "HEADRACE_EGRESS_ALLOW": "127.0.0.1",
    "HEADRACE_LEASE_S": "2",
    "HEADRACE_RETRY_BASE_S": "0.2",
    "HEADRACE_RETRY_CAP_S": "1",
}
DELIVERY_DEADLINE_S = 30.0

INSERT_CODE = """\
def on_track(event, settings):
    event.setdefault("properties", {})["enrichedBy"] = settings["label"]
    return event
"""

Start = Callable[[Path], ServerProcess]


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Start]:
    started: list[ServerProcess] = []

    def run(data_dir: Path) -> ServerProcess:
        server = start_server(data_dir, tmp_path / "logs", env=PIPELINE_ENV)
        started.append(server)
        return server

    yield run
    for server in started:
        if server.process.poll() is None:
            server.stop()


def data(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()["data"]


def wire(server: ServerProcess, hook_url: str) -> str:
    """A tracking source -> insert function -> webhook destination; the source's write key."""
    with server.client(server.owner_token) as api:
        source = data(api.post("/api/v1/sources", json={"name": "Web", "kind": "TRACKING"}), 201)
        destination = data(
            api.post(
                "/api/v1/destinations",
                json={
                    "name": "Receiver",
                    "kind": "WEBHOOK",
                    "sourceIds": [source["id"]],
                    "settings": {"url": hook_url},
                },
            ),
            201,
        )
        insert = data(
            api.post(
                "/api/v1/functions",
                json={
                    "displayName": "Enrich",
                    "resourceType": "INSERT_DESTINATION",
                    "code": INSERT_CODE,
                    "settings": [{"name": "label", "type": "STRING", "required": True}],
                },
            ),
            201,
        )
        data(
            api.post(
                "/api/v1/insert-function-instances",
                json={
                    "functionId": insert["id"],
                    "destinationId": destination["id"],
                    "settings": {"label": "headrace"},
                },
            ),
            201,
        )
    write_key: str = source["writeKey"]
    return write_key


def wait_for(condition: Callable[[], bool], deadline_s: float = DELIVERY_DEADLINE_S) -> None:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError("timed out waiting for delivery")


def message_ids(receiver: Receiver) -> list[str]:
    return [e["messageId"] for e in receiver.events()]


def test_events_from_the_segment_client_arrive_transformed_once_per_message_id(
    tmp_path: Path, start: Start, receiver: tuple[Receiver, str]
) -> None:
    state, hook_url = receiver
    server = start(tmp_path / "data")
    write_key = wire(server, hook_url)
    client = segment_analytics.Client(write_key, host=server.url, sync_mode=True)

    for n in range(20):
        client.track(f"user-{n}", "Order Completed", {"n": n}, message_id=f"order-{n}")
    client.track("user-0", "Order Completed", {"n": 0}, message_id="order-0")  # a repeat
    client.flush()
    wait_for(lambda: len(state.events()) >= 20)
    time.sleep(1.0)  # room for a duplicate to show up, were there one

    events = state.events()
    assert sorted(message_ids(state)) == sorted(f"order-{n}" for n in range(20))
    assert all(e["properties"]["enrichedBy"] == "headrace" for e in events)
    assert all(e["context"]["library"]["name"] == "analytics-python" for e in events)


def test_nothing_accepted_is_lost_when_the_service_is_killed_mid_stream(
    tmp_path: Path, start: Start, receiver: tuple[Receiver, str]
) -> None:
    state, hook_url = receiver
    data_dir = tmp_path / "data"
    server = start(data_dir)
    write_key = wire(server, hook_url)
    accepted: list[str] = []
    stop = threading.Event()

    def send() -> None:
        with httpx.Client(base_url=server.url, auth=(write_key, ""), timeout=5) as http:
            for batch_no in range(10_000):
                if stop.is_set():
                    return
                ids = [f"b{batch_no}-{i}" for i in range(25)]
                batch = [
                    {"type": "track", "event": "Tick", "userId": "u", "messageId": m} for m in ids
                ]
                try:
                    response = http.post("/v1/batch", json={"batch": batch})
                except httpx.TransportError:
                    return  # the service is gone: what it answered 200 to must arrive
                if response.status_code == 200:
                    accepted.extend(ids)

    sender = threading.Thread(target=send)
    sender.start()
    try:
        wait_for(lambda: len(state.events()) >= 200)
    except AssertionError:
        stop.set()
        raise AssertionError(
            f"{len(state.events())} delivered of {len(accepted)} accepted\n{server.stderr[-4000:]}"
        ) from None
    server.process.send_signal(signal.SIGKILL)
    server.process.wait()
    stop.set()
    sender.join()

    restarted = start(data_dir)
    try:
        wait_for(lambda: set(accepted) <= set(message_ids(state)))
    except AssertionError:
        missing = set(accepted) - set(message_ids(state))
        raise AssertionError(
            f"{len(missing)} of {len(accepted)} accepted events never arrived, e.g. "
            f"{sorted(missing)[:5]}\n{restarted.stderr[-3000:]}"
        ) from None
    assert len(accepted) >= 200


def test_a_receiver_that_answers_503_for_a_while_gets_its_events_once_it_recovers(
    tmp_path: Path, start: Start, receiver: tuple[Receiver, str]
) -> None:
    state, hook_url = receiver
    server = start(tmp_path / "data")
    write_key = wire(server, hook_url)
    state.status = 503

    with httpx.Client(base_url=server.url, auth=(write_key, ""), timeout=5) as http:
        for n in range(5):
            assert (
                http.post(
                    "/v1/track", json={"userId": "u", "event": "Paid", "messageId": f"p{n}"}
                ).status_code
                == 200
            )
    wait_for(lambda: state.refused >= 10)
    state.status = 200
    wait_for(lambda: len(state.events()) >= 5)

    assert sorted(message_ids(state)) == [f"p{n}" for n in range(5)]


@pytest.mark.parametrize(("groups_each", "peak"), [("1", 3), ("2", 6)])
def test_webhook_requests_in_flight_follow_the_configured_concurrency_and_groups(
    tmp_path: Path, groups_each: str, peak: int
) -> None:
    """HEADRACE_WEBHOOK_CONCURRENCY requests per group, and HEADRACE_DELIVERY_WORKERS groups
    of one destination in flight: a second batch waits for the first group to end, or goes
    alongside it."""
    lock = threading.Lock()
    counts = {"now": 0, "peak": 0, "arrived": 0}

    class Slow(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with lock:
                counts["now"] += 1
                counts["peak"] = max(counts["peak"], counts["now"])
            time.sleep(0.3)  # a group of 12 takes 1.2 s: past GROUP_PATIENCE_S
            with lock:
                counts["now"] -= 1
                counts["arrived"] += 1
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return

    env = {
        **PIPELINE_ENV,
        "HEADRACE_WEBHOOK_CONCURRENCY": "3",
        "HEADRACE_DELIVERY_WORKERS": groups_each,
    }
    with serving(Slow) as hook_url:
        server = start_server(tmp_path / "data", tmp_path / "logs", env=env)
        try:
            write_key = wire(server, hook_url)
            with httpx.Client(base_url=server.url, auth=(write_key, "")) as http:
                for first in (0, 12):
                    batch = [
                        {"type": "track", "event": "E", "userId": f"u{n}"}
                        for n in range(first, first + 12)
                    ]
                    http.post("/v1/batch", json={"batch": batch}).raise_for_status()
                    wait_for(lambda: counts["now"] > 0)  # the first group is under way
            wait_for(lambda: counts["arrived"] >= 24)
        finally:
            server.stop()

    assert counts["peak"] == peak


def test_stopping_while_a_destination_hangs_takes_seconds_and_its_events_wait_to_retry(
    tmp_path: Path, start: Start
) -> None:
    """A webhook that takes requests and never answers would hold a stopping service for
    rounds of 10 s timeouts: after STOP_GRACE_S its requests are cut short instead, and
    each event is recorded as retrying, with why."""
    with hanging_endpoint() as hook:
        server = start(tmp_path / "data")
        write_key = wire(server, hook.url)
        batch = [
            {"type": "track", "event": "E", "userId": "u", "messageId": f"h{n:02}"}
            for n in range(40)
        ]
        with httpx.Client(base_url=server.url, auth=(write_key, "")) as http:
            http.post("/v1/batch", json={"batch": batch}).raise_for_status()
        assert hook.arrived.wait(DELIVERY_DEADLINE_S)

        started = time.monotonic()
        code, _out, _err = server.stop()
        stopped_in = time.monotonic() - started
        with sqlite3.connect(tmp_path / "data" / DATABASE_FILE_NAME) as db:
            waiting = db.execute("SELECT attempts, lease_token FROM jobs").fetchall()

        again = start(tmp_path / "data")
        with again.client(again.owner_token) as api:
            [destination] = data(api.get("/api/v1/destinations"))
            records = data(
                api.get(
                    f"/api/v1/destinations/{destination['id']}/delivery/events",
                    params={"status": "retrying"},
                )
            )

    assert code == 0
    assert stopped_in < STOP_GRACE_S + 4  # three rounds of 10 s timeouts otherwise
    assert sorted(r["messageId"] for r in records) == [f"h{n:02}" for n in range(40)]
    assert {(r["category"], r["error"]) for r in records} == {
        ("retry", STOPPED),
        ("retry", NOT_SENT),
    }
    assert waiting == [(0, None)] * 40  # back in the queue, not counted as failed attempts
