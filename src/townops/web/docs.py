"""The interactive API documentation (``/docs``, ``/redoc``), served from the package.

FastAPI's default pages load Swagger UI, ReDoc and Google Fonts from CDNs; government
networks are isolated, so townops serves the files that the ``fastapi-offline`` package
ships (Swagger UI 5, which reads OpenAPI 3.1, and ReDoc) and no web font.

The pages carry the web app's security headers (:func:`townops.web.routes.page_headers`:
no framing, no sniffing, no referrer) with a Content-Security-Policy that admits only
this server, plus what the two viewers need: their one inline script each, allowed by its
hash (nothing else inline runs), the styles they inject, and ReDoc's search worker.
"""

from __future__ import annotations

import base64
import hashlib
import re
from importlib.resources import files

from fastapi import FastAPI
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from townops.web.routes import CSP, page_headers

ASSETS = "/api-docs-assets"
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)


def docs_csp(html: str) -> str:
    """The pages' policy, letting run only the inline scripts of ``html`` (by hash), and
    the inline styles and blob workers the viewers create."""
    hashes = " ".join(
        f"'sha256-{base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()}'"
        for body in _INLINE_SCRIPT.findall(html)
    )
    return (
        CSP.replace("script-src 'self'", f"script-src 'self' {hashes}".rstrip())
        .replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")
        .replace("font-src 'self'", "font-src 'self' data:")
        + "; worker-src 'self' blob:"
    )


def secured(page: HTMLResponse) -> HTMLResponse:
    """``page`` with the web app's security headers and a policy for its own scripts."""
    html = bytes(page.body).decode()
    headers = {**page_headers(None), "Content-Security-Policy": docs_csp(html)}
    return HTMLResponse(html, status_code=page.status_code, headers=headers)


def install_api_docs(app: FastAPI) -> None:
    """Add ``/docs`` (with its OAuth2 redirect) and ``/redoc`` on an app made without them."""
    directory = str(files("fastapi_offline") / "static")
    app.mount(ASSETS, StaticFiles(directory=directory), name="api-docs-assets")
    openapi_url = app.openapi_url or "/openapi.json"
    redirect_url = "/docs/oauth2-redirect"

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return secured(
            get_swagger_ui_html(
                openapi_url=openapi_url,
                title=f"{app.title} — API",
                swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
                swagger_css_url=f"{ASSETS}/swagger-ui.css",
                swagger_favicon_url=f"{ASSETS}/favicon.png",
                oauth2_redirect_url=redirect_url,
            )
        )

    @app.get(redirect_url, include_in_schema=False)
    def swagger_ui_redirect() -> HTMLResponse:
        return secured(get_swagger_ui_oauth2_redirect_html())

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        return secured(
            get_redoc_html(
                openapi_url=openapi_url,
                title=f"{app.title} — API",
                redoc_js_url=f"{ASSETS}/redoc.standalone.js",
                redoc_favicon_url=f"{ASSETS}/favicon.png",
                with_google_fonts=False,
            )
        )
