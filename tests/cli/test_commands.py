"""The command line as a whole: help everywhere, version, doctor."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

import headrace
from tests.helpers import headrace_env, run_headrace

SUBCOMMANDS = [
    ["serve"],
    ["workspace"],
    ["workspace", "create"],
    ["doctor"],
    ["version"],
    ["run"],
    ["worker"],
    ["deliveries"],
]


def test_top_level_help_lists_every_subcommand() -> None:
    result = run_headrace("--help")

    assert result.returncode == 0
    for name in ("serve", "workspace", "doctor", "version", "run", "worker", "deliveries"):
        assert re.search(rf"^  {name} ", result.stdout, re.MULTILINE), name


@pytest.mark.parametrize("command", SUBCOMMANDS, ids=" ".join)
def test_every_subcommand_has_help(command: list[str]) -> None:
    result = run_headrace(*command, "--help")

    assert result.returncode == 0
    assert result.stdout.startswith("Usage: headrace " + " ".join(command))


def test_the_worker_and_local_runs_start_without_loading_the_http_api() -> None:
    """A subcommand's module is imported when it runs: a pipeline worker (started again
    after each crash) and `headrace run` need not load FastAPI and the routes."""
    probe = (
        "import sys\n"
        "from headrace.cli.main import cli\n"
        "for name in ('worker', 'run'):\n"
        "    cli.get_command(None, name)\n"
        "import headrace.services.container\n"  # what the worker runs
        "web = ('fastapi', 'starlette', 'uvicorn', 'headrace.api')\n"
        "print(sorted(m for m in web if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=headrace_env()
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
    assert run_headrace("serve", "--help").returncode == 0  # and serve still finds its own


def test_unknown_subcommand_fails_without_traceback() -> None:
    result = run_headrace("no-such-command")

    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "No such command" in result.stderr


def test_version_prints_the_package_version() -> None:
    result = run_headrace("version")

    assert result.returncode == 0
    assert result.stdout.strip() == f"headrace {headrace.__version__}"


def test_doctor_prints_configuration_in_effect_with_its_source(tmp_path: Path) -> None:
    result = run_headrace(
        "doctor", "--data-dir", str(tmp_path), env=headrace_env(HEADRACE_PORT="9099")
    )

    assert "Traceback" not in result.stderr
    assert re.search(rf"data_dir +{re.escape(str(tmp_path))} +\(option --data-dir\)", result.stdout)
    assert re.search(r"port +9099 +\(env HEADRACE_PORT\)", result.stdout)
    assert re.search(r"host +127\.0\.0\.1 +\(default\)", result.stdout)


def test_doctor_does_not_create_the_database(tmp_path: Path) -> None:
    result = run_headrace("doctor", "--data-dir", str(tmp_path / "data"))

    assert "not created yet" in result.stdout
    assert not (tmp_path / "data").exists()


def test_doctor_hides_the_database_password(tmp_path: Path) -> None:
    env = headrace_env(HEADRACE_DATABASE_URL="postgresql://headrace:s3cret@db.invalid/headrace")

    result = run_headrace("doctor", "--data-dir", str(tmp_path), env=env)

    assert "s3cret" not in result.stdout + result.stderr
    assert "postgresql://headrace:***@db.invalid/headrace" in result.stdout


def test_doctor_shows_the_secret_key_only_as_set(tmp_path: Path) -> None:
    key = "UqUW3cWdt0mSrIe1gTLiakcuPv7lSNfvoBFKX2FR5vQ"

    result = run_headrace(
        "doctor", "--data-dir", str(tmp_path), env=headrace_env(HEADRACE_SECRET_KEY=key)
    )

    assert key not in result.stdout + result.stderr
    rows = [line.split()[:2] for line in result.stdout.splitlines()]
    assert ["secret_key", "set"] in rows


def test_doctor_reports_a_corrupt_database_and_exits_nonzero(tmp_path: Path) -> None:
    (tmp_path / "headrace.db").write_bytes(b"garbage" * 1000)

    result = run_headrace("doctor", "--data-dir", str(tmp_path))

    assert result.returncode == 1
    assert "not a database" in result.stdout
    assert "Traceback" not in result.stderr


def test_doctor_reports_what_the_sandbox_can_enforce(tmp_path: Path) -> None:
    from headrace.runtime import describe_isolation

    result = run_headrace("doctor", "--data-dir", str(tmp_path))

    assert result.returncode == 0, result.stdout
    assert "Sandbox" in result.stdout
    for feature, status in describe_isolation().items():
        assert feature in result.stdout
        assert status in result.stdout
