"""Browser tests: Debian's Chromium driven by Playwright against a real `headrace serve`.

One browser and one server per session; each test gets a fresh browser context (its own
session storage) and, unless it follows the README as the first user, a workspace of its
own, so that what one test creates never shows in another's pages.
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Error, Page, expect, sync_playwright

from headrace.config import Settings
from headrace.services import Services, open_store
from tests.helpers import ServerProcess, start_server
from tests.web.support import Receiver, Workspace, serve_receiver

EXPECT_TIMEOUT_MS = 10_000
VIEWPORT = {"width": 1400, "height": 900}
# The API answers refusals with 4xx; Chromium logs each such response on the console.
# They are answers the page shows, not errors of the page.
API_REFUSAL = re.compile(r"^Failed to load resource: the server responded with a status of 4\d\d")

expect.set_options(timeout=EXPECT_TIMEOUT_MS)


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    executable = chromium_path()
    if executable is None:
        message = (
            "Chromium is not installed: `make test` installs it (apt-get install chromium); "
            "set HEADRACE_SKIP_BROWSER_TESTS=1 to run without the browser tests."
        )
        if os.environ.get("HEADRACE_SKIP_BROWSER_TESTS"):
            pytest.skip(message)
        pytest.fail(message)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, headless=True)
        yield launched
        launched.close()


@pytest.fixture(scope="session")
def receiver() -> Iterator[Receiver]:
    """An HTTP endpoint that records what webhooks and functions send it."""
    with serve_receiver() as received:
        yield received


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    root = tmp_path_factory.mktemp("web-server")
    # Functions and webhooks may reach the receiver on this machine.
    started = start_server(root / "data", root / "logs", env={"HEADRACE_EGRESS_ALLOW": "127.0.0.1"})
    yield started
    started.stop()


@pytest.fixture(scope="session")
def workspace_services(server: ServerProcess) -> Iterator[Services]:
    """The server's database, for making workspaces as `headrace workspace create` does."""
    settings = Settings(data_dir=server.data_dir)
    services = Services(settings, open_store(settings))
    yield services
    services.stop()


_workspace_numbers = itertools.count(1)


@pytest.fixture
def workspace(workspace_services: Services, server: ServerProcess) -> Workspace:
    """A new workspace with its owner token."""
    created = workspace_services.workspaces.create(f"team-{next(_workspace_numbers)}")
    return Workspace(server=server, name=created.workspace.name, token=created.token)


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A page in a fresh context; the test fails if the page logs an error."""
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(EXPECT_TIMEOUT_MS)
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    opened = context.new_page()
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error" and not API_REFUSAL.match(message.text):
            problems.append(f"console: {message.text}")

    def on_page_error(error: Error) -> None:
        problems.append(f"page error: {error}")

    opened.on("console", on_console)
    opened.on("pageerror", on_page_error)
    yield opened
    context.close()
    assert not problems, "\n".join(problems)
