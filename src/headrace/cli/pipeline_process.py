"""`headrace serve`'s pipeline in a process of its own: a `headrace worker` child.

The HTTP API and the pipeline each get an interpreter (and a core) of their own instead of
sharing one interpreter lock. The child's standard input is a pipe from the parent: a byte
on it means "work was queued" (so the child does not wait for its next poll), and its end
means the parent is gone (also when the parent was killed), so the child drains and exits.
A child that dies on its own is started again.
"""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import threading

from headrace.config import Settings
from headrace.log import get_logger

RESTART_PAUSE_S = 1.0
"""How long to wait before starting a pipeline process that died again."""

STOP_TIMEOUT_S = 40.0
"""How long the pipeline may take to drain on shutdown before it is killed (its leased
jobs are then taken over after a restart)."""

_log = get_logger("serve")


class PipelineProcess:
    """Starts, wakes, watches and stops the pipeline child of `headrace serve`."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._lock = threading.Lock()
        self._child: subprocess.Popen[bytes] | None = None
        self._wake_fd: int | None = None
        self._stopping = threading.Event()
        self._watcher: threading.Thread | None = None

    def start(self) -> None:
        self._spawn()
        self._watcher = threading.Thread(target=self._watch, name="pipeline-watch", daemon=True)
        self._watcher.start()

    def wake(self) -> None:
        """Tell the pipeline work is waiting (never blocks: a full pipe means it knows).

        Under the lock that closes the pipe, so a closed descriptor's number, reused by
        another file, is never written to."""
        with self._lock:
            if self._wake_fd is None:
                return
            try:
                os.write(self._wake_fd, b"\x01")
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EPIPE):
                    raise

    def stop(self) -> None:
        """Close the pipe (the child drains and exits), wait for it, kill it if it hangs."""
        self._stopping.set()
        with self._lock:
            self._close_pipe()
            child, self._child = self._child, None
        if child is not None:
            try:
                child.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                _log.warning("pipeline did not drain in time; killed", extra={"pid": child.pid})
                child.kill()
                child.wait()
        if self._watcher is not None:
            self._watcher.join()

    def _spawn(self) -> None:
        settings = self._settings
        env = dict(os.environ)
        # What serve was told on its command line, the child must know too (the webhook
        # loop guard compares URLs with this service's own address).
        env["HEADRACE_HOST"] = settings.host
        env["HEADRACE_PORT"] = str(settings.port)
        command = [sys.executable, "-m", "headrace", "worker", "--data-dir", str(settings.data_dir)]
        with self._lock:
            if self._stopping.is_set():
                return
            child = subprocess.Popen([*command, "--attached"], stdin=subprocess.PIPE, env=env)
            assert child.stdin is not None
            os.set_blocking(child.stdin.fileno(), False)
            self._child = child
            self._wake_fd = child.stdin.fileno()
        _log.info("pipeline process started", extra={"pid": child.pid})

    def _close_pipe(self) -> None:
        child = self._child
        self._wake_fd = None
        if child is not None and child.stdin is not None:
            child.stdin.close()

    def _watch(self) -> None:
        while not self._stopping.is_set():
            with self._lock:
                child = self._child
            if child is None:
                return
            code = child.wait()
            if self._stopping.is_set():
                return
            _log.error("pipeline process exited; starting it again", extra={"code": code})
            with self._lock:
                self._close_pipe()
            if self._stopping.wait(RESTART_PAUSE_S):
                return
            self._spawn()
