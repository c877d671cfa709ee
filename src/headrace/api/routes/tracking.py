"""The tracking API, compatible with Segment's: `/v1/track`, `/v1/identify`, ..., `/v1/batch`.

Answers in Segment's shapes: `{"success": true}` (with `rejected` when some events were
not accepted), or `{"code", "message"}` with a 400 or 401.

These are the service's hottest routes, so they read their two headers themselves instead
of through FastAPI's parameter resolution; the OpenAPI document still describes them.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from headrace.api.auth import services_of
from headrace.services.ingest import IngestError

router = APIRouter(prefix="/v1", tags=["tracking"])

TRACKING_PATHS = ("track", "identify", "page", "screen", "group", "alias", "batch", "import")

_ERROR = {"content": {"application/json": {"example": {"code": "...", "message": "..."}}}}

_OPENAPI: dict[str, Any] = {
    "parameters": [
        {
            "name": "Authorization",
            "in": "header",
            "required": False,
            "description": "Basic auth with the source's write key as the user and no"
            " password (or send the key as `writeKey` in the body).",
            "schema": {"type": "string"},
        },
        {
            "name": "Content-Encoding",
            "in": "header",
            "required": False,
            "schema": {"type": "string", "enum": ["gzip"]},
        },
    ],
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"type": "object"}}},
    },
    "responses": {
        "200": {
            "description": "The accepted events are durable; `rejected` lists the others.",
            "content": {"application/json": {"example": {"success": True}}},
        },
        "400": {"description": "The body cannot be read or is over a limit.", **_ERROR},
        "401": {"description": "No write key, or no enabled source has it.", **_ERROR},
        "503": {
            "description": "The store could not take the events (`store_unavailable`):"
            " send them again.",
            **_ERROR,
        },
    },
}


async def _ingest(path_type: str, request: Request) -> JSONResponse:
    raw = await request.body()
    headers = request.headers
    try:
        # The commit waits for the disk; keep it off the event loop.
        result = await run_in_threadpool(
            services_of(request).ingest.accept,
            path_type,
            raw,
            authorization=headers.get("authorization"),
            content_encoding=headers.get("content-encoding"),
        )
    except IngestError as exc:
        return JSONResponse({"code": exc.code, "message": exc.message}, status_code=exc.status)
    return JSONResponse(result.body())


def _route(path_type: str) -> None:
    async def endpoint(request: Request) -> JSONResponse:
        return await _ingest(path_type, request)

    endpoint.__name__ = f"tracking_{path_type}"
    router.add_api_route(
        f"/{path_type}",
        endpoint,
        methods=["POST"],
        summary=f"Send {'a batch of events' if path_type in ('batch', 'import') else path_type}",
        openapi_extra=_OPENAPI,
    )


for _path in TRACKING_PATHS:
    _route(_path)
