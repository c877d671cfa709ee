"""What source functions see: the incoming `request`, and `Segment` to emit events."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import orjson

from headrace.errors import ValidationError
from headrace.runtime.guest.fetch import Headers
from headrace.spec import missing_object_fields, validate_event

MAX_EMITTED_EVENTS = 1000
MAX_EMITTED_EVENT_BYTES = 32 * 1024


class SearchParams:
    def __init__(self, query: dict[str, list[str]]) -> None:
        self._query = query

    def get(self, name: str) -> str | None:
        values = self._query.get(name)
        return values[0] if values else None

    def getAll(self, name: str) -> list[str]:  # noqa: N802 - the URL API's name
        return list(self._query.get(name, []))

    def has(self, name: str) -> bool:
        return name in self._query


class URL:
    """The request URL: `href`, `path`, `query` (first value per name) and `searchParams`."""

    def __init__(self, href: str, query: dict[str, list[str]]) -> None:
        self.href = href
        # The path alone, also when the href is a whole URL (as for a webhook request).
        self.path = urlsplit(href).path or "/"
        self.query = {name: values[0] for name, values in query.items() if values}
        self.searchParams = SearchParams(query)

    def __str__(self) -> str:
        return self.href


class Request:
    """The webhook request a source function's `on_request(request, settings)` receives."""

    def __init__(self, payload: dict[str, Any]) -> None:
        if "payload" in payload and "body" not in payload and isinstance(payload["payload"], dict):
            payload = payload["payload"]
        self.method: str = str(payload.get("method", "POST")).upper()
        self.headers = Headers({str(k): str(v) for k, v in (payload.get("headers") or {}).items()})
        query = _query_lists(payload.get("queryParameters") or {})
        href = str(payload.get("url") or "/")
        if query and "?" not in href:
            href += "?" + urlencode(query, doseq=True)
        elif "?" in href:
            query = parse_qs(href.split("?", 1)[1], keep_blank_values=True) | query
        self.url = URL(href, query)
        self._body = payload.get("body")

    def text(self) -> str:
        if self._body is None:
            return ""
        if isinstance(self._body, str):
            return self._body
        return orjson.dumps(self._body).decode()

    def json(self) -> Any:
        if isinstance(self._body, str):
            try:
                return orjson.loads(self._body)
            except orjson.JSONDecodeError as exc:
                raise ValidationError(f"the request body is not JSON: {exc}") from None
        return self._body

    def form(self) -> dict[str, str]:
        """An `application/x-www-form-urlencoded` body, first value per name."""
        return {k: v[0] for k, v in parse_qs(self.text(), keep_blank_values=True).items()}


def _query_lists(query: dict[str, Any]) -> dict[str, list[str]]:
    return {
        str(k): [str(x) for x in v] if isinstance(v, list) else [str(v)] for k, v in query.items()
    }


class Segment:
    """`Segment.track({...})` and friends: collect the events a source function emits."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.objects: list[dict[str, Any]] = []

    def reset(self) -> None:
        self.events, self.objects = [], []

    def _emit(self, kind: str, fields: Any) -> None:
        if not isinstance(fields, dict):
            raise ValidationError(f"Segment.{kind} takes a dict, got {type(fields).__name__}")
        if len(self.events) >= MAX_EMITTED_EVENTS:
            raise ValidationError(f"a request may emit at most {MAX_EMITTED_EVENTS} events")
        event = {**fields, "type": kind}
        reason = validate_event(event)
        if reason is not None:
            raise ValidationError(f"Segment.{kind}: {reason}")
        try:
            size = len(orjson.dumps(event))
        except TypeError as exc:
            raise ValidationError(f"Segment.{kind}: the event is not JSON: {exc}") from None
        if size > MAX_EMITTED_EVENT_BYTES:
            raise ValidationError(
                f"Segment.{kind}: the event is {size} bytes, over the "
                f"{MAX_EMITTED_EVENT_BYTES}-byte limit"
            )
        self.events.append(event)

    def track(self, fields: Any) -> None:
        self._emit("track", fields)

    def identify(self, fields: Any) -> None:
        self._emit("identify", fields)

    def page(self, fields: Any) -> None:
        self._emit("page", fields)

    def screen(self, fields: Any) -> None:
        self._emit("screen", fields)

    def group(self, fields: Any) -> None:
        self._emit("group", fields)

    def alias(self, fields: Any) -> None:
        self._emit("alias", fields)

    def set(self, obj: Any) -> None:
        reason = missing_object_fields(obj)
        if reason is not None:
            raise ValidationError(reason)
        self.objects.append(dict(obj))
