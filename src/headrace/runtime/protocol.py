"""Length-prefixed JSON frames between the parent and a sandboxed worker over one socket."""

from __future__ import annotations

import socket
import struct
from typing import Any, Protocol

import orjson

_HEADER = struct.Struct("<I")
MAX_FRAME_BYTES = 64 * 1024 * 1024
"""No frame (event batch, outcome, fetch body) may be larger than this."""

_SMALL_FRAME_BYTES = 64 * 1024


class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


class ChannelClosed(Exception):
    """The other end of the channel went away (a worker died, or its parent did)."""


class FrameTooLarge(Exception):
    """A frame over MAX_FRAME_BYTES was written or announced."""


def send(sock: socket.socket, message: Any) -> None:
    """Serialise `message` and write it as one frame."""
    send_bytes(sock, orjson.dumps(message))


def send_bytes(sock: socket.socket, data: bytes) -> None:
    if len(data) > MAX_FRAME_BYTES:
        raise FrameTooLarge(f"message of {len(data)} bytes is over the {MAX_FRAME_BYTES} cap")
    header = _HEADER.pack(len(data))
    try:
        if len(data) <= _SMALL_FRAME_BYTES:
            sock.sendall(header + data)
        else:
            sock.sendall(header)
            sock.sendall(data)
    except (BrokenPipeError, ConnectionResetError) as exc:
        raise ChannelClosed(str(exc)) from exc


def send_pair(sock: socket.socket, first: bytes, second: bytes) -> None:
    """Write two frames with one system call where they are small."""
    for data in (first, second):
        if len(data) > MAX_FRAME_BYTES:
            raise FrameTooLarge(f"message of {len(data)} bytes is over the {MAX_FRAME_BYTES} cap")
    parts = [_HEADER.pack(len(first)), first, _HEADER.pack(len(second)), second]
    try:
        sent = sock.sendmsg(parts)
        total = sum(len(part) for part in parts)
        if sent < total:  # a signal cut a large write short
            sock.sendall(b"".join(parts)[sent:])
    except (BrokenPipeError, ConnectionResetError) as exc:
        raise ChannelClosed(str(exc)) from exc


def receive(reader: Readable) -> Any:
    """Read one frame from a buffered reader over the socket and parse it."""
    return orjson.loads(receive_bytes(reader))


def receive_bytes(reader: Readable) -> bytes:
    header = reader.read(_HEADER.size)
    if len(header) < _HEADER.size:
        raise ChannelClosed("the channel was closed")
    (size,) = _HEADER.unpack(header)
    if size > MAX_FRAME_BYTES:
        raise FrameTooLarge(f"announced frame of {size} bytes is over the cap")
    data = reader.read(size)
    if len(data) < size:
        raise ChannelClosed("the channel was closed mid-frame")
    return data
