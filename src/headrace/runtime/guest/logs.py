"""The invocation's captured console output, capped in bytes."""

from __future__ import annotations

from typing import Any

DEFAULT_LOG_CAP_BYTES = 4096


def format_log_args(args: tuple[Any, ...]) -> str:
    return " ".join(arg if isinstance(arg, str) else repr(arg) for arg in args)


class LogBuffer:
    """Collects log lines until `cap_bytes` of text; later lines are dropped with a marker."""

    def __init__(self, cap_bytes: int = DEFAULT_LOG_CAP_BYTES) -> None:
        self.cap_bytes = cap_bytes
        self._lines: list[str] = []
        self._size = 0
        self._truncated = False

    def write(self, line: str) -> None:
        if self._truncated:
            return
        size = len(line.encode("utf-8", "replace"))
        room = self.cap_bytes - self._size
        if size > room:
            if room > 0:
                self._lines.append(line.encode("utf-8", "replace")[:room].decode("utf-8", "ignore"))
            self._truncated = True
            return
        self._lines.append(line)
        self._size += size

    def take(self) -> list[str]:
        """The lines so far (with a marker if some were cut), and a fresh start."""
        lines = self._lines
        if self._truncated:
            lines.append(f"[logs truncated: over the {self.cap_bytes}-byte cap]")
        self._lines, self._size, self._truncated = [], 0, False
        return lines


class Console:
    """`console.log(...)` and friends, as in JavaScript functions."""

    def __init__(self, logs: LogBuffer) -> None:
        self._logs = logs

    def log(self, *args: Any) -> None:
        self._logs.write(format_log_args(args))

    info = debug = log

    def warn(self, *args: Any) -> None:
        self._logs.write("WARN " + format_log_args(args))

    def error(self, *args: Any) -> None:
        self._logs.write("ERROR " + format_log_args(args))
