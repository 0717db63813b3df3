"""``townops kpi``: the KPI report as a table, JSON or an Excel file.

The CLI reads the whole town (no actor): it is run by the town's IT staff.
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from rich.console import Console
from rich.measure import Measurement
from rich.table import Table

from townops.cli.common import DbOpt, console, engine_for, settings_with, transaction
from townops.kpi.export import default_filename, write_xlsx
from townops.kpi.figures import GROUPING_NAMES, MAIN_FIGURES, Figure, Grouping
from townops.kpi.service import KpiReport, build_report
from townops.periods import parse_period


class OutputFormat(StrEnum):
    table = "table"
    json = "json"
    xlsx = "xlsx"


def register(app: typer.Typer) -> None:
    """Add this module's commands to the main townops app."""
    app.command("kpi")(kpi)


def kpi(
    year: Annotated[str | None, typer.Option(help="A calendar year, e.g. 2022.")] = None,
    month: Annotated[str | None, typer.Option(help="A month, e.g. 2022-06.")] = None,
    date_from: Annotated[
        str | None, typer.Option("--from", help="First local day, e.g. 2022-01-01.")
    ] = None,
    date_to: Annotated[
        str | None, typer.Option("--to", help="Last local day, included, e.g. 2022-03-31.")
    ] = None,
    by: Annotated[Grouping, typer.Option(help="Group rows by this.")] = Grouping.department,
    output_format: Annotated[
        OutputFormat, typer.Option("--format", help="table (wide), json (stdout) or xlsx (a file).")
    ] = OutputFormat.table,
    out: Annotated[
        Path | None, typer.Option("--out", help="xlsx: file to write (kpi-<period>-<by>.xlsx).")
    ] = None,
    database_url: DbOpt = None,
) -> None:
    """KPIs (考核指标) per department, community, category or town for one period."""
    engine = engine_for(settings_with(database_url))
    with transaction(engine) as session:
        period = parse_period(year=year, month=month, date_from=date_from, date_to=date_to)
        report = build_report(session, by=by, period=period)
    if output_format == OutputFormat.json:
        typer.echo(json.dumps(report.model_dump(mode="json"), ensure_ascii=False, indent=2))
    elif output_format == OutputFormat.xlsx:
        target = out or Path(default_filename(report))
        write_xlsx(report, target)
        console.print(f"wrote {target} ({len(report.rows)} rows)", highlight=False)
    else:
        print_wide(kpi_table(report))


def kpi_table(report: KpiReport) -> Table:
    """A Rich table of the main figures; Chinese headers with English in brackets."""
    by_zh, by_en = GROUPING_NAMES[report.by]
    basis = "退单事件/派单事件 (events)" if report.return_rate_basis == "events" else "工单 (cases)"
    period = report.period
    local_now = report.now.astimezone(ZoneInfo(period.timezone))
    table = Table(
        title=f"KPI {period.label} · {by_zh} ({by_en})",
        caption=(
            f"{period.first_day} – {period.last_day} ({period.timezone}); "
            f"退单率口径 (return-rate basis): {basis}; "
            f"当前超期 (overdue open) at {local_now:%Y-%m-%d %H:%M}"
        ),
    )
    table.add_column("代码\n(code)", no_wrap=True)
    table.add_column(f"{by_zh}\n({by_en})")
    for figure in MAIN_FIGURES:
        table.add_column(f"{figure.name_zh}\n({figure.name_en})", justify="right")
    for row in report.rows:
        table.add_row(
            row.code or "—",
            row.name_zh,
            *(format_figure(figure, getattr(row, figure.key)) for figure in MAIN_FIGURES),
        )
    return table


def print_wide(table: Table) -> None:
    """Print at the table's natural width: a narrow terminal wraps lines, nothing is cut."""
    natural = Measurement.get(console, console.options.update_width(10_000), table).maximum
    Console(width=max(console.width, natural)).print(table)


def format_figure(figure: Figure, value: float | None) -> str:
    if value is None:
        return "—"
    if figure.unit == "rate":
        return f"{value:.1%}"
    if figure.unit in ("hours", "minutes"):
        return f"{value:.1f}"
    return str(int(value))
