"""Event delivery of a destination: `/delivery`, `/delivery/events`, `/debug`, `/replay`."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import Field, StrictInt, StrictStr

from headrace.api.auth import CurrentPrincipal, ServicesDep
from headrace.api.schemas import ApiIn, ApiOut, Envelope, RecordOut, Since, Until
from headrace.services.destination_delivery import DEBUG_MAX_MINUTES
from headrace.store.delivery_queries import RECENT_LIMIT_MAX

router = APIRouter(tags=["delivery"])


class TotalsOut(ApiOut):
    delivered: int
    retrying: int
    filtered: int
    expired: int
    failed: int
    failed_by_category: dict[str, int]


class MinuteOut(ApiOut):
    minute: datetime
    delivered: int
    retrying: int
    filtered: int
    expired: int
    failed: int


class LatencyOut(ApiOut):
    p50: float | None
    p95: float | None


class DeliveryOut(ApiOut):
    since: datetime = Field(serialization_alias="from")
    until: datetime = Field(serialization_alias="to")
    totals: TotalsOut
    series: list[MinuteOut]
    latency_ms: LatencyOut


class DeliveryEventOut(RecordOut):
    message_id: str


class DebugIn(ApiIn):
    minutes: StrictInt = Field(ge=0, le=DEBUG_MAX_MINUTES)


class DebugOut(ApiOut):
    debug_until: datetime | None


class ReplayIn(ApiIn):
    since: datetime = Field(alias="from")
    until: datetime = Field(alias="to")
    statuses: list[StrictStr] = Field(default_factory=lambda: ["expired"])
    categories: list[StrictStr] | None = None


class ReplayOut(ApiOut):
    replayed: int
    statuses: list[str]
    categories: list[str]


@router.get(
    "/destinations/{destination_id}/delivery",
    response_model=Envelope[DeliveryOut],
    response_model_by_alias=True,
)
def destination_delivery(
    destination_id: str,
    principal: CurrentPrincipal,
    services: ServicesDep,
    since: Since = None,
    until: Until = None,
) -> Envelope[DeliveryOut]:
    summary = services.deliveries.summary(principal, destination_id, since, until)
    return Envelope(
        data=DeliveryOut(
            since=summary.since,
            until=summary.until,
            totals=TotalsOut(**summary.totals, failed_by_category=summary.failed_by_category),
            series=[MinuteOut(**minute) for minute in summary.series],
            latency_ms=LatencyOut(p50=summary.latency_p50_ms, p95=summary.latency_p95_ms),
        )
    )


@router.get(
    "/destinations/{destination_id}/delivery/events",
    response_model=Envelope[list[DeliveryEventOut]],
)
def destination_delivery_events(
    destination_id: str,
    principal: CurrentPrincipal,
    services: ServicesDep,
    status: Annotated[str | None, Query()] = None,
    category: Annotated[str | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=RECENT_LIMIT_MAX)] = 100,
) -> Envelope[list[DeliveryEventOut]]:
    events = services.deliveries.events(
        principal, destination_id, status=status, category=category, limit=limit
    )
    return Envelope(data=[DeliveryEventOut.model_validate(event) for event in events])


@router.post("/destinations/{destination_id}/debug", response_model=Envelope[DebugOut])
def destination_debug(
    destination_id: str, body: DebugIn, principal: CurrentPrincipal, services: ServicesDep
) -> Envelope[DebugOut]:
    until = services.deliveries.debug(principal, destination_id, body.minutes)
    return Envelope(data=DebugOut(debug_until=until))


@router.post("/destinations/{destination_id}/replay", response_model=Envelope[ReplayOut])
def destination_replay(
    destination_id: str, body: ReplayIn, principal: CurrentPrincipal, services: ServicesDep
) -> Envelope[ReplayOut]:
    result = services.deliveries.replay(
        principal, destination_id, body.since, body.until, body.statuses, body.categories
    )
    return Envelope(data=ReplayOut.model_validate(result))


class FailingOut(ApiOut):
    kind: str
    id: str
    name: str
    function_id: str | None
    reason: str
    attempts: int
    failures: int
    dominant_category: str
    dominant_error: str | None


class PipelineHealthOut(ApiOut):
    healthy: bool
    failing: list[FailingOut]


@router.get("/health", response_model=Envelope[PipelineHealthOut])
def pipeline_health(
    principal: CurrentPrincipal, services: ServicesDep
) -> Envelope[PipelineHealthOut]:
    """Destinations and source functions failing consistently, with their dominant error."""
    failing = services.delivery_health.failing(principal)
    return Envelope(
        data=PipelineHealthOut(
            healthy=not failing, failing=[FailingOut.model_validate(f) for f in failing]
        )
    )
