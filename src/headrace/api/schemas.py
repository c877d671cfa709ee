"""Response bodies: camelCase JSON, wrapped in `{"data": ...}`."""

from __future__ import annotations

from datetime import datetime
from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

T = TypeVar("T")


class ApiModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True)


class Envelope(BaseModel, Generic[T]):
    data: T


class WorkspaceOut(ApiModel):
    id: str
    name: str
    created_at: datetime


class HealthOut(ApiModel):
    status: str


class ReadinessOut(ApiModel):
    status: str
    revision: str | None
