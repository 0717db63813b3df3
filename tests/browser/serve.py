"""``townops serve`` for the browser tests: the same app, on the port and database given.

The web pages' router is included here if townops.app does not include it yet, so the tests
run against the pages before and after they are wired into the application factory.

    python -m tests.browser.serve --database-url URL --port PORT
"""

from __future__ import annotations

import argparse
import importlib

import uvicorn
from fastapi import FastAPI
from fastapi.routing import APIRoute

from townops.app import create_app
from townops.settings import Settings

WEB_ROUTER_MODULES = ("townops.web.routes", "townops.web.api")


def include_web_pages(app: FastAPI) -> None:
    """Include the web routers the application factory does not include yet, in front.

    In front, because the factory's ``GET /`` redirected to /docs before the web app existed.
    """
    endpoints = {r.endpoint for r in app.routes if isinstance(r, APIRoute)}
    for name in WEB_ROUTER_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError:
            continue
        router = getattr(module, "router", None)
        if router is None or any(
            isinstance(r, APIRoute) and r.endpoint in endpoints for r in router.routes
        ):
            continue
        before = list(app.router.routes)
        app.include_router(router)
        added = app.router.routes[len(before) :]
        app.router.routes[:] = [*added, *before]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args()
    app = create_app(Settings(database_url=args.database_url))
    include_web_pages(app)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
