"""`/api/v1/audit` (who changed what) and `/api/v1/usage` (function invocations by day)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import JsonValue

from headrace.api.auth import CurrentPrincipal, ServicesDep
from headrace.api.schemas import ApiOut, Envelope

router = APIRouter(tags=["audit and usage"])


class AuditEntryOut(ApiOut):
    id: str
    at: datetime
    actor: str | None
    action: str
    resource_type: str
    resource_id: str
    details: dict[str, JsonValue]


class DayUsageOut(ApiOut):
    day: date
    invocations: int
    execution_ms: float


class FunctionUsageOut(ApiOut):
    function_id: str
    display_name: str | None
    invocations: int
    execution_ms: float
    days: list[DayUsageOut]


@router.get("/audit", response_model=Envelope[list[AuditEntryOut]])
def list_audit_entries(
    principal: CurrentPrincipal,
    services: ServicesDep,
    since: Annotated[datetime | None, Query()] = None,
    until: Annotated[datetime | None, Query()] = None,
    resource_id: Annotated[str | None, Query(alias="resourceId")] = None,
) -> Envelope[list[AuditEntryOut]]:
    entries = services.audit.list(principal, since=since, until=until, resource_id=resource_id)
    return Envelope(data=[AuditEntryOut.model_validate(e) for e in entries])


@router.get("/usage", response_model=Envelope[list[FunctionUsageOut]])
def get_usage(
    principal: CurrentPrincipal,
    services: ServicesDep,
    first: Annotated[date | None, Query(alias="from")] = None,
    last: Annotated[date | None, Query(alias="to")] = None,
) -> Envelope[list[FunctionUsageOut]]:
    report = services.usage.report(principal, first, last)
    return Envelope(data=[FunctionUsageOut.model_validate(u) for u in report])
