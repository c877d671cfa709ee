"""The tracking API, compatible with Segment's: `/v1/track`, `/v1/identify`, ..., `/v1/batch`.

Answers in Segment's shapes: `{"success": true}` (with `rejected` when some events were
not accepted), or `{"code", "message"}` with a 400 or 401.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from headrace.api.auth import ServicesDep
from headrace.services.ingest import IngestError

router = APIRouter(prefix="/v1", tags=["tracking"])

TRACKING_PATHS = ("track", "identify", "page", "screen", "group", "alias", "batch", "import")


async def _ingest(
    path_type: str,
    request: Request,
    services: ServicesDep,
    authorization: str | None,
    content_encoding: str | None,
) -> JSONResponse:
    raw = await request.body()
    try:
        # The commit waits for the disk; keep it off the event loop.
        result = await run_in_threadpool(
            services.ingest.accept,
            path_type,
            raw,
            authorization=authorization,
            content_encoding=content_encoding,
        )
    except IngestError as exc:
        return JSONResponse({"code": exc.code, "message": exc.message}, status_code=exc.status)
    return JSONResponse(result.body())


def _route(path_type: str) -> None:
    async def endpoint(
        request: Request,
        services: ServicesDep,
        authorization: Annotated[str | None, Header()] = None,
        content_encoding: Annotated[str | None, Header()] = None,
    ) -> JSONResponse:
        return await _ingest(path_type, request, services, authorization, content_encoding)

    endpoint.__name__ = f"tracking_{path_type}"
    router.add_api_route(
        f"/{path_type}",
        endpoint,
        methods=["POST"],
        summary=f"Send {'a batch of events' if path_type in ('batch', 'import') else path_type}",
    )


for _path in TRACKING_PATHS:
    _route(_path)
