"""Request limits, as ASGI middleware: checked before a route reads or parses anything.

* **Body size**: a body larger than ``max_body_bytes`` (``max_upload_bytes`` for multipart
  uploads) is answered 413 — at once when ``Content-Length`` says so, else as soon as the
  bytes received pass the limit — so a 50 MB body is never read in full.
* **JSON depth**: arrays and objects nested deeper than ``max_json_depth`` are a 422 (the
  JSON decoder would otherwise recurse until Python's recursion limit: a 500).
* **NUL**: PostgreSQL cannot store ``\\x00`` in text and SQLite would; a NUL in a JSON
  string, a form field, a query parameter or the path is a 422 naming where it is, so both
  databases answer alike and no route has to think of it.

Errors are the API's own (``{"error": {"code", "message", "details"}}``); Open311 paths get
Open311's error list, as from :mod:`townops.api.errors`.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from townops.api.errors import error_body, error_format_for
from townops.settings import Settings

BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
NUL = "\x00"


class Refusal(Exception):
    def __init__(self, status_code: int, code: str, message: str, details: dict[str, Any]):
        super().__init__(message)
        self.status_code = status_code
        self.code = code
        self.message = message
        self.details = details


def _invalid(field: str, problem: str) -> Refusal:
    return Refusal(
        422,
        "invalid_input",
        "the request is invalid",
        {"problems": [{"field": field, "problem": problem}]},
    )


def _too_large(limit: int) -> Refusal:
    return Refusal(
        413,
        "payload_too_large",
        f"the request body is larger than {limit} bytes",
        {"limit_bytes": limit},
    )


def json_problem(value: Any, *, max_depth: int) -> Refusal | None:
    """The first nesting past ``max_depth`` or NUL in a string (key or value), walked
    without recursion."""
    stack: list[tuple[Any, int, tuple[str, ...]]] = [(value, 0, ("body",))]
    while stack:
        item, depth, path = stack.pop()
        if isinstance(item, dict | list):
            if depth + 1 > max_depth:
                return _invalid(
                    ".".join(path), f"nested deeper than {max_depth} arrays and objects"
                )
            pairs = item.items() if isinstance(item, dict) else enumerate(item)
            for key, child in pairs:
                if isinstance(key, str) and NUL in key:
                    return _invalid(".".join(path), "a key contains the NUL character (\\x00)")
                stack.append((child, depth + 1, (*path, str(key))))
        elif isinstance(item, str) and NUL in item:
            return _invalid(".".join(path), "must not contain the NUL character (\\x00)")
    return None


def _check_json(body: bytes, *, max_depth: int) -> None:
    try:
        value = json.loads(body)
    except RecursionError:
        raise _invalid("body", f"nested deeper than {max_depth} arrays and objects") from None
    except ValueError:
        return  # not JSON after all: the route's own parsing answers
    problem = json_problem(value, max_depth=max_depth)
    if problem is not None:
        raise problem


def _check_pairs(raw: bytes, where: str) -> None:
    """NUL in a query string or a urlencoded form. Decoded as Starlette decodes them
    (Latin-1, then percent-decoding as UTF-8): any bytes at all are read, never raise."""
    pairs = parse_qsl(raw.decode("latin-1"), keep_blank_values=True, errors="replace")
    for key, value in pairs:
        if NUL in key or NUL in value:
            name = key.replace(NUL, "") or "?"
            raise _invalid(f"{where}.{name}", "must not contain the NUL character (\\x00)")


class RequestLimits:
    def __init__(
        self, app: ASGIApp, *, max_body_bytes: int, max_upload_bytes: int, max_json_depth: int
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.max_upload_bytes = max_upload_bytes
        self.max_json_depth = max_json_depth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            self._check_target(scope)
            if scope["method"] in BODY_METHODS:
                receive = await self._checked_body(scope, receive)
        except Refusal as refusal:
            await _respond(scope, refusal)(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _check_target(self, scope: Scope) -> None:
        if NUL in scope["path"]:
            raise _invalid("path", "must not contain the NUL character (\\x00)")
        query: bytes = scope.get("query_string", b"")
        if b"%00" in query or b"\x00" in query:
            _check_pairs(query, "query")

    async def _checked_body(self, scope: Scope, receive: Receive) -> Receive:
        headers = dict(scope["headers"])
        content_type = headers.get(b"content-type", b"").decode("latin-1").lower()
        multipart = content_type.startswith("multipart/")
        limit = self.max_upload_bytes if multipart else self.max_body_bytes
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise _too_large(limit)
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                # The client went away: hand the app what was read, then the disconnect.
                return _replay(b"".join(chunks), receive, final=message)
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise _too_large(limit)
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if not multipart:
            self._check_content(body, content_type)
        return _replay(body, receive)

    def _check_content(self, body: bytes, content_type: str) -> None:
        if content_type.startswith("application/x-www-form-urlencoded"):
            if b"%00" in body or b"\x00" in body:
                _check_pairs(body, "body")
            return
        start = body.lstrip()[:1]
        # Whatever the declared type: routes that read JSON may parse any body.
        if start in (b"{", b"["):
            _check_json(body, max_depth=self.max_json_depth)


def _replay(body: bytes, receive: Receive, *, final: Message | None = None) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        if final is not None:
            return final
        return await receive()

    return replay


def _respond(scope: Scope, refusal: Refusal) -> Response:
    if (render := error_format_for(scope["path"])) is not None:
        # Open311 knows 400 for any bad request; 413 stays 413.
        status = 413 if refusal.status_code == 413 else 400
        problems = refusal.details.get("problems") or []
        text = "; ".join(f"{p['field']}: {p['problem']}" for p in problems) or refusal.message
        return render(Request(scope), status, text)
    headers = {"Connection": "close"} if refusal.status_code == 413 else None
    return JSONResponse(
        error_body(refusal.code, refusal.message, refusal.details),
        status_code=refusal.status_code,
        headers=headers,
    )


def install_request_limits(app: FastAPI, settings: Settings) -> None:
    app.add_middleware(
        RequestLimits,
        max_body_bytes=settings.max_body_bytes,
        max_upload_bytes=settings.max_upload_bytes,
        max_json_depth=settings.max_json_depth,
    )
