"""Destinations (WEBHOOK, or FUNCTION: an instance of a DESTINATION function) with the
sources they receive from, and the insert function instances in front of them."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from headrace.security import Principal, Role
from headrace.services import audit
from headrace.services.authorization import require, require_each, require_member
from headrace.services.errors import Conflict, NotFound, Unprocessable
from headrace.services.function_settings import schema_from_json
from headrace.services.instances import (
    WEBHOOK_SETTINGS,
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
from headrace.store.destinations import (
    Destination,
    DestinationRepository,
    InsertFunctionInstance,
    InsertFunctionInstanceRepository,
)
from headrace.store.sources import SourceRepository

DEFAULT_BATCH_MAX_EVENTS = 20
MAX_BATCH_MAX_EVENTS = 400
DEFAULT_BATCH_MAX_WAIT_MS = 10_000
MAX_BATCH_MAX_WAIT_MS = 60_000


class DestinationKind(StrEnum):
    FUNCTION = "FUNCTION"
    WEBHOOK = "WEBHOOK"


@dataclass(frozen=True)
class Batch:
    max_events: int = DEFAULT_BATCH_MAX_EVENTS
    max_wait_ms: int = DEFAULT_BATCH_MAX_WAIT_MS


@dataclass(frozen=True)
class DestinationView:
    id: str
    name: str
    source_ids: list[str]
    kind: str
    function_id: str | None
    version_id: str | None
    settings: dict[str, Any]
    sensitive_settings: dict[str, bool]
    enabled: bool
    batch: Batch
    insert_function_instance_id: str | None
    created_at: datetime
    updated_at: datetime
    debug_until: datetime | None = None
    """While debug capture is on: until when plain deliveries are recorded too."""


@dataclass(frozen=True)
class InsertFunctionInstanceView:
    id: str
    function_id: str
    version_id: str
    destination_id: str
    enabled: bool
    settings: dict[str, Any]
    sensitive_settings: dict[str, bool]
    created_at: datetime
    updated_at: datetime


class DestinationService:
    def __init__(self, sessions: sessionmaker[Session], secrets: SecretBoxSource) -> None:
        self._sessions = sessions
        self._secrets = secrets

    def create(
        self,
        principal: Principal,
        *,
        name: str,
        kind: DestinationKind,
        function_id: str | None = None,
        source_ids: Sequence[str] = (),
        settings: Mapping[str, Any] | None = None,
        enabled: bool = True,
        batch: Batch | None = None,
    ) -> DestinationView:
        require(principal, Role.SOURCE_ADMIN)
        name = check_name(name)
        batch = _check_batch(batch or Batch())
        with self._sessions.begin() as session:
            destination = Destination(
                id=new_id("dst"),
                workspace_id=principal.workspace_id,
                name=name,
                kind=kind.value,
                settings="{}",
                secrets="{}",
                enabled=enabled,
                batch_max_events=batch.max_events,
                batch_max_wait_ms=batch.max_wait_ms,
            )
            details: dict[str, object] = {"name": name, "kind": kind.value, "enabled": enabled}
            if kind is DestinationKind.WEBHOOK:
                if function_id is not None:
                    raise Unprocessable(
                        "A WEBHOOK destination runs no function; leave functionId out.",
                        field="functionId",
                    )
                schema = WEBHOOK_SETTINGS
            else:
                if function_id is None:
                    raise Unprocessable(
                        "A FUNCTION destination needs the functionId of a DESTINATION function.",
                        field="functionId",
                    )
                function = function_of_type(
                    session, principal, function_id, ResourceType.DESTINATION
                )
                require(principal, Role.FUNCTIONS_ADMIN, function.id)
                version = latest_version(session, function)
                destination.function_id, destination.version_id = function.id, version.id
                details["functionId"] = function.id
                details["version"] = version.version
                schema = schema_from_json(version.settings)
            details["settings"] = set_initial_settings(
                self._secrets(), destination, schema, settings or {}
            )
            repository = DestinationRepository(session)
            repository.add(destination)
            connected = _check_sources(session, principal, source_ids)
            repository.set_source_ids(destination.id, connected)
            details["sourceIds"] = connected
            audit.record(
                session, principal, "destination.created", "destination", destination.id, details
            )
            return _view(session, destination)

    def list_all(self, principal: Principal) -> list[DestinationView]:
        require_member(principal)
        with self._sessions() as session:
            destinations = DestinationRepository(session).in_workspace(principal.workspace_id)
            return [_view(session, d) for d in destinations]

    def get(self, principal: Principal, destination_id: str) -> DestinationView:
        require_member(principal)
        with self._sessions() as session:
            return _view(session, find_destination(session, principal, destination_id))

    def update(
        self,
        principal: Principal,
        destination_id: str,
        *,
        name: str | None = None,
        enabled: bool | None = None,
        settings: Mapping[str, Any] | None = None,
        source_ids: Sequence[str] | None = None,
        batch: Batch | None = None,
    ) -> DestinationView:
        with self._sessions.begin() as session:
            destination = find_destination(session, principal, destination_id)
            require_change(principal, destination, destination.id)
            details: dict[str, object] = {}
            if name is not None:
                destination.name = details["name"] = check_name(name)
            if enabled is not None:
                destination.enabled = details["enabled"] = enabled
            if batch is not None:
                batch = _check_batch(batch)
                destination.batch_max_events = batch.max_events
                destination.batch_max_wait_ms = batch.max_wait_ms
                details["batch"] = {"maxEvents": batch.max_events, "maxWaitMs": batch.max_wait_ms}
            if settings is not None:
                details["settings"] = change_settings(
                    self._secrets(), destination, schema_of(session, destination), settings
                )
            if source_ids is not None:
                repository = DestinationRepository(session)
                current = set(repository.source_ids([destination.id])[destination.id])
                connected = _check_sources(
                    session, principal, source_ids, already=frozenset(current)
                )
                repository.set_source_ids(destination.id, connected)
                details["sourceIds"] = connected
            destination.updated_at = utcnow()
            audit.record(
                session, principal, "destination.updated", "destination", destination.id, details
            )
            session.flush()
            return _view(session, destination)

    def delete(self, principal: Principal, destination_id: str) -> None:
        """Its insert function instance, if any, goes with it."""
        with self._sessions.begin() as session:
            destination = find_destination(session, principal, destination_id)
            require_change(principal, destination, destination.id)
            insert = InsertFunctionInstanceRepository(session).of_destination(destination.id)
            details: dict[str, object] = {"name": destination.name}
            if insert is not None:
                details["insertFunctionInstanceId"] = insert.id
            audit.record(
                session, principal, "destination.deleted", "destination", destination.id, details
            )
            DestinationRepository(session).delete(destination)


class InsertFunctionInstanceService:
    def __init__(self, sessions: sessionmaker[Session], secrets: SecretBoxSource) -> None:
        self._sessions = sessions
        self._secrets = secrets

    def create(
        self,
        principal: Principal,
        *,
        function_id: str,
        destination_id: str,
        settings: Mapping[str, Any] | None = None,
        enabled: bool = True,
    ) -> InsertFunctionInstanceView:
        with self._sessions.begin() as session:
            function = function_of_type(
                session, principal, function_id, ResourceType.INSERT_DESTINATION
            )
            destination = find_destination(
                session, principal, destination_id, field="destinationId"
            )
            require(principal, Role.FUNCTIONS_ADMIN, function.id)
            require(principal, Role.SOURCE_ADMIN, destination.id)
            repository = InsertFunctionInstanceRepository(session)
            existing = repository.of_destination(destination.id)
            if existing is not None:
                raise Conflict(
                    f"Destination {destination.id} already has insert function instance "
                    f"{existing.id}; a destination has at most one.",
                    field="destinationId",
                )
            version = latest_version(session, function)
            instance = InsertFunctionInstance(
                id=new_id("ins"),
                workspace_id=principal.workspace_id,
                function_id=function.id,
                version_id=version.id,
                destination_id=destination.id,
                settings="{}",
                secrets="{}",
                enabled=enabled,
            )
            names = set_initial_settings(
                self._secrets(), instance, schema_from_json(version.settings), settings or {}
            )
            repository.add(instance)
            audit.record(
                session,
                principal,
                "insert_function_instance.created",
                "insert_function_instance",
                instance.id,
                {
                    "functionId": function.id,
                    "destinationId": destination.id,
                    "version": version.version,
                    "enabled": enabled,
                    "settings": names,
                },
            )
            return _insert_view(session, instance)

    def list_all(self, principal: Principal) -> list[InsertFunctionInstanceView]:
        require_member(principal)
        with self._sessions() as session:
            instances = InsertFunctionInstanceRepository(session).in_workspace(
                principal.workspace_id
            )
            return [_insert_view(session, i) for i in instances]

    def get(self, principal: Principal, instance_id: str) -> InsertFunctionInstanceView:
        require_member(principal)
        with self._sessions() as session:
            return _insert_view(session, _find_insert(session, principal, instance_id))

    def update(
        self,
        principal: Principal,
        instance_id: str,
        *,
        enabled: bool | None = None,
        settings: Mapping[str, Any] | None = None,
    ) -> InsertFunctionInstanceView:
        with self._sessions.begin() as session:
            instance = _find_insert(session, principal, instance_id)
            require_change(principal, instance, instance.destination_id)
            details: dict[str, object] = {}
            if enabled is not None:
                instance.enabled = details["enabled"] = enabled
            if settings is not None:
                details["settings"] = change_settings(
                    self._secrets(), instance, schema_of(session, instance), settings
                )
            instance.updated_at = utcnow()
            audit.record(
                session,
                principal,
                "insert_function_instance.updated",
                "insert_function_instance",
                instance.id,
                details,
            )
            session.flush()
            return _insert_view(session, instance)

    def delete(self, principal: Principal, instance_id: str) -> None:
        with self._sessions.begin() as session:
            instance = _find_insert(session, principal, instance_id)
            require_change(principal, instance, instance.destination_id)
            audit.record(
                session,
                principal,
                "insert_function_instance.deleted",
                "insert_function_instance",
                instance.id,
                {"functionId": instance.function_id, "destinationId": instance.destination_id},
            )
            InsertFunctionInstanceRepository(session).delete(instance)


def find_destination(
    session: Session, principal: Principal, destination_id: str, field: str | None = None
) -> Destination:
    destination = DestinationRepository(session).get(principal.workspace_id, destination_id)
    if destination is None:
        raise NotFound(f"There is no destination {destination_id} in this workspace.", field=field)
    return destination


def _find_insert(
    session: Session, principal: Principal, instance_id: str
) -> InsertFunctionInstance:
    instance = InsertFunctionInstanceRepository(session).get(principal.workspace_id, instance_id)
    if instance is None:
        raise NotFound(f"There is no insert function instance {instance_id} in this workspace.")
    return instance


def _check_sources(
    session: Session,
    principal: Principal,
    source_ids: Sequence[str],
    already: frozenset[str] = frozenset(),
) -> list[str]:
    """The sources to connect, each of this workspace; connecting a new one needs
    SOURCE_ADMIN for it."""
    found = SourceRepository(session).get_many(principal.workspace_id, source_ids)
    for index, source_id in enumerate(source_ids):
        if source_id not in found:
            raise NotFound(
                f"There is no source {source_id} in this workspace.", field=f"sourceIds[{index}]"
            )
    require_each(principal, Role.SOURCE_ADMIN, [s for s in source_ids if s not in already])
    return sorted(set(source_ids))


def _check_batch(batch: Batch) -> Batch:
    if not 1 <= batch.max_events <= MAX_BATCH_MAX_EVENTS:
        raise Unprocessable(
            f"batch.maxEvents must be between 1 and {MAX_BATCH_MAX_EVENTS}.",
            field="batch.maxEvents",
        )
    if not 0 <= batch.max_wait_ms <= MAX_BATCH_MAX_WAIT_MS:
        raise Unprocessable(
            f"batch.maxWaitMs must be between 0 and {MAX_BATCH_MAX_WAIT_MS}.",
            field="batch.maxWaitMs",
        )
    return batch


def _view(session: Session, destination: Destination) -> DestinationView:
    settings, sensitive = shown_settings(session, destination)
    source_ids = DestinationRepository(session).source_ids([destination.id])[destination.id]
    insert = InsertFunctionInstanceRepository(session).of_destination(destination.id)
    return DestinationView(
        id=destination.id,
        name=destination.name,
        source_ids=source_ids,
        kind=destination.kind,
        function_id=destination.function_id,
        version_id=destination.version_id,
        settings=settings,
        sensitive_settings=sensitive,
        enabled=destination.enabled,
        batch=Batch(destination.batch_max_events, destination.batch_max_wait_ms),
        insert_function_instance_id=insert.id if insert is not None else None,
        created_at=destination.created_at,
        updated_at=destination.updated_at,
        debug_until=_debug_until(destination.debug_until),
    )


def _debug_until(until: float | None) -> datetime | None:
    if until is None or until <= time.time():
        return None
    return datetime.fromtimestamp(until, UTC)


def _insert_view(session: Session, instance: InsertFunctionInstance) -> InsertFunctionInstanceView:
    settings, sensitive = shown_settings(session, instance)
    return InsertFunctionInstanceView(
        id=instance.id,
        function_id=instance.function_id,
        version_id=instance.version_id,
        destination_id=instance.destination_id,
        enabled=instance.enabled,
        settings=settings,
        sensitive_settings=sensitive,
        created_at=instance.created_at,
        updated_at=instance.updated_at,
    )
