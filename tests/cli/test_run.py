"""`headrace run`: a function file once in the sandbox, outcome as JSON, exit status by result."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from tests.helpers import headrace_env, run_headrace

TRACK = '{"type": "track", "event": "Signed Up", "userId": "u1"}'


def write(tmp_path: Path, code: str, name: str = "function.py") -> str:
    path = tmp_path / name
    path.write_text(code)
    return str(path)


def outcome_of(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(result.stdout)
    return parsed


def test_a_successful_insert_prints_the_outcome_and_exits_0(tmp_path: Path) -> None:
    code = (
        "def on_track(event, settings):\n"
        "    console.log('plan', settings['plan'])\n"
        "    event['properties'] = {'plan': settings['plan']}\n"
        "    return event\n"
    )
    result = run_headrace(
        "run", write(tmp_path, code), "--kind", "insert",
        "--event", TRACK, "--settings", '{"plan": "pro"}',
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    outcome = outcome_of(result)
    assert outcome["ok"] is True
    assert outcome["result"]["properties"] == {"plan": "pro"}
    assert outcome["logs"] == ["plan pro"]
    assert outcome["error"] is None
    assert outcome["requests"] == []
    assert outcome["durationMs"] >= 0


def test_a_failing_function_exits_1_with_the_categorized_error(tmp_path: Path) -> None:
    code = "def on_track(event, settings):\n    raise RetryError('the API is down')\n"

    result = run_headrace("run", write(tmp_path, code), "--event", TRACK)

    assert result.returncode == 1
    error = outcome_of(result)["error"]
    assert error["type"] == "RetryError"
    assert error["category"] == "retry"
    assert "line 2" in error["stack"]


def test_code_that_does_not_load_is_a_function_load_error_with_its_line(tmp_path: Path) -> None:
    code = "import os\n\ndef on_track(event, settings):\n    return None\n"

    result = run_headrace("run", write(tmp_path, code), "--event", TRACK)

    assert result.returncode == 1
    error = outcome_of(result)["error"]
    assert (error["type"], error["category"], error["line"]) == (
        "FunctionLoadError",
        "invalid_settings",
        1,
    )
    assert "'os'" in error["message"]


def test_an_array_runs_on_batch(tmp_path: Path) -> None:
    code = "def on_batch(events, settings):\n    return [{'status': 200} for e in events]\n"

    result = run_headrace("run", write(tmp_path, code), "--event", f"[{TRACK}, {TRACK}]")

    assert result.returncode == 0, result.stdout
    assert outcome_of(result)["result"] == [{"status": 200}, {"status": 200}]


def test_the_event_can_come_from_a_file_or_stdin(tmp_path: Path) -> None:
    code = "def on_track(event, settings):\n    return event['event']\n"
    fn = write(tmp_path, code)
    event_file = tmp_path / "event.json"
    event_file.write_text(TRACK)

    from_file = run_headrace("run", fn, "--event", str(event_file))
    from_stdin = subprocess.run(
        [sys.executable, "-m", "headrace", "run", fn, "--event", "-"],
        input=TRACK, capture_output=True, text=True, env=headrace_env(), timeout=60,
    )  # fmt: skip

    assert outcome_of(from_file)["result"] == "Signed Up"
    assert outcome_of(from_stdin)["result"] == "Signed Up"


def test_without_an_event_a_sample_one_is_used(tmp_path: Path) -> None:
    code = "def on_track(event, settings):\n    return event['type']\n"

    result = run_headrace("run", write(tmp_path, code))

    assert result.returncode == 0
    assert outcome_of(result)["result"] == "track"
    assert "sample" in result.stderr


def test_a_source_function_is_recognised_and_gets_a_request(tmp_path: Path) -> None:
    code = (
        "def on_request(request, settings):\n"
        "    body = request.json()\n"
        "    Segment.track({'event': body['name'], 'userId': body['user']})\n"
    )
    request = json.dumps({"body": {"name": "Paid", "user": "u9"}, "headers": {}})

    result = run_headrace("run", write(tmp_path, code), "--event", request)

    assert result.returncode == 0, result.stdout
    events = outcome_of(result)["result"]["events"]
    assert events == [{"event": "Paid", "userId": "u9", "type": "track"}]


@pytest.mark.parametrize(
    "args",
    [
        ["--event", "{not json"],
        ["--settings", "[1, 2]"],
        ["--event", "does-not-exist.json"],
        ["--kind", "sideways"],
    ],
    ids=["event-not-json", "settings-not-object", "missing-event-file", "unknown-kind"],
)
def test_bad_usage_exits_2_with_a_message(tmp_path: Path, args: list[str]) -> None:
    fn = write(tmp_path, "def on_track(event, settings):\n    return None\n")

    result = run_headrace("run", fn, *args)

    assert result.returncode == 2
    assert "Error" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_missing_file_exits_2(tmp_path: Path) -> None:
    result = run_headrace("run", str(tmp_path / "nope.py"))

    assert result.returncode == 2
    assert "nope.py" in result.stderr


class _Sink(BaseHTTPRequestHandler):
    received: ClassVar[list[bytes]] = []

    def do_POST(self) -> None:
        self.received.append(self.rfile.read(int(self.headers["Content-Length"])))
        self.send_response(202)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture
def sink() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Sink)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


FETCHING = (
    "async def on_track(event, settings):\n"
    "    r = await fetch(settings['url'], method='POST', json={'e': event['event']})\n"
    "    return r.status\n"
)


def test_fetch_to_a_local_server_is_refused_by_default(tmp_path: Path, sink: str) -> None:
    result = run_headrace(
        "run", write(tmp_path, FETCHING), "--event", TRACK, "--settings", json.dumps({"url": sink})
    )

    assert result.returncode == 1
    outcome = outcome_of(result)
    assert outcome["error"]["type"] == "FetchError"
    assert "loopback" in outcome["error"]["message"]
    assert outcome["requests"][0]["status"] is None


def test_allow_host_lets_fetch_reach_a_local_server_and_records_the_trace(
    tmp_path: Path, sink: str
) -> None:
    result = run_headrace(
        "run", write(tmp_path, FETCHING), "--event", TRACK,
        "--settings", json.dumps({"url": sink + "/hook"}), "--allow-host", "127.0.0.1",
    )  # fmt: skip

    assert result.returncode == 0, result.stdout
    outcome = outcome_of(result)
    assert outcome["result"] == 202
    [trace] = outcome["requests"]
    assert (trace["method"], trace["url"], trace["status"]) == ("POST", sink + "/hook", 202)
    assert _Sink.received[-1] == b'{"e":"Signed Up"}'


def test_headrace_egress_allow_lets_fetch_reach_a_local_server(tmp_path: Path, sink: str) -> None:
    result = run_headrace(
        "run", write(tmp_path, FETCHING), "--event", TRACK,
        "--settings", json.dumps({"url": sink + "/hook"}),
        env=headrace_env(HEADRACE_EGRESS_ALLOW="example.invalid, 127.0.0.1"),
    )  # fmt: skip

    assert result.returncode == 0, result.stdout
    assert outcome_of(result)["result"] == 202
