"""One place that maps domain errors to HTTP responses.

Native API errors: ``{"error": {"code", "message", "details"}}``. A protocol with its own
error format (Open311's GeoReport v2 list) registers it for its path prefix with
:func:`register_error_format`; this module knows no protocol.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field, ValidationError
from sqlalchemy.exc import DataError, IntegrityError, OperationalError, StatementError
from starlette.exceptions import HTTPException as StarletteHTTPException

from townops.errors import DomainError

logger = logging.getLogger("townops.api")


class ErrorDetail(BaseModel):
    code: str = Field(description="Stable machine code, e.g. invalid_input, stale_version")
    message: str
    details: dict[str, Any] = Field(
        description="What was wrong and where: e.g. field, problems [{field, problem}]"
    )


class ErrorOut(BaseModel):
    error: ErrorDetail


class Open311ErrorOut(BaseModel):
    code: int
    description: str


def _documented(description: str, model: Any = ErrorOut) -> dict[str, Any]:
    return {"model": model, "description": description}


_STATUSES = {
    400: "Bad request",
    401: "No valid bearer token (or API key)",
    403: "Not allowed for your role or scope; or a field you may not set",
    404: "Not found, or not visible to you",
    409: "Conflict: a stale version, an illegal transition, a duplicate",
    413: "Request body too large",
    422: "Invalid input: details name each field and its problem",
    429: "Too many requests: wait Retry-After seconds",
}
#: Every error a route may answer, documented once for every router (see app.py).
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: _documented(text) for status, text in _STATUSES.items()
}
#: The same for Open311 routes, in GeoReport v2's error format (a list).
OPEN311_ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: _documented(text, list[Open311ErrorOut]) for status, text in _STATUSES.items()
}


#: Renders an error in a protocol's own format: (request, HTTP status, message).
ErrorFormat = Callable[[Request, int, str], Response]
_FORMATS: dict[str, ErrorFormat] = {}


def register_error_format(path_prefix: str, render: ErrorFormat) -> None:
    """Answer every error under ``path_prefix`` with ``render`` (its protocol's format)."""
    _FORMATS[path_prefix] = render


def error_format_for(path: str) -> ErrorFormat | None:
    """The registered format of ``path``'s protocol, or None for the native format."""
    for prefix, render in _FORMATS.items():
        if path.startswith(prefix):
            return render
    return None


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or {}}}


def _refused(request: Request, status_code: int, code: str, message: str) -> Response:
    if (render := error_format_for(request.url.path)) is not None:
        # GeoReport v2 (the one registered format) knows 400 for any bad request.
        return render(request, 400 if status_code == 422 else status_code, message)
    return JSONResponse(error_body(code, message), status_code=status_code)


def _invalid_input(request: Request, errors: Sequence[Any]) -> Response:
    """422 naming each field a schema refused (Open311's 400 on Open311 routes)."""
    problems = [{"field": ".".join(str(p) for p in e["loc"]), "problem": e["msg"]} for e in errors]
    if (render := error_format_for(request.url.path)) is not None:
        text = "; ".join(f"{p['field']}: {p['problem']}" for p in problems)
        return render(request, 400, text)
    return JSONResponse(
        jsonable_encoder(
            error_body("invalid_input", "the request is invalid", {"problems": problems})
        ),
        status_code=422,
    )


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> Response:
        if (render := error_format_for(request.url.path)) is not None:
            return render(request, exc.status_code, exc.message)
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
        return _invalid_input(request, exc.errors())

    @app.exception_handler(ValidationError)
    async def _schema(request: Request, exc: ValidationError) -> Response:
        # A schema built inside a service from what a client sent (e.g. a form's fields
        # into CaseCreate) refused it: the client's fault, named like any other.
        return _invalid_input(request, exc.errors(include_url=False, include_input=False))

    @app.exception_handler(OperationalError)
    async def _database_busy(request: Request, exc: OperationalError) -> Response:
        # SQLite allows one writer; past its busy timeout the client should simply retry.
        if "database is locked" not in str(exc.orig):
            return await _unexpected(request, exc)
        if (render := error_format_for(request.url.path)) is not None:
            return render(request, 503, "busy, retry shortly")
        return JSONResponse(
            error_body("busy", "the database is busy; retry shortly"),
            status_code=503,
            headers={"Retry-After": "1"},
        )

    # The safety net: input the schemas should have refused (and name the field) but that
    # reached the database. Never a 500: a constraint is a conflict, a value it cannot hold
    # is invalid input. Logged, since a schema should be tightened.
    @app.exception_handler(IntegrityError)
    async def _integrity(request: Request, exc: IntegrityError) -> Response:
        logger.warning("integrity error reached the handler on %s: %s", request.url.path, exc)
        return _refused(request, 409, "conflict", "the request conflicts with stored data")

    @app.exception_handler(DataError)
    async def _data(request: Request, exc: DataError) -> Response:
        logger.warning("data error reached the handler on %s: %s", request.url.path, exc)
        return _refused(request, 422, "invalid_input", "a value is out of range or malformed")

    @app.exception_handler(OverflowError)
    async def _overflow(request: Request, exc: OverflowError) -> Response:
        logger.warning("overflow reached the handler on %s: %s", request.url.path, exc)
        return _refused(request, 422, "invalid_input", "a number or date is out of range")

    @app.exception_handler(StatementError)
    async def _statement(request: Request, exc: StatementError) -> Response:
        # A value the driver could not even bind (e.g. an integer past 64 bits on SQLite).
        if isinstance(exc.orig, OverflowError):
            return await _overflow(request, exc.orig)
        return await _unexpected(request, exc)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        # A bug must still answer in the API's own error format, and be logged in full.
        logger.exception("unhandled error on %s %s", request.method, request.url.path)
        if (render := error_format_for(request.url.path)) is not None:
            return render(request, 500, "internal error")
        return JSONResponse(error_body("internal_error", "internal error"), status_code=500)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        if (render := error_format_for(request.url.path)) is not None:
            return render(request, exc.status_code, str(exc.detail))
        return JSONResponse(
            error_body("http_error", str(exc.detail)),
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )
