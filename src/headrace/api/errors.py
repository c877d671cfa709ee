"""The error envelope `{"errors": [{"type", "message"}]}` for every failure, ours or FastAPI's."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from headrace.log import get_logger, loggable_path
from headrace.services import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    ServiceError,
    Unauthenticated,
    Unprocessable,
)
from headrace.store.database import unavailable_because

_STATUS_OF_SERVICE_ERROR: dict[type[ServiceError], int] = {
    InvalidInput: 400,
    Unauthenticated: 401,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    Unprocessable: 422,
}

_TYPE_OF_STATUS = {
    400: "bad-request",
    401: "unauthorized",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    406: "not-acceptable",
    409: "conflict",
    413: "payload-too-large",
    415: "unsupported-media-type",
    422: "validation-error",
    429: "too-many-requests",
    500: "internal-error",
    503: "not-ready",
}

_log = get_logger("api")


def error_response(
    status: int, type_: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(
        {"errors": [{"type": type_, "message": message}]}, status_code=status, headers=headers
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ServiceError, _service_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(OperationalError, _store_error)
    app.add_exception_handler(Exception, _unexpected_error)


async def _service_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ServiceError)
    status = next(
        (code for cls, code in _STATUS_OF_SERVICE_ERROR.items() if isinstance(exc, cls)), 400
    )
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    error: dict[str, Any] = {"type": exc.type, "message": str(exc)}
    if exc.field is not None:
        error["field"] = exc.field
    if exc.line is not None:
        error["line"] = exc.line
    if isinstance(exc, Unprocessable) and exc.position is not None:
        error["position"] = exc.position
    return JSONResponse({"errors": [error]}, status_code=status, headers=headers)


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems: Sequence[dict[str, Any]] = exc.errors()
    if any(problem.get("type") == "json_invalid" for problem in problems):
        return error_response(400, "invalid-json", "The request body is not valid JSON.")
    errors = [
        {"type": "validation-error", "message": _describe_problem(problem)} for problem in problems
    ]
    return JSONResponse({"errors": errors}, status_code=422)


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    status = exc.status_code
    type_ = _TYPE_OF_STATUS.get(status, "bad-request" if status < 500 else "internal-error")
    if status == 404 and exc.detail == "Not Found":
        message = "There is no such resource."
    elif status == 405:
        message = "This method is not allowed on this resource."
    else:
        message = str(exc.detail)
    return error_response(status, type_, message, dict(exc.headers or {}) or None)


async def _store_error(request: Request, exc: Exception) -> JSONResponse:
    """The database could not be used (its disk is full, it stayed locked, it cannot be
    read): a 503 with the reason in a few words; the driver's message goes to the log."""
    _log.error(
        "the database could not be used",
        exc_info=exc,
        extra={"method": request.method, "path": loggable_path(request.url.path)},
    )
    reason = unavailable_because(exc)
    return error_response(503, "store-unavailable", f"headrace cannot answer now: {reason}.")


async def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    _log.error(
        "request failed",
        exc_info=exc,
        extra={"method": request.method, "path": loggable_path(request.url.path)},
    )
    return error_response(500, "internal-error", "headrace failed to handle this request.")


def _describe_problem(problem: dict[str, Any]) -> str:
    """`Field name.first: Field required.` from one pydantic error."""
    location = [str(part) for part in problem.get("loc", ())]
    if location and location[0] in ("body", "query", "path", "header", "cookie"):
        where = location[0]
        field = ".".join(location[1:])
    else:
        where, field = "body", ".".join(location)
    reason = str(problem.get("msg", "is invalid")).rstrip(".")
    if not field:
        return f"The request {where} is invalid: {reason}."
    return f"Field {field!r} in the {where}: {reason}."
