"""CLI commands: ``townops import hotline FILE`` (registered on the main app)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn
from rich.table import Table
from rich.text import Text

from townops.cli.common import (
    DbOpt,
    DryRunOpt,
    SkipBadOpt,
    console,
    engine_for,
    err_console,
    settings_with,
    transaction,
)
from townops.hotline.importer import import_hotline_file
from townops.tabular import ImportReport, ProgressCallback, RowError

import_app = typer.Typer(help="Import work orders from other systems.", no_args_is_help=True)

_PHASES = {"check": "校验 checking", "import": "导入 importing"}


def register(app: typer.Typer) -> None:
    """Add this module's commands to the main townops app."""
    app.add_typer(import_app, name="import")


@import_app.command("hotline")
def hotline(
    file: Annotated[
        Path,
        typer.Argument(
            exists=True, dir_okay=False, readable=True, help="12345 export (.csv/.xlsx)"
        ),
    ],
    skip_bad: SkipBadOpt = False,
    dry_run: DryRunOpt = False,
    database_url: DbOpt = None,
) -> None:
    """Import a 12345 hotline export as cases: all rows or, if any is bad, none."""
    engine = engine_for(settings_with(database_url))
    with transaction(engine) as session:
        with progress_bar() as progress:
            report = import_hotline_file(
                session, path=file, skip_bad=skip_bad, dry_run=dry_run, progress=progress
            )
        _print_report(report, skip_bad=skip_bad)
        if report.errors and not skip_bad:
            # Leaving through an exception rolls the transaction back: nothing half-imported.
            raise typer.Exit(code=1)


@contextmanager
def progress_bar() -> Iterator[ProgressCallback]:
    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=err_console,
        transient=True,
        disable=not err_console.is_terminal,
    )
    tasks: dict[str, TaskID] = {}

    def advance(phase: str, done: int, total: int) -> None:
        if phase not in tasks:
            tasks[phase] = bar.add_task(_PHASES.get(phase, phase), total=total)
        bar.update(tasks[phase], completed=done)

    with bar:
        yield advance


def _print_report(report: ImportReport, *, skip_bad: bool) -> None:
    if report.errors:
        console.print(error_table(report.errors))
    if report.skipped_columns:
        console.print(
            "忽略的列 ignored columns: " + ", ".join(report.skipped_columns),
            markup=False,
            highlight=False,
        )
    console.print(_summary(report), markup=False, highlight=False)
    bad = len(report.bad_rows)
    if not bad:
        return
    if skip_bad:
        line = f"[yellow]警告 warning: 跳过 {bad} 行错误 (skipped {bad} bad rows)[/yellow]"
    elif report.dry_run:
        line = f"[red]{bad} 行有错误 ({bad} bad rows)[/red]"
    else:
        line = (
            f"[red]{bad} 行有错误，未导入任何工单 ({bad} bad rows: nothing imported; "
            "fix them or use --skip-bad)[/red]"
        )
    console.print(line, highlight=False)


def _summary(report: ImportReport) -> str:
    present = f"跳过 {report.already_present} 条已存在 (already present)"
    if report.dry_run:
        return (
            f"试运行 dry run: 可导入 {report.new_rows} 条 (would import), {present}; "
            "未写入 nothing written"
        )
    return f"导入 {report.imported} 条 (imported), {present}"


def error_table(errors: list[RowError]) -> Table:
    table = Table(title=f"{len(errors)} 个错误 errors")
    table.add_column("行 row", justify="right")
    table.add_column("列 column")
    table.add_column("值 value", overflow="fold")
    table.add_column("原因 reason", overflow="fold")
    for error in errors:
        # Text(): cell values come from the file and must not be read as Rich markup.
        table.add_row(str(error.row), Text(error.column), Text(error.value), Text(error.reason))
    return table
