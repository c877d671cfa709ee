"""The main loop of a sandboxed worker: load one function, then answer invocations forever."""

from __future__ import annotations

import asyncio
import socket
import time
from typing import Any

import orjson

from headrace.errors import ErrorCategory, FunctionLoadError
from headrace.runtime import protocol
from headrace.runtime.guest.fetch import Channel
from headrace.runtime.guest.invoke import Invoker
from headrace.runtime.guest.loader import load_function
from headrace.runtime.guest.logs import LogBuffer
from headrace.runtime.outcomes import failure
from headrace.runtime.validation import FunctionKind

MAX_OUTCOME_BYTES = 16 * 1024 * 1024
"""An outcome (result, logs) larger than this is replaced by an error."""

CPU_RETIRE_S = 120.0
"""After this much CPU time a worker asks to be replaced, well before RLIMIT_CPU kills it."""


def serve(sock: socket.socket, isolation: dict[str, str], loop: asyncio.AbstractEventLoop) -> None:
    """Serve the parent on `sock` until it closes the channel.

    `loop` is made before the lockdown: creating one needs a socketpair, which seccomp refuses.
    """
    reader = sock.makefile("rb", buffering=256 * 1024)
    channel = Channel(sock, reader)
    asyncio.set_event_loop(loop)
    try:
        load = protocol.receive(reader)
        logs = LogBuffer(int(load.get("logCapBytes") or 4096))
        try:
            fn = load_function(load["code"], FunctionKind(load["kind"]), channel, logs)
        except FunctionLoadError as exc:
            protocol.send(
                sock,
                {
                    "op": "ready",
                    "ok": False,
                    "isolation": isolation,
                    "error": {
                        "type": "FunctionLoadError",
                        "category": ErrorCategory.INVALID_SETTINGS.value,
                        "message": str(exc),
                        "line": exc.line,
                        "stack": "",
                    },
                    "logs": logs.take(),
                },
            )
            return
        logs.take()  # what the module body printed is not the first call's business
        protocol.send(sock, {"op": "ready", "ok": True, "isolation": isolation})
        invoker = Invoker(fn, loop, channel)
        while True:
            call = protocol.receive(reader)
            outcome = invoker.run(call["mode"], call["payload"], call.get("settings") or {})
            protocol.send_pair(sock, *_dump(outcome))
    except protocol.ChannelClosed:
        return


def _dump(outcome: dict[str, Any]) -> tuple[bytes, bytes]:
    """The outcome as two frames: everything but the result, then the result's JSON.

    Apart, the parent can pass the result on as raw bytes without parsing it.
    """
    retire = time.process_time() > CPU_RETIRE_S
    result = outcome.pop("result")
    try:
        meta, data = orjson.dumps({**outcome, "retire": retire}), orjson.dumps(result)
    except TypeError as exc:  # e.g. a log line that cannot be encoded
        meta, data = _failure("InvalidReturnValue", f"the outcome is not JSON: {exc}", retire)
    size = len(meta) + len(data)
    if size > MAX_OUTCOME_BYTES:
        meta, data = _failure(
            "ResultTooLarge",
            f"the result and logs are {size} bytes, over the {MAX_OUTCOME_BYTES} cap",
            retire,
        )
    return meta, data


def _failure(error_type: str, message: str, retire: bool) -> tuple[bytes, bytes]:
    outcome = failure(error_type, ErrorCategory.BAD_REQUEST, message)
    del outcome["result"]
    return orjson.dumps({**outcome, "retire": retire}), b"null"
