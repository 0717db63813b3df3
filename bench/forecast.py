"""Weekly forecasts: the model against the seasonal-naive baseline, and how long it takes.

    .venv/bin/python bench/forecast.py [--demo-db PATH] [--data DIR] [--weeks 12]

Backtests (rolling origin, the last ``--weeks`` weeks, horizons 1 and 4) on the demo
year 2022 (built into its own SQLite file with ``townops demo --no-serve --year 2022`` if that file
holds no cases yet, ~2–5 minutes) and on every real file of ``../shared/data``
(city-311-samples, gov-messages; skipped when the folder is absent), by total, category
and community. Prints MAPE (zero actuals skipped) and WAPE of both, and the timings of
reading, backtesting, forecasting and suggesting. A file that cannot be forecast weekly
is listed with the reason.
"""

from __future__ import annotations

import argparse
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import closing
from functools import partial
from pathlib import Path
from typing import TypeVar

from rich.console import Console
from rich.table import Table

from townops.db import make_engine, make_session_factory
from townops.errors import DomainError
from townops.forecast.backtest import BacktestReport, run_backtest
from townops.forecast.proactive import forecast_log, suggest_for_log
from townops.forecast.series import Grouping, build_series
from townops.forecast.sources import RequestLog, read_cases, read_csv

T = TypeVar("T")
REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data"
REAL_FILES = (
    "city-311-samples/sf311_service_requests_10k.csv",
    "city-311-samples/nyc311_2020_17k_minimal.csv",
    "city-311-samples/nyc311_2022-05-01_924rows_fullschema.csv",
    "gov-messages/labeled.csv",
    "gov-messages/messages_with_votes.csv",
    "gov-messages/messages_with_replies.csv",
    "gov-messages/messages_unlabeled.csv",
)
GROUPINGS = (Grouping.total, Grouping.category, Grouping.community)
HORIZONS = (1, 4)
console = Console(width=160)


def timed(work: Callable[[], T]) -> tuple[T, float]:
    started = time.perf_counter()
    result = work()
    return result, time.perf_counter() - started


def has_cases(path: Path) -> bool:
    if not path.exists():
        return False
    with closing(sqlite3.connect(path)) as conn:
        try:
            return conn.execute("SELECT 1 FROM cases LIMIT 1").fetchone() is not None
        except sqlite3.Error:
            return False


def demo_log(path: Path) -> RequestLog:
    if not has_cases(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        console.print(f"building the demo year into {path} (townops demo --no-serve --year 2022) …")
        command = [
            sys.executable,
            "-m",
            "townops",
            "demo",
            "--no-serve",
            "--year",
            "2022",
            "--db",
            str(path),
        ]
        _, seconds = timed(lambda: subprocess.run(command, check=True, capture_output=True))
        console.print(f"built in {seconds:.0f} s")
    engine = make_engine(f"sqlite:///{path}")
    with make_session_factory(engine)() as session:
        log = read_cases(session)
    engine.dispose()
    return log


def pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


def winner(report: BacktestReport) -> str:
    model, naive = report.total.model_wape, report.total.naive_wape
    if model is None or naive is None:
        return "—"
    return "model" if model < naive else "naive" if naive < model else "tie"


def score_cells(report: BacktestReport) -> list[str]:
    total = report.total
    fallbacks = sum(1 for r in report.results if r.method == "recent_mean")
    return [
        str(len(report.results)),
        str(fallbacks),
        str(total.points),
        str(report.season),
        pct(total.model_mape),
        pct(total.naive_mape),
        pct(total.model_wape),
        pct(total.naive_wape),
        winner(report),
        f"{report.seconds:.1f}",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--demo-db", type=Path, default=REPO / "var" / "bench-forecast-demo.db")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--weeks", type=int, default=12)
    args = parser.parse_args()

    sources: list[tuple[str, Callable[[], RequestLog]]] = [
        ("demo 2022 (db)", lambda: demo_log(args.demo_db))
    ]
    if args.data.is_dir():
        sources += [(name, partial(read_csv, args.data / name)) for name in REAL_FILES]
    else:
        console.print(f"{args.data} is absent: real files skipped")

    scores = Table(title=f"Backtest: last {args.weeks} weeks, rolling origin")
    for column in ("source", "by", "h", "series", "fallback", "points", "season"):
        scores.add_column(column)
    for column in ("model MAPE", "naive MAPE", "model WAPE", "naive WAPE", "better", "s"):
        scores.add_column(column, justify="right")
    timings = Table(title="Timings (seconds)")
    for column in ("source", "requests", "read", "forecast by category, 4 wk", "suggest (all)"):
        timings.add_column(column, justify="right" if column != "source" else "left")
    refused: list[tuple[str, str]] = []

    for name, load in sources:
        try:
            log, read_s = timed(load)
        except DomainError as exc:
            refused.append((name, exc.message))
            continue
        for by in GROUPINGS:
            try:
                series_set = build_series(log, by)
                for horizon in HORIZONS:
                    report = run_backtest(series_set, horizon=horizon, weeks=args.weeks)
                    scores.add_row(name, by.value, str(horizon), *score_cells(report))
            except DomainError as exc:
                refused.append((f"{name} by {by.value}", exc.message))
        try:
            _, forecast_s = timed(partial(forecast_log, log, by=Grouping.category, weeks=4))
            _, suggest_s = timed(partial(suggest_for_log, log))
        except DomainError:
            continue
        timings.add_row(
            name, str(len(log.requests)), f"{read_s:.2f}", f"{forecast_s:.2f}", f"{suggest_s:.2f}"
        )
    console.print(scores)
    console.print(timings)
    for name, reason in refused:
        console.print(f"not forecastable weekly: {name}: {reason}", highlight=False)


if __name__ == "__main__":
    main()
