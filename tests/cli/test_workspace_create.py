"""`headrace workspace create`: one JSON object out, a token that works, no duplicates."""

from __future__ import annotations

import json
from pathlib import Path

from tests.helpers import ServerProcess, StartServer, run_headrace


def create_workspace(data_dir: Path, name: str) -> dict[str, object]:
    result = run_headrace("workspace", "create", name, "--data-dir", str(data_dir))
    assert result.returncode == 0, result.stderr
    document: dict[str, object] = json.loads(result.stdout)
    return document


def test_prints_one_json_object_with_workspace_and_token(tmp_path: Path) -> None:
    result = run_headrace("workspace", "create", "acme", "--data-dir", str(tmp_path / "data"))

    assert result.returncode == 0, result.stderr
    assert len(result.stdout.strip().splitlines()) == 1
    document = json.loads(result.stdout)
    assert set(document) == {"workspace", "token"}
    assert document["workspace"]["name"] == "acme"
    assert document["workspace"]["id"]
    assert document["token"].startswith("hr_")


def test_token_reads_its_workspace_on_a_running_server(shared_server: ServerProcess) -> None:
    created = create_workspace(shared_server.data_dir, "created-while-running")

    with shared_server.client(str(created["token"])) as http:
        response = http.get("/api/v1/workspace")

    assert response.status_code == 200
    assert response.json()["data"]["id"] == created["workspace"]["id"]  # type: ignore[index]


def test_duplicate_name_is_one_sentence_and_nonzero_exit(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    create_workspace(data_dir, "acme")

    result = run_headrace("workspace", "create", "acme", "--data-dir", str(data_dir))

    assert result.returncode != 0
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == ["Error: A workspace named 'acme' already exists."]


def test_empty_name_is_refused(tmp_path: Path) -> None:
    result = run_headrace("workspace", "create", "  ", "--data-dir", str(tmp_path / "data"))

    assert result.returncode != 0
    assert "must not be empty" in result.stderr


def test_workspace_created_before_first_serve_does_not_stop_default_from_being_made(
    tmp_path: Path, start_headrace: StartServer
) -> None:
    data_dir = tmp_path / "data"
    create_workspace(data_dir, "acme")

    server = start_headrace(data_dir)

    with server.client(server.owner_token) as http:
        assert http.get("/api/v1/workspace").json()["data"]["name"] == "default"
