"""`fetch(...)` for functions: the worker has no network, so the parent performs the request."""

from __future__ import annotations

import base64
import socket
from typing import Any

import orjson

from headrace.runtime import protocol


class FetchError(Exception):
    """The request could not be made: refused by the egress policy, unreachable, timed out."""


class Channel:
    """The worker's end of its socket: one request frame out, one reply frame back."""

    def __init__(self, sock: socket.socket, reader: protocol.Readable) -> None:
        self.sock = sock
        self.reader = reader
        self.event_index = 0
        """Which event of a batch is running, so the parent can file request traces."""

    def call(self, message: dict[str, Any]) -> Any:
        protocol.send(self.sock, message)
        return protocol.receive(self.reader)


class Headers:
    """Case-insensitive, read-only header mapping with `get`, like the Fetch API's Headers."""

    def __init__(self, items: dict[str, str] | None = None) -> None:
        self._items = {k.lower(): v for k, v in (items or {}).items()}

    def get(self, name: str, default: str | None = None) -> str | None:
        return self._items.get(name.lower(), default)

    def has(self, name: str) -> bool:
        return name.lower() in self._items

    def __getitem__(self, name: str) -> str:
        return self._items[name.lower()]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._items

    def items(self) -> list[tuple[str, str]]:
        return list(self._items.items())

    def __iter__(self) -> Any:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"Headers({self._items!r})"


class Response:
    """What `await fetch(...)` returns: `status`, `ok`, `headers`, `json()`, `text()`."""

    def __init__(self, status: int, status_text: str, url: str, headers: Headers, body: bytes):
        self.status = status
        self.statusText = status_text
        self.url = url
        self.headers = headers
        self.ok = 200 <= status < 300
        self._body = body

    async def text(self) -> str:
        return self._body.decode("utf-8", "replace")

    async def json(self) -> Any:
        return orjson.loads(self._body)

    async def arrayBuffer(self) -> bytes:  # noqa: N802 - the Fetch API's name
        return self._body

    def __repr__(self) -> str:
        return f"<Response [{self.status}] {self.url}>"


class Fetch:
    def __init__(self, channel: Channel) -> None:
        self._channel = channel

    async def __call__(
        self,
        url: str,
        options: dict[str, Any] | None = None,
        *,
        method: str | None = None,
        headers: dict[str, str] | None = None,
        body: str | bytes | None = None,
        json: Any = None,
        timeout: float | None = None,
    ) -> Response:
        # The JavaScript form fetch(url, {method, headers, body}) works too.
        opts = dict(options or {})
        method = (method or opts.get("method") or "GET").upper()
        headers = dict(headers or opts.get("headers") or {})
        body = body if body is not None else opts.get("body")
        timeout = timeout if timeout is not None else opts.get("timeout")
        if json is not None:
            body = orjson.dumps(json)
            if not any(k.lower() == "content-type" for k in headers):
                headers["Content-Type"] = "application/json"
        if body is not None and not isinstance(body, str | bytes):
            raise TypeError("fetch body must be str or bytes; use json=... for objects")
        if isinstance(body, str):
            body = body.encode()
        reply = self._channel.call(
            {
                "op": "fetch",
                "index": self._channel.event_index,
                "method": method,
                "url": str(url),
                "headers": {str(k): str(v) for k, v in headers.items()},
                "body": base64.b64encode(body).decode() if body is not None else None,
                "timeout": timeout,
            }
        )
        if reply.get("error"):
            raise FetchError(reply["error"])
        return Response(
            reply["status"],
            reply.get("statusText", ""),
            reply["url"],
            Headers(reply["headers"]),
            base64.b64decode(reply["body"]),
        )
