"""``townops forecast``: weekly case-volume forecasts, their backtest, and 未呼先应.

DATA is ``db`` (the town's cases, read as the system: the CLI is run by the town's IT
staff) or the path of a NYC 311, SF 311 or citizen-message CSV (the format is told from
its header). See docs/forecast.md.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.table import Table

from townops.cli.common import DbOpt, console, engine_for, err_console, settings_with, transaction
from townops.cli.kpi import print_wide
from townops.errors import DomainError
from townops.forecast.backtest import BacktestReport, Score, run_backtest
from townops.forecast.models import METHOD_NAMES, Method
from townops.forecast.proactive import DEFAULT_K, cut_log, forecast_log, suggest_for_log
from townops.forecast.schemas import ForecastList, SuggestBy, SuggestionList
from townops.forecast.series import GROUPING_NAMES, Grouping, build_series
from townops.forecast.sources import RequestLog, read_cases, read_csv

forecast_app = typer.Typer(
    help="Weekly case-volume forecasts, backtests and proactive suggestions (未呼先应).",
    no_args_is_help=True,
)

T = TypeVar("T")

DataArg = Annotated[
    str, typer.Argument(help="'db' (the town's cases) or a NYC 311 / SF 311 / messages CSV.")
]
AsOfOpt = Annotated[
    str | None,
    typer.Option("--as-of", help="Forecast as on this local day, e.g. 2022-06-13 (earlier only)."),
]


class OutputFormat(StrEnum):
    table = "table"
    json = "json"


def register(app: typer.Typer) -> None:
    """Add ``townops forecast …`` to the main townops app."""
    app.add_typer(forecast_app, name="forecast")


@forecast_app.command("backtest")
def backtest(
    data: DataArg,
    by: Annotated[Grouping, typer.Option(help="One series per this.")] = Grouping.category,
    horizon: Annotated[int, typer.Option(min=1, max=26, help="Weeks ahead.")] = 1,
    weeks: Annotated[int, typer.Option(min=1, max=104, help="Target weeks (the last K).")] = 12,
    min_weekly: Annotated[
        float | None, typer.Option(min=0, help="Leave out series averaging less a week.")
    ] = None,
    top: Annotated[int, typer.Option(min=1, help="Series rows shown (by volume).")] = 25,
    database_url: DbOpt = None,
) -> None:
    """Rolling-origin backtest: MAPE and WAPE of the model and the seasonal-naive baseline."""
    report = _guarded(
        lambda: run_backtest(
            build_series(_load(data, database_url), by, min_weekly=min_weekly),
            horizon=horizon,
            weeks=weeks,
        )
    )
    print_wide(backtest_table(report, top=top))
    for note in report.notes:
        console.print(f"note: {note}", highlight=False, markup=False)
    typer.echo(report.summary_line())


@forecast_app.command("show")
def show(
    data: DataArg = "db",
    by: Annotated[Grouping, typer.Option(help="One series per this.")] = Grouping.category,
    weeks: Annotated[int, typer.Option(min=1, max=26, help="Weeks ahead.")] = 4,
    as_of: AsOfOpt = None,
    top: Annotated[int, typer.Option(min=1, help="Series rows shown (by volume).")] = 25,
    output_format: Annotated[OutputFormat, typer.Option("--format")] = OutputFormat.table,
    database_url: DbOpt = None,
) -> None:
    """Forecasts for the weeks after the last complete week, with 80 % intervals."""
    forecasts = _guarded(
        lambda: forecast_log(cut_log(_load(data, database_url), _day(as_of)), by=by, weeks=weeks)
    )
    if output_format == OutputFormat.json:
        typer.echo(json.dumps(forecasts.model_dump(mode="json"), ensure_ascii=False, indent=2))
        return
    print_wide(forecast_table(forecasts, top=top))


@forecast_app.command("suggest")
def suggest(
    data: DataArg = "db",
    by: Annotated[SuggestBy, typer.Option(help="Series to look in.")] = SuggestBy.all,
    weeks: Annotated[int, typer.Option(min=1, max=26, help="Coming weeks to look at.")] = 1,
    k: Annotated[float, typer.Option(min=0.1, help="Spreads above normal.")] = DEFAULT_K,
    as_of: AsOfOpt = None,
    output_format: Annotated[OutputFormat, typer.Option("--format")] = OutputFormat.table,
    database_url: DbOpt = None,
) -> None:
    """Proactive suggestions (未呼先应): series expected well above normal, and why."""
    found = _guarded(
        lambda: suggest_for_log(
            cut_log(_load(data, database_url), _day(as_of)), by=by, weeks=weeks, k=k
        )
    )
    if output_format == OutputFormat.json:
        typer.echo(json.dumps(found.model_dump(mode="json"), ensure_ascii=False, indent=2))
        return
    print_suggestions(found)


def _load(data: str, database_url: str | None) -> RequestLog:
    if data != "db":
        return read_csv(Path(data))
    engine = engine_for(settings_with(database_url))
    with transaction(engine) as session:
        return read_cases(session)


def _day(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        err_console.print(f"[red]error:[/red] --as-of '{value}' is not a day YYYY-MM-DD")
        raise typer.Exit(code=2) from None


def _guarded(work: Callable[[], T]) -> T:
    try:
        return work()
    except DomainError as exc:
        err_console.print(f"[red]error:[/red] {exc.message}", highlight=False)
        raise typer.Exit(code=1) from exc


# --------------------------------------------------------------------------- tables


def backtest_table(report: BacktestReport, *, top: int) -> Table:
    by_zh, by_en = GROUPING_NAMES[report.by]
    table = Table(
        title=(
            f"预测回测 backtest · {report.source} · {by_zh} ({by_en}) · "
            f"提前 {report.horizon} 周 (horizon) · {report.first_target}–{report.last_target}"
        ),
        caption=_backtest_caption(report, shown=min(top, len(report.results))),
    )
    table.add_column("序列\n(series)")
    table.add_column("方法\n(method)")
    for header in (
        "周均\n(mean/wk)",
        "模型 MAPE\n(model)",
        "基线 MAPE\n(naive)",
        "模型 WAPE\n(model)",
        "基线 WAPE\n(naive)",
        "零值周\n(zero wks)",
    ):
        table.add_column(header, justify="right")
    for result in report.results[:top]:
        table.add_row(
            result.name, result.method.value, f"{result.mean_weekly:.1f}", *_scores(result.score)
        )
    table.add_section()
    table.add_row("全部序列 (all series, pooled)", "", "", *_scores(report.total), style="bold")
    return table


def _backtest_caption(report: BacktestReport, *, shown: int) -> str:
    fallbacks = sum(1 for r in report.results if r.method == Method.recent_mean)
    return (
        f"{len(report.results)} series ({shown} shown), {report.history_weeks} weeks before "
        f"the first origin; {fallbacks} on the fallback (recent mean); {report.left_out} "
        f"left out (< {report.min_weekly:g}/week over the last year). Baseline: seasonal "
        f"naive, {report.season_note}. MAPE skips weeks whose actual is 0 (counted in "
        f"'zero wks'); WAPE = Σ|error| / Σactual counts them. {report.seconds:.1f} s."
    )


def _scores(score: Score) -> list[str]:
    return [
        _pct(score.model_mape),
        _pct(score.naive_mape),
        _pct(score.model_wape),
        _pct(score.naive_wape),
        str(score.zero_actuals),
    ]


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


def forecast_table(forecasts: ForecastList, *, top: int) -> Table:
    table = Table(
        title=(
            f"周工单量预测 weekly forecast · {forecasts.source} · {forecasts.by} · after "
            f"{forecasts.last_week}"
        ),
        caption=(
            f"expected (median) [{forecasts.interval:.0%} interval]; normal = median of the "
            f"last 8 weeks; {forecasts.left_out} series left out (< "
            f"{forecasts.min_weekly:g}/week). " + " ".join(forecasts.notes)
        ),
    )
    table.add_column("序列\n(series)")
    table.add_column("方法\n(method)")
    table.add_column("常态\n(normal)", justify="right")
    first = forecasts.items[0].points if forecasts.items else []
    for point in first:
        table.add_column(f"{point.week}\n{point.start:%m-%d}", justify="right")
    for item in forecasts.items[:top]:
        table.add_row(
            item.name,
            METHOD_NAMES[Method(item.method)],
            f"{item.normal:.1f}",
            *(f"{p.expected:.0f} [{p.lower:.0f}–{p.upper:.0f}]" for p in item.points),
        )
    return table


def print_suggestions(found: SuggestionList) -> None:
    console.print(
        f"未呼先应 proactive suggestions · {found.source} · after {found.last_week}: "
        f"{len(found.items)}",
        highlight=False,
    )
    console.print(f"rule: {found.rules}", highlight=False, markup=False)
    for note in found.notes:
        console.print(f"note: {note}", highlight=False, markup=False)
    # A list, not a table: the reason is a sentence and a narrow terminal would cut it.
    for number, item in enumerate(found.items, start=1):
        console.print(
            f"\n[bold]{number}. {item.name}[/bold] · {item.week} · 预计 expected "
            f"{item.expected:.0f} [{item.lower:.0f}–{item.upper:.0f}] · 常态 normal "
            f"{item.normal:.1f} ±{item.normal_sd:.1f} · {item.trigger}",
            highlight=False,
        )
        console.print(f"   {item.reason_zh}", highlight=False, markup=False)
