"""What delivery records show users: secret setting values and credential-like headers
replaced, wherever they ended up (the event, logs, request traces, error messages)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from headrace.security.secrets import SecretBox, SecretError
from headrace.services.function_settings import open_values
from headrace.services.pinning import PinnedInstance, settings_place, stored_settings
from headrace.store.delivery_queries import StoredOutcome

REDACTED = "[redacted]"

SECRET_NAME = re.compile(r"authorization|cookie|token|secret|password|api[_-]?key", re.I)
"""Header and field names whose values are credentials."""

MIN_SECRET_LENGTH = 4
"""Shorter setting values are not searched for: they would redact ordinary words."""


def secret_strings(values: Iterable[Any]) -> list[str]:
    """The strings inside sensitive setting values (maps and lists are searched), longest
    first so that a secret containing another is replaced whole."""
    found: set[str] = set()

    def collect(value: Any) -> None:
        if isinstance(value, str):
            if len(value) >= MIN_SECRET_LENGTH:
                found.add(value)
        elif isinstance(value, dict):
            for item in value.values():
                collect(item)
        elif isinstance(value, list):
            for item in value:
                collect(item)

    for value in values:
        collect(value)
    return sorted(found, key=len, reverse=True)


def redact(value: Any, secrets: list[str], *, credential_keys: bool = False) -> Any:
    """`value` (decoded JSON) with every secret string replaced; with `credential_keys`
    (for request traces and headers) the strings under credential-like keys too."""
    if isinstance(value, str):
        for secret in secrets:
            if secret in value:
                value = value.replace(secret, REDACTED)
        return value
    if isinstance(value, dict):
        return {
            key: REDACTED
            if credential_keys and isinstance(item, str) and SECRET_NAME.search(str(key))
            else redact(item, secrets, credential_keys=credential_keys)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [redact(item, secrets, credential_keys=credential_keys) for item in value]
    return value


def sensitive_values(box: SecretBox, instances: Iterable[PinnedInstance]) -> list[str]:
    """The strings of the instances' sensitive setting values, to redact from what their
    functions logged, raised or sent."""
    values: list[Any] = []
    for instance in instances:
        stored = stored_settings(instance)
        sealed = stored.sealed_values()
        if not sealed:
            continue
        try:
            opened = open_values(box, settings_place(instance), stored)
        except SecretError:
            continue  # a value that cannot be opened cannot leak either
        values.extend(opened[name] for name in sealed)
    return secret_strings(values)


@dataclass(frozen=True)
class RecordView:
    """What every kept delivery record shows (a destination's event, a source's request),
    with the sensitive setting values redacted wherever they appear, credential headers too."""

    at: datetime
    status: str
    category: str
    error: str | None
    attempts: int
    logs: list[str]
    requests: list[dict[str, Any]]
    payload: Any


def shown_record(stored: StoredOutcome, payload: Any, secrets: list[str]) -> dict[str, Any]:
    """The fields of a RecordView of `stored` showing `payload`, redacted."""
    return {
        "at": datetime.fromtimestamp(stored.at, UTC),
        "status": stored.status,
        "category": stored.category,
        "error": redact(stored.error, secrets),
        "attempts": stored.attempts,
        "logs": redact(stored.logs, secrets),
        "requests": redact(stored.requests, secrets, credential_keys=True),
        "payload": redact(payload, secrets),
    }
