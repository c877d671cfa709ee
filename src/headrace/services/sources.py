"""Sources: TRACKING ones (a generated write key for the tracking API) and FUNCTION ones
(an instance of a SOURCE function, pinned to a version, with a webhook URL), and what
became of the requests a FUNCTION source received."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from headrace.security import Principal, Role
from headrace.services import audit
from headrace.services.authorization import require, require_member, require_view_records
from headrace.services.delivery_params import check_record_filter, delivery_period
from headrace.services.errors import NotFound, Unprocessable
from headrace.services.function_settings import schema_from_json
from headrace.services.instances import (
    change_settings,
    check_name,
    require_change,
    schema_of,
    set_initial_settings,
    shown_settings,
)
from headrace.services.pinning import (
    ResourceType,
    SecretBoxSource,
    function_of_type,
    latest_version,
)
from headrace.services.redaction import (
    REDACTED,
    SECRET_NAME,
    RecordView,
    sensitive_values,
    shown_record,
)
from headrace.services.webhooks import (
    WEBHOOK_PATH,
    WebhookSourceRef,
    generate_webhook_token,
    webhook_url,
)
from headrace.store.base import new_id, utcnow
from headrace.store.delivery_queries import (
    IntakeTotals,
    OutcomeTotal,
    StoredOutcome,
    intake_totals,
    outcome_totals,
    recent_outcomes,
)
from headrace.store.source_objects import SourceObject, SourceObjectStore
from headrace.store.sources import Source, SourceRepository

WRITE_KEY_BYTES = 24
"""192 random bits, 32 url-safe characters: unguessable, and short enough to paste."""


class SourceKind(StrEnum):
    TRACKING = "TRACKING"
    FUNCTION = "FUNCTION"


@dataclass(frozen=True)
class SourceView:
    id: str
    name: str
    kind: str
    write_key: str | None
    function_id: str | None
    version_id: str | None
    settings: dict[str, Any]
    sensitive_settings: dict[str, bool]
    enabled: bool
    created_at: datetime
    updated_at: datetime
    webhook_url: str | None = None
    """A FUNCTION source's: where to send the requests its function turns into events."""


@dataclass(frozen=True)
class DeliveryTotalsView:
    """What became of a source's webhook requests, and of the events its function emitted."""

    source_id: str
    since: datetime
    until: datetime
    total: int
    outcomes: list[OutcomeTotal]
    intake: IntakeTotals


@dataclass(frozen=True)
class DeliveryEventView(RecordView):
    """One kept outcome of a webhook request, its request shown with credentials redacted."""

    request_id: str


@dataclass(frozen=True)
class SourceObjectView:
    collection: str
    id: str
    properties: dict[str, Any]
    updated_at: datetime


@dataclass(frozen=True)
class DeliveryEventsView:
    records: list[DeliveryEventView]
    objects: list[SourceObjectView]


@dataclass(frozen=True)
class TrackingSourceRef:
    """What the tracking API needs to accept events for a write key."""

    id: str
    workspace_id: str


def generate_write_key() -> str:
    return secrets.token_urlsafe(WRITE_KEY_BYTES)


class SourceService:
    """`public_url` is the base of webhook URLs (see Settings.effective_public_url)."""

    def __init__(
        self, sessions: sessionmaker[Session], secrets: SecretBoxSource, *, public_url: str = ""
    ) -> None:
        self._sessions = sessions
        self._secrets = secrets
        self._public_url = public_url

    def create(
        self,
        principal: Principal,
        *,
        name: str,
        kind: SourceKind,
        function_id: str | None = None,
        settings: Mapping[str, Any] | None = None,
        enabled: bool = True,
    ) -> SourceView:
        require(principal, Role.SOURCE_ADMIN)
        name = check_name(name)
        with self._sessions.begin() as session:
            source = Source(
                id=new_id("src"),
                workspace_id=principal.workspace_id,
                name=name,
                kind=kind.value,
                settings="{}",
                secrets="{}",
                enabled=enabled,
            )
            details: dict[str, object] = {"name": name, "kind": kind.value, "enabled": enabled}
            if kind is SourceKind.TRACKING:
                if function_id is not None:
                    raise Unprocessable(
                        "A TRACKING source runs no function; leave functionId out.",
                        field="functionId",
                    )
                if settings:
                    raise Unprocessable("A TRACKING source has no settings.", field="settings")
                source.write_key = generate_write_key()
            else:
                if function_id is None:
                    raise Unprocessable(
                        "A FUNCTION source needs the functionId of a SOURCE function.",
                        field="functionId",
                    )
                function = function_of_type(session, principal, function_id, ResourceType.SOURCE)
                require(principal, Role.FUNCTIONS_ADMIN, function.id)
                version = latest_version(session, function)
                source.function_id, source.version_id = function.id, version.id
                details["functionId"] = function.id
                details["version"] = version.version
                details["settings"] = set_initial_settings(
                    self._secrets(), source, schema_from_json(version.settings), settings or {}
                )
                source.webhook_token = generate_webhook_token()
            SourceRepository(session).add(source)
            audit.record(session, principal, "source.created", "source", source.id, details)
            return self._view(session, source, principal)

    def list_all(self, principal: Principal) -> list[SourceView]:
        require_member(principal)
        with self._sessions() as session:
            return [
                self._view(session, s, principal)
                for s in SourceRepository(session).in_workspace(principal.workspace_id)
            ]

    def get(self, principal: Principal, source_id: str) -> SourceView:
        require_member(principal)
        with self._sessions() as session:
            return self._view(session, find_source(session, principal, source_id), principal)

    def update(
        self,
        principal: Principal,
        source_id: str,
        *,
        name: str | None = None,
        enabled: bool | None = None,
        settings: Mapping[str, Any] | None = None,
    ) -> SourceView:
        """Rename, enable or disable, or change settings (merged: a None removes one)."""
        with self._sessions.begin() as session:
            source = find_source(session, principal, source_id)
            require_change(principal, source, source.id)
            details: dict[str, object] = {}
            if name is not None:
                source.name = details["name"] = check_name(name)
            if enabled is not None:
                source.enabled = details["enabled"] = enabled
            if settings is not None:
                if source.kind == SourceKind.TRACKING and settings:
                    raise Unprocessable("A TRACKING source has no settings.", field="settings")
                details["settings"] = change_settings(
                    self._secrets(), source, schema_of(session, source), settings
                )
            source.updated_at = utcnow()
            audit.record(session, principal, "source.updated", "source", source.id, details)
            return self._view(session, source, principal)

    def delete(self, principal: Principal, source_id: str) -> None:
        """Its destinations stay, disconnected from it."""
        with self._sessions.begin() as session:
            source = find_source(session, principal, source_id)
            require_change(principal, source, source.id)
            audit.record(
                session, principal, "source.deleted", "source", source.id, {"name": source.name}
            )
            SourceRepository(session).delete(source)

    def rotate_webhook_token(self, principal: Principal, source_id: str) -> SourceView:
        """A new webhook URL for a FUNCTION source; the old one stops working at once."""
        with self._sessions.begin() as session:
            source = find_source(session, principal, source_id)
            require_change(principal, source, source.id)
            if source.kind != SourceKind.FUNCTION:
                raise Unprocessable("Only a FUNCTION source has a webhook URL to rotate.")
            source.webhook_token = generate_webhook_token()
            source.updated_at = utcnow()
            # The token itself is a credential: the audit says only that it changed.
            audit.record(
                session, principal, "source.webhook_token_rotated", "source", source.id, {}
            )
            return self._view(session, source, principal)

    def find_webhook_source(self, token: str) -> WebhookSourceRef | None:
        """The FUNCTION source with this webhook token (enabled or not), for the webhook API."""
        with self._sessions() as session:
            source = session.scalars(select(Source).where(Source.webhook_token == token)).first()
            if source is None or source.kind != SourceKind.FUNCTION:
                return None
            return WebhookSourceRef(
                id=source.id, workspace_id=source.workspace_id, enabled=source.enabled
            )

    def is_webhook_token(self, token: str) -> bool:
        return self.find_webhook_source(token) is not None

    def delivery_totals(
        self,
        principal: Principal,
        source_id: str,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> DeliveryTotalsView:
        """Outcomes of the source's requests by status and category, and its events accepted
        and rejected, over [since, until) counted by the minute (default: the last 24 h)."""
        require_member(principal)
        since, until = delivery_period(since, until)
        with self._sessions() as session:
            source = find_source(session, principal, source_id)
            conn = session.connection()
            start, end = since.timestamp(), until.timestamp()
            outcomes = outcome_totals(conn, source.id, start, end)
            intake = intake_totals(conn, source.id, start, end)
        return DeliveryTotalsView(
            source_id=source_id,
            since=since,
            until=until,
            total=sum(o.count for o in outcomes),
            outcomes=outcomes,
            intake=intake,
        )

    def delivery_events(
        self,
        principal: Principal,
        source_id: str,
        *,
        status: str | None = None,
        category: str | None = None,
        collection: str | None = None,
        limit: int = 100,
    ) -> DeliveryEventsView:
        """The source's kept request outcomes, newest first (requests that simply succeeded
        are only counted), and the objects its function set, most recent first. Needs
        SOURCE_ADMIN for the source or a functions role for its function: the requests
        are shown as received."""
        check_record_filter(status, category)
        with self._sessions() as session:
            source = find_source(session, principal, source_id)
            require_view_records(principal, source.id, source.function_id)
            secrets = sensitive_values(self._secrets(), [source])
            conn = session.connection()
            stored = recent_outcomes(
                conn,
                source.id,
                statuses=[status] if status else None,
                categories=[category] if category else None,
                limit=limit,
            )
            objects = SourceObjectStore().recent(
                conn, source.id, collection=collection, limit=limit
            )
        return DeliveryEventsView(
            records=[_event_view(o, secrets) for o in stored],
            objects=[_object_view(o) for o in objects],
        )

    def _view(self, session: Session, source: Source, principal: Principal) -> SourceView:
        """The webhook URL carries the token that lets anyone post into the source: it is
        shown only to members who may change the source."""
        shown = principal.has_role(Role.SOURCE_ADMIN, source.id)
        return _view(session, source, self._public_url if shown else None)

    def find_tracking_source(self, write_key: str) -> TrackingSourceRef | None:
        """The enabled TRACKING source with this write key, for the tracking API."""
        with self._sessions() as session:
            source = SourceRepository(session).find_by_write_key(write_key)
            if source is None or not source.enabled or source.kind != SourceKind.TRACKING:
                return None
            return TrackingSourceRef(id=source.id, workspace_id=source.workspace_id)


def find_source(
    session: Session, principal: Principal, source_id: str, field: str | None = None
) -> Source:
    source = SourceRepository(session).get(principal.workspace_id, source_id)
    if source is None:
        raise NotFound(f"There is no source {source_id} in this workspace.", field=field)
    return source


def _event_view(stored: StoredOutcome, secrets: list[str]) -> DeliveryEventView:
    """A record as shown: the source's sensitive setting values redacted wherever they
    appear, credential headers too."""
    shown = shown_record(stored, redacted_request(stored.payload), secrets)
    return DeliveryEventView(request_id=stored.message_id, **shown)


def redacted_request(payload: bytes) -> Any:
    """A stored webhook request as shown to users: credential headers and the URL's token
    replaced by REDACTED."""
    try:
        request = orjson.loads(payload)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(request, dict):
        return request
    headers = request.get("headers")
    if isinstance(headers, dict):
        request["headers"] = {
            name: REDACTED if SECRET_NAME.search(name) else value for name, value in headers.items()
        }
    url = request.get("url")
    if isinstance(url, str) and WEBHOOK_PATH in url:
        base, _, rest = url.partition(WEBHOOK_PATH)
        query = rest.partition("?")[2]
        request["url"] = f"{base}{WEBHOOK_PATH}{REDACTED}" + (f"?{query}" if query else "")
    return request


def _object_view(stored: SourceObject) -> SourceObjectView:
    return SourceObjectView(
        collection=stored.collection,
        id=stored.object_id,
        properties=orjson.loads(stored.properties),
        updated_at=datetime.fromtimestamp(stored.updated_at, UTC),
    )


def _view(session: Session, source: Source, public_url: str | None) -> SourceView:
    """`public_url` None leaves the webhook URL out."""
    settings, sensitive = shown_settings(session, source)
    return SourceView(
        id=source.id,
        name=source.name,
        kind=source.kind,
        write_key=source.write_key,
        function_id=source.function_id,
        version_id=source.version_id,
        settings=settings,
        sensitive_settings=sensitive,
        enabled=source.enabled,
        created_at=source.created_at,
        updated_at=source.updated_at,
        webhook_url=webhook_url(public_url, source.webhook_token)
        if source.webhook_token and public_url is not None
        else None,
    )
