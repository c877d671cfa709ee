"""`/api/v1/sources`: tracking sources (with a write key) and function sources (with a
webhook URL), and what became of a function source's requests."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import Field, JsonValue, StrictBool, StrictStr

from headrace.api.auth import CurrentPrincipal, ServicesDep
from headrace.api.schemas import ApiIn, ApiOut, DeletedOut, Envelope, RecordOut, Since, Until
from headrace.services.sources import SourceKind
from headrace.store.delivery_queries import RECENT_LIMIT_MAX

router = APIRouter(tags=["sources"])


class SourceIn(ApiIn):
    name: StrictStr
    kind: SourceKind
    function_id: StrictStr | None = None
    settings: dict[str, JsonValue] = Field(default_factory=dict)
    enabled: StrictBool = True


class SourcePatch(ApiIn):
    name: StrictStr | None = None
    enabled: StrictBool | None = None
    settings: dict[str, JsonValue] | None = None


class SourceOut(ApiOut):
    id: str
    name: str
    kind: SourceKind
    write_key: str | None
    function_id: str | None
    version_id: str | None
    settings: dict[str, JsonValue]
    sensitive_settings: dict[str, bool]
    enabled: bool
    created_at: datetime
    updated_at: datetime
    webhook_url: str | None


class OutcomeTotalOut(ApiOut):
    status: str
    category: str
    count: int


class RejectedEventsOut(ApiOut):
    reason: str
    count: int


class IntakeOut(ApiOut):
    accepted: int
    rejected: list[RejectedEventsOut]


class SourceDeliveryOut(ApiOut):
    source_id: str
    since: datetime = Field(serialization_alias="from")
    until: datetime = Field(serialization_alias="to")
    total: int
    outcomes: list[OutcomeTotalOut]
    events: IntakeOut


class DeliveryEventOut(RecordOut):
    request_id: str


class SourceObjectOut(ApiOut):
    collection: str
    id: str
    properties: dict[str, JsonValue]
    updated_at: datetime


class SourceDeliveryEventsOut(ApiOut):
    records: list[DeliveryEventOut]
    objects: list[SourceObjectOut]


@router.post("/sources", status_code=201, response_model=Envelope[SourceOut])
def create_source(
    body: SourceIn, principal: CurrentPrincipal, services: ServicesDep
) -> Envelope[SourceOut]:
    view = services.sources.create(
        principal,
        name=body.name,
        kind=body.kind,
        function_id=body.function_id,
        settings=body.settings,
        enabled=body.enabled,
    )
    return Envelope(data=SourceOut.model_validate(view))


@router.get("/sources", response_model=Envelope[list[SourceOut]])
def list_sources(principal: CurrentPrincipal, services: ServicesDep) -> Envelope[list[SourceOut]]:
    return Envelope(
        data=[SourceOut.model_validate(v) for v in services.sources.list_all(principal)]
    )


@router.get("/sources/{source_id}", response_model=Envelope[SourceOut])
def get_source(
    source_id: str, principal: CurrentPrincipal, services: ServicesDep
) -> Envelope[SourceOut]:
    return Envelope(data=SourceOut.model_validate(services.sources.get(principal, source_id)))


@router.patch("/sources/{source_id}", response_model=Envelope[SourceOut])
def update_source(
    source_id: str, body: SourcePatch, principal: CurrentPrincipal, services: ServicesDep
) -> Envelope[SourceOut]:
    view = services.sources.update(
        principal, source_id, name=body.name, enabled=body.enabled, settings=body.settings
    )
    return Envelope(data=SourceOut.model_validate(view))


@router.delete("/sources/{source_id}", response_model=Envelope[DeletedOut])
def delete_source(
    source_id: str, principal: CurrentPrincipal, services: ServicesDep
) -> Envelope[DeletedOut]:
    services.sources.delete(principal, source_id)
    return Envelope(data=DeletedOut(id=source_id))


@router.post("/sources/{source_id}/rotate-webhook-token", response_model=Envelope[SourceOut])
def rotate_webhook_token(
    source_id: str, principal: CurrentPrincipal, services: ServicesDep
) -> Envelope[SourceOut]:
    view = services.sources.rotate_webhook_token(principal, source_id)
    return Envelope(data=SourceOut.model_validate(view))


@router.get(
    "/sources/{source_id}/delivery",
    response_model=Envelope[SourceDeliveryOut],
    response_model_by_alias=True,
)
def source_delivery(
    source_id: str,
    principal: CurrentPrincipal,
    services: ServicesDep,
    since: Since = None,
    until: Until = None,
) -> Envelope[SourceDeliveryOut]:
    view = services.sources.delivery_totals(principal, source_id, since, until)
    data: dict[str, Any] = {
        "source_id": view.source_id,
        "since": view.since,
        "until": view.until,
        "total": view.total,
        "outcomes": [OutcomeTotalOut.model_validate(o) for o in view.outcomes],
        "events": IntakeOut(
            accepted=view.intake.accepted,
            rejected=[
                RejectedEventsOut(reason=reason, count=count)
                for reason, count in sorted(view.intake.rejected.items())
            ],
        ),
    }
    return Envelope(data=SourceDeliveryOut.model_validate(data))


@router.get(
    "/sources/{source_id}/delivery/events", response_model=Envelope[SourceDeliveryEventsOut]
)
def source_delivery_events(
    source_id: str,
    principal: CurrentPrincipal,
    services: ServicesDep,
    status: Annotated[str | None, Query()] = None,
    category: Annotated[str | None, Query()] = None,
    collection: Annotated[str | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=RECENT_LIMIT_MAX)] = 100,
) -> Envelope[SourceDeliveryEventsOut]:
    view = services.sources.delivery_events(
        principal, source_id, status=status, category=category, collection=collection, limit=limit
    )
    return Envelope(data=SourceDeliveryEventsOut.model_validate(view))
