"""Run one invocation of a loaded function and describe what happened as an outcome dict."""

from __future__ import annotations

import asyncio
import inspect
import time
from typing import Any

import orjson

from headrace.errors import (
    DropEvent,
    ErrorCategory,
    EventNotSupported,
    FunctionError,
    InvalidEventPayload,
)
from headrace.runtime.guest.fetch import Channel
from headrace.runtime.guest.loader import Handler, LoadedFunction, user_stack
from headrace.runtime.guest.source import Request
from headrace.runtime.validation import FunctionKind

Outcome = dict[str, Any]

MAX_RESULT_BYTES = 16 * 1024 * 1024
"""A returned value larger than this (as JSON) is an error, checked before the outcome is built."""


class InvalidReturnValue(Exception):
    """The function returned something its kind cannot pass on."""


class ResultTooLarge(Exception):
    """The function returned more than MAX_RESULT_BYTES of JSON."""


def error_info(exc: BaseException) -> dict[str, Any]:
    category = exc.category if isinstance(exc, FunctionError) else ErrorCategory.BAD_REQUEST
    return {
        "type": type(exc).__name__,
        "category": category.value,
        "message": str(exc) or type(exc).__name__,
        "stack": user_stack(exc),
    }


class Invoker:
    def __init__(self, fn: LoadedFunction, loop: asyncio.AbstractEventLoop, channel: Channel):
        self._fn = fn
        self._loop = loop
        self._channel = channel

    def run(self, mode: str, payload: Any, settings: Any) -> Outcome:
        if mode == "request":
            return self._outcome(lambda: self._on_request(payload, settings))
        if mode in ("batch", "each"):
            if not isinstance(payload, list):
                return self._outcome(lambda: _raise(InvalidEventPayload("a batch must be a list")))
            if mode == "batch" and self._fn.batch_handler is not None:
                handler = self._fn.batch_handler
                return self._outcome(
                    lambda: self._batch_result(self._call(handler, payload, settings))
                )
            outcomes = []
            for index, event in enumerate(payload):
                self._channel.event_index = index
                outcomes.append(self._outcome(lambda e=event: self._on_event(e, settings)))
            self._channel.event_index = 0
            return {
                "ok": all(o["ok"] for o in outcomes),
                "result": outcomes,
                "error": None,
                "logs": [],
                "durationMs": sum(o["durationMs"] for o in outcomes),
                "perEvent": True,
            }
        return self._outcome(lambda: self._on_event(payload, settings))

    def _outcome(self, body: Any) -> Outcome:
        started = time.perf_counter()
        try:
            result = body()
            error = None
        except BaseException as exc:  # noqa: BLE001 - every failure of user code is an outcome
            result, error = None, error_info(exc)
        return {
            "ok": error is None,
            "result": result,
            "error": error,
            "logs": self._fn.logs.take(),
            "durationMs": round((time.perf_counter() - started) * 1000, 3),
        }

    def _call(self, handler: Handler, *args: Any) -> Any:
        value = handler(*args)
        if inspect.isawaitable(value):
            value = self._loop.run_until_complete(value)
        return value

    def _on_event(self, event: Any, settings: Any) -> Any:
        if not isinstance(event, dict):
            raise InvalidEventPayload(f"an event must be a JSON object, got {type(event).__name__}")
        kind = event.get("type")
        if not isinstance(kind, str):
            raise InvalidEventPayload("the event has no 'type'")
        handler = self._fn.event_handlers.get(kind)
        if handler is None:
            raise EventNotSupported(f"{kind} is not supported: the function has no on_{kind}")
        return self._event_result(self._call(handler, event, settings))

    def _on_request(self, payload: Any, settings: Any) -> Any:
        handler = self._fn.request_handler
        if handler is None or self._fn.kind is not FunctionKind.SOURCE:
            raise EventNotSupported("only source functions handle requests (on_request)")
        if not isinstance(payload, dict):
            raise InvalidEventPayload("a request must be a JSON object")
        segment = self._fn.segment
        segment.reset()
        self._call(handler, Request(payload), settings)
        return {"events": segment.events, "objects": segment.objects}

    def _event_result(self, value: Any) -> Any:
        if self._fn.kind is not FunctionKind.INSERT:
            return _json_or_none(value)
        if value is None:
            raise DropEvent("the insert function returned no event")
        if not isinstance(value, dict):
            raise InvalidReturnValue(
                f"an insert function must return the event (a dict), got {type(value).__name__}"
            )
        return _json_fragment(value)

    def _batch_result(self, value: Any) -> Any:
        if self._fn.kind is not FunctionKind.INSERT:
            return _json_or_none(value)
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(e, dict) for e in value):
            raise InvalidReturnValue("an insert function's on_batch must return a list of events")
        return _json_fragment(value)


def _raise(exc: BaseException) -> Any:
    raise exc


def _json_or_none(value: Any) -> Any:
    """A destination's return value if it is JSON, else null."""
    if value is None:
        return None
    try:
        data = orjson.dumps(value)
    except TypeError:
        return None
    return _capped(data)


def _json_fragment(value: Any) -> Any:
    try:
        data = orjson.dumps(value)
    except TypeError as exc:
        raise InvalidReturnValue(f"the returned event is not JSON: {exc}") from None
    return _capped(data)


def _capped(data: bytes) -> Any:
    if len(data) > MAX_RESULT_BYTES:
        raise ResultTooLarge(
            f"the result is {len(data)} bytes of JSON, over the {MAX_RESULT_BYTES}-byte cap"
        )
    return orjson.Fragment(data)
