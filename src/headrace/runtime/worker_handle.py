"""The parent's handle on one sandboxed worker: load its function, invoke it under a deadline."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from headrace.errors import ErrorCategory
from headrace.runtime import protocol
from headrace.runtime.egress import Fetcher
from headrace.runtime.lockdown import DEFAULT_MEMORY_BYTES
from headrace.runtime.outcomes import Outcome, failure
from headrace.runtime.validation import FunctionKind

DEFAULT_TIMEOUT_S = 5.0
MAX_TIMEOUT_S = 60.0
DEFAULT_LOG_CAP_BYTES = 4096

_CATEGORIES = frozenset(category.value for category in ErrorCategory)


@dataclass(frozen=True)
class FunctionSpec:
    """One function instance as the runtime hosts it: a worker only ever serves one spec key."""

    key: str
    """Names the instance (workspace, instance, version); a worker serves one key only."""
    code: str
    kind: FunctionKind
    timeout_s: float = DEFAULT_TIMEOUT_S
    memory_bytes: int = DEFAULT_MEMORY_BYTES
    log_cap_bytes: int = DEFAULT_LOG_CAP_BYTES


class WorkerGone(Exception):
    """The worker died or stopped answering; it has been killed and must be replaced."""

    def __init__(self, outcome: Outcome) -> None:
        super().__init__(outcome["error"]["message"])
        self.outcome = outcome


class MalformedMessage(Exception):
    """A worker's message does not have the shape the protocol promises.

    User code can reach the worker's socket and write its own frames, so nothing a worker
    sends may be trusted to be well formed.
    """


class WorkerHandle:
    def __init__(
        self,
        spec: FunctionSpec,
        slot: int,
        pid: int,
        sock: socket.socket,
        exit_reason: Callable[[int], str | None] | None = None,
    ) -> None:
        self.spec = spec
        self._exit_reason = exit_reason
        self.slot = slot
        self.pid = pid
        self.isolation: dict[str, str] = {}
        self.retired = False
        self.last_used = time.monotonic()
        self._sock = sock
        self._reader = sock.makefile("rb", buffering=256 * 1024)

    def load(self) -> Outcome | None:
        """Send the function's code; None when it loaded, else the load failure outcome."""
        spec = self.spec
        deadline = time.monotonic() + spec.timeout_s
        load = {
            "op": "load",
            "code": spec.code,
            "kind": spec.kind.value,
            "logCapBytes": spec.log_cap_bytes,
        }
        try:
            protocol.send(self._sock, load)
            ready = self._receive(deadline)
        except TimeoutError:
            self.kill()
            return failure(
                "FunctionLoadError",
                ErrorCategory.INVALID_SETTINGS,
                f"the function's module body did not finish within {spec.timeout_s:g} s",
            )
        except (protocol.ChannelClosed, protocol.FrameTooLarge, OSError) as exc:
            self.kill()
            return failure(
                "FunctionLoadError",
                ErrorCategory.INVALID_SETTINGS,
                f"the worker died while loading the function ({self._why(exc)})",
            )
        if not isinstance(ready, dict) or ready.get("op") != "ready":
            self.kill()
            return failure(
                "FunctionLoadError",
                ErrorCategory.INVALID_SETTINGS,
                "the function's module body used fetch (or wrote to the runtime's channel) "
                "while loading; fetch is only available inside handlers",
            )
        self.isolation = ready.get("isolation") or {}
        if ready.get("ok"):
            return None
        self.kill()
        outcome = failure(
            "FunctionLoadError", ErrorCategory.INVALID_SETTINGS, "the worker sent a malformed reply"
        )
        if _is_error(ready.get("error")):
            outcome["error"] = ready["error"]
        outcome["logs"] = ready.get("logs") or []
        return outcome

    def invoke(
        self, mode: str, payload: Any, settings: Any, fetcher: Fetcher, *, raw_result: bool = False
    ) -> Outcome:
        """Run one call; raise WorkerGone if the worker timed out or died.

        With `raw_result` the outcome's result stays the JSON bytes the worker sent
        (unless it is a list of per-event outcomes), for callers that only pass it on.
        """
        timeout_s = self.spec.timeout_s
        if mode == "each" and isinstance(payload, list):
            # Each event runs on its own handler and has the function's timeout to itself.
            timeout_s *= max(1, len(payload))
        started = time.monotonic()
        deadline = started + timeout_s
        traces: list[dict[str, Any]] = []
        try:
            protocol.send_bytes(
                self._sock,
                orjson.dumps(
                    {"op": "invoke", "mode": mode, "payload": payload, "settings": settings}
                ),
            )
            while True:
                message = self._receive(deadline)
                if not isinstance(message, dict):
                    raise MalformedMessage
                if message.get("op") != "fetch":
                    break
                fetched = fetcher.perform(message, max(deadline - time.monotonic(), 0.001))
                fetched.trace["index"] = message.get("index", 0)
                traces.append(fetched.trace)
                protocol.send(self._sock, fetched.reply)
            result_json = protocol.receive_bytes(self._reader)
            if raw_result and not message.get("perEvent"):
                message["result"] = result_json
            else:
                message["result"] = orjson.loads(result_json)
            _check_outcome(message)
        except TimeoutError:
            self.kill()
            outcome = failure(
                "Timeout",
                ErrorCategory.TIMEOUT,
                f"the function did not finish within {timeout_s:g} s",
            )
            outcome["requests"] = _public(traces)
            outcome["durationMs"] = round((time.monotonic() - started) * 1000, 3)
            raise WorkerGone(outcome) from None
        except (
            protocol.ChannelClosed,
            protocol.FrameTooLarge,
            MalformedMessage,
            orjson.JSONDecodeError,
            OSError,
        ) as exc:
            self.kill()
            outcome = failure(
                "WorkerCrashed",
                ErrorCategory.BAD_REQUEST,
                f"the function's worker process died during the call ({self._why(exc)}); "
                "it was replaced",
            )
            outcome["requests"] = _public(traces)
            raise WorkerGone(outcome) from None
        self.last_used = time.monotonic()
        if message.pop("retire", False):
            self.retired = True
        message.pop("op", None)
        _attach_traces(message, traces)
        result: Outcome = message
        return result

    def _receive(self, deadline: float) -> Any:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError
        self._sock.settimeout(remaining)
        return protocol.receive(self._reader)

    def _why(self, exc: BaseException) -> str:
        if isinstance(exc, protocol.ChannelClosed) and self._exit_reason is not None:
            reason = self._exit_reason(self.pid)
            if reason is not None:
                return reason
        return _death_reason(exc)

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)
        self.retired = True
        self._reader.close()
        self._sock.close()


def _death_reason(exc: BaseException) -> str:
    if isinstance(exc, protocol.FrameTooLarge):
        return "it sent a message over the size cap"
    if isinstance(exc, MalformedMessage | orjson.JSONDecodeError):
        return "it sent a malformed message"
    return "out of memory, a crash, or an operation the sandbox forbids"


def _public(traces: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in t.items() if k != "index"} for t in traces]


def _attach_traces(outcome: Outcome, traces: list[dict[str, Any]]) -> None:
    if outcome.pop("perEvent", False):
        by_event: dict[int, list[dict[str, Any]]] = {}
        for trace in traces:
            by_event.setdefault(trace["index"], []).append(trace)
        for index, event_outcome in enumerate(outcome["result"]):
            event_outcome["requests"] = _public(by_event.get(index, []))
        outcome["requests"] = []
    else:
        outcome["requests"] = _public(traces)


def _is_error(error: Any) -> bool:
    return (
        isinstance(error, dict)
        and isinstance(error.get("type"), str)
        and isinstance(error.get("message"), str)
        and error.get("category") in _CATEGORIES
    )


def _check_outcome(message: dict[str, Any], *, nested: bool = False) -> None:
    """Raise MalformedMessage unless `message` is an outcome (per-event ones for a batch)."""
    if not (
        isinstance(message.get("ok"), bool)
        and "result" in message
        and isinstance(message.get("logs"), list)
        and isinstance(message.get("durationMs"), int | float)
        and (message.get("error") is None or _is_error(message["error"]))
    ):
        raise MalformedMessage
    if message.get("perEvent"):
        result = message["result"]
        if nested or not isinstance(result, list):
            raise MalformedMessage
        for event_outcome in result:
            if not isinstance(event_outcome, dict):
                raise MalformedMessage
            _check_outcome(event_outcome, nested=True)
