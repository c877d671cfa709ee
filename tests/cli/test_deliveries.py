"""`headrace deliveries`: a destination's delivery records, read from a real server over
HTTP; a table (redrawn with --follow until Ctrl-C) or JSON lines."""

from __future__ import annotations

import base64
import json
import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.helpers import ServerProcess, free_port, headrace_env, run_headrace, start_server

RECORDS_DEADLINE_S = 30.0
FOLLOW_DEADLINE_S = 20.0
MESSAGE_IDS = ["order-msg-1", "order-msg-2", "order-msg-3"]
DESTINATION_NAME = "Orders hook"


@dataclass
class Hook:
    """A webhook destination whose URL refuses connections: every event ends up retrying."""

    server: ServerProcess
    destination_id: str


def data(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()["data"]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    root = tmp_path_factory.mktemp("deliveries")
    # The webhook points at a closed port on 127.0.0.1, which the egress policy must allow.
    started = start_server(root / "data", root / "logs", env={"HEADRACE_EGRESS_ALLOW": "127.0.0.1"})
    yield started
    started.stop()


@pytest.fixture(scope="module")
def hook(server: ServerProcess) -> Hook:
    with server.client(server.owner_token) as api:
        source = data(api.post("/api/v1/sources", json={"name": "web", "kind": "TRACKING"}), 201)
        destination = data(
            api.post(
                "/api/v1/destinations",
                json={"name": DESTINATION_NAME, "kind": "WEBHOOK", "sourceIds": [source["id"]],
                      "settings": {"url": f"http://127.0.0.1:{free_port()}/in"},
                      "batch": {"maxEvents": 1, "maxWaitMs": 0}},
            ),
            201,
        )  # fmt: skip
        write_key = base64.b64encode(f"{source['writeKey']}:".encode()).decode()
        events = [
            {"type": "track", "event": "Order Completed", "userId": "u1", "messageId": m}
            for m in MESSAGE_IDS
        ]
        sent = api.post(
            "/v1/batch", json={"batch": events}, headers={"Authorization": f"Basic {write_key}"}
        )
        assert sent.status_code == 200, sent.text

        path = f"/api/v1/destinations/{destination['id']}/delivery/events"
        deadline = time.monotonic() + RECORDS_DEADLINE_S
        while True:
            answer = api.get(path)
            recorded = {r["messageId"] for r in answer.json().get("data", [])}
            if answer.status_code == 200 and recorded >= set(MESSAGE_IDS):
                break
            assert time.monotonic() < deadline, f"no delivery records: {answer.text}"
            time.sleep(0.1)
    return Hook(server, destination["id"])


def options(server: ServerProcess) -> list[str]:
    return ["--url", server.url, "--token", server.owner_token]


def wide_env(**extra: str) -> dict[str, str]:
    """The width the table is laid out for."""
    return headrace_env(COLUMNS="100", **extra)


def with_default_sigint() -> None:
    # A child inherits an ignored SIGINT (a test run started in the background); Python
    # only turns SIGINT into KeyboardInterrupt when it starts with the default action.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def follow_command(hook: Hook) -> list[str]:
    return [
        sys.executable, "-m", "headrace", "deliveries", DESTINATION_NAME, "--follow",
        "--interval", "0.5", *options(hook.server),
    ]  # fmt: skip


def test_the_table_shows_each_records_message_id_and_its_retrying_status(hook: Hook) -> None:
    result = run_headrace("deliveries", DESTINATION_NAME, *options(hook.server), env=wide_env())

    assert result.returncode == 0, result.stderr
    assert hook.destination_id in result.stdout
    assert "last hour:" in result.stdout
    rows = [line for line in result.stdout.splitlines() if "retrying" in line]
    for message_id in MESSAGE_IDS:
        assert any(message_id in row for row in rows), result.stdout
    assert all(len(line) <= 100 for line in result.stdout.splitlines())


def test_json_prints_one_record_per_line_oldest_first_with_url_and_token_from_env(
    hook: Hook,
) -> None:
    env = headrace_env(HEADRACE_URL=hook.server.url, HEADRACE_TOKEN=hook.server.owner_token)

    result = run_headrace("deliveries", hook.destination_id, "--json", env=env)

    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert {r["messageId"] for r in records} >= set(MESSAGE_IDS)
    assert {r["status"] for r in records} == {"retrying"}
    assert [r["at"] for r in records] == sorted(r["at"] for r in records)
    assert all(r["category"] == "retry" and r["requests"] for r in records)


def test_a_status_filter_leaves_out_the_other_records(hook: Hook) -> None:
    result = run_headrace(
        "deliveries", hook.destination_id, "--status", "failed", "--json", *options(hook.server)
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout == ""


def test_an_unknown_destination_exits_2_naming_it(server: ServerProcess) -> None:
    result = run_headrace("deliveries", "No such hook", *options(server))

    assert result.returncode == 2
    assert "no destination has the id or name 'No such hook'" in result.stderr


def test_a_name_two_destinations_share_exits_2_listing_their_ids(server: ServerProcess) -> None:
    with server.client(server.owner_token) as api:
        ids = [
            data(
                api.post(
                    "/api/v1/destinations",
                    json={"name": "Twin", "kind": "WEBHOOK",
                          "settings": {"url": "http://127.0.0.1:9/in"}},
                ),
                201,
            )["id"]
            for _ in range(2)
        ]  # fmt: skip

    result = run_headrace("deliveries", "Twin", *options(server))

    assert result.returncode == 2
    assert "2 destinations are named 'Twin'" in result.stderr
    assert all(destination_id in result.stderr for destination_id in ids)


def test_the_command_is_listed_and_its_help_names_the_environment_variables() -> None:
    listed = run_headrace("--help")
    result = run_headrace("deliveries", "--help")

    assert "deliveries" in listed.stdout
    assert result.returncode == 0
    assert result.stdout.startswith("Usage: headrace deliveries [OPTIONS] DESTINATION")
    assert "HEADRACE_URL" in result.stdout and "HEADRACE_TOKEN" in result.stdout


def test_a_missing_token_exits_2_saying_how_to_give_one() -> None:
    result = run_headrace("deliveries", DESTINATION_NAME, "--url", "http://127.0.0.1:9")

    assert result.returncode == 2
    assert "Error: No API token: pass --token or set HEADRACE_TOKEN" in result.stderr


def test_a_token_headrace_refuses_exits_1_with_its_message(server: ServerProcess) -> None:
    result = run_headrace("deliveries", DESTINATION_NAME, "--url", server.url, "--token", "hr_x")

    assert result.returncode == 1
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("Error: ")


def test_follow_prints_again_every_interval_and_exits_0_on_sigint(
    hook: Hook, tmp_path: Path
) -> None:
    out_path = tmp_path / "follow.out"
    with out_path.open("w") as out:
        process = subprocess.Popen(
            follow_command(hook), stdout=out, stderr=subprocess.PIPE, text=True,
            stdin=subprocess.DEVNULL, env=wide_env(), preexec_fn=with_default_sigint,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + FOLLOW_DEADLINE_S
        while out_path.read_text().count("last hour:") < 2:
            assert process.poll() is None, process.communicate()[1]
            assert time.monotonic() < deadline, out_path.read_text()
            time.sleep(0.1)
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()

    assert process.returncode == 0, stderr
    assert "Traceback" not in stderr
    assert all(message_id in out_path.read_text() for message_id in MESSAGE_IDS)


def test_follow_on_a_terminal_redraws_in_place_and_exits_0_on_sigint(hook: Hook) -> None:
    pty = pytest.importorskip("pty")
    primary, secondary = pty.openpty()
    process = subprocess.Popen(
        follow_command(hook), stdin=secondary, stdout=secondary, stderr=secondary,
        env=wide_env(LINES="40"), preexec_fn=with_default_sigint,
    )  # fmt: skip
    os.close(secondary)
    screen = b""

    def read_for(seconds: float) -> None:
        nonlocal screen
        until = time.monotonic() + seconds
        while time.monotonic() < until:
            ready, _, _ = select.select([primary], [], [], 0.05)
            if ready:
                try:
                    screen += os.read(primary, 65536)
                except OSError:  # the child closed the terminal
                    return

    try:
        deadline = time.monotonic() + FOLLOW_DEADLINE_S
        while screen.count(b"last hour:") < 2:
            assert process.poll() is None, screen.decode(errors="replace")
            assert time.monotonic() < deadline, screen.decode(errors="replace")
            read_for(0.1)
        process.send_signal(signal.SIGINT)
        process.wait(timeout=10)
        read_for(0.2)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(primary)

    assert process.returncode == 0, screen.decode(errors="replace")
    assert b"Traceback" not in screen
    assert b"\x1b[?25h" in screen  # the cursor Live hid is shown again
