"""Sources: TRACKING ones (a generated write key for the tracking API) and FUNCTION ones
(an instance of a SOURCE function, pinned to a version)."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from headrace.security import Principal, Role
from headrace.services import audit
from headrace.services.authorization import require, require_member
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
from headrace.store.base import new_id, utcnow
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


@dataclass(frozen=True)
class TrackingSourceRef:
    """What the tracking API needs to accept events for a write key."""

    id: str
    workspace_id: str


def generate_write_key() -> str:
    return secrets.token_urlsafe(WRITE_KEY_BYTES)


class SourceService:
    def __init__(self, sessions: sessionmaker[Session], secrets: SecretBoxSource) -> None:
        self._sessions = sessions
        self._secrets = secrets

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
            SourceRepository(session).add(source)
            audit.record(session, principal, "source.created", "source", source.id, details)
            return _view(session, source)

    def list_all(self, principal: Principal) -> list[SourceView]:
        require_member(principal)
        with self._sessions() as session:
            return [
                _view(session, s)
                for s in SourceRepository(session).in_workspace(principal.workspace_id)
            ]

    def get(self, principal: Principal, source_id: str) -> SourceView:
        require_member(principal)
        with self._sessions() as session:
            return _view(session, find_source(session, principal, source_id))

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
            return _view(session, source)

    def delete(self, principal: Principal, source_id: str) -> None:
        """Its destinations stay, disconnected from it."""
        with self._sessions.begin() as session:
            source = find_source(session, principal, source_id)
            require_change(principal, source, source.id)
            audit.record(
                session, principal, "source.deleted", "source", source.id, {"name": source.name}
            )
            SourceRepository(session).delete(source)

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


def _view(session: Session, source: Source) -> SourceView:
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
    )
