"""The sandbox pool: workers forked from a clean zygote, one function instance per worker."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterable
from typing import Any

import orjson

from headrace.runtime.egress import EgressPolicy, Fetcher
from headrace.runtime.lockdown import DEFAULT_CPU_SECONDS
from headrace.runtime.outcomes import Outcome
from headrace.runtime.validation import FunctionKind
from headrace.runtime.worker_handle import FunctionSpec, WorkerGone, WorkerHandle

DEFAULT_MAX_WORKERS = 32
"""Workers alive at once across all functions; idle ones are evicted least recently used."""

DEFAULT_WORKERS_PER_FUNCTION = 2
"""Concurrent calls of one function instance (one worker each)."""

ZYGOTE_START_TIMEOUT_S = 30.0
EXIT_REASON_WAIT_S = 0.2
"""How long to wait for the zygote to reap a worker that died, to say why it did."""


class SandboxUnavailable(Exception):
    """The zygote could not be started or stopped answering."""


class Zygote:
    """The parent's side of the zygote process: ask it for workers, one at a time."""

    def __init__(self) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self._control = ours
        self._lock = threading.Lock()
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-I",
                "-c",
                "import sys; from headrace.runtime import zygote; "
                "zygote.CONTROL_FD = int(sys.argv[1]); zygote.main()",
                str(theirs.fileno()),
            ],
            pass_fds=(theirs.fileno(),),
            env={},
            cwd="/",
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
        )
        theirs.close()

    def spawn(self, slot: int, memory_bytes: int) -> tuple[int, socket.socket]:
        parent_end, worker_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        request = {"slot": slot, "memoryBytes": memory_bytes, "cpuSeconds": DEFAULT_CPU_SECONDS}
        try:
            with self._lock:
                self._control.settimeout(ZYGOTE_START_TIMEOUT_S)
                socket.send_fds(self._control, [orjson.dumps(request)], [worker_end.fileno()])
                reply = self._control.recv(4096)
        except OSError as exc:
            parent_end.close()
            raise SandboxUnavailable(f"the sandbox zygote is not answering: {exc}") from exc
        finally:
            worker_end.close()
        if not reply:
            parent_end.close()
            raise SandboxUnavailable("the sandbox zygote exited")
        answer = orjson.loads(reply)
        if "pid" not in answer:
            parent_end.close()
            raise SandboxUnavailable(answer.get("error", "the zygote refused to spawn"))
        return int(answer["pid"]), parent_end

    def exit_reason(self, pid: int) -> str | None:
        """How worker `pid` ended, once the zygote has reaped it (None if not yet)."""
        deadline = time.monotonic() + EXIT_REASON_WAIT_S
        while True:
            try:
                with self._lock:
                    self._control.settimeout(ZYGOTE_START_TIMEOUT_S)
                    self._control.send(orjson.dumps({"op": "exit", "pid": pid}))
                    reply = self._control.recv(4096)
            except OSError:
                return None
            reason = orjson.loads(reply).get("exit") if reply else None
            if reason is not None or time.monotonic() > deadline:
                return reason if isinstance(reason, str) else None
            time.sleep(0.002)

    def alive(self) -> bool:
        return self.process.poll() is None

    def close(self) -> None:
        self._control.close()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class SandboxPool:
    """Runs function calls in locked-down worker processes. Thread-safe.

    Parameters: `egress` the operator's egress policy; `max_workers` workers alive at once;
    `workers_per_function` concurrent workers one function instance may use.
    """

    def __init__(
        self,
        egress: EgressPolicy | None = None,
        *,
        max_workers: int = DEFAULT_MAX_WORKERS,
        workers_per_function: int = DEFAULT_WORKERS_PER_FUNCTION,
    ) -> None:
        self.egress = egress or EgressPolicy()
        self._fetcher = Fetcher(self.egress)
        self._max_workers = max_workers
        self._per_function = workers_per_function
        self._zygote: Zygote | None = None
        self._cond = threading.Condition()
        self._idle: dict[str, list[WorkerHandle]] = {}
        self._busy: dict[str, int] = {}
        self._free_slots = list(range(max_workers - 1, -1, -1))
        self._closed = False

    # -- public -------------------------------------------------------------------------

    def invoke(
        self,
        spec: FunctionSpec,
        mode: str,
        payload: Any,
        settings: Any = None,
        *,
        fetcher: Fetcher | None = None,
        raw_result: bool = False,
    ) -> Outcome:
        """Run `payload` through the function in `spec`: mode "event" (one event), "batch"
        (a list of events for on_batch, or each on its own handler if there is none),
        "each" (a list, each event on its own handler: the result is the list of per-event
        outcomes; the call may take the spec's timeout once per event) or "request" (a
        source function's webhook request).

        `payload` may hold `orjson.Fragment`s to forward JSON without parsing it here; with
        `raw_result` the result comes back as JSON bytes, likewise unparsed.
        """
        started = time.perf_counter()
        worker, load_failure = self._acquire(spec)
        if worker is None:
            assert load_failure is not None
            load_failure["durationMs"] = round((time.perf_counter() - started) * 1000, 3)
            return load_failure
        try:
            outcome = worker.invoke(
                mode, payload, settings or {}, fetcher or self._fetcher, raw_result=raw_result
            )
        except WorkerGone as gone:
            outcome = gone.outcome
        finally:
            self._release(worker)
        return outcome

    def run_once(
        self,
        code: str,
        kind: FunctionKind,
        mode: str,
        payload: Any,
        settings: Any = None,
        *,
        timeout_s: float | None = None,
        allow_hosts: Iterable[str] = (),
    ) -> Outcome:
        """Run code once in a fresh instance (empty cache, new globals), then discard it."""
        spec = FunctionSpec(key=f"once:{os.urandom(8).hex()}", code=code, kind=kind)
        if timeout_s is not None:
            spec = FunctionSpec(spec.key, code, kind, timeout_s=timeout_s)
        fetcher = Fetcher(self.egress.merged(allow_hosts)) if allow_hosts else None
        try:
            return self.invoke(spec, mode, payload, settings, fetcher=fetcher)
        finally:
            self.discard(spec.key)
            if fetcher is not None:
                fetcher.close()

    def isolation(self) -> dict[str, str]:
        """What the lockdown enforces on this machine, as reported by a real worker."""
        spec = FunctionSpec(
            key=f"probe:{os.urandom(8).hex()}",
            code="def on_track(event, settings):\n    return None\n",
            kind=FunctionKind.DESTINATION,
        )
        worker, load_failure = self._acquire(spec)
        if worker is None:
            message = (load_failure or {}).get("error", {}).get("message", "unknown failure")
            return {"sandbox": f"unavailable: {message}"}
        report = dict(worker.isolation)
        self._release(worker)
        self.discard(spec.key)
        return report

    def discard(self, key: str) -> None:
        """Stop the idle workers of one function instance (e.g. after a deploy)."""
        with self._cond:
            workers = self._idle.pop(key, [])
            for worker in workers:
                self._retire(worker)
            self._cond.notify_all()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            for workers in self._idle.values():
                for worker in workers:
                    worker.kill()
            self._idle.clear()
            zygote, self._zygote = self._zygote, None
            self._cond.notify_all()
        if zygote is not None:
            zygote.close()
        self._fetcher.close()

    def __enter__(self) -> SandboxPool:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- workers ------------------------------------------------------------------------

    def _acquire(self, spec: FunctionSpec) -> tuple[WorkerHandle | None, Outcome | None]:
        with self._cond:
            while True:
                if self._closed:
                    raise SandboxUnavailable("the sandbox pool is closed")
                idle = self._idle.get(spec.key)
                if idle:
                    worker = idle.pop()
                    self._busy[spec.key] = self._busy.get(spec.key, 0) + 1
                    return worker, None
                if self._busy.get(spec.key, 0) < self._per_function and self._make_room():
                    slot = self._free_slots.pop()
                    self._busy[spec.key] = self._busy.get(spec.key, 0) + 1
                    break
                self._cond.wait(timeout=1.0)
        try:
            worker = self._start(spec, slot)
        except BaseException:
            with self._cond:
                self._free_slots.append(slot)
                self._busy[spec.key] -= 1
                self._cond.notify_all()
            raise
        load_failure = worker.load()
        if load_failure is not None:
            self._release(worker)
            return None, load_failure
        return worker, None

    def _make_room(self) -> bool:
        """Free a slot if none is free by retiring the least recently used idle worker."""
        if self._free_slots:
            return True
        candidates = [w for workers in self._idle.values() for w in workers]
        if not candidates:
            return False
        oldest = min(candidates, key=lambda w: w.last_used)
        self._idle[oldest.spec.key].remove(oldest)
        self._retire(oldest)
        return True

    def _start(self, spec: FunctionSpec, slot: int) -> WorkerHandle:
        if self._zygote is None or not self._zygote.alive():
            self._zygote = Zygote()
        zygote = self._zygote
        pid, sock = zygote.spawn(slot, spec.memory_bytes)
        return WorkerHandle(spec, slot, pid, sock, exit_reason=zygote.exit_reason)

    def _release(self, worker: WorkerHandle) -> None:
        with self._cond:
            key = worker.spec.key
            self._busy[key] -= 1
            if self._busy[key] == 0:
                del self._busy[key]
            if worker.retired or self._closed:
                self._retire(worker)
            else:
                self._idle.setdefault(key, []).append(worker)
            self._cond.notify_all()

    def _retire(self, worker: WorkerHandle) -> None:
        if not worker.retired:
            worker.kill()
        if worker.slot not in self._free_slots:
            self._free_slots.append(worker.slot)
