"""Workers: long-running subcommands that stop cleanly on SIGTERM / Ctrl-C."""

from __future__ import annotations

import signal
import threading
import time
from types import FrameType
from typing import Annotated

import typer

from townops.cases.sweeps import sweep_late_report_ins, sweep_overdue
from townops.cli.common import DbOpt, console, engine_for, settings_with, transaction
from townops.media.service import purge_unattached
from townops.notify import service as notify_service
from townops.notify.worker import channels_of, send_due

# Photos uploaded with a form that was never sent are deleted a day later; checked hourly.
PURGE_EVERY_SECONDS = 3600.0

worker_app = typer.Typer(help="Background workers.", no_args_is_help=True)


def _stop_event() -> threading.Event:
    stop = threading.Event()

    def handler(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
    return stop


@worker_app.command("deadlines")
def deadlines(
    interval: Annotated[float, typer.Option(help="Seconds between sweeps.")] = 60.0,
    once: Annotated[bool, typer.Option(help="Sweep once and exit.")] = False,
    database_url: DbOpt = None,
) -> None:
    """Supervise newly overdue cases (超期自动督办) and late report-ins, every INTERVAL seconds;
    hourly, delete photos uploaded more than a day ago and never attached to a case.

    Several workers may run at once: each sweep claims cases with a compare-and-set UPDATE,
    so no case is supervised twice.
    """
    engine = engine_for(settings_with(database_url))
    stop = _stop_event()
    last_purge = float("-inf")
    while True:
        with transaction(engine) as session:
            marked = sweep_overdue(session)
            late = sweep_late_report_ins(session)
        if marked or late or once:
            console.print(
                f"overdue sweep: {marked} newly overdue case(s) marked and supervised, "
                f"{late} late report-in(s) supervised"
            )
        if once or time.monotonic() - last_purge >= PURGE_EVERY_SECONDS:
            with transaction(engine) as session:
                purged = purge_unattached(session)
            last_purge = time.monotonic()
            if purged or once:
                console.print(f"photos: {purged} never-attached upload(s) older than a day deleted")
        if once or stop.wait(interval):
            break


@worker_app.command("notify")
def notify(
    interval: Annotated[float, typer.Option(help="Seconds between passes.")] = 5.0,
    once: Annotated[bool, typer.Option(help="Send what is due once and exit.")] = False,
    batch: Annotated[int, typer.Option(min=1, max=5000, help="Messages claimed at a time.")] = 200,
    database_url: DbOpt = None,
) -> None:
    """Send the notifications that are due (通知), every INTERVAL seconds: one thread per
    channel, retries with backoff, a message a stopped worker left half-sent retried once
    its lease runs out. Several workers may run at once (claims are compare-and-set)."""
    engine = engine_for(settings_with(database_url))
    with transaction(engine) as session:
        config = notify_service.config_of(session)
    channels = channels_of(config)
    stop = _stop_event()
    while True:
        reports = send_due(engine, channels, config.retry, batch=batch)
        for name, report in reports.items():
            if report.sent or report.expired or report.reclaimed or once:
                errors = "; ".join(f"{n}× {reason}" for reason, n in report.errors.items())
                console.print(
                    f"{name}: {report.delivered} delivered, {report.retrying} to retry, "
                    f"{report.failed} failed, {report.expired} expired, "
                    f"{report.reclaimed} reclaimed" + (f" ({errors})" if errors else "")
                )
        if once or stop.wait(interval):
            break


def register(app: typer.Typer) -> None:
    app.add_typer(worker_app, name="worker")
