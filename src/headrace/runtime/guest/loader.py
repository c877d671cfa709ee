"""Load a function's source into a namespace with the names functions use without importing."""

from __future__ import annotations

import builtins
import linecache
import traceback
import types
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from headrace.errors import USER_ERRORS, FunctionLoadError
from headrace.runtime.allowlist import forbidden_import
from headrace.runtime.guest.cache import Cache
from headrace.runtime.guest.fetch import Channel, Fetch, FetchError, Headers, Response
from headrace.runtime.guest.logs import Console, LogBuffer
from headrace.runtime.guest.source import Segment
from headrace.runtime.validation import (
    BATCH_HANDLER,
    CODE_FILENAME,
    EVENT_HANDLERS,
    REQUEST_HANDLER,
    FunctionKind,
    check_code,
    handler_problem,
)

# Builtins a function has no use for, removed so their absence is a clear NameError.
_REMOVED_BUILTINS = ("open", "input", "breakpoint", "exit", "quit", "help", "copyright", "credits")

Handler = Callable[..., Any]


@dataclass
class LoadedFunction:
    kind: FunctionKind
    logs: LogBuffer
    segment: Segment
    event_handlers: dict[str, Handler] = field(default_factory=dict)
    """event type -> handler."""
    batch_handler: Handler | None = None
    request_handler: Handler | None = None


def _guarded_import(
    name: str,
    globals: Any = None,
    locals: Any = None,
    fromlist: Any = (),
    level: int = 0,
) -> types.ModuleType:
    if level:
        raise ImportError("relative imports are not available in functions")
    bad = forbidden_import(name, tuple(fromlist or ()))
    if bad is not None:
        raise ImportError(f"import of module {bad!r} is not allowed in functions")
    return builtins.__import__(name, globals, locals, fromlist, level)


def _user_builtins(logs: LogBuffer) -> dict[str, Any]:
    names = dict(vars(builtins))
    for name in _REMOVED_BUILTINS:
        names.pop(name, None)
    names["__import__"] = _guarded_import

    def captured_print(*args: Any, sep: str | None = " ", **_ignored: Any) -> None:
        logs.write((" " if sep is None else sep).join(str(a) for a in args))

    names["print"] = captured_print
    return names


def load_function(
    code: str, kind: FunctionKind, channel: Channel | None, logs: LogBuffer
) -> LoadedFunction:
    """Check, compile and run the module body of `code`; raise FunctionLoadError if it fails."""
    problem = check_code(code, kind)
    if problem is not None:
        raise FunctionLoadError(str(problem), problem.line)
    linecache.cache[CODE_FILENAME] = (len(code), None, code.splitlines(True), CODE_FILENAME)
    segment = Segment()
    namespace: dict[str, Any] = {
        "__name__": "function",
        "__file__": CODE_FILENAME,
        "__builtins__": _user_builtins(logs),
        "console": Console(logs),
        "cache": Cache(),
        "Headers": Headers,
        "Response": Response,
        "FetchError": FetchError,
        **USER_ERRORS,
    }
    if channel is not None:
        namespace["fetch"] = Fetch(channel)
    if kind is FunctionKind.SOURCE:
        namespace["Segment"] = segment
    try:
        exec(compile(code, CODE_FILENAME, "exec"), namespace)
    except BaseException as exc:  # noqa: BLE001 - any failure of the module body is a load error
        raise FunctionLoadError(f"{type(exc).__name__}: {exc}", user_line(exc)) from None
    return _bind_handlers(namespace, kind, logs, segment)


def _bind_handlers(
    namespace: dict[str, Any], kind: FunctionKind, logs: LogBuffer, segment: Segment
) -> LoadedFunction:
    defined: dict[str, int | None] = {
        name: getattr(getattr(value, "__code__", None), "co_firstlineno", None)
        for name, value in namespace.items()
        if callable(value) and not isinstance(value, type)
    }
    problem = handler_problem(defined, kind)
    if problem is not None:
        raise FunctionLoadError(str(problem), problem.line)
    loaded = LoadedFunction(kind=kind, logs=logs, segment=segment)

    def pick(snake: str, camel: str) -> Handler | None:
        handler = namespace.get(snake) or namespace.get(camel)
        return handler if callable(handler) else None

    if kind is FunctionKind.SOURCE:
        loaded.request_handler = pick(*REQUEST_HANDLER)
        return loaded
    for snake, camel in EVENT_HANDLERS.items():
        handler = pick(snake, camel)
        if handler is not None:
            loaded.event_handlers[snake.removeprefix("on_")] = handler
    loaded.batch_handler = pick(*BATCH_HANDLER)
    return loaded


def user_frames(exc: BaseException) -> list[traceback.FrameSummary]:
    return [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == CODE_FILENAME]


def user_line(exc: BaseException) -> int | None:
    if isinstance(exc, SyntaxError) and exc.filename == CODE_FILENAME:
        return exc.lineno
    frames = user_frames(exc)
    return frames[-1].lineno if frames else None


def user_stack(exc: BaseException) -> str:
    """The traceback of `exc` restricted to the user's own code."""
    frames = user_frames(exc)
    lines = traceback.format_list(frames)
    message = str(exc)
    lines.append(f"{type(exc).__name__}: {message}\n" if message else f"{type(exc).__name__}\n")
    return "".join(lines)
