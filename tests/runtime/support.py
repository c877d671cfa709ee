"""Events, requests and code snippets shared by the runtime tests."""

from __future__ import annotations

import textwrap
from typing import Any

DESTINATION_HANDLERS = ("on_track", "on_identify", "on_page", "on_screen", "on_group", "on_alias")


def function_code(code: str) -> str:
    """User code written indented inside a test, as the user would have typed it."""
    return textwrap.dedent(code).lstrip("\n")


def event(kind: str = "track", **fields: Any) -> dict[str, Any]:
    """A valid Segment event of `kind`, with `fields` added or overriding."""
    base: dict[str, Any] = {"type": kind, "userId": "user-1", "messageId": f"m-{kind}"}
    required: dict[str, dict[str, Any]] = {
        "track": {"event": "Order Completed", "properties": {"total": 42}},
        "identify": {"traits": {"email": "ada@example.com"}},
        "page": {"name": "Home"},
        "screen": {"name": "Settings"},
        "group": {"groupId": "g-1"},
        "alias": {"previousId": "anon-1"},
        "delete": {},
    }
    return {**base, **required.get(kind, {}), **fields}


def request(
    body: Any = None,
    headers: dict[str, str] | None = None,
    query: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A source function's webhook request as the runtime receives it."""
    return {"body": body, "headers": headers or {}, "queryParameters": query or {}}


ESCAPE = '''
def _escape_import(name):
    """Reach the real __import__ around the allowlist, the way an attacker would."""
    warnings_cls = [
        c for c in ().__class__.__base__.__subclasses__() if c.__name__ == "catch_warnings"
    ][0]
    return warnings_cls()._module.__builtins__["__import__"](name)


def _os_globals():
    """The os module's globals, reached through a subclass of object that os defines."""
    wrap = [c for c in ().__class__.__base__.__subclasses__() if c.__name__ == "_wrap_close"][0]
    return wrap.__init__.__globals__
'''
"""Helpers that escape the import allowlist: it is a friendly error, not the boundary."""
