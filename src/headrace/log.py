"""Structured logging: one JSON object per line on stderr, with secrets redacted."""

from __future__ import annotations

import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

import orjson

LOGGER_NAME = "headrace"

# Any extra field whose name matches is replaced by REDACTED before it is written.
_SECRET_FIELD = re.compile(r"token|secret|password|authorization|api[_-]?key|cookie", re.I)
REDACTED = "[redacted]"

# Attributes every LogRecord has; anything else on a record came from `extra=`.
_STANDARD_ATTRS = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", None, None)).keys() | {"message", "asctime"}
)
# uvicorn attaches a terminal-coloured copy of its messages; it is noise in JSON.
_DROPPED_ATTRS = frozenset({"color_message"})


class JsonFormatter(logging.Formatter):
    """Formats a record as `{"ts", "level", "logger", "event", ...extra}` on one line."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        if record.name == "uvicorn.access" and isinstance(record.args, tuple):
            entry.update(_access_fields(record.args))
        for key, value in vars(record).items():
            if key in _STANDARD_ATTRS or key in _DROPPED_ATTRS or key.startswith("_"):
                continue
            entry[key] = REDACTED if _SECRET_FIELD.search(key) else value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()


_CREDENTIAL_PATH = re.compile(r"(/v1/webhooks/)[^/?#]+")
"""A function source's webhook URL carries its secret token in the path."""


def loggable_path(path: str) -> str:
    """A request path as logs may show it: a webhook token replaced by REDACTED."""
    return _CREDENTIAL_PATH.sub(rf"\g<1>{REDACTED}", path)


def _access_fields(args: tuple[object, ...]) -> dict[str, object]:
    """uvicorn's access line, `client - "METHOD path HTTP/v" status`, as fields."""
    if len(args) != 5:
        return {}
    client, method, path, http_version, status = args
    return {
        "event": "request",
        "client": client,
        "method": method,
        "path": loggable_path(str(path)),
        "http_version": http_version,
        "status": status,
    }


def configure_logging(level: str = "info", stream: TextIO | None = None) -> None:
    """Route every logger (headrace, uvicorn, alembic) through one JSON handler on stderr."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        named = logging.getLogger(name)
        named.handlers.clear()
        named.propagate = True
        named.setLevel(level.upper())
    # Alembic narrates every step at info; headrace logs the migration it ran itself.
    logging.getLogger("alembic").setLevel(logging.DEBUG if level == "debug" else logging.WARNING)


def get_logger(name: str) -> logging.Logger:
    """A logger under the `headrace` namespace: `get_logger("serve")` -> `headrace.serve`."""
    return logging.getLogger(f"{LOGGER_NAME}.{name}")
