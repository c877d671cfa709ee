"""`POST /v1/webhooks/{token}`: a function source's webhook URL.

Answers `{"success": true, "requestId"}` once the request is stored (it will be run), or
`{"code", "message"}` with a 4xx, in the tracking API's shapes.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from headrace.api.auth import ServicesDep
from headrace.services.webhooks import MAX_WEBHOOK_BODY_BYTES, WebhookError

router = APIRouter(prefix="/v1", tags=["webhooks"])


async def _body_up_to(request: Request, limit: int) -> bytes:
    """The body, or its first `limit` bytes when it is longer (it is refused then)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return b"\0" * limit
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        chunks.append(chunk)
        size += len(chunk)
        if size >= limit:
            break
    return b"".join(chunks)[:limit]


@router.post("/webhooks/{token}", summary="Send a request to a function source")
async def receive_webhook(token: str, request: Request, services: ServicesDep) -> JSONResponse:
    body = await _body_up_to(request, MAX_WEBHOOK_BODY_BYTES + 1)
    try:
        # The commit waits for the disk; keep it off the event loop.
        request_id = await run_in_threadpool(
            services.webhooks.accept,
            token,
            method=request.method,
            query=request.url.query,
            headers=request.headers.items(),
            body=body,
        )
    except WebhookError as exc:
        return JSONResponse({"code": exc.code, "message": exc.message}, status_code=exc.status)
    return JSONResponse({"success": True, "requestId": request_id})
