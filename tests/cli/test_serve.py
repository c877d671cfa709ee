"""`headrace serve` as a real process: first start, restart, shutdown, refusals."""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
from pathlib import Path

import pytest

from tests.helpers import StartServer, free_port, headrace_env, run_headrace


def test_first_start_creates_database_and_owner_token_file(
    tmp_path: Path, start_headrace: StartServer
) -> None:
    data_dir = tmp_path / "data"
    server = start_headrace(data_dir)

    assert (data_dir / "headrace.db").is_file()
    token_file = data_dir / "owner.token"
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    assert server.owner_token.startswith("hr_")


def test_first_start_prints_owner_token_once_on_stdout_and_never_logs_it(
    tmp_path: Path, start_headrace: StartServer
) -> None:
    server = start_headrace(tmp_path / "data")
    token = server.owner_token

    code, stdout, stderr = server.stop()

    assert code == 0
    assert stdout.count(token) == 1
    assert token not in stderr


def test_owner_token_reads_the_default_workspace(
    tmp_path: Path, start_headrace: StartServer
) -> None:
    server = start_headrace(tmp_path / "data")

    with server.client(server.owner_token) as http:
        response = http.get("/api/v1/workspace")

    assert response.status_code == 200
    assert response.json()["data"]["name"] == "default"


def test_second_start_reuses_token_and_workspace_and_prints_no_token(
    tmp_path: Path, start_headrace: StartServer
) -> None:
    data_dir = tmp_path / "data"
    first = start_headrace(data_dir)
    token = first.owner_token
    with first.client(token) as http:
        workspace_id = http.get("/api/v1/workspace").json()["data"]["id"]
    assert first.stop()[0] == 0

    second = start_headrace(data_dir)

    assert second.owner_token == token
    with second.client(token) as http:
        assert http.get("/api/v1/workspace").json()["data"]["id"] == workspace_id
    code, stdout, _ = second.stop()
    assert code == 0
    assert token not in stdout


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=lambda sig: sig.name)
def test_signal_shuts_down_cleanly_with_exit_code_zero(
    tmp_path: Path, start_headrace: StartServer, sig: signal.Signals
) -> None:
    server = start_headrace(tmp_path / "data")

    code, _, stderr = server.stop(sig)

    assert code == 0
    assert "Traceback" not in stderr
    last = json.loads(stderr.strip().splitlines()[-1])
    assert last["event"] == "shut down"
    assert last["signal"] == sig.name


def test_logs_are_one_json_object_per_line(tmp_path: Path, start_headrace: StartServer) -> None:
    server = start_headrace(tmp_path / "data")
    with server.client() as http:
        http.get("/healthz")

    _, _, stderr = server.stop()

    entries = [json.loads(line) for line in stderr.splitlines()]
    assert all({"ts", "level", "logger", "event"} <= entry.keys() for entry in entries)
    assert any(entry["event"] == "request" and entry["path"] == "/healthz" for entry in entries)


def assert_one_sentence_error(result_stderr: str, *fragments: str) -> None:
    assert "Traceback" not in result_stderr
    lines = [line for line in result_stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result_stderr
    for fragment in fragments:
        assert fragment in lines[0]


def test_port_in_use_is_one_sentence_and_nonzero_exit(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]

        result = run_headrace("serve", "--data-dir", str(tmp_path / "data"), "--port", str(port))

    assert result.returncode != 0
    assert_one_sentence_error(result.stderr, f"Port {port}", "already in use")


def test_port_in_use_creates_no_database(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]

        run_headrace("serve", "--data-dir", str(tmp_path / "data"), "--port", str(port))

    assert not (tmp_path / "data" / "headrace.db").exists()


def test_data_dir_that_cannot_be_created_is_one_sentence_and_nonzero_exit(
    tmp_path: Path,
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")

    result = run_headrace("serve", "--data-dir", str(blocker / "data"), "--port", str(free_port()))

    assert result.returncode != 0
    assert_one_sentence_error(result.stderr, "data directory", "cannot be created")


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write into a read-only directory")
def test_read_only_data_dir_is_one_sentence_and_nonzero_exit(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir(mode=0o500)

    result = run_headrace("serve", "--data-dir", str(data_dir), "--port", str(free_port()))

    assert result.returncode != 0
    assert_one_sentence_error(result.stderr, "not writable")


def test_corrupt_database_is_one_sentence_and_nonzero_exit(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / "headrace.db").write_bytes(b"this is not a sqlite database\x00" * 200)

    result = run_headrace("serve", "--data-dir", str(data_dir), "--port", str(free_port()))

    assert result.returncode != 0
    assert_one_sentence_error(result.stderr, "headrace.db", "not a database")


def test_unknown_option_fails_without_traceback() -> None:
    result = run_headrace("serve", "--no-such-option")

    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "No such option" in result.stderr


def test_invalid_port_in_environment_is_one_sentence(tmp_path: Path) -> None:
    result = run_headrace(
        "serve", "--data-dir", str(tmp_path), env=headrace_env(HEADRACE_PORT="eighty")
    )

    assert result.returncode != 0
    assert_one_sentence_error(result.stderr, "port", "eighty")
