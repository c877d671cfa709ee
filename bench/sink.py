"""A fast HTTP/1.1 receiver for benchmarks: counts POSTed events, answers 200 at once.

Runs in its own process (`python bench/sink.py PORT STATS_FILE`) so that receiving does
not share an interpreter lock with what is measured. Within 50 ms of a change it writes
`{"events": n, "last_at": t, "latency_ms": [...]}` to STATS_FILE: `last_at` is when the
latest event arrived (`time.time()`), latencies are from the `benchSentAt` the benchmark
put in an event's `properties` to its arrival.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

import orjson

RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: keep-alive\r\n\r\n"


class Stats:
    def __init__(self) -> None:
        self.events = 0
        self.last_at = 0.0
        self.latency_ms: list[float] = []

    def record(self, body: bytes) -> None:
        now = time.time()
        try:
            parsed = orjson.loads(body)
        except orjson.JSONDecodeError:
            return
        self.last_at = now
        for event in parsed if isinstance(parsed, list) else [parsed]:
            self.events += 1
            sent = (event.get("properties") or {}).get("benchSentAt")
            if isinstance(sent, int | float):
                self.latency_ms.append((now - sent) * 1000)


class Receiver(asyncio.Protocol):
    def __init__(self, stats: Stats) -> None:
        self.stats = stats
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer.extend(data)
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.buffer[:end]).lower()
            length = 0
            for line in head.split(b"\r\n"):
                if line.startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            if len(self.buffer) < end + 4 + length:
                return
            body = bytes(self.buffer[end + 4 : end + 4 + length])
            del self.buffer[: end + 4 + length]
            self.stats.record(body)
            assert self.transport is not None
            self.transport.write(RESPONSE)


async def serve(port: int, stats_file: Path) -> None:
    stats = Stats()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: Receiver(stats), "127.0.0.1", port, backlog=1024)
    written = -1
    async with server:
        while True:
            await asyncio.sleep(0.05)
            if stats.events == written:
                continue
            written = stats.events
            numbers = {"events": written, "last_at": stats.last_at, "latency_ms": stats.latency_ms}
            stats_file.with_suffix(".tmp").write_bytes(orjson.dumps(numbers))
            stats_file.with_suffix(".tmp").replace(stats_file)


if __name__ == "__main__":
    asyncio.run(serve(int(sys.argv[1]), Path(sys.argv[2])))
