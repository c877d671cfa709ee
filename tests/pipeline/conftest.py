"""A real store, a real sandbox pool and a real HTTP receiver for pipeline tests.

The catalog is a static one: the destinations as the services layer would hand them down.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import Engine

from headrace.pipeline import Deliverer, DestinationPlan, RetryPolicy, Router
from headrace.pipeline.webhook import WebhookSender
from headrace.runtime import EgressPolicy, SandboxPool
from headrace.store import open_engine, upgrade_to_head


@dataclass
class StaticCatalog:
    destinations: dict[str, DestinationPlan] = field(default_factory=dict)
    connections: dict[str, list[str]] = field(default_factory=dict)

    def add(self, source_id: str, plan: DestinationPlan) -> None:
        self.destinations[plan.id] = plan
        self.connections.setdefault(source_id, []).append(plan.id)

    def destinations_of_source(self, source_id: str) -> Sequence[DestinationPlan]:
        ids = self.connections.get(source_id, [])
        return [self.destinations[i] for i in ids if self.destinations[i].enabled]

    def destination(self, destination_id: str) -> DestinationPlan | None:
        return self.destinations.get(destination_id)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = open_engine(f"sqlite:///{tmp_path / 'pipeline.db'}")
    upgrade_to_head(engine)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def pool() -> Iterator[SandboxPool]:
    with SandboxPool() as sandbox:
        yield sandbox


@pytest.fixture
def webhooks() -> Iterator[WebhookSender]:
    sender = WebhookSender(EgressPolicy.allowing(["127.0.0.1"]))
    yield sender
    sender.close()


class Receiver:
    """What a webhook destination's endpoint received, and the status it answers with."""

    def __init__(self) -> None:
        self.bodies: list[Any] = []
        self.refused = 0
        self.status = 200
        self.lock = threading.Lock()
        self.gate = threading.Event()
        """Cleared: requests are taken but not answered (nor recorded) until it is set."""
        self.gate.set()
        self.held = 0
        """Requests waiting at the gate now."""

    def events(self) -> list[dict[str, Any]]:
        with self.lock:
            return list(self.bodies)


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, str]]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with state.lock:
                state.held += 1
            state.gate.wait(60)
            status = state.status
            with state.lock:
                state.held -= 1
                if 200 <= status < 300:
                    state.bodies.append(orjson.loads(body))
                else:
                    state.refused += 1
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return

    class Server(ThreadingHTTPServer):
        # A real endpoint's listen backlog, not the standard library's 5: the pipeline
        # opens several connections at once, and a full backlog stalls connects for seconds.
        request_queue_size = 128
        daemon_threads = True

    server = Server(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state, f"http://127.0.0.1:{server.server_address[1]}/hook"
    server.shutdown()
    server.server_close()


@contextmanager
def serving(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """A webhook URL on 127.0.0.1 answered by `handler`."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    finally:
        server.shutdown()
        server.server_close()


@dataclass(frozen=True)
class Hanging:
    url: str
    arrived: threading.Event
    """Set when the first request came in."""


@contextmanager
def hanging_endpoint() -> Iterator[Hanging]:
    """An endpoint that takes each request and never answers it (until the block ends)."""
    arrived, released = threading.Event(), threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            arrived.set()
            released.wait(60)

        def log_message(self, format: str, *args: Any) -> None:
            return

    with serving(Handler) as url:
        try:
            yield Hanging(url, arrived)
        finally:
            released.set()


@pytest.fixture
def hanging_url() -> Iterator[str]:
    """The URL of an endpoint that takes each request and never answers it."""
    with hanging_endpoint() as hanging:
        yield hanging.url


class Clock:
    """A clock the test moves by hand (`clock.now += 5`)."""

    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def catalog() -> StaticCatalog:
    return StaticCatalog()


@pytest.fixture
def run(
    engine: Engine, catalog: StaticCatalog, pool: SandboxPool, webhooks: WebhookSender, clock: Clock
) -> Iterator[Callable[[], None]]:
    """Route and deliver until idle; a retried job waits for the clock to move on (the
    retry policy's backoff is at most 4 s)."""
    policy = RetryPolicy(window_s=100, base_s=1, cap_s=4)
    router = Router(engine, catalog, clock=clock)
    deliverer = Deliverer(engine, catalog, pool, webhooks, policy=policy, clock=clock)

    def drain() -> None:
        while router.run_once() or deliverer.run_once() or deliverer.finish():
            pass

    yield drain
    deliverer.close()
