"""WEBHOOK destinations: POST the event as JSON and read the answer as a delivery outcome."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import httpx

from headrace.errors import ErrorCategory
from headrace.runtime.egress import EgressRefused, Fetcher

WEBHOOK_TIMEOUT_S = 10.0
RETRYABLE_STATUSES = frozenset({408, 429})


@dataclass(frozen=True)
class WebhookAttempt:
    category: ErrorCategory | None
    """None when delivered."""
    error: str | None
    trace: dict[str, Any]


def post_event(fetcher: Fetcher, url: str, headers: dict[str, str], body: bytes) -> WebhookAttempt:
    """2xx delivers; 5xx, 408, 429 and connection errors are retried; any other status is a
    bad_request; an address the egress policy refuses is invalid_settings."""
    started = time.perf_counter()
    trace: dict[str, Any] = {"method": "POST", "url": url, "status": None}
    send_headers = {"Content-Type": "application/json", **headers}
    try:
        response, _content = fetcher.send("POST", url, send_headers, body, WEBHOOK_TIMEOUT_S)
    except EgressRefused as exc:
        return _failed(ErrorCategory.INVALID_SETTINGS, str(exc), trace, started)
    except httpx.TimeoutException as exc:
        return _failed(ErrorCategory.TIMEOUT, f"the webhook timed out: {exc}", trace, started)
    except (httpx.HTTPError, OSError) as exc:
        return _failed(ErrorCategory.RETRY, f"the webhook is unreachable: {exc}", trace, started)
    except ValueError as exc:
        return _failed(ErrorCategory.INVALID_SETTINGS, str(exc), trace, started)
    status = response.status_code
    trace["status"] = status
    trace["durationMs"] = _ms_since(started)
    if 200 <= status < 300:
        return WebhookAttempt(None, None, trace)
    message = f"the webhook answered HTTP {status}"
    if status >= 500 or status in RETRYABLE_STATUSES:
        return WebhookAttempt(ErrorCategory.RETRY, message, trace)
    return WebhookAttempt(ErrorCategory.BAD_REQUEST, message, trace)


def _failed(
    category: ErrorCategory, message: str, trace: dict[str, Any], started: float
) -> WebhookAttempt:
    trace["durationMs"] = _ms_since(started)
    trace["error"] = message
    return WebhookAttempt(category, message, trace)


def _ms_since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)
