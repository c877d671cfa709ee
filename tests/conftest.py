"""Fixtures shared by the suite: settings on a temporary data directory, a migrated store,
an in-process API client, and `headrace serve` as a real process."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

with warnings.catch_warnings():
    # Starlette nudges towards its successor HTTP client; httpx is what headrace uses.
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

from headrace.api import create_app
from headrace.config import Settings
from headrace.services import Services, open_store, prepare_data_dir
from tests.helpers import ServerProcess, StartServer, start_server


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data")


@pytest.fixture
def services(settings: Settings, request: pytest.FixtureRequest) -> Iterator[Services]:
    """Services on a freshly migrated SQLite database; without the pipeline's own workers
    in a test module that sets `RUN_PIPELINE = False` (its tests drive the pipeline, or look
    at what waits in the queue)."""
    prepare_data_dir(settings.data_dir)
    pipeline = getattr(request.module, "RUN_PIPELINE", True)
    services = Services(settings, open_store(settings), pipeline=pipeline)
    yield services
    services.stop()


@pytest.fixture
def client(settings: Settings, services: Services) -> Iterator[TestClient]:
    with TestClient(create_app(settings, services)) as test_client:
        yield test_client


@pytest.fixture
def start_headrace(tmp_path: Path) -> Iterator[StartServer]:
    """`start_headrace(data_dir)` runs a server; every one still running is stopped after."""
    started: list[ServerProcess] = []

    def start(data_dir: Path) -> ServerProcess:
        server = start_server(data_dir, tmp_path / "logs")
        started.append(server)
        return server

    yield start
    for server in started:
        if server.process.poll() is None:
            server.stop()


@pytest.fixture(scope="session")
def shared_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One server for the tests that only read from it, started once per run."""
    root = tmp_path_factory.mktemp("shared-server")
    server = start_server(root / "data", root / "logs")
    yield server
    server.stop()
