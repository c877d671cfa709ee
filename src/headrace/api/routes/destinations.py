"""`/api/v1/destinations` and `/api/v1/insert-function-instances`."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import Field, JsonValue, StrictBool, StrictInt, StrictStr

from headrace.api.auth import CurrentPrincipal, ServicesDep
from headrace.api.schemas import ApiIn, ApiOut, DeletedOut, Envelope
from headrace.services.destinations import (
    DEFAULT_BATCH_MAX_EVENTS,
    DEFAULT_BATCH_MAX_WAIT_MS,
    MAX_BATCH_MAX_EVENTS,
    MAX_BATCH_MAX_WAIT_MS,
    Batch,
    DestinationKind,
)

router = APIRouter(tags=["destinations"])


class BatchIn(ApiIn):
    max_events: StrictInt = Field(default=DEFAULT_BATCH_MAX_EVENTS, ge=1, le=MAX_BATCH_MAX_EVENTS)
    max_wait_ms: StrictInt = Field(
        default=DEFAULT_BATCH_MAX_WAIT_MS, ge=0, le=MAX_BATCH_MAX_WAIT_MS
    )

    def batch(self) -> Batch:
        return Batch(max_events=self.max_events, max_wait_ms=self.max_wait_ms)


class BatchOut(ApiOut):
    max_events: int
    max_wait_ms: int


class DestinationIn(ApiIn):
    name: StrictStr
    kind: DestinationKind
    function_id: StrictStr | None = None
    source_ids: list[StrictStr] = Field(default_factory=list)
    settings: dict[str, JsonValue] = Field(default_factory=dict)
    enabled: StrictBool = True
    batch: BatchIn | None = None


class DestinationPatch(ApiIn):
    name: StrictStr | None = None
    source_ids: list[StrictStr] | None = None
    settings: dict[str, JsonValue] | None = None
    enabled: StrictBool | None = None
    batch: BatchIn | None = None


class DestinationOut(ApiOut):
    id: str
    name: str
    source_ids: list[str]
    kind: DestinationKind
    function_id: str | None
    version_id: str | None
    settings: dict[str, JsonValue]
    sensitive_settings: dict[str, bool]
    enabled: bool
    batch: BatchOut
    insert_function_instance_id: str | None
    created_at: datetime
    updated_at: datetime
    debug_until: datetime | None = None


class InsertFunctionInstanceIn(ApiIn):
    function_id: StrictStr
    destination_id: StrictStr
    settings: dict[str, JsonValue] = Field(default_factory=dict)
    enabled: StrictBool = True


class InsertFunctionInstancePatch(ApiIn):
    settings: dict[str, JsonValue] | None = None
    enabled: StrictBool | None = None


class InsertFunctionInstanceOut(ApiOut):
    id: str
    function_id: str
    version_id: str
    destination_id: str
    enabled: bool
    settings: dict[str, JsonValue]
    sensitive_settings: dict[str, bool]
    created_at: datetime
    updated_at: datetime


@router.post("/destinations", status_code=201, response_model=Envelope[DestinationOut])
def create_destination(
    body: DestinationIn, principal: CurrentPrincipal, services: ServicesDep
) -> Envelope[DestinationOut]:
    view = services.destinations.create(
        principal,
        name=body.name,
        kind=body.kind,
        function_id=body.function_id,
        source_ids=body.source_ids,
        settings=body.settings,
        enabled=body.enabled,
        batch=body.batch.batch() if body.batch is not None else None,
    )
    return Envelope(data=DestinationOut.model_validate(view))


@router.get("/destinations", response_model=Envelope[list[DestinationOut]])
def list_destinations(
    principal: CurrentPrincipal, services: ServicesDep
) -> Envelope[list[DestinationOut]]:
    views = services.destinations.list_all(principal)
    return Envelope(data=[DestinationOut.model_validate(v) for v in views])


@router.get("/destinations/{destination_id}", response_model=Envelope[DestinationOut])
def get_destination(
    destination_id: str, principal: CurrentPrincipal, services: ServicesDep
) -> Envelope[DestinationOut]:
    view = services.destinations.get(principal, destination_id)
    return Envelope(data=DestinationOut.model_validate(view))


@router.patch("/destinations/{destination_id}", response_model=Envelope[DestinationOut])
def update_destination(
    destination_id: str, body: DestinationPatch, principal: CurrentPrincipal, services: ServicesDep
) -> Envelope[DestinationOut]:
    view = services.destinations.update(
        principal,
        destination_id,
        name=body.name,
        enabled=body.enabled,
        settings=body.settings,
        source_ids=body.source_ids,
        batch=body.batch.batch() if body.batch is not None else None,
    )
    return Envelope(data=DestinationOut.model_validate(view))


@router.delete("/destinations/{destination_id}", response_model=Envelope[DeletedOut])
def delete_destination(
    destination_id: str, principal: CurrentPrincipal, services: ServicesDep
) -> Envelope[DeletedOut]:
    services.destinations.delete(principal, destination_id)
    return Envelope(data=DeletedOut(id=destination_id))


@router.post(
    "/insert-function-instances",
    status_code=201,
    response_model=Envelope[InsertFunctionInstanceOut],
    tags=["insert function instances"],
)
def create_insert_function_instance(
    body: InsertFunctionInstanceIn, principal: CurrentPrincipal, services: ServicesDep
) -> Envelope[InsertFunctionInstanceOut]:
    view = services.insert_functions.create(
        principal,
        function_id=body.function_id,
        destination_id=body.destination_id,
        settings=body.settings,
        enabled=body.enabled,
    )
    return Envelope(data=InsertFunctionInstanceOut.model_validate(view))


@router.get(
    "/insert-function-instances",
    response_model=Envelope[list[InsertFunctionInstanceOut]],
    tags=["insert function instances"],
)
def list_insert_function_instances(
    principal: CurrentPrincipal, services: ServicesDep
) -> Envelope[list[InsertFunctionInstanceOut]]:
    views = services.insert_functions.list_all(principal)
    return Envelope(data=[InsertFunctionInstanceOut.model_validate(v) for v in views])


@router.get(
    "/insert-function-instances/{instance_id}",
    response_model=Envelope[InsertFunctionInstanceOut],
    tags=["insert function instances"],
)
def get_insert_function_instance(
    instance_id: str, principal: CurrentPrincipal, services: ServicesDep
) -> Envelope[InsertFunctionInstanceOut]:
    view = services.insert_functions.get(principal, instance_id)
    return Envelope(data=InsertFunctionInstanceOut.model_validate(view))


@router.patch(
    "/insert-function-instances/{instance_id}",
    response_model=Envelope[InsertFunctionInstanceOut],
    tags=["insert function instances"],
)
def update_insert_function_instance(
    instance_id: str,
    body: InsertFunctionInstancePatch,
    principal: CurrentPrincipal,
    services: ServicesDep,
) -> Envelope[InsertFunctionInstanceOut]:
    view = services.insert_functions.update(
        principal, instance_id, enabled=body.enabled, settings=body.settings
    )
    return Envelope(data=InsertFunctionInstanceOut.model_validate(view))


@router.delete(
    "/insert-function-instances/{instance_id}",
    response_model=Envelope[DeletedOut],
    tags=["insert function instances"],
)
def delete_insert_function_instance(
    instance_id: str, principal: CurrentPrincipal, services: ServicesDep
) -> Envelope[DeletedOut]:
    services.insert_functions.delete(principal, instance_id)
    return Envelope(data=DeletedOut(id=instance_id))
