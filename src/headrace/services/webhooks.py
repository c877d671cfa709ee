"""Function sources' webhook URLs: accept a request (check it, store it durably for the
source runner) and refuse functions' fetches of these URLs (no loops)."""

from __future__ import annotations

import ipaddress
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

import orjson
from sqlalchemy import Engine

from headrace.config import Settings
from headrace.log import get_logger
from headrace.pipeline import QUEUE_SOURCE
from headrace.store.database import write_transaction
from headrace.store.queue import NewJob, WorkQueue

WEBHOOK_PATH = "/v1/webhooks/"
"""A function source's webhook URL is `<public URL>/v1/webhooks/<token>`."""

WEBHOOK_TOKEN_BYTES = 32
"""256 random bits, 43 url-safe characters."""

MAX_WEBHOOK_BODY_BYTES = 512 * 1024
"""The largest webhook body accepted."""

CONTENT_TYPES = ("application/json", "application/x-www-form-urlencoded")
"""The bodies a source function can read with `request.json()` or `request.form()`."""

# Hop-by-hop headers describe one connection, not the request; cookies are the browser's.
_DROPPED_HEADERS = frozenset(
    {
        "connection",
        "content-length",
        "cookie",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)

LOOP_REFUSAL = (
    "requests to this headrace's own webhook URLs are refused: a function must not feed "
    "events back into a source"
)

_log = get_logger("webhooks")


def generate_webhook_token() -> str:
    return secrets.token_urlsafe(WEBHOOK_TOKEN_BYTES)


def webhook_url(public_url: str, token: str) -> str:
    return f"{public_url.rstrip('/')}{WEBHOOK_PATH}{token}"


@dataclass(frozen=True)
class WebhookSourceRef:
    """What the webhook endpoint needs to know about the source a token belongs to."""

    id: str
    workspace_id: str
    enabled: bool


WebhookSourceLookup = Callable[[str], WebhookSourceRef | None]
"""Finds the FUNCTION source with a webhook token."""


class WebhookError(Exception):
    """A webhook request refused as a whole: `code` and a sentence, with a status."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


class WebhookService:
    """Stores webhook requests for their source's function; answers only once durable."""

    def __init__(
        self,
        engine: Engine,
        find_source: WebhookSourceLookup,
        *,
        public_url: str,
        on_accepted: Callable[[], None] = lambda: None,
    ) -> None:
        self._engine = engine
        self._find_source = find_source
        self._public_url = public_url.rstrip("/")
        self._on_accepted = on_accepted
        self._queue = WorkQueue()

    def accept(
        self,
        token: str,
        *,
        method: str,
        query: str,
        headers: Iterable[tuple[str, str]],
        body: bytes,
    ) -> str:
        """Check and store one request; its id. `body` may be cut at one byte over
        MAX_WEBHOOK_BODY_BYTES: anything longer is refused anyway."""
        source = self._find_source(token)
        if source is None:
            raise WebhookError(404, "unknown_webhook", "No source has this webhook URL.")
        if not source.enabled:
            raise WebhookError(
                403, "source_disabled", "The source is disabled; enable it to accept requests."
            )
        kept = _kept_headers(headers)
        _check_content(kept, body)
        request_id = f"req_{secrets.token_hex(12)}"
        url = webhook_url(self._public_url, token) + (f"?{query}" if query else "")
        stored = {
            "id": request_id,
            "method": method.upper(),
            "url": url,
            "headers": kept,
            "body": body.decode("utf-8"),
        }
        now = time.time()
        # Like ingest, the request waits its turn among the writers rather than in SQLite's
        # sleeping busy handler.
        with write_transaction(self._engine) as conn:
            self._queue.enqueue(
                conn,
                [
                    NewJob(
                        queue=QUEUE_SOURCE,
                        workspace_id=source.workspace_id,
                        target_id=source.id,
                        payload=orjson.dumps(stored),
                        first_enqueued_at=now,
                        not_before=now,
                    )
                ],
            )
        _log.debug(
            "webhook request stored",
            extra={
                "workspace_id": source.workspace_id,
                "source_id": source.id,
                "request_id": request_id,
            },
        )
        self._on_accepted()
        return request_id


def _kept_headers(headers: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Lower-cased names; repeated headers joined with ", " as HTTP allows."""
    kept: dict[str, str] = {}
    for name, value in headers:
        key = name.lower()
        if key in _DROPPED_HEADERS:
            continue
        kept[key] = f"{kept[key]}, {value}" if key in kept else value
    return kept


def _check_content(headers: dict[str, str], body: bytes) -> None:
    media_type = headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type not in CONTENT_TYPES:
        shown = f"'{media_type}'" if media_type else "none"
        raise WebhookError(
            415,
            "unsupported_media_type",
            f"The Content-Type must be {' or '.join(CONTENT_TYPES)}, not {shown}.",
        )
    encoding = headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("", "identity"):
        raise WebhookError(
            415,
            "unsupported_encoding",
            f"Send the body uncompressed; Content-Encoding {encoding!r} is not accepted.",
        )
    if len(body) > MAX_WEBHOOK_BODY_BYTES:
        raise WebhookError(
            413,
            "payload_too_large",
            f"The body is over the {MAX_WEBHOOK_BODY_BYTES // 1024} KiB limit.",
        )
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise WebhookError(400, "invalid_body", "The body is not UTF-8 text.") from None
    if media_type == "application/json":
        try:
            orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            raise WebhookError(400, "invalid_json", f"The body is not valid JSON: {exc}.") from None


class WebhookLoopGuard:
    """The egress check (EgressPolicy.refuse_url) that refuses this service's own webhook
    URLs: by address (its listening host and port, or its public URL) or by token (any
    host: a proxy or another name may lead back here)."""

    def __init__(self, settings: Settings, is_webhook_token: Callable[[str], bool]) -> None:
        public = urlsplit(settings.effective_public_url)
        self._prefixes = tuple({WEBHOOK_PATH, public.path.rstrip("/") + WEBHOOK_PATH})
        self._is_webhook_token = is_webhook_token
        self._port = settings.port
        self._own: set[tuple[str, int]] = {(_host(settings.host), settings.port)}
        if public.hostname:
            self._own.add((_host(public.hostname), public.port or _default_port(public.scheme)))
        bind = _host(settings.host)
        self._own_loopback = bind in ("0.0.0.0", "::", "localhost") or _is_loopback(bind)
        if self._own_loopback:
            self._own.add(("localhost", settings.port))

    def __call__(self, url: str) -> str | None:
        parts = urlsplit(url)
        prefix = next((p for p in self._prefixes if parts.path.startswith(p)), None)
        if prefix is None:
            return None
        host = _host(parts.hostname or "")
        try:
            port = parts.port or _default_port(parts.scheme)
        except ValueError:
            return None
        if (host, port) in self._own:
            return LOOP_REFUSAL
        if self._own_loopback and port == self._port and _is_loopback(host):
            return LOOP_REFUSAL
        token = parts.path[len(prefix) :].split("/", 1)[0]
        if token and self._is_webhook_token(token):
            return LOOP_REFUSAL
        return None


def _host(host: str) -> str:
    return host.strip("[]").lower().rstrip(".")


def _default_port(scheme: str) -> int:
    return 443 if scheme == "https" else 80


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"
