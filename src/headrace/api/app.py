"""The FastAPI application: routes, error envelope, and the service's lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

import headrace
from headrace.api.errors import install_error_handlers
from headrace.api.routes import (
    activity,
    deliveries,
    destinations,
    filters,
    functions,
    health,
    members,
    sources,
    tracking,
    webhooks,
    workspace,
)
from headrace.config import Settings
from headrace.services import Services
from headrace.web import mount_ui

API_PREFIX = "/api/v1"


def create_app(settings: Settings, services: Services | None = None) -> FastAPI:
    """The HTTP API on `services` (default: built from `settings`), started by the lifespan."""
    services = services if services is not None else Services(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        services.start()
        try:
            yield
        finally:
            services.stop()

    app = FastAPI(
        title="headrace",
        version=headrace.__version__,
        lifespan=lifespan,
        docs_url=f"{API_PREFIX}/docs",
        redoc_url=None,
        openapi_url=f"{API_PREFIX}/openapi.json",
    )
    app.state.services = services
    install_error_handlers(app)
    app.include_router(health.router)
    app.include_router(tracking.router)
    app.include_router(webhooks.router)
    app.include_router(workspace.router, prefix=API_PREFIX)
    # filters before destinations: `/destinations/filters/preview` is not a destination id.
    for management in (functions, sources, deliveries, filters, destinations, members, activity):
        app.include_router(management.router, prefix=API_PREFIX)
    mount_ui(app)
    return app
