"""The API's errors: every one is answered as JSON `{"error": reason, "detail": detail}`."""

from __future__ import annotations

import json

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException


class ApiError(Exception):
    """An error answered as JSON {"error": reason, "detail": detail} with `status`."""

    def __init__(self, status: int, reason: str, detail: str, headers: dict | None = None):
        super().__init__(f"{status} {reason}: {detail}")
        self.status, self.reason, self.detail, self.headers = status, reason, detail, headers


def error_response(
    status: int, reason: str, detail: str, headers: dict | None = None
) -> JSONResponse:
    return JSONResponse({"error": reason, "detail": detail}, status, headers=headers)


async def _api_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return error_response(exc.status, exc.reason, exc.detail, exc.headers)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    reason = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    detail = exc.detail if exc.status_code != 404 else f"no route {request.url.path}"
    return error_response(exc.status_code, reason, str(detail))


async def _internal_error(request: Request, exc: Exception) -> JSONResponse:
    # A bug, not a bad request: say so in JSON too (the traceback goes to the log).
    import logging

    logging.getLogger("vton.infer.api").exception("%s failed", request.url.path)
    return error_response(500, "internal", f"{type(exc).__name__}: {exc}")


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return error_response(422, "invalid_request", json.dumps(exc.errors(), default=str))


def add_error_handlers(app: FastAPI) -> None:
    """Answer `ApiError`s, HTTP errors (404, 405, ...), invalid requests and bugs as JSON."""
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _internal_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
