"""The tracking API's use case: authenticate a write key, check and stamp events, and make
the accepted ones durable in the queue before answering."""

from __future__ import annotations

import base64
import binascii
import threading
import time
import zlib
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import orjson
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import OperationalError

from headrace.pipeline.catalog import Catalog, DestinationPlan, Memo
from headrace.pipeline.router import FanOut
from headrace.spec import (
    EVENT_TYPES,
    MAX_BATCH_EVENTS,
    MAX_REQUEST_BYTES,
    Arrival,
    prepare_event,
)
from headrace.store.database import unavailable_because, write_transaction
from headrace.store.intake import IntakeLog
from headrace.store.queue import WorkQueue

BATCH_PATHS = ("batch", "import")

WRITE_KEY_TTL_S = 1.0
"""How long a write key's source is remembered (a disabled source or a rotated key stops
being accepted within this)."""

WRITE_KEYS_REMEMBERED = 10_000


class TrackingSource(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def workspace_id(self) -> str: ...


SourceLookup = Callable[[str], TrackingSource | None]
"""Finds the enabled tracking source with a write key."""


class IngestError(Exception):
    """A request the tracking API refuses as a whole: `code` and a sentence, with a status."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


@dataclass
class IngestResult:
    accepted: int
    rejected: list[dict[str, Any]] = field(default_factory=list)

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"success": True}
        if self.rejected:
            body["rejected"] = self.rejected
        return body


def write_key_from_basic(authorization: str | None) -> str | None:
    """The user part of `Authorization: Basic base64(writeKey:)`, as Segment's clients send."""
    if not authorization:
        return None
    scheme, _, encoded = authorization.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return decoded.split(":", 1)[0] or None


def decode_body(raw: bytes, content_encoding: str | None) -> Any:
    """The JSON body, gunzipped if need be, within the request size limit."""
    if (content_encoding or "").strip().lower() == "gzip":
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            raw = inflater.decompress(raw, MAX_REQUEST_BYTES + 1)
        except zlib.error:
            raise IngestError(400, "invalid_gzip", "The body is not valid gzip.") from None
    if len(raw) > MAX_REQUEST_BYTES:
        raise IngestError(
            400,
            "payload_too_large",
            f"The request is over the {MAX_REQUEST_BYTES // 1024} KB limit.",
        )
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise IngestError(400, "invalid_json", f"The body is not valid JSON: {exc}.") from None


def store_unavailable(error: Exception) -> IngestError:
    """A 503 for a request whose events the store could not take (the disk is full, the
    database stayed locked, a write failed or was cut short): the client sends it again,
    and an event that was stored after all is still delivered once, by its messageId."""
    reason = (
        "headrace stopped while writing them"
        if isinstance(error, WriteInterrupted)
        else unavailable_because(error)
    )
    return IngestError(
        503,
        "store_unavailable",
        f"The events could not be stored: {reason}. Send them again"
        " (a messageId already stored is delivered once).",
    )


class IngestService:
    def __init__(
        self,
        engine: Engine,
        find_source: SourceLookup,
        catalog: Catalog,
        on_accepted: Callable[[], None] = lambda: None,
    ) -> None:
        """`catalog` says where a source's events go: each accepted event is queued for
        delivery to each of them, in the transaction that makes it durable."""
        self._engine = engine
        self._find_source = find_source
        self._fan_out = FanOut(catalog)
        self._on_accepted = on_accepted
        # Unknown keys are not remembered: a new source's key works at once.
        self._known: Memo[TrackingSource | None] = Memo(
            WRITE_KEY_TTL_S,
            max_entries=WRITE_KEYS_REMEMBERED,
            remember=lambda source: source is not None,
        )
        self._queue = WorkQueue()
        self._intake = IntakeLog()
        self._writer = threading.Lock()
        self._waiting: list[_Pending] = []
        self._waiting_lock = threading.Lock()

    def accept(
        self,
        path_type: str,
        raw: bytes,
        *,
        authorization: str | None,
        content_encoding: str | None,
    ) -> IngestResult:
        """Accept a `/v1/<path_type>` request; the result's events are durable when it returns."""
        body = decode_body(raw, content_encoding)
        if not isinstance(body, dict):
            raise IngestError(400, "invalid_body", "The body must be a JSON object.")
        try:
            return self._accept(path_type, body, authorization)
        except (OperationalError, WriteInterrupted) as exc:
            raise store_unavailable(exc) from exc

    def _accept(
        self, path_type: str, body: dict[str, Any], authorization: str | None
    ) -> IngestResult:
        source = self._authenticate(authorization, body.get("writeKey"))
        items, defaults = self._items(path_type, body)
        arrival = Arrival.of(datetime.now(UTC))
        accepted: list[dict[str, Any]] = []
        rejected: list[dict[str, Any]] = []
        for index, item in enumerate(items):
            event, reason = prepare_event(item, arrival, defaults=defaults)
            if event is None:
                rejected.append({"index": index, "reason": reason})
            else:
                accepted.append(event)
        if self._commit(source, accepted, rejected):
            self._on_accepted()
        return IngestResult(accepted=len(accepted), rejected=rejected)

    def _authenticate(self, authorization: str | None, body_key: Any) -> TrackingSource:
        write_key = write_key_from_basic(authorization) or (
            body_key if isinstance(body_key, str) else None
        )
        if not write_key:
            raise IngestError(
                401,
                "missing_write_key",
                "Send the source's write key as the Basic auth user or as 'writeKey'.",
            )
        source = self._source(write_key)
        if source is None:
            raise IngestError(401, "invalid_write_key", "No enabled source has this write key.")
        return source

    def _source(self, write_key: str) -> TrackingSource | None:
        return self._known.get(write_key, self._find_source)

    def _items(self, path_type: str, body: dict[str, Any]) -> tuple[list[Any], dict[str, Any]]:
        if path_type in BATCH_PATHS:
            batch = body.get("batch")
            if not isinstance(batch, list):
                raise IngestError(400, "invalid_batch", "'batch' must be a list of events.")
            if len(batch) > MAX_BATCH_EVENTS:
                raise IngestError(
                    400,
                    "batch_too_large",
                    f"A batch holds at most {MAX_BATCH_EVENTS} events, not {len(batch)}.",
                )
            defaults = {
                k: body[k] for k in ("context", "integrations") if isinstance(body.get(k), dict)
            }
            return batch, defaults
        if path_type not in EVENT_TYPES:
            raise IngestError(404, "unknown_path", f"There is no /v1/{path_type} endpoint.")
        return [{**body, "type": path_type}], {}

    def _commit(
        self, source: TrackingSource, accepted: list[dict[str, Any]], rejected: list[dict[str, Any]]
    ) -> bool:
        """Queue the accepted events' deliveries and count the request, durably; whether any
        delivery was queued.

        Group commit: requests that arrive while another one writes wait for their turn, and
        the request whose turn it is writes every waiting one in one transaction. Each
        request still returns only once its own events are committed."""
        mine = _Pending(
            source,
            accepted,
            Counter(str(r["reason"]) for r in rejected),
            self._fan_out.destinations(source.id),
            time.time(),
        )
        with self._waiting_lock:
            self._waiting.append(mine)
        with self._writer:
            if mine.outcome is None:
                with self._waiting_lock:
                    group, self._waiting = self._waiting, []
                self._write_group(group)
        if isinstance(mine.outcome, Exception):
            raise mine.outcome
        return bool(mine.outcome)

    def _write_group(self, group: list[_Pending]) -> None:
        """Write `group` in one transaction, each request in a savepoint of its own: one the
        database refuses fails alone. An outcome is given once the commit has ended, so none
        is taken for durable before it is."""
        outcomes: list[bool | Exception] = [WriteInterrupted() for _ in group]
        try:
            with write_transaction(self._engine) as conn:
                if len(group) == 1:  # it fails alone anyway: no savepoint needed
                    written: list[bool | Exception] = [self._write(conn, group[0])]
                else:
                    written = [self._write_own(conn, pending) for pending in group]
            outcomes = written
        except Exception as exc:  # noqa: BLE001 - raised again in the requests it belongs to
            outcomes = [exc] * len(group)
        finally:
            for pending, outcome in zip(group, outcomes, strict=True):
                pending.outcome = outcome

    def _write_own(self, conn: Connection, pending: _Pending) -> bool | Exception:
        try:
            with conn.begin_nested():
                return self._write(conn, pending)
        except Exception as exc:  # noqa: BLE001 - raised again in the request it belongs to
            return exc

    def _write(self, conn: Connection, pending: _Pending) -> bool:
        source, now = pending.source, pending.at
        deliveries = self._fan_out.jobs(
            conn,
            source.workspace_id,
            source.id,
            pending.accepted,
            now,
            now,
            destinations=pending.destinations,
        )
        self._queue.enqueue(conn, deliveries)
        self._intake.write(conn, source.id, int(now // 60), len(pending.accepted), pending.reasons)
        return bool(deliveries)


@dataclass
class _Pending:
    """One request's accepted events, waiting to be written."""

    source: TrackingSource
    accepted: list[dict[str, Any]]
    reasons: Counter[str]
    """Why the others were rejected, counted."""
    destinations: Sequence[DestinationPlan]
    at: float
    outcome: bool | Exception | None = None
    """None until its transaction has ended; then whether any delivery was queued, or why
    the request could not be written."""


class WriteInterrupted(RuntimeError):
    """The write of a request's group ended without committing or failing (the thread
    writing it was interrupted): the request must not answer 200."""

    def __init__(self) -> None:
        super().__init__("the write of this request was interrupted")
