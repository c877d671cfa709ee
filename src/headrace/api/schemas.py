"""Response bodies: camelCase JSON, wrapped in `{"data": ...}`."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel, ConfigDict, JsonValue
from pydantic.alias_generators import to_camel

T = TypeVar("T")


class ApiModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True)


class Envelope(BaseModel, Generic[T]):
    data: T


class RoleOut(ApiModel):
    role: str
    resource_ids: list[str]


class MemberOut(ApiModel):
    id: str
    name: str
    roles: list[RoleOut]


class WorkspaceOut(ApiModel):
    id: str
    name: str
    created_at: datetime
    member: MemberOut | None = None
    """Who the token acts as (only on `GET /workspace`)."""


class HealthOut(ApiModel):
    status: str


class ReadinessOut(ApiModel):
    status: str
    revision: str | None


class ApiOut(ApiModel):
    """A response body read from a service's view (a dataclass with snake_case fields)."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, frozen=True, from_attributes=True
    )


class ApiIn(BaseModel):
    """A request body: camelCase fields, unknown ones refused (a typo is an error, not a
    silently ignored field)."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


class DeletedOut(ApiModel):
    id: str
    deleted: bool = True


Since = Annotated[datetime | None, Query(alias="from")]
"""A period's start, as the `from` query parameter."""
Until = Annotated[datetime | None, Query(alias="to")]
"""A period's end, as the `to` query parameter."""


class RecordOut(ApiOut):
    """What every kept delivery record shows (services.redaction.RecordView)."""

    at: datetime
    status: str
    category: str
    error: str | None
    attempts: int
    logs: list[str]
    requests: list[dict[str, JsonValue]]
    payload: JsonValue
