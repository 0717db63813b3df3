"""An HTML 404 page for people, JSON (or a protocol's own format) for programs.

A browser that opens an address townops does not serve (``GET /no-such-page`` with
``Accept: text/html``) gets the web app's shell with status 404: the page module
``pages/notfound.js`` says so in the user's language (Chinese by default) with a link
home, inside the usual header. Everything else keeps the API's error formats: paths under
``/api/`` and ``/open311`` (and the static and tile folders) always, and any request that
does not ask for HTML (API clients, ``fetch``).

It wraps the application's handler of Starlette's ``HTTPException`` (the router's "no
route" 404): :func:`install_not_found_page` must run after
:func:`townops.api.errors.install_error_handlers`, and it is idempotent.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import cast

from fastapi import FastAPI, Request, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from townops.web.routes import not_found_page

#: Paths for programs: their errors stay in the API's (or Open311's) format.
MACHINE_PREFIXES = ("/api/", "/open311", "/static/", "/map-tiles/", "/api-docs-assets/")
_WRAPPED = "townops_not_found_page"

Handler = Callable[[Request, Exception], Awaitable[Response]]


def wants_page(request: Request) -> bool:
    """A browser navigating to a page address: GET or HEAD, HTML accepted, not an API path."""
    if request.method not in ("GET", "HEAD"):
        return False
    path = request.url.path
    if path.startswith(MACHINE_PREFIXES) or path in ("/api", "/openapi.json"):
        return False
    return "text/html" in request.headers.get("accept", "")


def install_not_found_page(app: FastAPI) -> None:
    """Answer a browser's 404 on a page address with the HTML page; delegate the rest."""
    current = app.exception_handlers.get(StarletteHTTPException)
    if current is None or getattr(current, _WRAPPED, False):
        return
    fallback = cast(Handler, current)

    async def handler(request: Request, exc: Exception) -> Response:
        status = getattr(exc, "status_code", None)
        if status == 404 and wants_page(request):
            return not_found_page(request)
        return await fallback(request, exc)

    setattr(handler, _WRAPPED, True)
    app.add_exception_handler(StarletteHTTPException, handler)
