"""A fast HTTP/1.1 receiver for benchmarks: counts POSTed events, answers 200 at once.

Runs in its own process (`python bench/sink.py PORT STATS_FILE`) so that receiving does
not share an interpreter lock with what is measured. It is a bare epoll loop, so that it
takes as little as it can of the CPU the benchmark measures. Within 50 ms of a change it
writes `{"events": n, "last_at": t, "latency_ms": [...]}` to STATS_FILE: `last_at` is when
the latest event arrived (`time.time()`), latencies are from the `benchSentAt` the
benchmark put in an event's `properties` to its arrival.
"""

from __future__ import annotations

import contextlib
import select
import socket
import sys
import time
from pathlib import Path

import orjson

RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: keep-alive\r\n\r\n"
WRITE_EVERY_S = 0.05


class Stats:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.events = 0
        self.last_at = 0.0
        self.latency_ms: list[float] = []
        self.written = -1

    def record(self, body: bytes, now: float) -> None:
        self.last_at = now
        if body[:1] == b"{" and b"benchSentAt" not in body:
            self.events += 1  # one event, no latency to take: no need to read it
            return
        try:
            parsed = orjson.loads(body)
        except orjson.JSONDecodeError:
            return
        for event in parsed if isinstance(parsed, list) else [parsed]:
            self.events += 1
            sent = (event.get("properties") or {}).get("benchSentAt")
            if isinstance(sent, int | float):
                self.latency_ms.append((now - sent) * 1000)

    def write(self) -> None:
        if self.events == self.written:
            return
        self.written = self.events
        numbers = {"events": self.events, "last_at": self.last_at, "latency_ms": self.latency_ms}
        temporary = self.path.with_suffix(".tmp")
        temporary.write_bytes(orjson.dumps(numbers))
        temporary.replace(self.path)


def answer(buffer: bytearray, stats: Stats, now: float) -> int:
    """Take the complete requests off the front of `buffer`; how many there were."""
    answered = 0
    while True:
        end = buffer.find(b"\r\n\r\n")
        if end < 0:
            return answered
        length = 0
        for line in bytes(buffer[:end]).lower().split(b"\r\n"):
            if line.startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        if len(buffer) < end + 4 + length:
            return answered
        stats.record(bytes(buffer[end + 4 : end + 4 + length]), now)
        del buffer[: end + 4 + length]
        answered += 1


def serve(port: int, stats: Stats) -> None:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen(1024)
    listener.setblocking(False)
    poller = select.epoll()
    poller.register(listener.fileno(), select.EPOLLIN)
    connections: dict[int, tuple[socket.socket, bytearray]] = {}
    next_write = 0.0
    # One buffer for every read: `recv(256 KiB)` allocates (and glibc maps and unmaps) a
    # fresh 256 KiB each time, which cost more than everything else the sink does.
    chunk = bytearray(262144)
    view = memoryview(chunk)
    while True:
        for fd, _events in poller.poll(WRITE_EVERY_S):
            if fd == listener.fileno():
                try:
                    while True:
                        conn, _address = listener.accept()
                        # Blocking: it is only read when epoll says it is readable, and
                        # the few bytes of answers are sent whole.
                        conn.setblocking(True)
                        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                        connections[conn.fileno()] = (conn, bytearray())
                        poller.register(conn.fileno(), select.EPOLLIN)
                except BlockingIOError:
                    pass
                continue
            conn, buffer = connections[fd]
            try:
                size = conn.recv_into(chunk)
            except OSError:
                size = 0
            if not size:
                poller.unregister(fd)
                del connections[fd]
                conn.close()
                continue
            buffer += view[:size]
            answered = answer(buffer, stats, time.time())
            if answered:
                with contextlib.suppress(OSError):  # the sender went away: it is told nothing
                    conn.sendall(RESPONSE * answered)
        now = time.monotonic()
        if now >= next_write:
            stats.write()
            next_write = now + WRITE_EVERY_S


if __name__ == "__main__":
    serve(int(sys.argv[1]), Stats(Path(sys.argv[2])))
