"""Harbor's error body, ``{"errors": [{"code": ..., "message": ...}]}``, and the one map from
ferry's exception tree to HTTP statuses. Every error response of the API goes through here."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from enum import StrEnum
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ferry.errors import (
    FerryError,
    InvalidInput,
    PreconditionFailed,
    RecordConflict,
    RecordNotFound,
    SecretsError,
)

log = logging.getLogger("ferry.api")


class ErrorCode(StrEnum):
    BAD_REQUEST = "BAD_REQUEST"
    UNAUTHORIZED = "UNAUTHORIZED"
    FORBIDDEN = "FORBIDDEN"
    NOT_FOUND = "NOT_FOUND"
    METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED"
    CONFLICT = "CONFLICT"
    PRECONDITION = "PRECONDITION"
    TOO_MANY_REQUESTS = "TOO_MANY_REQUESTS"
    UNKNOWN = "UNKNOWN"


_STATUS_CODES = {
    400: ErrorCode.BAD_REQUEST,
    401: ErrorCode.UNAUTHORIZED,
    403: ErrorCode.FORBIDDEN,
    404: ErrorCode.NOT_FOUND,
    405: ErrorCode.METHOD_NOT_ALLOWED,
    409: ErrorCode.CONFLICT,
    412: ErrorCode.PRECONDITION,
    429: ErrorCode.TOO_MANY_REQUESTS,
}


class ApiError(Exception):
    """An HTTP error the API raises itself (authentication, a bad path parameter)."""

    def __init__(self, status: int, message: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


def error_response(status: int, message: str, *, headers: dict[str, str] | None = None) -> JSONResponse:
    code = _STATUS_CODES.get(status, ErrorCode.UNKNOWN)
    return JSONResponse(
        {"errors": [{"code": code.value, "message": message}]}, status_code=status, headers=headers
    )


def status_for(error: FerryError) -> int:
    """400 for input the caller must change, 404/409/412 for stored state, 500 otherwise."""
    if isinstance(error, InvalidInput):
        return 400
    if isinstance(error, RecordNotFound):
        return 404
    if isinstance(error, RecordConflict):
        return 409
    if isinstance(error, PreconditionFailed):
        return 412
    return 500


def describe_validation(errors: Sequence[Any]) -> str:
    """Pydantic's errors as one sentence that names each field: ``name: field required``."""
    parts = []
    for error in errors:
        location = [str(item) for item in error.get("loc", ()) if item not in {"body", "query", "path"}]
        where = (
            "request body" if error.get("type") == "json_invalid" else (_dotted(location) or "request body")
        )
        parts.append(f"{where}: {_explain(error)}")
    return "; ".join(parts) or "the request is invalid"


def _dotted(location: list[str]) -> str:
    text = ""
    for item in location:
        text += f"[{item}]" if item.isdigit() else (f".{item}" if text else item)
    return text


def _explain(error: dict[str, Any]) -> str:
    kind = str(error.get("type", ""))
    if kind == "extra_forbidden":
        return "unknown field; remove it (see the API reference for the accepted fields)"
    if kind == "missing":
        return "field required"
    if kind == "json_invalid":
        return "the body is not valid JSON: " + str(error.get("ctx", {}).get("error", "syntax error"))
    return str(error.get("msg", "invalid value"))


Authenticate = Callable[[Request], Awaitable[object]]
"""Signs a request in or raises ``ApiError`` (401/429)."""


def install_error_handlers(app: FastAPI, *, authenticate: Authenticate | None = None) -> None:
    @app.exception_handler(ApiError)
    async def on_api_error(request: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status, exc.message, headers=exc.headers)

    @app.exception_handler(FerryError)
    async def on_ferry_error(request: Request, exc: FerryError) -> JSONResponse:
        status = status_for(exc)
        if isinstance(exc, SecretsError):
            log.error("stored secrets cannot be opened: %s", exc)
        elif status == 500:
            log.error("%s %s failed: %s", request.method, request.url.path, exc)
        return error_response(status, str(exc))

    @app.exception_handler(RequestValidationError)
    async def on_invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        if authenticate is not None and any(error.get("type") == "json_invalid" for error in errors):
            # FastAPI parses a JSON body before it runs the route's dependencies, sign-in among
            # them: a caller who has not signed in must get 401, not a remark about the body.
            try:
                await authenticate(request)
            except ApiError as denied:
                return error_response(denied.status, denied.message, headers=denied.headers)
        return error_response(400, describe_validation(errors))

    @app.exception_handler(StarletteHTTPException)
    async def on_http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = exc.detail if isinstance(exc.detail, str) else "request failed"
        if exc.status_code == 404 and message == "Not Found":
            message = f"{request.url.path} not found"
        return error_response(exc.status_code, message, headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("%s %s failed unexpectedly", request.method, request.url.path)
        return error_response(500, "internal error; the server log has the details")
