"""Function instances pinned to versions: a FUNCTION source, a FUNCTION destination or an
insert function instance runs exactly the version it is pinned to; only deploy moves it."""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum

from sqlalchemy.orm import Session

from headrace.runtime import FunctionKind
from headrace.security import Principal
from headrace.security.secrets import SecretBox
from headrace.services.errors import NotFound, Unprocessable
from headrace.services.function_settings import StoredSettings, reseal_for, schema_from_json
from headrace.store.destinations import (
    Destination,
    DestinationRepository,
    InsertFunctionInstance,
    InsertFunctionInstanceRepository,
)
from headrace.store.functions import Function, FunctionRepository, FunctionVersion
from headrace.store.sources import Source, SourceRepository

SecretBoxSource = Callable[[], SecretBox]
"""Gives the installation's SecretBox; called only when a value is sealed or opened."""

PinnedInstance = Source | Destination | InsertFunctionInstance


class ResourceType(StrEnum):
    """What a function is for, in the words of Segment's Public API."""

    DESTINATION = "DESTINATION"
    INSERT_DESTINATION = "INSERT_DESTINATION"
    SOURCE = "SOURCE"

    @property
    def kind(self) -> FunctionKind:
        return _KIND_OF[self]


_KIND_OF = {
    ResourceType.DESTINATION: FunctionKind.DESTINATION,
    ResourceType.INSERT_DESTINATION: FunctionKind.INSERT,
    ResourceType.SOURCE: FunctionKind.SOURCE,
}


def find_function(
    session: Session, principal: Principal, function_id: str, field: str | None = None
) -> Function:
    """The caller's workspace's function; NotFound (never Forbidden) for any other id."""
    function = FunctionRepository(session).get(principal.workspace_id, function_id)
    if function is None:
        raise NotFound(f"There is no function {function_id} in this workspace.", field=field)
    return function


def function_of_type(
    session: Session, principal: Principal, function_id: str, expected: ResourceType
) -> Function:
    """A function for a new instance: it exists here and has the right resourceType."""
    function = find_function(session, principal, function_id, field="functionId")
    if function.resource_type != expected.value:
        raise Unprocessable(
            f"Function {function_id} is a {function.resource_type} function; "
            f"this needs a {expected.value} function.",
            field="functionId",
        )
    return function


def latest_version(session: Session, function: Function) -> FunctionVersion:
    version = (
        FunctionRepository(session).version_by_id(function.latest_version_id)
        if function.latest_version_id
        else None
    )
    if version is None:
        raise NotFound(f"Function {function.id} has no version.")
    return version


def pinned_version(session: Session, instance: PinnedInstance) -> FunctionVersion | None:
    if instance.version_id is None:
        return None
    return FunctionRepository(session).version_by_id(instance.version_id)


def instances_of_function(session: Session, function_id: str) -> list[PinnedInstance]:
    """Every instance of a function: its sources, destinations and insert instances."""
    return [
        *SourceRepository(session).of_function(function_id),
        *DestinationRepository(session).of_function(function_id),
        *InsertFunctionInstanceRepository(session).of_function(function_id),
    ]


def stored_settings(instance: PinnedInstance) -> StoredSettings:
    return StoredSettings(plain=instance.settings, secrets=instance.secrets)


def settings_place(instance: PinnedInstance) -> str:
    """Where an instance's sealed values belong: a sealed value opens only here."""
    return f"{instance.workspace_id}/{instance.id}"


def move_to_version(box: SecretBox, instance: PinnedInstance, version: FunctionVersion) -> None:
    """Pin `instance` to `version`; settings the new version marks sensitive get sealed."""
    resealed = reseal_for(
        box, settings_place(instance), schema_from_json(version.settings), stored_settings(instance)
    )
    instance.settings, instance.secrets = resealed.plain, resealed.secrets
    instance.version_id = version.id
