"""Rolling-origin backtest: the model against the seasonal-naive baseline.

The last ``weeks`` weeks of each series are the targets. For a target week ``j`` and
horizon ``h`` the forecast is made from the weeks before ``j - h + 1`` only, as it would
have been ``h`` weeks ahead. Both horizons score the same target weeks.

The model's parameters are estimated once per series, on the history before the first
origin, and then only re-filtered as each origin adds its weeks (as a deployed model would
be re-estimated now and then, not every week). Nothing of a target week is ever seen.

Scores: MAPE over the target weeks whose actual count is above zero (a zero actual has
no percentage error; how many were skipped is reported), and WAPE = sum |error| / sum
actual, which zeros do not break and which weighs weeks by volume. "All series" pools the
points of every series.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from townops.errors import InvalidInput
from townops.forecast.models import (
    FloatArray,
    Method,
    fit,
    forecast_with,
    naive_season,
    seasonal_naive,
)
from townops.forecast.series import Grouping, SeriesKey, SeriesSet, iso_label

MIN_TRAIN_WEEKS = 8


@dataclass(frozen=True)
class Score:
    """Errors of the model and the baseline over some target weeks."""

    actual: FloatArray
    model: FloatArray
    naive: FloatArray

    @property
    def points(self) -> int:
        return len(self.actual)

    @property
    def zero_actuals(self) -> int:
        return int(np.sum(self.actual == 0))

    @property
    def model_mape(self) -> float | None:
        return _mape(self.actual, self.model)

    @property
    def naive_mape(self) -> float | None:
        return _mape(self.actual, self.naive)

    @property
    def model_wape(self) -> float | None:
        return _wape(self.actual, self.model)

    @property
    def naive_wape(self) -> float | None:
        return _wape(self.actual, self.naive)

    @classmethod
    def pooled(cls, scores: list[Score]) -> Score:
        def join(part: str) -> FloatArray:
            arrays = [getattr(s, part) for s in scores]
            return np.concatenate(arrays) if arrays else np.zeros(0)

        return cls(join("actual"), join("model"), join("naive"))


@dataclass(frozen=True)
class SeriesResult:
    key: SeriesKey
    name: str
    method: Method
    note: str
    mean_weekly: float
    score: Score


@dataclass
class BacktestReport:
    source: str
    by: Grouping
    horizon: int
    weeks: int
    first_target: str  # ISO week
    last_target: str
    history_weeks: int  # weeks before the first origin
    season: int
    season_note: str
    results: list[SeriesResult]
    left_out: int
    min_weekly: float
    seconds: float
    notes: list[str] = field(default_factory=list)

    @property
    def total(self) -> Score:
        return Score.pooled([r.score for r in self.results])

    def summary_line(self) -> str:
        total = self.total
        return (
            f"model_mape={_pct(total.model_mape)} naive_mape={_pct(total.naive_mape)} "
            f"model_wape={_pct(total.model_wape)} naive_wape={_pct(total.naive_wape)} "
            f"series={len(self.results)} points={total.points} "
            f"zero_actuals_skipped_in_mape={total.zero_actuals} "
            f"horizon={self.horizon} weeks={self.weeks} season={self.season}"
        )


def run_backtest(series_set: SeriesSet, *, horizon: int = 1, weeks: int = 12) -> BacktestReport:
    """Score every series of the set over its last ``weeks`` weeks at ``horizon``."""
    if horizon < 1 or weeks < 1:
        raise InvalidInput("horizon and weeks must be at least 1", field="horizon")
    n = len(series_set.weeks)
    history = n - weeks - horizon + 1
    if history < MIN_TRAIN_WEEKS:
        raise InvalidInput(
            f"{series_set.source}: {n} complete weeks ({iso_label(series_set.weeks[0])} to "
            f"{iso_label(series_set.weeks[-1])}); backtesting {weeks} weeks at horizon "
            f"{horizon} needs at least {weeks + horizon - 1 + MIN_TRAIN_WEEKS}",
            field="weeks",
        )
    if not series_set.series:
        raise InvalidInput(
            f"{series_set.source}: no series averages {series_set.min_weekly:g} requests a "
            "week or more; lower --min-weekly or group more coarsely",
            field="min_weekly",
        )
    season, season_note = naive_season(n - weeks)
    started = time.perf_counter()
    results = [
        _backtest_one(s.counts, series_set.features, horizon, weeks, season)
        for s in series_set.series
    ]
    return BacktestReport(
        source=series_set.source,
        by=series_set.by,
        horizon=horizon,
        weeks=weeks,
        first_target=iso_label(series_set.weeks[n - weeks]),
        last_target=iso_label(series_set.weeks[-1]),
        history_weeks=history,
        season=season,
        season_note=season_note,
        results=[
            SeriesResult(s.key, s.name, method, note, s.mean, score)
            for s, (method, note, score) in zip(series_set.series, results, strict=True)
        ],
        left_out=series_set.left_out,
        min_weekly=series_set.min_weekly,
        seconds=time.perf_counter() - started,
        notes=list(series_set.notes),
    )


def _backtest_one(
    counts: FloatArray, features: FloatArray, horizon: int, weeks: int, season: int
) -> tuple[Method, str, Score]:
    n = len(counts)
    first_origin = n - weeks - horizon + 1
    fitted = fit(counts[:first_origin], features[:first_origin])
    model, naive = [], []
    for target in range(n - weeks, n):
        origin = target - horizon + 1  # the history is counts[:origin]
        prediction = forecast_with(
            fitted, counts[:origin], features[:origin], features[origin : target + 1]
        )
        model.append(float(prediction.mean[-1]))
        naive.append(seasonal_naive(counts[:origin], horizon, season))
    score = Score(counts[n - weeks :].copy(), np.array(model), np.array(naive))
    return fitted.method, fitted.note, score


def _mape(actual: FloatArray, predicted: FloatArray) -> float | None:
    seen = actual > 0
    if not seen.any():
        return None
    return float(np.mean(np.abs(predicted[seen] - actual[seen]) / actual[seen]))


def _wape(actual: FloatArray, predicted: FloatArray) -> float | None:
    volume = float(actual.sum())
    if volume == 0:
        return None
    return float(np.abs(predicted - actual).sum()) / volume


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"
