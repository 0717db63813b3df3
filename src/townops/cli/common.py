"""Shared CLI plumbing: settings, engine and a transaction per command."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from townops.db import make_engine, make_session_factory, session_scope
from townops.errors import DomainError
from townops.settings import Settings, get_settings
from townops.townfiles.loader import default_town_dir, validate_town

DbOpt = Annotated[
    str | None, typer.Option("--database-url", help="Overrides TOWNOPS_DATABASE_URL.")
]
# The options of every all-or-nothing spreadsheet import.
SkipBadOpt = Annotated[
    bool, typer.Option("--skip-bad", help="Import the good rows and report the bad ones.")
]
DryRunOpt = Annotated[bool, typer.Option("--dry-run", help="Check every row; write nothing.")]

console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)


def settings_with(database_url: str | None = None) -> Settings:
    settings = get_settings()
    if database_url:
        settings = settings.model_copy(update={"database_url": database_url})
    return settings


def town_dir(settings: Settings, override: Path | None = None) -> Path:
    return override or settings.town_dir or default_town_dir()


def require_valid_town(directory: Path) -> None:
    """Print every problem in the town directory and exit non-zero if there is any."""
    issues = validate_town(directory)
    for warning in (i for i in issues if not i.is_error):
        err_console.print(f"  {warning}", markup=False, highlight=False)
    errors = [i for i in issues if i.is_error]
    if errors:
        err_console.print(f"[red]town configuration {directory} is invalid:[/red]")
        for issue in errors:
            err_console.print(f"  {issue}", markup=False, highlight=False)
        raise typer.Exit(code=1)


@contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    try:
        with session_scope(make_session_factory(engine)) as session:
            yield session
    except DomainError as exc:
        err_console.print(f"[red]error:[/red] {exc.message}", highlight=False)
        raise typer.Exit(code=1) from exc


def engine_for(settings: Settings) -> Engine:
    return make_engine(settings.database_url)
