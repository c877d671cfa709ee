"""`headrace serve` runs the pipeline in a `headrace worker` child process: it ends with
serve (also when serve is killed), and is started again when it dies on its own."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import httpx

from tests.helpers import ServerProcess
from tests.pipeline.conftest import Receiver
from tests.pipeline.test_end_to_end import Start, message_ids, start, wait_for, wire

__all__ = ["start"]  # the fixture, shared with the end-to-end tests

GONE_DEADLINE_S = 10.0


def pipeline_pids(server: ServerProcess) -> list[int]:
    """The `headrace worker` children of the serve process (started by any of its threads)."""
    pids: list[int] = []
    for children in Path(f"/proc/{server.process.pid}/task").glob("*/children"):
        try:
            pids.extend(int(pid) for pid in children.read_text().split())
        except FileNotFoundError:
            continue  # a thread that just ended
    return [pid for pid in pids if alive(pid) and b"worker" in _cmdline(pid)]


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:
        return b""


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def send(server: ServerProcess, write_key: str, ids: list[str]) -> None:
    batch = [{"type": "track", "event": "Tick", "userId": "u", "messageId": m} for m in ids]
    with httpx.Client(base_url=server.url, auth=(write_key, ""), timeout=5) as http:
        assert http.post("/v1/batch", json={"batch": batch}).status_code == 200


def wired_with_child(tmp_path: Path, start: Start, hook_url: str) -> tuple[ServerProcess, str, int]:
    """A started serve wired to `hook_url`: the server, its source's write key, and the pid
    of its one pipeline child."""
    server = start(tmp_path / "data")
    write_key = wire(server, hook_url)
    wait_for(lambda: len(pipeline_pids(server)) == 1)
    [child] = pipeline_pids(server)
    return server, write_key, child


def test_serve_delivers_through_one_pipeline_child_process(
    tmp_path: Path, start: Start, receiver: tuple[Receiver, str]
) -> None:
    state, hook_url = receiver
    server, write_key, child = wired_with_child(tmp_path, start, hook_url)

    os.kill(child, signal.SIGSTOP)  # serve itself must not deliver meanwhile
    try:
        send(server, write_key, ["a", "b"])
        time.sleep(1.0)
        while_stopped = message_ids(state)
    finally:
        os.kill(child, signal.SIGCONT)
    wait_for(lambda: sorted(message_ids(state)) == ["a", "b"])

    assert while_stopped == []
    assert pipeline_pids(server) == [child]


def test_the_pipeline_process_ends_when_serve_is_killed(tmp_path: Path, start: Start) -> None:
    server = start(tmp_path / "data")
    wait_for(lambda: len(pipeline_pids(server)) == 1)
    [child] = pipeline_pids(server)

    server.process.send_signal(signal.SIGKILL)
    server.process.wait()

    deadline = time.monotonic() + GONE_DEADLINE_S
    while alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(child), "the pipeline process outlived a killed serve"


def test_a_pipeline_process_that_dies_is_started_again_and_delivers(
    tmp_path: Path, start: Start, receiver: tuple[Receiver, str]
) -> None:
    state, hook_url = receiver
    server, write_key, first = wired_with_child(tmp_path, start, hook_url)

    os.kill(first, signal.SIGKILL)
    wait_for(lambda: pipeline_pids(server) not in ([], [first]))
    send(server, write_key, ["after-restart"])

    wait_for(lambda: message_ids(state) == ["after-restart"])
    assert "pipeline process exited; starting it again" in server.stderr


def test_a_pipeline_process_killed_with_deliveries_in_flight_loses_none(
    tmp_path: Path, start: Start, receiver: tuple[Receiver, str]
) -> None:
    state, hook_url = receiver
    server, write_key, first = wired_with_child(tmp_path, start, hook_url)
    sent = [f"k{n:02}" for n in range(20)]
    state.gate.clear()  # the receiver takes the requests and does not answer yet

    send(server, write_key, sent)
    wait_for(lambda: state.held > 0)
    os.kill(first, signal.SIGKILL)
    time.sleep(0.3)  # requests already on their way still reach the receiver
    in_flight = state.held
    state.gate.set()
    wait_for(lambda: set(message_ids(state)) == set(sent))  # the next child, once leases end

    arrived = message_ids(state)
    assert len(arrived) - len(sent) <= in_flight  # a duplicate only for a request in flight
    assert pipeline_pids(server) not in ([], [first])
