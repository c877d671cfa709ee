"""WEBHOOK destinations: POST the event (or a batch of them) as JSON and read the answer as
a delivery outcome.

Webhooks are the pipeline's hottest outbound path, so they use a lean keep-alive client
(the standard library's `http.client`, one connection per host per sending thread) rather
than the general-purpose `fetch` client. The egress policy still applies: each host is
resolved, every address checked, and the connection pinned to the checked address (Host
header and TLS server name keep the original name), so DNS rebinding cannot reach a
refused address. Redirects are not followed: a webhook must point at its final URL.
"""

from __future__ import annotations

import http.client
import ssl
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import SplitResult, urlsplit

from headrace.errors import ErrorCategory
from headrace.runtime.egress import EgressPolicy, EgressRefused, display_url, ms_since

WEBHOOK_TIMEOUT_S = 10.0
"""How long one webhook request may take, connect to last byte."""

RETRYABLE_STATUSES = frozenset({408, 429})
"""4xx answers that mean "try again later" (every 5xx does too)."""

DNS_TTL_S = 30.0
"""How long a host's checked address is reused before it is resolved and checked again."""

MAX_RESPONSE_BYTES = 64 * 1024
"""How much of a webhook's answer is read (the rest is discarded with the connection)."""


def category_for_status(status: int) -> ErrorCategory | None:
    """What an HTTP status means for a delivery: None (delivered) for 2xx; retry for 5xx,
    408 and 429; bad_request for anything else."""
    if 200 <= status < 300:
        return None
    if status >= 500 or status in RETRYABLE_STATUSES:
        return ErrorCategory.RETRY
    return ErrorCategory.BAD_REQUEST


@dataclass(frozen=True)
class WebhookAttempt:
    category: ErrorCategory | None
    """None when delivered."""
    error: str | None
    trace: dict[str, Any]


@dataclass(frozen=True)
class _Target:
    scheme: str
    host: str
    port: int
    path: str
    netloc: str


@dataclass
class _Pinned:
    address: str
    expires_at: float


@dataclass
class _ThreadConnections:
    by_origin: dict[tuple[str, str, int], tuple[str, http.client.HTTPConnection]] = field(
        default_factory=dict
    )


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to a checked address, verifying the certificate of the original host name."""

    def __init__(
        self, address: str, port: int, server_name: str, timeout: float, tls: ssl.SSLContext
    ) -> None:
        super().__init__(address, port, timeout=timeout, context=tls)
        self._server_name = server_name
        self._tls = tls

    def connect(self) -> None:
        http.client.HTTPConnection.connect(self)
        self.sock = self._tls.wrap_socket(self.sock, server_hostname=self._server_name)


class WebhookSender:
    """POSTs JSON bodies to webhook URLs under an egress policy; safe to use from many
    threads (each keeps its own connections)."""

    def __init__(
        self,
        policy: EgressPolicy,
        *,
        timeout_s: float = WEBHOOK_TIMEOUT_S,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        """`tls` verifies HTTPS webhooks (default: the system's trusted certificates)."""
        self._policy = policy
        self._timeout_s = timeout_s
        self._tls = tls or ssl.create_default_context()
        self._local = threading.local()
        self._targets: dict[str, _Target] = {}
        self._pins: dict[tuple[str, int], _Pinned] = {}
        self._pins_lock = threading.Lock()
        self._all: list[_ThreadConnections] = []

    def close(self) -> None:
        with self._pins_lock:
            every, self._all = self._all, []
        for connections in every:
            for _address, conn in connections.by_origin.values():
                conn.close()
            connections.by_origin.clear()

    def post(self, url: str, headers: dict[str, str], body: bytes) -> WebhookAttempt:
        """2xx delivers; 5xx, 408, 429 and connection errors are retried; any other status is
        a bad_request; an address the egress policy refuses is invalid_settings."""
        started = time.perf_counter()
        trace: dict[str, Any] = {"method": "POST", "url": display_url(url), "status": None}
        try:
            status = self._send(url, headers, body)
        except ssl.SSLError as exc:
            # Before ValueError, which certificate errors also are: TLS trouble (an expired
            # or renewed certificate) can pass, so it is retried like a connection error.
            return _failed(ErrorCategory.RETRY, f"the webhook's TLS failed: {exc}", trace, started)
        except (EgressRefused, ValueError) as exc:
            return _failed(ErrorCategory.INVALID_SETTINGS, str(exc), trace, started)
        except TimeoutError as exc:
            return _failed(ErrorCategory.TIMEOUT, f"the webhook timed out: {exc}", trace, started)
        except (OSError, http.client.HTTPException) as exc:
            reason = str(exc) or type(exc).__name__
            return _failed(
                ErrorCategory.RETRY, f"the webhook is unreachable: {reason}", trace, started
            )
        trace["status"] = status
        trace["durationMs"] = ms_since(started)
        category = category_for_status(status)
        if category is None:
            return WebhookAttempt(None, None, trace)
        message = f"the webhook answered HTTP {status}"
        if 300 <= status < 400:
            message += " (redirects are not followed: point the destination at the final URL)"
        return WebhookAttempt(category, message, trace)

    # -- the request -----------------------------------------------------------------------

    def _send(self, url: str, headers: dict[str, str], body: bytes) -> int:
        target = self._target(url)
        self._policy.check_url(url)
        address = self._pinned_address(target)
        send_headers = {k: v for k, v in headers.items() if k.lower() != "host"}
        send_headers["Host"] = target.netloc
        if not any(k.lower() == "content-type" for k in send_headers):
            send_headers["Content-Type"] = "application/json"
        conn, reused = self._connection(target, address)
        try:
            conn.request("POST", target.path, body=body, headers=send_headers)
            response = conn.getresponse()
        except (ConnectionError, http.client.RemoteDisconnected, http.client.BadStatusLine):
            self._drop(target)
            if not reused:
                raise
            # A kept-alive connection the server had closed: once more on a fresh one.
            conn, _ = self._connection(target, address)
            try:
                conn.request("POST", target.path, body=body, headers=send_headers)
                response = conn.getresponse()
            except BaseException:
                self._drop(target)
                raise
        except BaseException:
            self._drop(target)
            raise
        try:
            response.read(MAX_RESPONSE_BYTES)
            if not response.isclosed():
                self._drop(target)  # an answer over the cap: do not reuse the connection
        except BaseException:
            self._drop(target)
            raise
        if response.will_close:
            self._drop(target)
        return response.status

    def _target(self, url: str) -> _Target:
        target = self._targets.get(url)
        if target is None:
            target = _parse(url)
            if len(self._targets) > 10_000:
                self._targets.clear()
            self._targets[url] = target
        return target

    def _pinned_address(self, target: _Target) -> str:
        key = (target.host, target.port)
        now = time.monotonic()
        pinned = self._pins.get(key)
        if pinned is not None and pinned.expires_at > now:
            return pinned.address
        address = str(self._policy.checked_address(target.host, target.port))
        with self._pins_lock:
            self._pins[key] = _Pinned(address, now + DNS_TTL_S)
        return address

    def _connections(self) -> _ThreadConnections:
        connections: _ThreadConnections | None = getattr(self._local, "connections", None)
        if connections is None:
            connections = _ThreadConnections()
            self._local.connections = connections
            with self._pins_lock:
                self._all.append(connections)
        return connections

    def _connection(self, target: _Target, address: str) -> tuple[http.client.HTTPConnection, bool]:
        """This thread's connection to the target's origin at `address`, and whether it was
        used before."""
        origin = (target.scheme, target.host, target.port)
        connections = self._connections()
        held = connections.by_origin.get(origin)
        if held is not None:
            held_address, conn = held
            if held_address == address:
                return conn, True
            conn.close()
        if target.scheme == "https":
            conn = _PinnedHTTPSConnection(
                address, target.port, target.host, self._timeout_s, self._tls
            )
        else:
            conn = http.client.HTTPConnection(address, target.port, timeout=self._timeout_s)
        connections.by_origin[origin] = (address, conn)
        return conn, False

    def _drop(self, target: _Target) -> None:
        held = self._connections().by_origin.pop((target.scheme, target.host, target.port), None)
        if held is not None:
            held[1].close()


def _parse(url: str) -> _Target:
    try:
        parts: SplitResult = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"the webhook URL is not valid: {exc}") from None
    if parts.scheme not in ("http", "https"):
        raise ValueError(f"webhooks support http and https URLs, not {parts.scheme!r}")
    if not parts.hostname:
        raise ValueError("the webhook URL has no host")
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    default_port = 443 if parts.scheme == "https" else 80
    netloc = parts.netloc.rpartition("@")[2]  # never send userinfo in the Host header
    return _Target(parts.scheme, parts.hostname, port or default_port, path, netloc)


def _failed(
    category: ErrorCategory, message: str, trace: dict[str, Any], started: float
) -> WebhookAttempt:
    trace["durationMs"] = ms_since(started)
    trace["error"] = message
    return WebhookAttempt(category, message, trace)
