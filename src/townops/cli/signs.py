"""``townops signs …``: vital signs (动态体征) — show, export, warn, enter figures, validate.

The CLI reads the whole town (no actor): it is run by the town's IT staff.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from townops.access.actor import SYSTEM
from townops.cli.common import DbOpt, console, engine_for, err_console, settings_with, transaction
from townops.cli.kpi import print_wide
from townops.signs.config import SIGNS_FILE, SignsConfigError, read_signs_file
from townops.signs.export import write_csv, write_xlsx
from townops.signs.manual import import_figures
from townops.signs.seed_figures import SEED_YEAR, load_seed_figures
from townops.signs.service import compute_signs, compute_signs_by_level, signs_config
from townops.signs.values import SignValue
from townops.signs.warnings import format_value, raise_warnings
from townops.tabular import ImportReport, read_sheet
from townops.townfiles.loader import TownConfigError, default_town_dir, load_town

signs_app = typer.Typer(help="Vital signs (动态体征).", no_args_is_help=True)

PeriodOpt = Annotated[
    str, typer.Option("--period", help="A year (2022), a month (2022-06) or a week (2022-W23).")
]
_STATUS_STYLE = {"green": "green", "yellow": "yellow", "red": "red", "none": "dim"}


class ExportFormat(StrEnum):
    xlsx = "xlsx"
    csv = "csv"


class ShowFormat(StrEnum):
    table = "table"
    json = "json"


def register(app: typer.Typer) -> None:
    """Add this module's commands to the main townops app."""
    app.add_typer(signs_app, name="signs")


@signs_app.command("show")
def show(
    period: PeriodOpt,
    jurisdiction: Annotated[str | None, typer.Option(help="Node code; default the town.")] = None,
    output_format: Annotated[ShowFormat, typer.Option("--format")] = ShowFormat.table,
    database_url: DbOpt = None,
) -> None:
    """Every sign of one node for one period."""
    with transaction(engine_for(settings_with(database_url))) as session:
        values = compute_signs(session, jurisdiction=jurisdiction, period=period)
    if output_format == ShowFormat.json:
        typer.echo(json.dumps([asdict(v) for v in values], ensure_ascii=False, indent=2))
        return
    print_wide(_table(values, title=f"体征 vital signs {jurisdiction or 'town'} {period}"))


def _table(values: list[SignValue], *, title: str) -> Table:
    table = Table(title=title)
    for header in ("指标 sign", "名称 name", "值 value", "状态 status", "目标 target", "分子/分母"):
        table.add_column(header)
    for v in values:
        parts = "" if v.denominator is None else f"{v.numerator:g}/{v.denominator:g}"
        table.add_row(
            v.id,
            v.name_zh,
            format_value(v.value, v.unit),
            Text(v.status, style=_STATUS_STYLE[v.status]),
            format_value(v.target, v.unit),
            parts,
        )
    return table


@signs_app.command("export")
def export(
    period: PeriodOpt,
    level: Annotated[str, typer.Option(help="community, micro_grid, town …")] = "community",
    out: Annotated[Path | None, typer.Option(help="File to write (.xlsx or .csv).")] = None,
    output_format: Annotated[
        ExportFormat | None, typer.Option("--format", help="Default: from the file's suffix.")
    ] = None,
    database_url: DbOpt = None,
) -> None:
    """Every node of a level, the unassigned remainder and the total, for the district."""
    chosen = output_format or (
        ExportFormat.csv if out is not None and out.suffix.lower() == ".csv" else ExportFormat.xlsx
    )
    target = out or Path(f"vital-signs-{period}-{level}.{chosen.value}")
    with transaction(engine_for(settings_with(database_url))) as session:
        result = compute_signs_by_level(session, level=level, period=period)
        config = signs_config(session)
    if chosen == ExportFormat.csv:
        rows = write_csv(result, target)
    else:
        rows = write_xlsx(result, config, target)
    console.print(
        f"wrote {target}: {len(result.nodes)} {level} nodes, {rows} rows", highlight=False
    )


@signs_app.command("warn")
def warn(
    period: PeriodOpt,
    open_cases: Annotated[
        bool, typer.Option("--open-cases", help="Open a case for each warning's owner.")
    ] = False,
    database_url: DbOpt = None,
) -> None:
    """Raise a warning for every sign that is red at a node (once per sign, node, period)."""
    with transaction(engine_for(settings_with(database_url))) as session:
        run = raise_warnings(session, period=period, open_cases=open_cases)
        for w in run.raised:
            console.print(
                f"  {w.sign_id} @ {w.jurisdiction_code}: {w.value:g} (yellow {w.threshold:g}) "
                f"→ {w.owner}",
                highlight=False,
            )
    console.print(
        f"预警 warnings {run.period}: {len(run.raised)} new, {run.already_raised} raised before, "
        f"{len(run.cases_opened)} cases opened",
        highlight=False,
    )


@signs_app.command("import-figures")
def import_figures_command(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help=".csv or .xlsx")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check; write nothing.")] = False,
    database_url: DbOpt = None,
) -> None:
    """Import manual figures (sign, jurisdiction, period, value, note): all rows or none."""
    with transaction(engine_for(settings_with(database_url))) as session:
        report = import_figures(
            session,
            actor=SYSTEM,
            config=signs_config(session),
            sheet=read_sheet(file),
            dry_run=dry_run,
        )
        _print_import(report)
        if report.errors:
            raise typer.Exit(code=1)  # leaving through an exception rolls back: nothing written


def _print_import(report: ImportReport) -> None:
    if report.errors:
        table = Table(title=f"{len(report.errors)} 个错误 errors")
        for header in ("行 row", "列 column", "值 value", "原因 reason"):
            table.add_column(header)
        for e in report.errors:
            table.add_row(str(e.row), Text(e.column), Text(e.value), Text(e.reason))
        console.print(table)
        console.print(f"[red]{len(report.bad_rows)} 行有错误，未导入 (nothing imported)[/red]")
        return
    verb = "would import" if report.dry_run else "imported"
    console.print(
        f"{verb} {report.rows_total} figures: {report.created} new, {report.updated} replaced",
        highlight=False,
    )


@signs_app.command("load-seed-figures")
def load_seed_figures_command(database_url: DbOpt = None) -> None:
    """Enter the town's figures for 2022 as its government work report gives them."""
    with transaction(engine_for(settings_with(database_url))) as session:
        report = load_seed_figures(session)
    console.print(
        f"{SEED_YEAR}: {report.created} figures entered, {report.updated} replaced",
        highlight=False,
    )


@signs_app.command("validate")
def validate(
    file: Annotated[
        Path | None, typer.Argument(help=f"Default: the built-in {SIGNS_FILE}.")
    ] = None,
) -> None:
    """Check a vital_signs.yaml; print every problem as FILE:LINE: message."""
    path = file or default_town_dir() / SIGNS_FILE
    names = _town_names(path.parent)
    try:
        config = read_signs_file(path, **names)
    except SignsConfigError as exc:
        for issue in exc.issues:
            err_console.print(issue, markup=False, highlight=False)
        raise typer.Exit(code=1) from exc
    manual = sum(s.is_manual for s in config.signs)
    checked = "checked against its town" if names else "its town not checked (invalid or absent)"
    console.print(
        f"[green]ok[/green] {path}: {len(config.signs)} signs "
        f"({len(config.signs) - manual} computed, {manual} entered manually); {checked}"
    )


def _town_names(directory: Path) -> dict[str, Any]:
    """Categories, departments and levels of the town beside the file, if it loads."""
    try:
        town = load_town(directory)
    except TownConfigError:
        return {}
    return {
        "categories": {c.code for c in town.categories},
        "departments": {d.code for d in town.departments},
        "levels": list(town.info.levels),
    }
