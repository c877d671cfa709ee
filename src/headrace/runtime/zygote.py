"""The zygote: a clean process that has imported the runtime and forks locked-down workers.

It is started with an empty environment and holds no secrets or service state, so what a
worker inherits from it is only the interpreter and the allowlisted modules. It reads
spawn requests (one JSON packet plus the worker's socket as SCM_RIGHTS) from the control
socket on fd CONTROL_FD and answers each with the new worker's pid.
"""

from __future__ import annotations

import asyncio
import importlib
import os
import random
import signal
import socket
from typing import Any

import orjson

from headrace.runtime import lockdown
from headrace.runtime.allowlist import ALLOWED_MODULES

CONTROL_FD = 3
_PACKET_BYTES = 4096

# Imported here so no worker ever needs to read the interpreter's files to import them.
_PRELOAD = (
    *sorted(ALLOWED_MODULES),
    "encodings.ascii",
    "encodings.latin_1",
    "encodings.utf_16",
    "encodings.utf_32",
    "encodings.cp1252",
    "encodings.idna",
    "encodings.punycode",
    "encodings.unicode_escape",
    "encodings.raw_unicode_escape",
    "_strptime",
    "headrace.runtime.guest.worker",
)


def preload() -> None:
    for name in _PRELOAD:
        importlib.import_module(name)
    # Prime lazily built tables that would otherwise touch files inside a worker.
    "x".encode("idna")
    import datetime

    datetime.datetime.strptime("2024-01-01", "%Y-%m-%d")


_EXITS_KEPT = 256
_exits: dict[int, int] = {}
"""How recent workers ended (pid -> wait status), so the parent can say why one died."""


def _reap(_signum: int, _frame: Any) -> None:
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        _exits[pid] = status
        while len(_exits) > _EXITS_KEPT:
            del _exits[next(iter(_exits))]


def describe_exit(status: int) -> str:
    """A wait status as users read it: which signal, or which exit code."""
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        try:
            name = signal.Signals(number).name
        except ValueError:
            name = f"signal {number}"
        meaning = _SIGNAL_MEANINGS.get(name, "")
        return f"killed by {name}{meaning}"
    return f"exited with status {os.WEXITSTATUS(status)}"


_SIGNAL_MEANINGS = {
    "SIGSEGV": " (a crash: often a stack overflow or running out of memory)",
    "SIGABRT": " (aborted by the interpreter)",
    "SIGXCPU": " (its CPU-time limit)",
    "SIGKILL": " (stopped by the runtime or the kernel)",
    "SIGSYS": " (a forbidden system call)",
}


def main() -> None:
    preload()
    plan = lockdown.prepare()
    devnull = os.open(os.devnull, os.O_RDWR)
    control = socket.socket(fileno=CONTROL_FD)
    signal.signal(signal.SIGCHLD, _reap)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when we stop
    while True:
        try:
            data, fds, _flags, _addr = socket.recv_fds(control, _PACKET_BYTES, 1)
        except OSError:
            return
        if not data:
            return  # the parent is gone; its workers see their sockets close and exit
        request = orjson.loads(data)
        if request.get("op") == "exit":
            status = _exits.get(int(request["pid"]))
            reply = {"exit": describe_exit(status) if status is not None else None}
            control.send(orjson.dumps(reply))
            continue
        if not fds:
            control.send(orjson.dumps({"error": "no worker socket was passed"}))
            continue
        pid = os.fork()
        if pid == 0:
            _become_worker(fds[0], devnull, plan, request)
        os.close(fds[0])
        control.send(orjson.dumps({"pid": pid}))


def _become_worker(
    fd: int, devnull: int, plan: lockdown.LockdownPlan, request: dict[str, Any]
) -> None:
    code = 1
    try:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.setsid()
        for std in (0, 1, 2):
            os.dup2(devnull, std)
        keep = {0, 1, 2, fd, *plan.keep_fds}
        for other in range(3, max(keep) + 64):
            if other not in keep:
                try:
                    os.close(other)
                except OSError:
                    continue
        os.closerange(max(keep) + 64, 65536)
        random.seed()  # workers must not share the zygote's random state
        limits = lockdown.Limits(
            memory_bytes=int(request["memoryBytes"]), cpu_seconds=int(request["cpuSeconds"])
        )
        loop = asyncio.new_event_loop()
        isolation = lockdown.apply(plan, int(request["slot"]), limits)
        from headrace.runtime.guest.worker import serve

        serve(socket.socket(fileno=fd), isolation, loop)
        code = 0
    finally:
        os._exit(code)


if __name__ == "__main__":
    main()
