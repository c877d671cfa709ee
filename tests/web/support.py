"""What the browser tests share: the webhook receiver, workspaces with their owner token,
signing in, typing into the code editor, and the README's screenshots."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Page, expect

from tests.helpers import ServerProcess

RECEIVE_DEADLINE_S = 30.0
SCREENSHOTS_DIR = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
SCREENSHOTS_ENV = "HEADRACE_SCREENSHOTS"
"""Set to 1 (as `make screenshots` does) to rewrite the PNGs under docs/screenshots."""


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class Receiver:
    """Requests received by the test endpoint, in order."""

    url: str
    requests: list[Received] = field(default_factory=list)
    changed: threading.Condition = field(default_factory=threading.Condition)

    def at(self, path: str) -> list[Received]:
        with self.changed:
            return [r for r in self.requests if r.path == path]

    def wait_for(
        self, path: str, count: int, deadline_s: float = RECEIVE_DEADLINE_S
    ) -> list[Received]:
        """The first `count` requests to `path`, once they have all arrived."""
        end = time.monotonic() + deadline_s
        with self.changed:
            while len(self.at(path)) < count:
                left = end - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{path} got {len(self.at(path))} of {count} requests")
                self.changed.wait(left)
            return self.at(path)[:count]


@contextmanager
def serve_receiver() -> Iterator[Receiver]:
    state: list[Receiver] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", "0"))
            raw = self.rfile.read(length)
            receiver = state[0]
            with receiver.changed:
                receiver.requests.append(
                    Received(self.path, dict(self.headers.items()), json.loads(raw or b"null"))
                )
                receiver.changed.notify_all()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"ok": true}')

        def log_message(self, format: str, *args: Any) -> None:
            pass

    http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.append(Receiver(url=f"http://127.0.0.1:{http.server_address[1]}"))
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    try:
        yield state[0]
    finally:
        http.shutdown()
        http.server_close()


@dataclass
class Workspace:
    """A workspace on the test server and its owner's token."""

    server: ServerProcess
    name: str
    token: str

    def api(self, token: str | None = None) -> httpx.Client:
        return httpx.Client(
            base_url=f"{self.server.url}/api/v1",
            headers={"Authorization": f"Bearer {token or self.token}"},
            timeout=10,
        )

    def create(self, path: str, body: dict[str, Any], token: str | None = None) -> Any:
        with self.api(token) as http:
            response = http.post(path, json=body)
        assert response.status_code == 201, response.text
        return response.json()["data"]

    def get(self, path: str) -> Any:
        with self.api() as http:
            response = http.get(path)
        assert response.status_code == 200, response.text
        return response.json()["data"]


def sign_in(page: Page, server: ServerProcess, token: str, then: str = "") -> None:
    """Sign in with `token` on the sign-in page, then open `#{then}` if given."""
    page.goto(f"{server.url}/")
    page.get_by_label("API token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    if then:
        page.goto(f"{server.url}/#{then}")


def replace_code(page: Page, code: str, editor: str = ".cm-host") -> None:
    """Replace the text of a code editor as a user would: select all, then type."""
    page.locator(f"{editor} .cm-content").first.click()
    page.keyboard.press("Control+a")
    page.keyboard.insert_text(code)


def snap(page: Page, name: str) -> None:
    """A screenshot for the README, kept when HEADRACE_SCREENSHOTS=1."""
    if os.environ.get(SCREENSHOTS_ENV) == "1":
        SCREENSHOTS_DIR.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS_DIR / f"{name}.png"))


def eventually(check: Callable[[], bool], deadline_s: float = RECEIVE_DEADLINE_S) -> None:
    """Wait until `check()` is true (for state outside the page, such as the database)."""
    end = time.monotonic() + deadline_s
    while not check():
        if time.monotonic() > end:
            raise AssertionError("the condition did not become true in time")
        time.sleep(0.1)
