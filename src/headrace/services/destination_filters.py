"""Destination filters: managing the filters in front of a destination, and previewing
what a filter makes of one event."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy.orm import Session, sessionmaker

from headrace.pipeline.filters import (
    MAX_FILTERS_PER_DESTINATION,
    CompiledFilter,
    FilterError,
    compile_filter,
    run_filters,
)
from headrace.security import Principal
from headrace.services import audit
from headrace.services.authorization import require_member
from headrace.services.destinations import find_destination
from headrace.services.errors import NotFound, Unprocessable
from headrace.services.instances import require_change
from headrace.store.base import utcnow
from headrace.store.destination_filters import (
    FILTER_TITLE_MAX_LENGTH,
    DestinationFilter,
    DestinationFilterRepository,
    filter_spec,
)


@dataclass(frozen=True)
class DestinationFilterView:
    id: str
    destination_id: str
    title: str
    description: str
    enabled: bool
    condition: str
    """The FQL expression (the API's `if`)."""
    actions: list[dict[str, Any]]
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class FilterPreview:
    """What one filter made of one event: the event to deliver, or None when the filter
    stopped it, with the filter's id (if it has one) and the action (SAMPLE or DROP)."""

    input_payload: dict[str, Any]
    result: dict[str, Any] | None
    dropped_by: str | None
    action: str | None


class DestinationFilterService:
    """Reading filters needs what reading destinations needs (any role in the workspace);
    changing them needs what changing their destination needs."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def create(
        self, principal: Principal, destination_id: str, spec: Mapping[str, Any]
    ) -> DestinationFilterView:
        """Add a filter (`{title?, description?, enabled?, if, actions}`) after the
        destination's others; at most MAX_FILTERS_PER_DESTINATION."""
        with self._sessions.begin() as session:
            destination = find_destination(session, principal, destination_id)
            require_change(principal, destination, destination.id)
            compiled = _compile(spec)
            repository = DestinationFilterRepository(session)
            repository.lock_destination(principal.workspace_id, destination.id)
            row = repository.add(
                DestinationFilter(
                    workspace_id=principal.workspace_id,
                    destination_id=destination.id,
                    title=compiled.title,
                    description=compiled.description,
                    enabled=compiled.enabled,
                    condition=compiled.source,
                    actions=_actions_json(spec),
                )
            )
            # Counted after the insert: on SQLite a transaction takes the write lock with its
            # first write, so of two concurrent creates the later one sees the earlier's row
            # (on PostgreSQL the destination's row lock does the same).
            count = repository.count(principal.workspace_id, destination.id)
            if count > MAX_FILTERS_PER_DESTINATION:
                raise Unprocessable(
                    f"Destination {destination.id} already has "
                    f"{MAX_FILTERS_PER_DESTINATION} filters, the most it may have; "
                    "delete or change one instead."
                )
            audit.record(
                session,
                principal,
                "destination_filter.created",
                "destination_filter",
                row.id,
                {"destinationId": destination.id, **_saved(compiled, spec["actions"])},
            )
            return _view(row)

    def list_all(self, principal: Principal, destination_id: str) -> list[DestinationFilterView]:
        """The destination's filters in the order they were created (the order they run)."""
        require_member(principal)
        with self._sessions() as session:
            destination = find_destination(session, principal, destination_id)
            rows = DestinationFilterRepository(session).of_destination(
                principal.workspace_id, destination.id
            )
            return [_view(row) for row in rows]

    def get(
        self, principal: Principal, destination_id: str, filter_id: str
    ) -> DestinationFilterView:
        require_member(principal)
        with self._sessions() as session:
            destination = find_destination(session, principal, destination_id)
            return _view(_find_filter(session, principal, destination.id, filter_id))

    def update(
        self,
        principal: Principal,
        destination_id: str,
        filter_id: str,
        changes: Mapping[str, Any],
    ) -> DestinationFilterView:
        """Change any of the written parts; the filter as changed must compile."""
        with self._sessions.begin() as session:
            destination = find_destination(session, principal, destination_id)
            require_change(principal, destination, destination.id)
            row = _find_filter(session, principal, destination.id, filter_id)
            merged = {key: value for key, value in filter_spec(row).items() if key != "id"}
            merged.update(changes)
            compiled = _compile(merged)
            row.title = compiled.title
            row.description = compiled.description
            row.enabled = compiled.enabled
            row.condition = compiled.source
            row.actions = _actions_json(merged)
            row.updated_at = utcnow()
            saved = _saved(compiled, merged["actions"])
            audit.record(
                session,
                principal,
                "destination_filter.updated",
                "destination_filter",
                row.id,
                {"destinationId": destination.id, **{k: saved[k] for k in changes if k in saved}},
            )
            session.flush()
            return _view(row)

    def delete(self, principal: Principal, destination_id: str, filter_id: str) -> None:
        with self._sessions.begin() as session:
            destination = find_destination(session, principal, destination_id)
            require_change(principal, destination, destination.id)
            row = _find_filter(session, principal, destination.id, filter_id)
            audit.record(
                session,
                principal,
                "destination_filter.deleted",
                "destination_filter",
                row.id,
                {"destinationId": destination.id, "title": row.title},
            )
            DestinationFilterRepository(session).delete(row)

    def preview(self, principal: Principal, spec: Any, payload: Any) -> FilterPreview:
        """Run one filter, saved or not, on one event; nothing is stored."""
        require_member(principal)
        if not isinstance(spec, Mapping):
            raise Unprocessable("filter must be a filter object.", field="filter")
        if not isinstance(payload, dict):
            raise Unprocessable("payload must be an event (a JSON object).", field="payload")
        compiled = _compile(spec, within="filter")
        outcome = run_filters((compiled,), payload)
        return FilterPreview(
            input_payload=payload,
            result=outcome.event,
            dropped_by=outcome.dropped_by or None,
            action=outcome.action.value if outcome.action is not None else None,
        )


def _find_filter(
    session: Session, principal: Principal, destination_id: str, filter_id: str
) -> DestinationFilter:
    """A filter of a destination already found in the caller's workspace."""
    row = DestinationFilterRepository(session).get(
        principal.workspace_id, destination_id, filter_id
    )
    if row is None:
        raise NotFound(f"There is no filter {filter_id} on destination {destination_id}.")
    return row


def _compile(spec: Mapping[str, Any], within: str | None = None) -> CompiledFilter:
    """The filter compiled, or a 422 naming the field at fault (and where in `if`)."""
    try:
        compiled = compile_filter(spec)
    except FilterError as error:
        field = ".".join(part for part in (within, error.field) if part) or None
        message = f"{field}: {error.reason}" if field else error.reason
        raise Unprocessable(
            message, field=field, line=error.line, position=error.position
        ) from error
    if len(compiled.title) > FILTER_TITLE_MAX_LENGTH:
        field = ".".join(part for part in (within, "title") if part)
        raise Unprocessable(
            f"{field}: at most {FILTER_TITLE_MAX_LENGTH} characters, got {len(compiled.title)}",
            field=field,
        )
    return compiled


def _actions_json(spec: Mapping[str, Any]) -> str:
    """The actions as the client wrote them (compile_filter has checked them)."""
    return orjson.dumps(spec["actions"]).decode()


def _saved(compiled: CompiledFilter, actions: Any) -> dict[str, Any]:
    """For the audit: the filter as saved (filters hold no secrets)."""
    return {
        "title": compiled.title,
        "description": compiled.description,
        "enabled": compiled.enabled,
        "if": compiled.source,
        "actions": actions,
    }


def _view(row: DestinationFilter) -> DestinationFilterView:
    return DestinationFilterView(
        id=row.id,
        destination_id=row.destination_id,
        title=row.title,
        description=row.description,
        enabled=row.enabled,
        condition=row.condition,
        actions=orjson.loads(row.actions),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )
