"""Logs are one JSON object per line, and fields that look secret are redacted."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from headrace.log import REDACTED, configure_logging, get_logger


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    buffer = io.StringIO()
    configure_logging("info", buffer)
    yield buffer
    for handler in list(logging.getLogger().handlers):
        logging.getLogger().removeHandler(handler)


def lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_each_event_is_one_json_line_with_context(stream: io.StringIO) -> None:
    get_logger("test").info("workspace created", extra={"workspace_id": "ws_1"})

    [entry] = lines(stream)
    assert entry["event"] == "workspace created"
    assert entry["logger"] == "headrace.test"
    assert entry["level"] == "info"
    assert entry["workspace_id"] == "ws_1"


@pytest.mark.parametrize("field", ["token", "owner_token", "api_key", "password", "authorization"])
def test_secret_looking_fields_are_redacted(stream: io.StringIO, field: str) -> None:
    get_logger("test").info("oops", extra={field: "hr_supersecret"})

    assert "hr_supersecret" not in stream.getvalue()
    assert lines(stream)[0][field] == REDACTED


def test_exceptions_stay_on_one_line(stream: io.StringIO) -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        get_logger("test").exception("failed")

    [entry] = lines(stream)
    assert "ValueError: boom" in str(entry["exception"])


def test_a_webhook_token_in_an_access_line_is_redacted(stream: io.StringIO) -> None:
    access = logging.getLogger("uvicorn.access")
    access.info(
        '%s - "%s %s HTTP/%s" %d',
        "127.0.0.1:5000",
        "POST",
        "/v1/webhooks/tok_s3cret?a=1",
        "1.1",
        200,
    )

    [entry] = lines(stream)
    assert "tok_s3cret" not in stream.getvalue()
    assert entry["path"] == f"/v1/webhooks/{REDACTED}?a=1"
