"""Fixtures for the runtime suite: one real sandbox pool for the session, fresh function
instances that are discarded after each test, and a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from headrace.runtime import FunctionKind, FunctionSpec, SandboxPool
from tests.runtime.support import function_code

MakeInstance = Callable[..., FunctionSpec]


@pytest.fixture(scope="session")
def pool() -> Iterator[SandboxPool]:
    """A pool with the default egress policy: private and loopback addresses are refused."""
    with SandboxPool() as sandbox:
        yield sandbox


@pytest.fixture(scope="session")
def full_lockdown(pool: SandboxPool) -> dict[str, str]:
    """Skips a test that needs Landlock and seccomp where this machine lacks them (a laptop);
    the runtime still runs there, with the weaker isolation reported."""
    report = pool.isolation()
    missing = [f for f in ("landlock", "seccomp") if not report.get(f, "").startswith("active")]
    if missing:
        pytest.skip(f"needs {' and '.join(missing)}: {report}")
    return report


@pytest.fixture
def instance(pool: SandboxPool) -> Iterator[MakeInstance]:
    """`instance(code, kind=..., **spec_fields)` makes a function instance with its own key;
    its workers are stopped when the test ends."""
    keys: list[str] = []

    def make(
        code: str, kind: FunctionKind = FunctionKind.DESTINATION, **fields: Any
    ) -> FunctionSpec:
        key = f"test:{len(keys)}:{time.monotonic_ns()}"
        keys.append(key)
        return FunctionSpec(key=key, code=function_code(code), kind=kind, **fields)

    yield make
    for key in keys:
        pool.discard(key)


class _Handler(BaseHTTPRequestHandler):
    """A small API to call from functions: every response is JSON describing the request
    unless the path asks for something else."""

    def do_GET(self) -> None:
        self._answer()

    def do_POST(self) -> None:
        self._answer()

    def do_PUT(self) -> None:
        self._answer()

    def _answer(self) -> None:
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if url.path.startswith("/status/"):
            self._send(int(url.path.rsplit("/", 1)[1]), b"status page", "text/plain")
        elif url.path == "/text":
            self._send(200, "plain text ✓".encode(), "text/plain; charset=utf-8")
        elif url.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", query["to"][0])
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif url.path == "/slow":
            time.sleep(float(query.get("s", ["1"])[0]))
            self._send(200, b"{}", "application/json")
        else:
            echo = {
                "method": self.command,
                "path": url.path,
                "query": {k: v[0] for k, v in query.items()},
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "body": body.decode("utf-8", "replace"),
            }
            self._send(200, json.dumps(echo).encode(), "application/json")

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Served-By", "headrace-tests")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        return


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (a fetch past its timeout) is expected, not a failure.
        return


@pytest.fixture(scope="session")
def http_server() -> Iterator[str]:
    """The base URL (http://127.0.0.1:PORT) of a real HTTP server running in a thread."""
    server = _QuietServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
