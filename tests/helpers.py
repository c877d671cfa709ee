"""Helpers for tests that run `headrace` as a real process."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Connection, Engine, event

from headrace.store.delivery_queries import IntakeTotals, intake_totals, outcome_totals

ALL_TIME = (0.0, 2.0**40)
"""(since, until) in epoch seconds that covers every counter a test writes."""

SERVER_START_DEADLINE_S = 20.0
SERVER_STOP_DEADLINE_S = 15.0
POLL_INTERVAL_S = 0.05


def headrace_env(**extra: str) -> dict[str, str]:
    """The environment for a child `headrace`, without any HEADRACE_* of the caller."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("HEADRACE_")}
    env.update(extra)
    return env


def run_headrace(
    *args: str, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """`headrace ARGS...` as a child process of the interpreter running the tests."""
    return subprocess.run(
        [sys.executable, "-m", "headrace", *args],
        capture_output=True,
        text=True,
        env=env if env is not None else headrace_env(),
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class ServerProcess:
    """A `headrace serve` child process on a port of its own.

    Its output goes to files, not pipes, so a chatty server never blocks on a full pipe.
    """

    process: subprocess.Popen[bytes]
    data_dir: Path
    port: int
    stdout_path: Path
    stderr_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def owner_token(self) -> str:
        return (self.data_dir / "owner.token").read_text().strip()

    def client(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=10)

    def wait_until_healthy(self) -> None:
        deadline = time.monotonic() + SERVER_START_DEADLINE_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"headrace serve exited early:\n{self.stderr}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(POLL_INTERVAL_S)
        self.process.kill()
        raise AssertionError("headrace serve did not become healthy in time")

    def stop(self, sig: signal.Signals = signal.SIGTERM) -> tuple[int, str, str]:
        """Send `sig` and wait: (exit code, stdout, stderr)."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            self.process.wait(timeout=SERVER_STOP_DEADLINE_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise AssertionError(f"headrace serve ignored {sig.name}:\n{self.stderr}") from None
        return self.process.returncode, self.stdout, self.stderr

    @property
    def stdout(self) -> str:
        return self.stdout_path.read_text()

    @property
    def stderr(self) -> str:
        return self.stderr_path.read_text()


def start_server(
    data_dir: Path, logs_dir: Path, env: dict[str, str] | None = None, port: int | None = None
) -> ServerProcess:
    """`headrace serve` on a free port (or `port`), once it answers /healthz; `env` adds
    HEADRACE_* settings."""
    port = port or free_port()
    logs_dir.mkdir(parents=True, exist_ok=True)
    stdout_path = logs_dir / f"serve-{port}.out"
    stderr_path = logs_dir / f"serve-{port}.err"
    command = [sys.executable, "-m", "headrace", "serve", "--data-dir", str(data_dir)]
    with stdout_path.open("wb") as stdout, stderr_path.open("wb") as stderr:
        process = subprocess.Popen(
            [*command, "--port", str(port)],
            stdout=stdout,
            stderr=stderr,
            stdin=subprocess.DEVNULL,
            env=headrace_env(**(env or {})),
        )
    server = ServerProcess(process, data_dir, port, stdout_path, stderr_path)
    try:
        server.wait_until_healthy()
    except BaseException:
        if process.poll() is None:
            process.kill()
            process.wait()
        raise
    return server


StartServer = Callable[[Path], ServerProcess]


def outcome_counts(conn: Connection, target_id: str) -> dict[tuple[str, str], int]:
    """Every outcome counted for a destination or source function, by (status, category)."""
    return {(t.status, t.category): t.count for t in outcome_totals(conn, target_id, *ALL_TIME)}


def intake_counts(conn: Connection, source_id: str) -> IntakeTotals:
    """Every event a source accepted, and rejected by reason."""
    return intake_totals(conn, source_id, *ALL_TIME)


@contextmanager
def disk_full(engine: Engine) -> Iterator[None]:
    """Within the block, the SQLite database cannot grow by one page, as on a full disk.

    The file is vacuumed first (no free pages left to reuse), then each connection the
    engine opens is capped at the pages the database has. Nothing else may be using the
    engine (its pool is emptied on the way in and out)."""

    def capped(dbapi_connection: Any, _record: Any) -> None:
        (pages,) = dbapi_connection.execute("PRAGMA page_count").fetchone()
        dbapi_connection.execute(f"PRAGMA max_page_count = {pages}")

    engine.dispose()
    with engine.connect() as conn:
        conn.exec_driver_sql("VACUUM")
    engine.dispose()
    event.listen(engine, "connect", capped)
    try:
        yield
    finally:
        event.remove(engine, "connect", capped)
        engine.dispose()
