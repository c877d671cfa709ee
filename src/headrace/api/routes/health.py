"""Probes for process managers: `/healthz` (alive) and `/readyz` (able to serve)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from headrace.api.auth import ServicesDep
from headrace.api.errors import error_response
from headrace.api.schemas import Envelope, HealthOut, ReadinessOut

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Envelope[HealthOut])
def healthz() -> Envelope[HealthOut]:
    return Envelope(data=HealthOut(status="ok"))


@router.get(
    "/readyz",
    response_model=Envelope[ReadinessOut],
    responses={503: {"description": "The database is unreachable or not migrated."}},
)
def readyz(services: ServicesDep) -> Envelope[ReadinessOut] | JSONResponse:
    readiness = services.health.readiness()
    if not readiness.ready:
        return error_response(503, "not-ready", readiness.reason)
    return Envelope(data=ReadinessOut(status="ready", revision=readiness.revision))
