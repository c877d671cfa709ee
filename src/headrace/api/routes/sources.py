"""`/api/v1/sources`: tracking sources (with a write key) and function sources."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import Field, JsonValue, StrictBool, StrictStr

from headrace.api.auth import CurrentPrincipal, ServicesDep
from headrace.api.schemas import ApiIn, ApiOut, DeletedOut, Envelope
from headrace.services.sources import SourceKind

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
