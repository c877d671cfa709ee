"""WebhookSender: JSON POSTs over kept-alive connections, pinned to the address the egress
policy checked, with each answer read as a delivery outcome.

Every endpoint here is a real HTTP/1.1 server on 127.0.0.1 (TLS with a throwaway CA where
HTTPS is the point).
"""

from __future__ import annotations

import dataclasses
import datetime
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import orjson
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from headrace.errors import ErrorCategory
from headrace.pipeline.webhook import NOT_SENT, STOPPED, WebhookAttempt, WebhookSender
from headrace.runtime.egress import EgressPolicy
from tests.pipeline.conftest import Receiver

LOOPBACK = EgressPolicy.allowing(["127.0.0.1"])
BODY = b'{"type":"track","event":"Order Completed","properties":{"total":42.5}}'
WAIT_S = 5.0
"""How long a test waits for the endpoint to see something it must see."""


# -- a real endpoint ----------------------------------------------------------------------


@dataclass
class Answer:
    """How the endpoint answers every request."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    close_when_idle: bool = False
    """Close the connection after answering although the answer announced keep-alive."""


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    headers: Message
    body: bytes
    connection: int
    """Which of the endpoint's connections (1, 2, ...) carried the request."""


class _Server(ThreadingHTTPServer):
    """Counts the connections it closed, and does each TLS handshake on the connection's
    own thread so a refused handshake never holds up the accept loop."""

    daemon_threads = True

    def __init__(self, handler: type[BaseHTTPRequestHandler], endpoint: Endpoint) -> None:
        super().__init__(("127.0.0.1", 0), handler)
        self.endpoint = endpoint

    def finish_request(self, request: Any, client_address: Any) -> None:
        tls = self.endpoint.tls
        if tls is not None:
            request = tls.wrap_socket(request, server_side=True)
        super().finish_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        super().shutdown_request(request)
        self.endpoint.connection_closed()

    def handle_error(self, request: Any, client_address: Any) -> None:
        return  # a refused TLS handshake is one of the things tested


class Endpoint:
    """A webhook receiver: what it received, over how many connections, and how many of
    them it has closed."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.tls = tls
        self.answer = Answer()
        self.answer_for: Callable[[bytes], Answer] | None = None
        """If set, the answer to each body (instead of `answer`)."""
        self.received: list[Received] = []
        self.connections = 0
        self.closed = 0
        self._changed = threading.Condition()
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            number = 0

            def setup(self) -> None:
                super().setup()
                with endpoint._changed:
                    endpoint.connections += 1
                    self.number = endpoint.connections

            def do_POST(self) -> None:
                self._receive()

            def do_GET(self) -> None:
                self._receive()

            def _receive(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                answer = endpoint.answer_for(body) if endpoint.answer_for else endpoint.answer
                with endpoint._changed:
                    endpoint.received.append(
                        Received(self.command, self.path, self.headers, body, self.number)
                    )
                    endpoint._changed.notify_all()
                self.send_response(answer.status)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                self.wfile.write(answer.body)
                if answer.close_when_idle:
                    self.close_connection = True

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = _Server(Handler, self)
        self.port: int = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )
        self._thread.start()

    def url(self, path: str = "/hook", host: str = "127.0.0.1", scheme: str = "http") -> str:
        return f"{scheme}://{host}:{self.port}{path}"

    def bodies(self) -> list[bytes]:
        with self._changed:
            return [request.body for request in self.received]

    def connection_closed(self) -> None:
        with self._changed:
            self.closed += 1
            self._changed.notify_all()

    def wait_closed(self, count: int) -> None:
        with self._changed:
            assert self._changed.wait_for(lambda: self.closed >= count, WAIT_S)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def endpoint() -> Iterator[Endpoint]:
    server = Endpoint()
    yield server
    server.stop()


@pytest.fixture
def sender() -> Iterator[WebhookSender]:
    webhooks = WebhookSender(LOOPBACK, timeout_s=2.0)
    yield webhooks
    webhooks.close()


def post(sender: WebhookSender, url: str, headers: dict[str, str] | None = None) -> WebhookAttempt:
    return sender.post(url, headers or {}, BODY)


def free_port() -> int:
    """A port on 127.0.0.1 where nothing listens."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


# -- certificates -------------------------------------------------------------------------


@dataclass(frozen=True)
class Authority:
    """A throwaway CA and what it issues."""

    key: ec.EllipticCurvePrivateKey
    certificate: x509.Certificate
    directory: Path

    def pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    def server_context(self, name: str) -> ssl.SSLContext:
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.UTC)
        certificate = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
            .issuer_name(self.certificate.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()),
                critical=False,
            )
            .sign(self.key, hashes.SHA256())
        )
        chain = self.directory / f"{name}.pem"
        chain.write_bytes(
            certificate.public_bytes(serialization.Encoding.PEM)
            + key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(chain)
        return context


@pytest.fixture(scope="module")
def authority(tmp_path_factory: pytest.TempPathFactory) -> Authority:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "headrace test CA")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return Authority(key, certificate, tmp_path_factory.mktemp("certificates"))


@pytest.fixture
def https_endpoint(authority: Authority) -> Iterator[Callable[[str], Endpoint]]:
    """Starts TLS endpoints on 127.0.0.1 whose certificate names the given host."""
    started: list[Endpoint] = []

    def start(certificate_name: str) -> Endpoint:
        server = Endpoint(tls=authority.server_context(certificate_name))
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def https_sender(authority: Authority) -> Iterator[WebhookSender]:
    webhooks = WebhookSender(
        EgressPolicy.allowing(["localhost"]), timeout_s=2.0, ca_pem=authority.pem()
    )
    yield webhooks
    webhooks.close()


# -- delivery -----------------------------------------------------------------------------


def test_a_2xx_answer_delivers_the_event(endpoint: Endpoint, sender: WebhookSender) -> None:
    endpoint.answer = Answer(status=202)

    attempt = post(sender, endpoint.url())

    assert attempt.category is None
    assert attempt.error is None


def test_the_body_arrives_byte_for_byte(endpoint: Endpoint, sender: WebhookSender) -> None:
    post(sender, endpoint.url())

    assert endpoint.bodies() == [BODY]


def test_the_body_is_sent_as_json(endpoint: Endpoint, sender: WebhookSender) -> None:
    post(sender, endpoint.url())

    assert endpoint.received[0].headers.get_all("Content-Type") == ["application/json"]


def test_the_configured_headers_are_sent(endpoint: Endpoint, sender: WebhookSender) -> None:
    post(sender, endpoint.url(), {"Authorization": "Bearer sk_test_1", "X-Source": "headrace"})

    headers = endpoint.received[0].headers
    assert headers["Authorization"] == "Bearer sk_test_1"
    assert headers["X-Source"] == "headrace"


def test_the_host_header_is_the_urls_host_and_port_as_written(
    endpoint: Endpoint, sender: WebhookSender
) -> None:
    post(sender, endpoint.url())

    assert endpoint.received[0].headers.get_all("Host") == [f"127.0.0.1:{endpoint.port}"]


def test_credentials_in_the_url_are_left_out_of_the_trace(
    endpoint: Endpoint, sender: WebhookSender
) -> None:
    attempt = post(sender, endpoint.url(host="user:secret@127.0.0.1"))

    assert "secret" not in attempt.trace["url"]
    assert attempt.trace["url"].startswith("http://127.0.0.1:")


def test_a_configured_host_header_does_not_replace_the_urls(
    endpoint: Endpoint, sender: WebhookSender
) -> None:
    post(sender, endpoint.url(), {"host": "elsewhere.example"})

    assert endpoint.received[0].headers.get_all("Host") == [f"127.0.0.1:{endpoint.port}"]


def test_credentials_in_the_url_never_reach_the_host_header(
    endpoint: Endpoint, sender: WebhookSender
) -> None:
    post(sender, endpoint.url(host="user:secret@127.0.0.1"))

    assert endpoint.received[0].headers.get_all("Host") == [f"127.0.0.1:{endpoint.port}"]


def test_a_configured_content_type_replaces_the_default_whatever_its_case(
    endpoint: Endpoint, sender: WebhookSender
) -> None:
    post(sender, endpoint.url(), {"content-type": "application/vnd.orders+json"})

    assert endpoint.received[0].headers.get_all("Content-Type") == ["application/vnd.orders+json"]


def test_the_path_and_query_of_the_url_are_requested(
    endpoint: Endpoint, sender: WebhookSender
) -> None:
    post(sender, endpoint.url("/hooks/orders?team=7&v=2#fragment"))

    assert endpoint.received[0].path == "/hooks/orders?team=7&v=2"
    assert endpoint.received[0].method == "POST"


# -- connections --------------------------------------------------------------------------


def test_consecutive_posts_from_one_thread_share_one_connection(
    endpoint: Endpoint, sender: WebhookSender
) -> None:
    attempts = [post(sender, endpoint.url()) for _ in range(5)]

    assert [attempt.category for attempt in attempts] == [None] * 5
    assert endpoint.connections == 1
    assert len(endpoint.bodies()) == 5


def test_a_kept_alive_connection_the_server_closed_while_idle_is_retried_on_a_fresh_one(
    endpoint: Endpoint, sender: WebhookSender
) -> None:
    endpoint.answer = Answer(close_when_idle=True)
    first = sender.post(endpoint.url(), {}, b'{"n":1}')
    endpoint.wait_closed(1)

    second = sender.post(endpoint.url(), {}, b'{"n":2}')

    assert first.category is None
    assert second.category is None, second.error
    assert endpoint.bodies() == [b'{"n":1}', b'{"n":2}']
    assert [request.connection for request in endpoint.received] == [1, 2]


def test_a_connection_close_answer_makes_the_next_post_open_a_new_connection(
    endpoint: Endpoint, sender: WebhookSender
) -> None:
    endpoint.answer = Answer(headers={"Connection": "close"})
    first = post(sender, endpoint.url())

    second = post(sender, endpoint.url())

    assert (first.category, second.category) == (None, None)
    assert [request.connection for request in endpoint.received] == [1, 2]


def test_an_answer_over_the_read_cap_is_delivered_and_its_connection_not_reused(
    endpoint: Endpoint, sender: WebhookSender
) -> None:
    endpoint.answer = Answer(body=b"x" * (200 * 1024))
    first = post(sender, endpoint.url())

    second = post(sender, endpoint.url())

    assert (first.category, second.category) == (None, None)
    assert [request.connection for request in endpoint.received] == [1, 2]


def test_close_ends_the_kept_alive_connections(endpoint: Endpoint) -> None:
    webhooks = WebhookSender(LOOPBACK, timeout_s=2.0)
    post(webhooks, endpoint.url())

    webhooks.close()

    endpoint.wait_closed(1)


# -- answers ------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [500, 503, 408, 429])
def test_server_errors_timeouts_and_rate_limits_are_retried(
    endpoint: Endpoint, sender: WebhookSender, status: int
) -> None:
    endpoint.answer = Answer(status=status)

    attempt = post(sender, endpoint.url())

    assert attempt.category is ErrorCategory.RETRY
    assert f"HTTP {status}" in (attempt.error or "")


@pytest.mark.parametrize("status", [400, 404, 410])
def test_other_client_errors_are_bad_requests(
    endpoint: Endpoint, sender: WebhookSender, status: int
) -> None:
    endpoint.answer = Answer(status=status)

    attempt = post(sender, endpoint.url())

    assert attempt.category is ErrorCategory.BAD_REQUEST
    assert f"HTTP {status}" in (attempt.error or "")


@pytest.mark.parametrize("status", [301, 302])
def test_a_redirect_is_a_bad_request_and_is_not_followed(
    endpoint: Endpoint, sender: WebhookSender, status: int
) -> None:
    endpoint.answer = Answer(status=status, headers={"Location": endpoint.url("/moved")})

    attempt = post(sender, endpoint.url())

    assert attempt.category is ErrorCategory.BAD_REQUEST
    assert "redirects are not followed" in (attempt.error or "")
    assert [request.path for request in endpoint.received] == ["/hook"]


def test_a_port_nobody_listens_on_is_retried(sender: WebhookSender) -> None:
    attempt = post(sender, f"http://127.0.0.1:{free_port()}/hook")

    assert attempt.category is ErrorCategory.RETRY
    assert "unreachable" in (attempt.error or "")


def test_a_webhook_that_does_not_answer_in_time_is_a_timeout() -> None:
    with socket.socket() as silent:
        # Connections complete in the listen backlog; nobody ever reads or answers them.
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        webhooks = WebhookSender(LOOPBACK, timeout_s=0.3)
        try:
            attempt = post(webhooks, f"http://127.0.0.1:{silent.getsockname()[1]}/hook")
        finally:
            webhooks.close()

    assert attempt.category is ErrorCategory.TIMEOUT
    assert "timed out" in (attempt.error or "")
    assert 300 <= attempt.trace["durationMs"] < 2000


# -- egress policy ------------------------------------------------------------------------


def test_a_loopback_address_the_policy_does_not_allow_is_refused(endpoint: Endpoint) -> None:
    webhooks = WebhookSender(EgressPolicy.allowing([]), timeout_s=2.0)

    attempt = post(webhooks, endpoint.url())
    webhooks.close()

    assert attempt.category is ErrorCategory.INVALID_SETTINGS
    assert "loopback" in (attempt.error or "")
    assert (endpoint.connections, endpoint.received) == (0, [])


def test_a_host_name_resolving_to_loopback_is_refused(endpoint: Endpoint) -> None:
    webhooks = WebhookSender(EgressPolicy.allowing(["hooks.internal"]), timeout_s=2.0)

    attempt = post(webhooks, endpoint.url(host="localhost"))
    webhooks.close()

    assert attempt.category is ErrorCategory.INVALID_SETTINGS
    assert "localhost" in (attempt.error or "")
    assert (endpoint.connections, endpoint.received) == (0, [])


def test_a_host_name_the_policy_allows_is_delivered_to(endpoint: Endpoint) -> None:
    webhooks = WebhookSender(EgressPolicy.allowing(["localhost"]), timeout_s=2.0)

    attempt = post(webhooks, endpoint.url(host="localhost"))
    webhooks.close()

    assert attempt.category is None, attempt.error
    assert endpoint.received[0].headers["Host"] == f"localhost:{endpoint.port}"


def test_a_url_the_policy_refuses_is_never_requested(endpoint: Endpoint) -> None:
    def refuse_own_hooks(url: str) -> str | None:
        return "this is headrace's own webhook URL" if "/v1/webhooks/" in url else None

    policy = dataclasses.replace(LOOPBACK, refuse_url=refuse_own_hooks)
    webhooks = WebhookSender(policy, timeout_s=2.0)

    refused = post(webhooks, endpoint.url("/v1/webhooks/token"))
    allowed = post(webhooks, endpoint.url("/hook"))
    webhooks.close()

    assert refused.category is ErrorCategory.INVALID_SETTINGS
    assert refused.error == "this is headrace's own webhook URL"
    assert allowed.category is None
    assert [request.path for request in endpoint.received] == ["/hook"]


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://127.0.0.1/hook", "http and https URLs, not 'ftp'"),
        ("http:///hook", "has no host"),
        ("http://127.0.0.1:port/hook", "not valid"),
    ],
)
def test_an_invalid_url_is_invalid_settings(sender: WebhookSender, url: str, message: str) -> None:
    attempt = post(sender, url)

    assert attempt.category is ErrorCategory.INVALID_SETTINGS
    assert message in (attempt.error or "")


# -- HTTPS --------------------------------------------------------------------------------


def test_https_verifies_the_host_names_certificate_on_the_checked_address(
    https_endpoint: Callable[[str], Endpoint], https_sender: WebhookSender
) -> None:
    server = https_endpoint("localhost")

    attempt = post(https_sender, server.url(host="localhost", scheme="https"))

    assert attempt.category is None, attempt.error
    assert server.bodies() == [BODY]
    assert server.received[0].headers["Host"] == f"localhost:{server.port}"


def test_https_posts_from_one_thread_share_one_connection(
    https_endpoint: Callable[[str], Endpoint], https_sender: WebhookSender
) -> None:
    server = https_endpoint("localhost")

    attempts = [post(https_sender, server.url(host="localhost", scheme="https")) for _ in range(3)]

    assert [attempt.category for attempt in attempts] == [None] * 3
    assert server.connections == 1


def test_a_certificate_for_another_name_is_retried_and_never_posted_to(
    https_endpoint: Callable[[str], Endpoint], https_sender: WebhookSender
) -> None:
    server = https_endpoint("elsewhere.example")

    attempt = post(https_sender, server.url(host="localhost", scheme="https"))

    # Certificates get fixed (renewed, reissued): TLS failures are retried, not settings.
    assert attempt.category is ErrorCategory.RETRY
    assert "TLS failed" in (attempt.error or "")
    assert server.received == []


# -- traces -------------------------------------------------------------------------------


def test_the_trace_of_a_delivery_has_method_url_status_and_duration(
    endpoint: Endpoint, sender: WebhookSender
) -> None:
    attempt = post(sender, endpoint.url())

    trace = attempt.trace
    assert (trace["method"], trace["url"], trace["status"]) == ("POST", endpoint.url(), 200)
    assert isinstance(trace["durationMs"], float) and trace["durationMs"] > 0
    assert "error" not in trace


def test_the_trace_of_an_answered_failure_has_its_status(
    endpoint: Endpoint, sender: WebhookSender
) -> None:
    endpoint.answer = Answer(status=503)

    trace = post(sender, endpoint.url()).trace

    assert (trace["method"], trace["url"], trace["status"]) == ("POST", endpoint.url(), 503)
    assert trace["durationMs"] > 0


def test_the_trace_of_an_unanswered_failure_has_the_error(sender: WebhookSender) -> None:
    url = f"http://127.0.0.1:{free_port()}/hook"

    attempt = post(sender, url)

    trace = attempt.trace
    assert (trace["method"], trace["url"], trace["status"]) == ("POST", url, None)
    assert trace["error"] == attempt.error
    assert trace["durationMs"] > 0


def test_the_trace_of_a_refused_url_has_the_error(endpoint: Endpoint) -> None:
    webhooks = WebhookSender(EgressPolicy.allowing([]), timeout_s=2.0)

    attempt = post(webhooks, endpoint.url())
    webhooks.close()

    assert attempt.trace["status"] is None
    assert attempt.trace["error"] == attempt.error
    assert "durationMs" in attempt.trace


# -- threads ------------------------------------------------------------------------------


def post_from_threads(
    sender: WebhookSender, url: str, threads: int, each: int
) -> list[WebhookAttempt]:
    attempts: list[WebhookAttempt] = []
    lock = threading.Lock()
    start = threading.Barrier(threads)

    def run(thread: int) -> None:
        start.wait()
        for n in range(each):
            attempt = sender.post(url, {}, b'{"thread":%d,"n":%d}' % (thread, n))
            with lock:
                attempts.append(attempt)

    workers = [threading.Thread(target=run, args=(t,)) for t in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(WAIT_S * 4)
    return attempts


def test_posts_from_many_threads_are_all_delivered(
    endpoint: Endpoint, sender: WebhookSender
) -> None:
    attempts = post_from_threads(sender, endpoint.url(), threads=8, each=50)

    assert len(attempts) == 400
    assert [a.error for a in attempts if a.category is not None] == []
    expected = {b'{"thread":%d,"n":%d}' % (t, n) for t in range(8) for n in range(50)}
    bodies = endpoint.bodies()
    assert len(bodies) == 400
    assert set(bodies) == expected


def test_each_sending_thread_keeps_its_own_connection(
    endpoint: Endpoint, sender: WebhookSender
) -> None:
    post_from_threads(sender, endpoint.url(), threads=4, each=5)

    assert len(endpoint.bodies()) == 20
    assert endpoint.connections == 4
    assert len({request.connection for request in endpoint.received}) == 4


# -- several at once ----------------------------------------------------------------------


def test_post_all_delivers_every_body_and_answers_in_order(
    endpoint: Endpoint, sender: WebhookSender
) -> None:
    """The endpoint answers 503 to odd bodies: each outcome must be its own body's."""
    bodies = [b'{"n":%d}' % n for n in range(40)]
    endpoint.answer_for = lambda body: Answer(status=503 if orjson.loads(body)["n"] % 2 else 200)

    attempts = sender.post_all(endpoint.url(), {}, bodies)

    assert [a.trace["status"] for a in attempts] == [503 if n % 2 else 200 for n in range(40)]
    assert [a.category for a in attempts] == [
        ErrorCategory.RETRY if n % 2 else None for n in range(40)
    ]
    assert sorted(endpoint.bodies()) == sorted(bodies)


def test_post_all_keeps_several_requests_in_flight_on_kept_alive_connections(
    endpoint: Endpoint,
) -> None:
    webhooks = WebhookSender(LOOPBACK, timeout_s=2.0, concurrency=4)
    try:
        webhooks.post_all(endpoint.url(), {}, [BODY] * 20)
        webhooks.post_all(endpoint.url(), {}, [BODY] * 20)
    finally:
        webhooks.close()

    assert len(endpoint.bodies()) == 40
    assert 1 < endpoint.connections <= 4


def test_post_all_reports_each_outcome_for_its_own_body(sender: WebhookSender) -> None:
    failing, healthy = Endpoint(), Endpoint()
    failing.answer = Answer(status=503)
    try:
        first = sender.post_all(failing.url(), {}, [BODY] * 3)
        second = sender.post_all(healthy.url(), {}, [BODY] * 3)
    finally:
        failing.stop()
        healthy.stop()

    assert [a.category for a in first] == [ErrorCategory.RETRY] * 3
    assert [a.trace["status"] for a in first] == [503] * 3
    assert [a.category for a in second] == [None] * 3


def test_post_all_to_a_refused_url_refuses_every_body(endpoint: Endpoint) -> None:
    webhooks = WebhookSender(EgressPolicy.allowing([]), timeout_s=2.0)

    attempts = webhooks.post_all(endpoint.url(), {}, [BODY] * 5)
    webhooks.close()

    assert [a.category for a in attempts] == [ErrorCategory.INVALID_SETTINGS] * 5
    assert endpoint.connections == 0


@pytest.mark.parametrize(
    "headers",
    [{"X-Evil": "a\r\nInjected: yes"}, {"Bad Name": "x"}, {"X-Snowman": "\u2603"}],
)
def test_a_header_http_cannot_carry_is_invalid_settings_and_never_sent(
    endpoint: Endpoint, sender: WebhookSender, headers: dict[str, str]
) -> None:
    attempt = post(sender, endpoint.url(), headers)

    assert attempt.category is ErrorCategory.INVALID_SETTINGS
    assert "header" in (attempt.error or "")
    assert endpoint.received == []


def test_a_host_that_does_not_resolve_is_retried_as_unreachable(sender: WebhookSender) -> None:
    attempts = sender.post_all("http://hook.invalid/in", {}, [BODY] * 2)

    assert [a.category for a in attempts] == [ErrorCategory.RETRY] * 2
    assert all(
        (a.error or "").startswith("the webhook is unreachable: cannot resolve hook.invalid")
        for a in attempts
    )
    assert attempts[0].trace["url"] == "http://hook.invalid/in"


def test_stop_cuts_requests_in_flight_short_and_sends_no_more(
    hanging_url: str, receiver: tuple[Receiver, str]
) -> None:
    sender = WebhookSender(EgressPolicy.allowing(["127.0.0.1"]), concurrency=1)
    threading.Timer(0.3, sender.stop).start()
    state, url = receiver

    started = time.monotonic()
    cut = sender.post_all(hanging_url, {}, [b"{}", b"{}", b"{}"])
    took = time.monotonic() - started
    later = sender.post(url, {}, b'{"messageId": "m1"}')
    sender.close()

    assert took < 2.0  # the first request alone would wait for its 10 s timeout
    assert [(a.category, a.error, a.interrupted) for a in cut] == [
        (ErrorCategory.RETRY, STOPPED, True),
        (ErrorCategory.RETRY, NOT_SENT, True),
        (ErrorCategory.RETRY, NOT_SENT, True),
    ]
    assert (later.category, later.error, later.interrupted) == (ErrorCategory.RETRY, NOT_SENT, True)
    assert state.events() == []
