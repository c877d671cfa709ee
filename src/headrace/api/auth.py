"""The bearer-token dependency: every `/api/v1` route gets the authenticated caller."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request

from headrace.security import Principal
from headrace.services import Services, Unauthenticated


def services_of(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def require_principal(
    services: Annotated[Services, Depends(services_of)],
    authorization: Annotated[str | None, Header()] = None,
) -> Principal:
    if not authorization:
        raise Unauthenticated(
            "The request has no API token; send it as 'Authorization: Bearer <token>'."
        )
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("The Authorization header must be 'Bearer <token>'.")
    return services.access.authenticate(token.strip())


CurrentPrincipal = Annotated[Principal, Depends(require_principal)]
ServicesDep = Annotated[Services, Depends(services_of)]
