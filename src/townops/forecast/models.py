"""Forecasting one weekly count series: a structural time-series model, or a fallback.

The model (statsmodels ``UnobservedComponents``, a state-space model fitted by maximum
likelihood, forecasting with the Kalman filter) works on ``log(1 + count)``, where weekly
counts vary multiplicatively and their noise is closer to constant:

- a local level (a random-walk mean: volume drifts, and shifts such as a lockdown are
  followed within a few weeks);
- calendar regressors, known in advance for the coming weeks: the number of working days
  in the week (holidays and make-up working days move volume) and, for Chinese sources,
  the days of the Spring Festival holiday (see ``series.calendar_features``); a regressor
  that does not vary over the history is left out;
- with two years of history or more, a yearly shape of ``HARMONICS`` sine/cosine pairs of
  period 365.25/7 weeks (fixed over time: two or three years cannot tell a changing
  seasonal shape from noise, and the Fourier form needs 8 parameters instead of 52).

Forecasts are back-transformed with ``exp(x) - 1``: that is the median of the predicted
distribution, not its mean, which is what the absolute-error scores reward. The interval
is the model's ``INTERVAL`` prediction interval, back-transformed the same way.

Too short or too sparse series (log counts of 0, 1, 2 are mostly noise) fall back to the
mean of the recent weeks, with a Poisson interval; every forecast says which method made
it and why.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import numpy.typing as npt
from scipy.stats import poisson
from statsmodels.tsa.statespace.structural import (  # type: ignore[import-untyped]
    UnobservedComponents,
)

FloatArray = npt.NDArray[np.float64]

INTERVAL = 0.8
SEASON_WEEKS = 365.25 / 7
HARMONICS = 4
MIN_WEEKS = 16  # fewer weeks of history: the fallback
MIN_SEASONAL_WEEKS = 104  # two years before a yearly shape is estimated
SPARSE_MEAN = 3.0  # fewer requests a week than this (recent mean): the fallback
MAX_ZERO_SHARE = 0.25  # more zero weeks than this share (recently): the fallback
RECENT_WEEKS = 8  # what the fallback averages, and what "normal" means
_RECENT_CHECK_WEEKS = 13  # the quarter whose volume decides model or fallback


class Method(StrEnum):
    seasonal = "uc_seasonal"  # local level + yearly shape + working days, log counts
    level = "uc_level"  # local level + working days, log counts
    recent_mean = "recent_mean"  # fallback: mean of the last RECENT_WEEKS weeks


METHOD_NAMES: dict[Method, str] = {
    Method.seasonal: "状态空间模型（水平+年季节+工作日）",
    Method.level: "状态空间模型（水平+工作日）",
    Method.recent_mean: "近期均值（数据不足时的后备）",
}


@dataclass(frozen=True)
class Forecast:
    method: Method
    note: str
    mean: FloatArray
    lower: FloatArray
    upper: FloatArray


@dataclass(frozen=True)
class FittedModel:
    """A method chosen for a series, with its estimated parameters (none for the fallback)."""

    method: Method
    note: str
    params: FloatArray | None = None
    columns: tuple[int, ...] = ()  # the calendar features used (those that vary)


def choose_method(counts: FloatArray) -> tuple[Method, str]:
    """The method a history allows, and a sentence saying why."""
    n = len(counts)
    if n < MIN_WEEKS:
        return Method.recent_mean, f"fallback: {n} weeks of history, the model needs {MIN_WEEKS}"
    recent = counts[-_RECENT_CHECK_WEEKS:]
    if recent.mean() < SPARSE_MEAN:
        return (
            Method.recent_mean,
            f"fallback: sparse, {recent.mean():.1f} a week recently (model from {SPARSE_MEAN:g})",
        )
    zeros = float(np.mean(recent == 0))
    if zeros > MAX_ZERO_SHARE:
        return Method.recent_mean, f"fallback: {zeros:.0%} of recent weeks are zero"
    if n < MIN_SEASONAL_WEEKS:
        return Method.level, f"no yearly shape: {n} weeks of history, {MIN_SEASONAL_WEEKS} needed"
    return Method.seasonal, f"yearly shape from {n} weeks of history"


def fit(counts: FloatArray, features: FloatArray) -> FittedModel:
    """Choose the method for ``counts`` and estimate its parameters.

    ``features`` holds one row of calendar regressors per week of ``counts``.
    """
    method, note = choose_method(counts)
    if method == Method.recent_mean:
        return FittedModel(method, note)
    history = features[: len(counts)]
    columns = tuple(int(i) for i in np.flatnonzero(np.ptp(history, axis=0) > 0))
    model = _model(counts, features, method, columns)
    try:
        with warnings.catch_warnings():
            # Non-convergence warnings are checked below through the parameters instead.
            warnings.simplefilter("ignore")
            result = model.fit(disp=False)
        params = np.asarray(result.params, dtype=np.float64)
    except (ValueError, np.linalg.LinAlgError) as exc:
        return FittedModel(Method.recent_mean, f"fallback: the model could not be fitted ({exc})")
    if not np.all(np.isfinite(params)):
        return FittedModel(Method.recent_mean, "fallback: the model fit did not converge")
    return FittedModel(method, note, params, columns)


def forecast_with(
    fitted: FittedModel, counts: FloatArray, features: FloatArray, future: FloatArray
) -> Forecast:
    """Forecast ``len(future)`` weeks after ``counts`` with already-fitted parameters.

    ``features`` are the calendar regressors of the history, ``future`` those of the
    weeks to forecast.

    ``counts`` may be longer than the history the parameters were estimated on: the
    backtest fits once and then only filters each later origin (no re-estimation).
    """
    horizon = len(future)
    if fitted.method == Method.recent_mean or fitted.params is None:
        return recent_mean_forecast(counts, horizon, fitted.note)
    model = _model(counts, features, fitted.method, fitted.columns)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = model.filter(fitted.params)
        exog = future[:, list(fitted.columns)] if fitted.columns else None
        prediction = result.get_forecast(horizon, exog=exog)
        log_mean = np.asarray(prediction.predicted_mean, dtype=np.float64)
        bounds = np.asarray(prediction.conf_int(alpha=1 - INTERVAL), dtype=np.float64)
    if not (np.all(np.isfinite(log_mean)) and np.all(np.isfinite(bounds))):
        return recent_mean_forecast(counts, horizon, "fallback: the model gave no finite value")
    return Forecast(
        fitted.method,
        fitted.note,
        _counts(log_mean),
        _counts(bounds[:, 0]),
        _counts(bounds[:, 1]),
    )


def forecast(counts: FloatArray, features: FloatArray, future: FloatArray) -> Forecast:
    """Fit on the whole history and forecast the weeks whose calendar ``future`` gives."""
    fitted = fit(counts, features)
    return forecast_with(fitted, counts, features, future)


def recent_mean_forecast(counts: FloatArray, horizon: int, note: str) -> Forecast:
    level = float(counts[-RECENT_WEEKS:].mean()) if len(counts) else 0.0
    tail = (1 - INTERVAL) / 2
    lower = float(poisson.ppf(tail, level)) if level > 0 else 0.0
    upper = float(poisson.ppf(1 - tail, level)) if level > 0 else 0.0
    return Forecast(
        Method.recent_mean,
        note,
        np.full(horizon, level),
        np.full(horizon, lower),
        np.full(horizon, upper),
    )


def naive_season(history_weeks: int) -> tuple[int, str]:
    """The season of the seasonal-naive baseline for a history of ``history_weeks``.

    Weekly totals have no season shorter than a year (the day-of-week pattern sums out
    within each week), so "same period last season" is the same week a year (52 weeks)
    before. Without a year of history before a forecast there is no such week, and the
    baseline is last week's count (season 1).
    """
    if history_weeks >= 52:
        return 52, "s=52: the same week a year before"
    return 1, (
        f"s=1: last week's count ({history_weeks} weeks before the first forecast, "
        "less than a year, so no same week last year)"
    )


def seasonal_naive(counts: FloatArray, horizon: int, season: int) -> float:
    """The baseline forecast ``horizon`` weeks after ``counts``: the last season's value."""
    if season == 1:
        return float(counts[-1])
    return float(counts[len(counts) + horizon - 1 - season])


def _model(
    counts: FloatArray, features: FloatArray, method: Method, columns: tuple[int, ...]
) -> UnobservedComponents:
    options: dict[str, object] = {"level": "local level"}
    if method == Method.seasonal:
        options["freq_seasonal"] = [{"period": SEASON_WEEKS, "harmonics": HARMONICS}]
        options["stochastic_freq_seasonal"] = [False]
    exog = features[: len(counts), list(columns)] if columns else None
    return UnobservedComponents(np.log1p(counts), exog=exog, **options)


def _counts(log_values: FloatArray) -> FloatArray:
    return np.clip(np.expm1(log_values), 0.0, None)
