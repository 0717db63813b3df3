"""``townops duty``: who is on duty (值班表), now or over the days ahead, from ``duty.yaml``."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy.orm import Session

from townops.cli.common import DbOpt, console, engine_for, err_console, settings_with, transaction
from townops.duty import DutyConfig, Watch, roster_of, watch_at, watches
from townops.timeutil import SHANGHAI, utcnow

duty_app = typer.Typer(help="The duty roster (值班表): who is on duty.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add ``townops duty …`` to the main townops app."""
    app.add_typer(duty_app, name="duty")


def _roster(session: Session) -> DutyConfig:
    config = roster_of(session)
    if config is None:
        err_console.print("this town keeps no duty roster (duty.yaml)")
        raise typer.Exit(code=1)
    return config


def _chain(watch: Watch) -> str:
    return " → ".join(f"{link.position.name.zh} {link.username}" for link in watch.links)


def _moment(text: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as exc:
        raise typer.BadParameter(f"{text!r} is not a date-time like 2026-12-07T22:30") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=SHANGHAI)


@duty_app.command("now")
def now_command(
    at: Annotated[
        str | None, typer.Option("--at", help="A moment (ISO, town time) instead of now.")
    ] = None,
    database_url: DbOpt = None,
) -> None:
    """The shift on duty and its on-duty chain, in the order it is called."""
    moment = utcnow() if at is None else _moment(at)
    with transaction(engine_for(settings_with(database_url))) as session:
        config = _roster(session)
        watch = watch_at(config, moment)
    console.print(
        f"{watch.day} {watch.shift.name.zh} "
        f"{watch.starts_at:%H:%M}–{watch.ends_at:%H:%M}: {_chain(watch)}",
        highlight=False,
    )


@duty_app.command("week")
def week_command(
    start: Annotated[
        str | None, typer.Option("--from", help="First duty date (YYYY-MM-DD); today.")
    ] = None,
    days: Annotated[int, typer.Option(min=1, max=31)] = 7,
    database_url: DbOpt = None,
) -> None:
    """Every shift of the days ahead and who holds each link."""
    with transaction(engine_for(settings_with(database_url))) as session:
        config = _roster(session)
        first = date.fromisoformat(start) if start else watch_at(config, utcnow()).day
        laid_out = watches(config, first, days)
    table = Table("date", "shift", *(p.name.zh for p in config.positions))
    for watch in laid_out:
        table.add_row(
            str(watch.day),
            watch.shift.name.zh,
            *(link.username + (" (换班)" if link.swapped else "") for link in watch.links),
        )
    console.print(table)
