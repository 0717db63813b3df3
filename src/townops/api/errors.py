"""One place that maps domain errors to HTTP responses.

Native API errors: ``{"error": {"code", "message", "details"}}``. Open311 paths get the
GeoReport v2 error list instead (see :mod:`townops.open311.formats`).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from townops.errors import DomainError
from townops.open311.formats import open311_error_response

logger = logging.getLogger("townops.api")


def _is_open311(request: Request) -> bool:
    return request.url.path.startswith("/open311/")


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or {}}}


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> Response:
        if _is_open311(request):
            return open311_error_response(request, exc.status_code, exc.message)
        headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
        wait = exc.details.get("retry_after_seconds") if exc.status_code == 429 else None
        if wait is not None:
            headers = {"Retry-After": str(wait)}
        return JSONResponse(
            jsonable_encoder(error_body(exc.code, exc.message, exc.details)),
            status_code=exc.status_code,
            headers=headers,
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        problems = [
            {"field": ".".join(str(p) for p in e["loc"]), "problem": e["msg"]} for e in exc.errors()
        ]
        if _is_open311(request):
            text = "; ".join(f"{p['field']}: {p['problem']}" for p in problems)
            return open311_error_response(request, 400, text)
        return JSONResponse(
            jsonable_encoder(
                error_body("invalid_input", "the request is invalid", {"problems": problems})
            ),
            status_code=422,
        )

    @app.exception_handler(OperationalError)
    async def _database_busy(request: Request, exc: OperationalError) -> Response:
        # SQLite allows one writer; past its busy timeout the client should simply retry.
        if "database is locked" not in str(exc.orig):
            return await _unexpected(request, exc)
        if _is_open311(request):
            return open311_error_response(request, 503, "busy, retry shortly")
        return JSONResponse(
            error_body("busy", "the database is busy; retry shortly"),
            status_code=503,
            headers={"Retry-After": "1"},
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        # A bug must still answer in the API's own error format, and be logged in full.
        logger.exception("unhandled error on %s %s", request.method, request.url.path)
        if _is_open311(request):
            return open311_error_response(request, 500, "internal error")
        return JSONResponse(error_body("internal_error", "internal error"), status_code=500)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        if _is_open311(request):
            return open311_error_response(request, exc.status_code, str(exc.detail))
        return JSONResponse(
            error_body("http_error", str(exc.detail)),
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )
