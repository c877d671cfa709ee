"""What the pipeline runs: each function instance with its pinned version's code, kind and
timeout, and its settings decrypted. The only place sealed settings are opened, and only
to hand them to the sandbox for a call."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from headrace.pipeline.catalog import DestinationPlan, FunctionInstancePlan
from headrace.pipeline.filters import FilterError, compile_filters
from headrace.runtime import FunctionKind, FunctionSpec
from headrace.runtime.validation import defined_handlers
from headrace.security.secrets import SecretError
from headrace.services.function_settings import open_values, problem_for_call, schema_from_json
from headrace.services.instances import WEBHOOK_SETTINGS
from headrace.services.pinning import (
    PinnedInstance,
    ResourceType,
    SecretBoxSource,
    pinned_version,
    settings_place,
    stored_settings,
)
from headrace.store.destination_filters import DestinationFilterRepository, filter_spec
from headrace.store.destinations import (
    Destination,
    DestinationRepository,
    InsertFunctionInstance,
    InsertFunctionInstanceRepository,
)
from headrace.store.functions import Function
from headrace.store.sources import Source
from headrace.store.workspaces import Workspace


@dataclass(frozen=True)
class InstanceInvocation:
    """One function instance as the runtime should host it."""

    workspace_id: str
    instance_id: str
    function_id: str
    version_id: str
    kind: FunctionKind
    code: str
    timeout_s: float
    settings: dict[str, Any] = field(repr=False)
    """Decrypted: keep out of logs, records and responses."""
    settings_error: str | None = None
    """Why the settings do not fit the pinned version (not retried), or None."""

    @property
    def spec(self) -> FunctionSpec:
        """Keyed by workspace, instance and version: a deploy gets fresh workers."""
        return FunctionSpec(
            key=f"{self.workspace_id}:{self.instance_id}:{self.version_id}",
            code=self.code,
            kind=self.kind,
            timeout_s=self.timeout_s,
        )

    def plan(self) -> FunctionInstancePlan:
        return FunctionInstancePlan(
            instance_id=self.instance_id,
            function_id=self.function_id,
            spec=self.spec,
            settings=self.settings,
            settings_error=self.settings_error,
            handlers=_defined_handlers(self.code),
        )


class InvocationService:
    def __init__(self, sessions: sessionmaker[Session], secrets: SecretBoxSource) -> None:
        self._sessions = sessions
        self._secrets = secrets

    def instance(self, instance_id: str) -> InstanceInvocation | None:
        """A FUNCTION source, FUNCTION destination or insert function instance, by id."""
        with self._sessions() as session:
            row: PinnedInstance | None = (
                session.get(Destination, instance_id)
                or session.get(InsertFunctionInstance, instance_id)
                or session.get(Source, instance_id)
            )
            return None if row is None else self._invocation(session, row)

    def destination(self, destination_id: str) -> DestinationPlan | None:
        with self._sessions() as session:
            destination = DestinationRepository(session).get_any(destination_id)
            return None if destination is None else self._plan(session, destination)

    def destinations_of_source(self, source_id: str) -> list[DestinationPlan]:
        """The enabled destinations connected to a source."""
        with self._sessions() as session:
            return [
                self._plan(session, d)
                for d in DestinationRepository(session).of_source(source_id)
                if d.enabled
            ]

    def _plan(self, session: Session, destination: Destination) -> DestinationPlan:
        function_plan = None
        webhook_url: str | None = None
        headers: dict[str, str] = {}
        settings_error: str | None = None
        send_batches = False
        if destination.kind == "WEBHOOK":
            values, settings_error = self._open(destination)
            if settings_error is None:
                settings_error = problem_for_call(WEBHOOK_SETTINGS, values)
            webhook_url = values.get("url")
            headers = dict(values.get("headers") or {})
            send_batches = values.get("sendBatches") is True
        else:
            invocation = self._invocation(session, destination)
            function_plan = invocation.plan() if invocation is not None else None
        insert = InsertFunctionInstanceRepository(session).of_destination(destination.id)
        insert_plan = None
        if insert is not None and insert.enabled:
            insert_invocation = self._invocation(session, insert)
            insert_plan = insert_invocation.plan() if insert_invocation is not None else None
        return DestinationPlan(
            id=destination.id,
            workspace_id=destination.workspace_id,
            name=destination.name,
            kind=destination.kind,
            enabled=destination.enabled,
            names=frozenset(
                {destination.name, destination.id, *_function_names(session, destination)}
            ),
            webhook_url=webhook_url,
            webhook_headers=headers,
            function=function_plan,
            insert=insert_plan,
            settings_error=settings_error,
            send_batches=send_batches,
            batch_max_events=destination.batch_max_events,
            batch_max_wait_s=destination.batch_max_wait_ms / 1000,
            debug_until=destination.debug_until,
            **_filters(session, destination),
        )

    def _invocation(self, session: Session, instance: PinnedInstance) -> InstanceInvocation | None:
        version = pinned_version(session, instance)
        function = session.get(Function, instance.function_id) if instance.function_id else None
        if version is None or function is None:
            return None
        values, error = self._open(instance)
        if error is None:
            error = problem_for_call(schema_from_json(version.settings), values)
        return InstanceInvocation(
            workspace_id=instance.workspace_id,
            instance_id=instance.id,
            function_id=function.id,
            version_id=version.id,
            kind=ResourceType(function.resource_type).kind,
            code=version.code,
            timeout_s=version.timeout_ms / 1000,
            settings=values,
            settings_error=error,
        )

    def _open(self, instance: PinnedInstance) -> tuple[dict[str, Any], str | None]:
        try:
            return open_values(
                self._secrets(), settings_place(instance), stored_settings(instance)
            ), None
        except SecretError as exc:
            return {}, str(exc)


def _filters(session: Session, destination: Destination) -> dict[str, Any]:
    """The destination's filters, compiled for the plan (or why they do not compile)."""
    rows = DestinationFilterRepository(session).of_destination(
        destination.workspace_id, destination.id
    )
    if not rows:
        return {}
    try:
        return {"filters": compile_filters([filter_spec(row) for row in rows])}
    except FilterError as exc:
        return {"filters_error": f"a destination filter does not compile: {exc}"}


@lru_cache(maxsize=256)
def _defined_handlers(code: str) -> frozenset[str]:
    return defined_handlers(code)


def _function_names(session: Session, destination: Destination) -> set[str]:
    """A function destination also answers to "<function displayName> (<workspace name>)"."""
    function = session.get(Function, destination.function_id) if destination.function_id else None
    workspace = session.get(Workspace, destination.workspace_id)
    if function is None or workspace is None:
        return set()
    return {f"{function.display_name} ({workspace.name})"}
