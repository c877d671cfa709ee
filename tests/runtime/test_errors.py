"""The error table: what a function raises, or how it fails to load, becomes a category."""

from __future__ import annotations

import pytest

from headrace.runtime import FunctionKind, SandboxPool
from tests.runtime.conftest import MakeInstance
from tests.runtime.support import event


@pytest.mark.parametrize(
    ("raised", "category"),
    [
        ("RetryError", "retry"),
        ("InvalidEventPayload", "message_rejected"),
        ("ValidationError", "message_rejected"),
        ("EventNotSupported", "unsupported_event_type"),
        ("DropEvent", "filtered"),
    ],
)
def test_each_function_error_class_maps_to_its_category(
    pool: SandboxPool, instance: MakeInstance, raised: str, category: str
) -> None:
    spec = instance(
        f"""
        def on_track(event, settings):
            raise {raised}("the reason")
        """
    )
    outcome = pool.invoke(spec, "event", event("track"))
    assert not outcome["ok"]
    assert outcome["result"] is None
    assert outcome["error"]["type"] == raised
    assert outcome["error"]["category"] == category
    assert outcome["error"]["message"] == "the reason"


def test_an_insert_function_returning_none_filters_the_event(
    pool: SandboxPool, instance: MakeInstance
) -> None:
    spec = instance("def on_track(event, settings):\n    pass\n", kind=FunctionKind.INSERT)
    outcome = pool.invoke(spec, "event", event("track"))
    assert outcome["error"]["type"] == "DropEvent"
    assert outcome["error"]["category"] == "filtered"


def test_any_other_exception_is_a_bad_request(pool: SandboxPool, instance: MakeInstance) -> None:
    spec = instance("def on_track(event, settings):\n    return event['missing']\n")
    outcome = pool.invoke(spec, "event", event("track"))
    assert outcome["error"]["type"] == "KeyError"
    assert outcome["error"]["category"] == "bad_request"
    assert outcome["error"]["message"] == "'missing'"


def test_the_stack_of_an_error_shows_only_the_users_frames(
    pool: SandboxPool, instance: MakeInstance
) -> None:
    spec = instance(
        """
        def price(event):
            return event["properties"]["price"]

        def on_track(event, settings):
            return price(event)
        """
    )
    stack = pool.invoke(spec, "event", event("track"))["error"]["stack"]
    assert 'File "function.py", line 5, in on_track' in stack
    assert 'File "function.py", line 2, in price' in stack
    assert stack.rstrip().endswith("KeyError: 'price'")
    assert "headrace" not in stack
    assert '.py"' not in stack.replace('"function.py"', "")


def test_the_stack_of_an_async_handler_shows_only_the_users_frames(
    pool: SandboxPool, instance: MakeInstance
) -> None:
    spec = instance(
        """
        async def on_track(event, settings):
            raise ValueError("no")
        """
    )
    error = pool.invoke(spec, "event", event("track"))["error"]
    assert error["category"] == "bad_request"
    assert error["stack"] == (
        '  File "function.py", line 2, in on_track\n    raise ValueError("no")\nValueError: no\n'
    )


def test_a_syntax_error_is_a_load_error_on_its_line(
    pool: SandboxPool, instance: MakeInstance
) -> None:
    spec = instance(
        """
        def on_track(event, settings):
            return {"a": 1

        x = 1
        """
    )
    error = pool.invoke(spec, "event", event("track"))["error"]
    assert error["type"] == "FunctionLoadError"
    assert error["category"] == "invalid_settings"
    assert error["line"] == 2
    assert error["message"].startswith("line 2: SyntaxError:")


def test_a_forbidden_import_is_a_load_error_naming_the_module_and_line(
    pool: SandboxPool, instance: MakeInstance
) -> None:
    spec = instance(
        """
        import json
        import os

        def on_track(event, settings):
            return 1
        """
    )
    error = pool.invoke(spec, "event", event("track"))["error"]
    assert error["type"] == "FunctionLoadError"
    assert error["category"] == "invalid_settings"
    assert error["line"] == 2
    assert error["message"] == "line 2: import of module 'os' is not allowed in functions"


def test_an_exception_in_the_module_body_is_a_load_error_on_its_line(
    pool: SandboxPool, instance: MakeInstance
) -> None:
    spec = instance(
        """
        LIMITS = {"daily": 10}
        WEEKLY = LIMITS["weekly"]

        def on_track(event, settings):
            return 1
        """
    )
    error = pool.invoke(spec, "event", event("track"))["error"]
    assert error["type"] == "FunctionLoadError"
    assert error["category"] == "invalid_settings"
    assert error["line"] == 2
    assert error["message"] == "KeyError: 'weekly'"


def test_a_function_without_any_handler_is_a_load_error(
    pool: SandboxPool, instance: MakeInstance
) -> None:
    spec = instance("def helper(event, settings):\n    return 1\n")
    error = pool.invoke(spec, "event", event("track"))["error"]
    assert error["type"] == "FunctionLoadError"
    assert "must define at least one handler" in error["message"]


def test_module_level_logs_are_returned_with_a_load_error(
    pool: SandboxPool, instance: MakeInstance
) -> None:
    spec = instance(
        """
        print("starting")
        raise RuntimeError("bad config")

        def on_track(event, settings):
            pass
        """
    )
    outcome = pool.invoke(spec, "event", event("track"))
    assert outcome["error"]["message"] == "RuntimeError: bad config"
    assert outcome["logs"] == ["starting"]


def test_a_load_error_is_reported_again_on_the_next_call(
    pool: SandboxPool, instance: MakeInstance
) -> None:
    spec = instance("raise RuntimeError('bad config')\ndef on_track(event, settings):\n    pass\n")
    first = pool.invoke(spec, "event", event("track"))
    second = pool.invoke(spec, "event", event("track"))
    assert first["error"] == second["error"]
    assert second["error"]["category"] == "invalid_settings"
