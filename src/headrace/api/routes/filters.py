"""`/api/v1/destinations/{id}/filters` and `/api/v1/destinations/filters/preview`.

Registered before the destinations routes, so that `filters` is never read as a
destination id.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter
from pydantic import Field, JsonValue

from headrace.api.auth import CurrentPrincipal, ServicesDep
from headrace.api.schemas import ApiIn, ApiOut, DeletedOut, Envelope

router = APIRouter(tags=["destination filters"])

# The filter's parts stay JSON values here: the service checks them with the same
# compile_filter the pipeline runs, whose errors name the exact field (`actions[0].percent`)
# and the position in `if`.


class FilterIn(ApiIn):
    """A filter to create or, as a PATCH, the parts to change; `if` and `actions` are
    required on create."""

    title: JsonValue = None
    description: JsonValue = None
    enabled: JsonValue = None
    if_: JsonValue = Field(default=None, alias="if")
    actions: JsonValue = None

    def spec(self) -> dict[str, Any]:
        """Only the parts the request sent, by their API names."""
        return self.model_dump(by_alias=True, exclude_unset=True)


class FilterOut(ApiOut):
    id: str
    destination_id: str
    title: str
    description: str
    enabled: bool
    condition: str = Field(alias="if")
    actions: list[dict[str, JsonValue]]
    created_at: datetime
    updated_at: datetime


class FilterPreviewIn(ApiIn):
    filter: JsonValue
    payload: JsonValue


class FilterPreviewOut(ApiOut):
    input_payload: dict[str, JsonValue]
    result: dict[str, JsonValue] | None
    dropped_by: str | None
    action: str | None


@router.post("/destinations/filters/preview", response_model=Envelope[FilterPreviewOut])
def preview_filter(
    body: FilterPreviewIn, principal: CurrentPrincipal, services: ServicesDep
) -> Envelope[FilterPreviewOut]:
    preview = services.filters.preview(principal, body.filter, body.payload)
    return Envelope(data=FilterPreviewOut.model_validate(preview))


@router.post(
    "/destinations/{destination_id}/filters",
    status_code=201,
    response_model=Envelope[FilterOut],
)
def create_filter(
    destination_id: str, body: FilterIn, principal: CurrentPrincipal, services: ServicesDep
) -> Envelope[FilterOut]:
    view = services.filters.create(principal, destination_id, body.spec())
    return Envelope(data=FilterOut.model_validate(view))


@router.get("/destinations/{destination_id}/filters", response_model=Envelope[list[FilterOut]])
def list_filters(
    destination_id: str, principal: CurrentPrincipal, services: ServicesDep
) -> Envelope[list[FilterOut]]:
    views = services.filters.list_all(principal, destination_id)
    return Envelope(data=[FilterOut.model_validate(v) for v in views])


@router.get(
    "/destinations/{destination_id}/filters/{filter_id}", response_model=Envelope[FilterOut]
)
def get_filter(
    destination_id: str, filter_id: str, principal: CurrentPrincipal, services: ServicesDep
) -> Envelope[FilterOut]:
    view = services.filters.get(principal, destination_id, filter_id)
    return Envelope(data=FilterOut.model_validate(view))


@router.patch(
    "/destinations/{destination_id}/filters/{filter_id}", response_model=Envelope[FilterOut]
)
def update_filter(
    destination_id: str,
    filter_id: str,
    body: FilterIn,
    principal: CurrentPrincipal,
    services: ServicesDep,
) -> Envelope[FilterOut]:
    view = services.filters.update(principal, destination_id, filter_id, body.spec())
    return Envelope(data=FilterOut.model_validate(view))


@router.delete(
    "/destinations/{destination_id}/filters/{filter_id}", response_model=Envelope[DeletedOut]
)
def delete_filter(
    destination_id: str, filter_id: str, principal: CurrentPrincipal, services: ServicesDep
) -> Envelope[DeletedOut]:
    services.filters.delete(principal, destination_id, filter_id)
    return Envelope(data=DeletedOut(id=filter_id))
