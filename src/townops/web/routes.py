"""The web app's pages and its static files, served by townops itself (no CDN, no build).

Every page URL answers with the same small shell (``static/index.html``); the shell's
module picks the page from the path. Assets live under ``/static/<version>/…`` where the
version is a hash of the files: the shell is revalidated on every load (``no-cache``), the
assets are cached for a year and change URL when they change. The CJK web font is the
report font subset shipped in ``townops/reports/fonts`` (2.0 MB; 1.3 MB gzipped on the
wire), served from there rather than copied.

A Content-Security-Policy on the pages lets the browser load scripts, styles, fonts and
data from this server only: nothing is fetched from outside even by mistake.
"""

from __future__ import annotations

import gzip
import hashlib
import threading
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from fastapi import APIRouter, Request, Response

from townops.api.params import DbId
from townops.web.tiles import tile_origin

STATIC_DIR = Path(__file__).with_name("static")
_REPORT_FONTS = Path(__file__).resolve().parents[1] / "reports" / "fonts"
# Files served under static/fonts/ that live elsewhere in the package.
EXTRA_FILES = {
    "fonts/NotoSansCJKsc-ReportSubset.ttf": _REPORT_FONTS / "NotoSansCJKsc-ReportSubset.ttf",
    "fonts/OFL.txt": _REPORT_FONTS / "OFL.txt",
}
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ttf": "font/ttf",
    ".woff2": "font/woff2",
    ".txt": "text/plain; charset=utf-8",
}
_COMPRESSIBLE = (".html", ".js", ".css", ".json", ".svg", ".ttf", ".txt")
_SHELL = "index.html"
_VERSION_MARK = "{{ASSET_VERSION}}"
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)


@cache
def page_headers(tile_origin: str | None) -> dict[str, str]:
    """The pages' headers; a configured tile server is the one other place images may
    come from (docs/web.md, "Map tiles")."""
    csp = (
        CSP
        if tile_origin is None
        else CSP.replace("img-src 'self'", f"img-src 'self' {tile_origin}")
    )
    return {
        "Cache-Control": "no-cache",
        "Content-Security-Policy": csp,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
    }


_IMMUTABLE = "public, max-age=31536000, immutable"

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True)
class Asset:
    body: bytes
    gzipped: bytes | None
    etag: str
    content_type: str


def _files() -> dict[str, Path]:
    found = {
        p.relative_to(STATIC_DIR).as_posix(): p
        for p in sorted(STATIC_DIR.rglob("*"))
        if p.is_file() and p.suffix in CONTENT_TYPES and "__pycache__" not in p.parts
    }
    found.pop(_SHELL, None)
    return {**found, **{k: v for k, v in EXTRA_FILES.items() if v.is_file()}}


@cache
def _catalogue() -> dict[str, Path]:
    return _files()


@cache
def asset_version() -> str:
    """A hash of every served file and the shell: changes whenever one of them does."""
    digest = hashlib.sha256()
    for name, path in sorted({**_catalogue(), _SHELL: STATIC_DIR / _SHELL}.items()):
        digest.update(name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


_assets: dict[str, Asset] = {}
_assets_lock = threading.Lock()


def load_asset(name: str) -> Asset | None:
    """The file served as ``name`` (read and compressed once per process), if any."""
    asset = _assets.get(name)
    if asset is not None:
        return asset
    path = _catalogue().get(name)  # only catalogued names: no way out of the folder
    if path is None:
        return None
    with _assets_lock:
        body = path.read_bytes()
        gzipped = gzip.compress(body, 6) if path.suffix in _COMPRESSIBLE else None
        if gzipped is not None and len(gzipped) >= len(body) * 0.9:
            gzipped = None
        etag = '"' + hashlib.sha256(body).hexdigest()[:20] + '"'
        asset = Asset(body, gzipped, etag, CONTENT_TYPES[path.suffix])
        _assets[name] = asset
    return asset


@cache
def _shell() -> bytes:
    text = (STATIC_DIR / _SHELL).read_text(encoding="utf-8")
    return text.replace(_VERSION_MARK, asset_version()).encode()


def _page(request: Request, status_code: int = 200) -> Response:
    headers = page_headers(tile_origin(request.app.state.settings))
    return Response(
        _shell(), status_code=status_code, media_type="text/html; charset=utf-8", headers=headers
    )


def not_found_page(request: Request) -> Response:
    """The shell with status 404: ``core/app.js`` finds no page for the path and draws
    ``pages/notfound.js`` ("找不到这个页面" / "Page not found", a link home). See
    :mod:`townops.web.not_found` for when a 404 is answered with it."""
    return _page(request, 404)


# The pages of the web app: one shell each; core/app.js picks the page module by path.
PAGES: dict[str, str] = {
    "/": "log-in, then each role's home",
    "/login": "log-in",
    "/overview": "the one screen (一屏总览)",
    "/cases": "case search: the cases the caller may see, filtered, sorted, exported",
    "/dispatch": "the dispatch queue (派单台): dispatcher and duty officer",
    "/inbox": "the inbox of a department or community, by deadline (待办)",
    "/report": "a grid worker reports a problem from a phone (上报)",
    "/submit": "a resident files a request with a map pin and photos (我要反映)",
    "/requests": "a resident's own requests (我的诉求)",
    "/track": "follow a request by its tracking code (查询)",
    "/rankings": "monthly assessment rankings (考核排名)",
    "/notifications": "the caller's own in-app messages (通知, 站内信)",
    "/duty": "the duty roster: who is on duty now and the week ahead (值班表)",
    "/alarms": "the alarm console: open device alarms by severity, acted on live (告警台)",
}


def _page_route(path: str, description: str) -> None:
    def page(request: Request) -> Response:
        return _page(request)

    page.__doc__ = description
    router.add_api_route(path, page, methods=["GET"], name=f"page:{path}")


for _path, _description in PAGES.items():
    _page_route(_path, _description)


@router.get("/cases/{case_id}")
def case_page(case_id: DbId, request: Request) -> Response:
    """One case, its timeline and the actions the caller may take."""
    return _page(request)


@router.get("/devices/{device_id}")
def device_page(device_id: str, request: Request) -> Response:
    """One device: its place, state, latest values, history chart and open alarms."""
    return _page(request)


@router.get("/static/{version}/{name:path}")
def static_file(version: str, name: str, request: Request) -> Response:
    asset = load_asset(name)
    if asset is None:
        return Response(b"not found", status_code=404, media_type="text/plain")
    current = version == asset_version()
    headers = {
        "ETag": asset.etag,
        "Cache-Control": _IMMUTABLE if current else "no-cache",
        "X-Content-Type-Options": "nosniff",
        "Vary": "Accept-Encoding",
    }
    if request.headers.get("if-none-match") == asset.etag:
        return Response(status_code=304, headers=headers)
    body = asset.body
    if asset.gzipped is not None and "gzip" in request.headers.get("accept-encoding", ""):
        body = asset.gzipped
        headers["Content-Encoding"] = "gzip"
    return Response(body, media_type=asset.content_type, headers=headers)
