"""``townops alarms``: list the sensing network's alarms, run the offline sweep.

Both work on the town's database as the system (the CLI is run by the town's IT staff).
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from townops.access.actor import SYSTEM
from townops.cli.common import DbOpt, console, engine_for, settings_with, transaction
from townops.cli.kpi import print_wide
from townops.cli.systemic import parse_moment
from townops.sensing.alarms.lifecycle import AlarmFilters, list_alarms
from townops.sensing.alarms.sweep import sweep_offline
from townops.sensing.models import Alarm
from townops.timeutil import SHANGHAI, utcnow

alarms_app = typer.Typer(
    help="Sensing alarms (物联告警): list them, sweep for silent devices.", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    """Add ``townops alarms …`` to the main townops app."""
    app.add_typer(alarms_app, name="alarms")


@alarms_app.command("list")
def list_command(
    state: Annotated[
        list[str] | None,
        typer.Option(help="raised, acknowledged, cleared or false_alarm (repeatable)."),
    ] = None,
    open_only: Annotated[bool, typer.Option("--open", help="Only open alarms.")] = False,
    device: Annotated[str | None, typer.Option(help="One device id.")] = None,
    rule: Annotated[str | None, typer.Option(help="One rule id.")] = None,
    jurisdiction: Annotated[str | None, typer.Option(help="Jurisdiction code (and below).")] = None,
    device_type: Annotated[str | None, typer.Option("--type", help="Device type code.")] = None,
    severity: Annotated[str | None, typer.Option(help="info, warning or critical.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many, newest first.")] = 50,
    database_url: DbOpt = None,
) -> None:
    """The newest alarms with their state, value and case."""
    filters = AlarmFilters(
        state=state or None,
        open=True if open_only else None,
        device=device,
        rule=rule,
        jurisdiction=jurisdiction,
        type=device_type,
        severity=severity,
    )
    engine = engine_for(settings_with(database_url))
    with transaction(engine) as session:
        rows, total = list_alarms(session, actor=SYSTEM, filters=filters, limit=limit)
        alarms = [row.alarm for row in rows]
        places = [row.address or row.building for row in rows]
    print_wide(_table(alarms, places, total))


def _table(alarms: list[Alarm], places: list[str], total: int) -> Table:
    table = Table(title=f"{len(alarms)} of {total} alarm(s) 物联告警")
    for header in (
        "id",
        "raised 告警时间",
        "device",
        "rule",
        "severity",
        "message",
        "place",
        "state",
        "case",
    ):
        table.add_column(header)
    for alarm, place in zip(alarms, places, strict=True):
        table.add_row(
            str(alarm.id),
            f"{alarm.raised_at.astimezone(SHANGHAI):%Y-%m-%d %H:%M:%S}",
            alarm.device_id,
            alarm.rule_id,
            alarm.severity,
            alarm.message,
            place or (alarm.jurisdiction_code or ""),
            alarm.state,
            f"#{alarm.case_id}" if alarm.case_id else "",
        )
    return table


@alarms_app.command("sweep")
def sweep_command(
    now: Annotated[
        str | None, typer.Option(help="Judge silence as of this moment (ISO); default now.")
    ] = None,
    database_url: DbOpt = None,
) -> None:
    """Mark devices silent too long as offline and raise their offline alarms, once."""
    moment = parse_moment(now, end_of_day=False) if now else utcnow()
    engine = engine_for(settings_with(database_url))
    with transaction(engine) as session:
        report = sweep_offline(session, now=moment)
    console.print(
        f"offline sweep 离线巡检: {len(report.devices_offline)} device(s) newly offline, "
        f"{len(report.alarms_raised)} alarm(s) raised, {len(report.cases_opened)} case(s) opened",
        highlight=False,
    )
