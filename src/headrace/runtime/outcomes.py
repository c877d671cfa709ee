"""The outcome of one invocation, as the worker and the parent both build it."""

from __future__ import annotations

from typing import Any

from headrace.errors import ErrorCategory

Outcome = dict[str, Any]
"""{"ok", "result", "error": null | {"type", "category", "message", "stack"}, "logs",
"requests", "durationMs"}"""


def failure(error_type: str, category: ErrorCategory, message: str, **extra: Any) -> Outcome:
    """An outcome for a call that failed before or outside the user's code."""
    return {
        "ok": False,
        "result": None,
        "error": {
            "type": error_type,
            "category": category.value,
            "message": message,
            "stack": "",
            **extra,
        },
        "logs": [],
        "requests": [],
        "durationMs": 0.0,
    }
