"""Serving the app: used by ``townops serve`` and ``townops demo``."""

from __future__ import annotations

import os

import typer
import uvicorn
from sqlalchemy import Engine

from townops.app import create_app
from townops.auth.sessions import secret_key_problem
from townops.cli.common import console, engine_for, err_console, settings_with
from townops.settings import Settings


def require_secret_key(settings: Settings, engine: Engine) -> None:
    """Exit with the reason if a server may not start without TOWNOPS_SECRET_KEY."""
    problem = secret_key_problem(settings, engine)
    if problem is not None:
        err_console.print(f"[red]error:[/red] {problem}", markup=True, highlight=False)
        raise typer.Exit(code=1)


def run_server(database_url: str, *, host: str, port: int, workers: int = 1) -> None:
    settings = settings_with(database_url)
    require_secret_key(settings, engine_for(settings))
    console.print(f"serving on http://{host}:{port}  (API docs: http://{host}:{port}/docs)")
    if workers == 1:
        uvicorn.run(create_app(settings), host=host, port=port, log_level="warning")
        return
    # Worker processes import townops.asgi and read their settings from the environment.
    os.environ["TOWNOPS_DATABASE_URL"] = database_url
    uvicorn.run("townops.asgi:app", host=host, port=port, workers=workers, log_level="warning")
