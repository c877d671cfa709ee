"""WEBHOOK destinations: POST the event (or a batch of them) as JSON and read the answer as
a delivery outcome.

Webhooks are the pipeline's hottest outbound path, so they go through libcurl's multi
interface (pycurl): a group of requests is in flight at once from one thread, over kept-alive
connections, with the HTTP work done in C. The egress policy still applies: each host is
resolved, every address checked, and the connection pinned to the checked address (Host
header and TLS server name keep the original name), so DNS rebinding cannot reach a
refused address. Redirects are not followed: a webhook must point at its final URL.
"""

from __future__ import annotations

import ssl
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import SplitResult, urlsplit

import pycurl

from headrace.errors import ErrorCategory
from headrace.runtime.egress import EgressPolicy, EgressRefused, display_url, ms_since

WEBHOOK_TIMEOUT_S = 10.0
"""How long one webhook request may take, connect to last byte."""

WEBHOOK_CONCURRENCY = 16
"""Requests of one `post_all` in flight at once (each on a kept-alive connection)."""

RETRYABLE_STATUSES = frozenset({408, 429})
"""4xx answers that mean "try again later" (every 5xx does too)."""

DNS_TTL_S = 30.0
"""How long a host's checked address is reused before it is resolved and checked again."""

STOPPED = "headrace stopped before the webhook answered"
NOT_SENT = "headrace was stopping: not sent"

MAX_RESPONSE_BYTES = 64 * 1024
"""How much of a webhook's answer is read (the rest is discarded with the connection)."""

_TLS_ERRORS = frozenset(
    {
        pycurl.E_SSL_CONNECT_ERROR,
        pycurl.E_PEER_FAILED_VERIFICATION,
        pycurl.E_SSL_CERTPROBLEM,
        pycurl.E_SSL_CIPHER,
        pycurl.E_SSL_CACERT_BADFILE,
        pycurl.E_SSL_ENGINE_NOTFOUND,
        pycurl.E_SSL_SHUTDOWN_FAILED,
        pycurl.E_SSL_CRL_BADFILE,
        pycurl.E_SSL_ISSUER_ERROR,
    }
)
"""libcurl errors that mean the TLS handshake or certificate check failed."""

_SELECT_S = 1.0
"""Longest wait for socket activity between two turns of the transfer loop."""


def category_for_status(status: int) -> ErrorCategory | None:
    """What an HTTP status means for a delivery: None (delivered) for 2xx; retry for 5xx,
    408 and 429; bad_request for anything else."""
    if 200 <= status < 300:
        return None
    if status >= 500 or status in RETRYABLE_STATUSES:
        return ErrorCategory.RETRY
    return ErrorCategory.BAD_REQUEST


class WebhookAttempt(NamedTuple):
    category: ErrorCategory | None
    """None when delivered."""
    error: str | None
    trace: dict[str, Any]
    interrupted: bool = False
    """Cut short by `stop` (or not sent because of it): not the destination's doing."""


@dataclass(frozen=True)
class _Target:
    url: str
    """What libcurl requests: the URL without credentials or fragment."""
    host: str
    port: int


@dataclass
class _Pinned:
    address: str
    expires_at: float


class _Transfer:
    """One request on an easy handle: its answer's size so far, capped."""

    def __init__(self, handle: pycurl.Curl) -> None:
        self.handle = handle
        self.index = 0
        self.received = 0
        self.capped = False
        self.started = 0.0
        self.options: tuple[str, tuple[str, ...], tuple[bytes, ...]] | None = None
        """URL, CONNECT_TO and headers last set on the handle (kept between requests)."""
        handle.setopt(pycurl.WRITEFUNCTION, self._write)

    def _write(self, chunk: bytes) -> int | None:
        self.received += len(chunk)
        if self.received > MAX_RESPONSE_BYTES:
            self.capped = True
            return 0  # stop reading: libcurl closes the connection rather than reuse it
        return None


class _Session:
    """One thread's multi handle (which keeps its connections alive) and easy handles."""

    def __init__(self) -> None:
        self.multi = pycurl.CurlMulti()
        self.idle: list[_Transfer] = []

    def close(self) -> None:
        for transfer in self.idle:
            transfer.handle.close()
        self.idle.clear()
        self.multi.close()


class WebhookSender:
    """POSTs JSON bodies to webhook URLs under an egress policy; safe to use from many
    threads (each keeps its own connections)."""

    def __init__(
        self,
        policy: EgressPolicy,
        *,
        timeout_s: float = WEBHOOK_TIMEOUT_S,
        ca_pem: bytes | None = None,
        concurrency: int = WEBHOOK_CONCURRENCY,
    ) -> None:
        """`ca_pem` are the certificates HTTPS webhooks are verified against (default: the
        system's trusted certificates)."""
        self._policy = policy
        self._timeout_ms = max(1, int(timeout_s * 1000))
        self._ca_pem = ca_pem
        self._ca_file, self._ca_path = _system_certificates()
        self._concurrency = max(1, concurrency)
        self._local = threading.local()
        self._targets: dict[str, _Target] = {}
        self._pins: dict[tuple[str, int], _Pinned] = {}
        self._lock = threading.Lock()
        self._sessions: list[_Session] = []
        self._stopping = threading.Event()

    def stop(self) -> None:
        """Cut requests short because the service is stopping: those in flight end now, and
        later ones are not sent. Each such attempt is `interrupted` (STOPPED, NOT_SENT):
        its event goes back to the queue without counting as a failed attempt."""
        self._stopping.set()

    def close(self) -> None:
        with self._lock:
            every, self._sessions = self._sessions, []
        for session in every:
            session.close()
        self._local = threading.local()

    def post(self, url: str, headers: dict[str, str], body: bytes) -> WebhookAttempt:
        """2xx delivers; 5xx, 408, 429 and connection errors are retried; any other status is
        a bad_request; an address the egress policy refuses is invalid_settings."""
        return self.post_all(url, headers, [body])[0]

    def post_all(
        self, url: str, headers: dict[str, str], bodies: Sequence[bytes]
    ) -> list[WebhookAttempt]:
        """POST each body to `url`, several at once; each one's outcome, in order."""
        started = time.perf_counter()
        trace_url = display_url(url)
        try:
            target = self._target(url)
            self._policy.check_url(url)
            options = (target.url, self._connect_to(target), _header_lines(headers))
        except (EgressRefused, ValueError) as exc:
            return [
                _failed(ErrorCategory.INVALID_SETTINGS, str(exc), _trace(trace_url), started)
                for _ in bodies
            ]
        except OSError as exc:  # the host does not resolve (now): a connection error
            message = f"the webhook is unreachable: {exc}"
            return [
                _failed(ErrorCategory.RETRY, message, _trace(trace_url), started) for _ in bodies
            ]
        attempts: list[WebhookAttempt | None] = [None] * len(bodies)
        session = self._session()
        waiting = list(range(len(bodies) - 1, -1, -1))
        running: dict[int, _Transfer] = {}
        try:
            while waiting or running:
                if self._stopping.is_set():
                    for transfer in running.values():
                        attempts[transfer.index] = _interrupted(
                            STOPPED, trace_url, transfer.started
                        )
                    for index in waiting:
                        attempts[index] = _interrupted(NOT_SENT, trace_url, started)
                    break
                while waiting and len(running) < self._concurrency:
                    index = waiting.pop()
                    transfer = self._start(session, options)
                    transfer.index = index
                    transfer.handle.setopt(pycurl.POSTFIELDS, bodies[index])
                    session.multi.add_handle(transfer.handle)
                    running[id(transfer.handle)] = transfer
                self._turn(session, running, attempts, trace_url)
        finally:
            for transfer in running.values():
                session.multi.remove_handle(transfer.handle)
                session.idle.append(transfer)
        return [attempt for attempt in attempts if attempt is not None]

    # -- the transfers ---------------------------------------------------------------------

    def _turn(
        self,
        session: _Session,
        running: dict[int, _Transfer],
        attempts: list[WebhookAttempt | None],
        trace_url: str,
    ) -> None:
        """Move the transfers on, then settle the ones that finished."""
        multi = session.multi
        while True:
            code, _active = multi.perform()
            if code != pycurl.E_CALL_MULTI_PERFORM:
                break
        finished = False
        while True:
            queued, ok, failed = multi.info_read()
            for handle in ok:
                transfer = running.pop(id(handle))
                attempts[transfer.index] = _answered(transfer, trace_url)
                finished = True
                multi.remove_handle(handle)
                session.idle.append(transfer)
            for handle, errno, message in failed:
                transfer = running.pop(id(handle))
                attempts[transfer.index] = _unanswered(transfer, errno, message, trace_url)
                finished = True
                multi.remove_handle(handle)
                session.idle.append(transfer)
            if not queued:
                break
        if running and not finished:
            multi.select(_SELECT_S)

    def _start(
        self, session: _Session, options: tuple[str, tuple[str, ...], tuple[bytes, ...]]
    ) -> _Transfer:
        transfer = session.idle.pop() if session.idle else self._new_transfer()
        transfer.received, transfer.capped = 0, False
        transfer.started = time.perf_counter()
        if transfer.options != options:
            url, connect_to, header_lines = options
            handle = transfer.handle
            handle.setopt(pycurl.URL, url)
            handle.setopt(pycurl.CONNECT_TO, list(connect_to))
            handle.setopt(pycurl.HTTPHEADER, list(header_lines))
            transfer.options = options
        return transfer

    def _new_transfer(self) -> _Transfer:
        handle = pycurl.Curl()
        handle.setopt(pycurl.NOSIGNAL, 1)
        handle.setopt(pycurl.PROTOCOLS, pycurl.PROTO_HTTP | pycurl.PROTO_HTTPS)
        handle.setopt(pycurl.FOLLOWLOCATION, 0)
        handle.setopt(pycurl.PROXY, "")  # never a proxy from the environment
        handle.setopt(pycurl.NOPROXY, "*")
        handle.setopt(pycurl.HTTP_VERSION, pycurl.CURL_HTTP_VERSION_1_1)
        handle.setopt(pycurl.TIMEOUT_MS, self._timeout_ms)
        handle.setopt(pycurl.CONNECTTIMEOUT_MS, self._timeout_ms)
        handle.setopt(pycurl.SSL_VERIFYPEER, 1)
        handle.setopt(pycurl.SSL_VERIFYHOST, 2)
        if self._ca_pem is not None:
            handle.setopt(pycurl.CAINFO_BLOB, self._ca_pem)
        else:
            if self._ca_file:
                handle.setopt(pycurl.CAINFO, self._ca_file)
            if self._ca_path:
                handle.setopt(pycurl.CAPATH, self._ca_path)
        return _Transfer(handle)

    def _session(self) -> _Session:
        session: _Session | None = getattr(self._local, "session", None)
        if session is None:
            session = _Session()
            self._local.session = session
            with self._lock:
                self._sessions.append(session)
        return session

    # -- where to -------------------------------------------------------------------------

    def _target(self, url: str) -> _Target:
        target = self._targets.get(url)
        if target is None:
            target = _parse(url)
            if len(self._targets) > 10_000:
                self._targets.clear()
            self._targets[url] = target
        return target

    def _connect_to(self, target: _Target) -> tuple[str, ...]:
        """libcurl's CONNECT_TO entry that pins the target's host to its checked address."""
        key = (target.host, target.port)
        now = time.monotonic()
        pinned = self._pins.get(key)
        if pinned is None or pinned.expires_at <= now:
            address = str(self._policy.checked_address(target.host, target.port))
            pinned = _Pinned(address, now + DNS_TTL_S)
            with self._lock:
                self._pins[key] = pinned
        address = f"[{pinned.address}]" if ":" in pinned.address else pinned.address
        host = f"[{target.host}]" if ":" in target.host else target.host
        return (f"{host}:{target.port}:{address}:{target.port}",)


def _system_certificates() -> tuple[str | None, str | None]:
    paths = ssl.get_default_verify_paths()
    ca_file = paths.cafile if paths.cafile and Path(paths.cafile).is_file() else None
    ca_path = paths.capath if paths.capath and Path(paths.capath).is_dir() else None
    return ca_file, ca_path


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
    if any(c in url for c in "\r\n\t\0 "):
        raise ValueError("the webhook URL contains whitespace or control characters")
    netloc = parts.netloc.rpartition("@")[2]  # never send credentials written in the URL
    path = parts.path or "/"
    query = f"?{parts.query}" if parts.query else ""
    default_port = 443 if parts.scheme == "https" else 80
    return _Target(f"{parts.scheme}://{netloc}{path}{query}", parts.hostname, port or default_port)


def _header_lines(headers: dict[str, str]) -> tuple[bytes, ...]:
    """The configured headers as request lines (the URL's host is the Host header), JSON
    as the default Content-Type, and no `Expect: 100-continue` round trip."""
    lines: list[bytes] = []
    content_type = False
    for name, value in headers.items():
        lowered = name.lower()
        if lowered in ("host", "content-length", "expect", "transfer-encoding"):
            continue
        if not name or any(c in name for c in ":\r\n\0 ") or any(c in value for c in "\r\n\0"):
            raise ValueError(f"the webhook header {name!r} is not a valid HTTP header")
        try:
            lines.append(f"{name}: {value}".encode("latin-1"))
        except UnicodeEncodeError:
            raise ValueError(
                f"the webhook header {name!r} has characters HTTP cannot carry"
            ) from None
        content_type = content_type or lowered == "content-type"
    if not content_type:
        lines.append(b"Content-Type: application/json")
    lines.append(b"Expect:")
    return tuple(lines)


def _trace(url: str) -> dict[str, Any]:
    return {"method": "POST", "url": url, "status": None}


def _answered(transfer: _Transfer, trace_url: str) -> WebhookAttempt:
    status = int(transfer.handle.getinfo(pycurl.RESPONSE_CODE))
    trace = {"method": "POST", "url": trace_url, "status": status}
    trace["durationMs"] = ms_since(transfer.started)
    if 200 <= status < 300:
        return WebhookAttempt(None, None, trace)
    category = category_for_status(status)
    message = f"the webhook answered HTTP {status}"
    if 300 <= status < 400:
        message += " (redirects are not followed: point the destination at the final URL)"
    return WebhookAttempt(category, message, trace)


def _unanswered(transfer: _Transfer, errno: int, message: str, trace_url: str) -> WebhookAttempt:
    status = int(transfer.handle.getinfo(pycurl.RESPONSE_CODE))
    if errno == pycurl.E_WRITE_ERROR and transfer.capped and status:
        return _answered(transfer, trace_url)  # answered, at more length than is read
    trace = _trace(trace_url)
    reason = message or f"libcurl error {errno}"
    if errno == pycurl.E_OPERATION_TIMEDOUT:
        category, text = ErrorCategory.TIMEOUT, f"the webhook timed out: {reason}"
    elif errno in _TLS_ERRORS:
        # TLS trouble (an expired or renewed certificate) can pass, so it is retried like a
        # connection error rather than failed as settings.
        category, text = ErrorCategory.RETRY, f"the webhook's TLS failed: {reason}"
    elif errno in (pycurl.E_URL_MALFORMAT, pycurl.E_UNSUPPORTED_PROTOCOL):
        category, text = ErrorCategory.INVALID_SETTINGS, f"the webhook URL is not valid: {reason}"
    else:
        category, text = ErrorCategory.RETRY, f"the webhook is unreachable: {reason}"
    return _failed(category, text, trace, transfer.started)


def _interrupted(message: str, trace_url: str, started: float) -> WebhookAttempt:
    attempt = _failed(ErrorCategory.RETRY, message, _trace(trace_url), started)
    return attempt._replace(interrupted=True)


def _failed(
    category: ErrorCategory, message: str, trace: dict[str, Any], started: float
) -> WebhookAttempt:
    trace["durationMs"] = ms_since(started)
    trace["error"] = message
    return WebhookAttempt(category, message, trace)
