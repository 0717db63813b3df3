"""The forecasting model, the baseline, the backtest and the suggestion rule (no database)."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest

from townops.errors import InvalidInput
from townops.forecast import models
from townops.forecast.backtest import Score, run_backtest
from townops.forecast.models import Method, fit, forecast, naive_season, seasonal_naive
from townops.forecast.proactive import normal_level, suggestions
from townops.forecast.schemas import ForecastPoint, SeriesForecast
from townops.forecast.series import Grouping, SeriesKey, SeriesSet, WeeklySeries
from townops.forecast.sources import SourceFormat, UsFederalCalendar

MONDAY = date(2019, 1, 7)


def features(workdays: list[int] | np.ndarray) -> np.ndarray:
    days = np.asarray(workdays, dtype=np.float64)
    return np.column_stack([days, np.zeros(len(days))])


def series_set(counts: np.ndarray, workdays: np.ndarray | None = None) -> SeriesSet:
    n = len(counts)
    days = np.full(n, 5.0) if workdays is None else workdays
    return SeriesSet(
        source="synthetic",
        format=SourceFormat.nyc311,
        by=Grouping.total,
        calendar=UsFederalCalendar(),
        country="US",
        weeks=[MONDAY + timedelta(weeks=i) for i in range(n)],
        features=features(days),
        series=[WeeklySeries(SeriesKey(), "all", counts.astype(np.float64))],
    )


def yearly_pattern(weeks: int, seed: int) -> np.ndarray:
    """Poisson counts around 60 a week, ±45 % over the year (a summer peak)."""
    rng = np.random.default_rng(seed)
    t = np.arange(weeks)
    mean = 60 * np.exp(0.45 * np.sin(2 * np.pi * t / (365.25 / 7)))
    counts: np.ndarray = rng.poisson(mean).astype(np.float64)
    return counts


def test_on_a_known_yearly_pattern_the_model_beats_the_seasonal_naive_baseline() -> None:
    # A year of target weeks: over fewer, sampling noise can hide a real 30 % gain.
    report = run_backtest(series_set(yearly_pattern(210, seed=3)), horizon=1, weeks=52)
    result = report.results[0]
    assert result.method == Method.seasonal
    assert report.season == 52 and "a year before" in report.season_note
    total = report.total
    assert total.points == 52
    assert total.model_mape is not None and total.naive_mape is not None
    assert total.model_mape < 0.8 * total.naive_mape
    assert total.model_wape is not None and total.naive_wape is not None
    assert total.model_wape < 0.8 * total.naive_wape


def test_at_horizon_four_the_same_target_weeks_are_scored() -> None:
    one = run_backtest(series_set(yearly_pattern(210, seed=3)), horizon=1, weeks=52)
    four = run_backtest(series_set(yearly_pattern(210, seed=3)), horizon=4, weeks=52)
    assert (one.first_target, one.last_target) == (four.first_target, four.last_target)
    assert np.array_equal(one.total.actual, four.total.actual)
    assert four.history_weeks == one.history_weeks - 3
    assert four.total.model_mape is not None and four.total.naive_mape is not None
    assert four.total.model_mape < four.total.naive_mape


def test_working_days_drive_the_forecast_and_beat_last_weeks_count() -> None:
    rng = np.random.default_rng(11)
    workdays = np.full(60, 5.0)
    workdays[[6, 15, 22, 31, 40, 47, 53, 57]] = [2, 3, 4, 2, 3, 7, 2, 3]
    counts = rng.poisson(100 * np.exp(0.12 * (workdays - 5))).astype(np.float64)
    report = run_backtest(series_set(counts, workdays), horizon=1, weeks=12)
    assert report.season == 1 and "last week" in report.season_note
    assert report.results[0].method == Method.level
    assert report.total.model_wape is not None and report.total.naive_wape is not None
    assert report.total.model_wape < report.total.naive_wape
    ahead = forecast(counts, features(workdays), features([5, 2]))
    assert ahead.mean[1] < 0.85 * ahead.mean[0]


def test_forecasts_carry_an_interval_around_the_expected_count() -> None:
    counts = yearly_pattern(120, seed=5)
    result = forecast(counts, features(np.full(120, 5)), features([5, 5, 5, 5]))
    assert result.mean.shape == result.lower.shape == result.upper.shape == (4,)
    assert np.all(result.lower <= result.mean) and np.all(result.mean <= result.upper)
    assert np.all(result.upper - result.lower > 0)


def test_a_sparse_series_falls_back_to_the_recent_mean_and_says_why() -> None:
    counts = np.array([0, 1, 0, 2, 0, 0, 3, 1, 0, 1, 0, 2] * 3, dtype=np.float64)
    fitted = fit(counts, features(np.full(len(counts), 5)))
    assert fitted.method == Method.recent_mean
    assert "sparse" in fitted.note
    result = forecast(counts, features(np.full(len(counts), 5)), features([5, 5]))
    assert result.method == Method.recent_mean
    assert result.mean[0] == pytest.approx(counts[-8:].mean())
    assert result.lower[0] <= result.mean[0] <= result.upper[0]


def test_a_short_history_falls_back_and_names_the_weeks_it_lacks() -> None:
    counts = np.full(10, 40.0)
    method, note = models.choose_method(counts)
    assert method == Method.recent_mean
    assert "10 weeks" in note and str(models.MIN_WEEKS) in note


def test_a_series_of_mostly_zero_weeks_falls_back() -> None:
    counts = np.array([0, 0, 12, 0, 0, 15, 0, 9] * 4, dtype=np.float64)
    method, note = models.choose_method(counts)
    assert method == Method.recent_mean and "zero" in note


def test_the_naive_season_is_a_year_when_a_year_of_history_exists_else_last_week() -> None:
    assert naive_season(52)[0] == 52
    assert naive_season(51)[0] == 1
    counts = np.arange(60, dtype=np.float64)
    assert seasonal_naive(counts, 1, 1) == 59
    assert seasonal_naive(counts, 1, 52) == counts[60 - 52]
    assert seasonal_naive(counts, 4, 52) == counts[63 - 52]


def test_mape_skips_zero_actuals_and_wape_counts_them() -> None:
    score = Score(np.array([0.0, 10.0, 20.0]), np.array([5.0, 12.0, 20.0]), np.zeros(3))
    assert score.zero_actuals == 1
    assert score.model_mape == pytest.approx((0.2 + 0.0) / 2)
    assert score.model_wape == pytest.approx((5 + 2 + 0) / 30)
    assert score.naive_mape == pytest.approx(1.0)
    nothing = Score(np.zeros(2), np.ones(2), np.ones(2))
    assert nothing.model_mape is None and nothing.model_wape is None
    pooled = Score.pooled([score, nothing])
    assert pooled.points == 5 and pooled.zero_actuals == 3


def test_a_history_too_short_to_backtest_is_refused_with_what_it_needs() -> None:
    with pytest.raises(InvalidInput) as caught:
        run_backtest(series_set(np.full(20, 10.0)), horizon=4, weeks=12)
    assert "20 complete weeks" in caught.value.message
    assert "at least 23" in caught.value.message


def test_the_normal_level_is_robust_to_a_surge_that_just_began() -> None:
    normal, spread = normal_level(np.array([5, 8, 7, 9, 4, 23, 23, 25], dtype=np.float64))
    assert normal == 8.5
    assert spread == pytest.approx(1.4826 * 4.0)
    _, flat_spread = normal_level(np.full(8, 16.0))
    assert flat_spread == pytest.approx(4.0)  # never under the Poisson noise √16


def a_forecast(expected: float, lower: float, normal: float, spread: float) -> SeriesForecast:
    point = ForecastPoint(
        week="2023-W01",
        start=date(2023, 1, 2),
        end=date(2023, 1, 8),
        workdays=5,
        expected=expected,
        lower=lower,
        upper=expected * 1.5,
    )
    return SeriesForecast(
        category="house_leak",
        category_name="房屋渗漏",
        name="房屋渗漏",
        method="uc_level",
        method_zh="状态空间模型",
        note="",
        history_weeks=40,
        normal=normal,
        normal_sd=spread,
        recent=[10, 10, 10, 10, 12, 14, 18, 22],
        normal_workdays=5.0,
        points=[point],
    )


def test_a_forecast_well_above_normal_becomes_a_suggestion_with_a_reason() -> None:
    (found,) = suggestions([a_forecast(30, 18, 11, 3.3)], k=2)
    assert found.trigger == "above_k_sd"
    assert found.category == "house_leak" and found.week == "2023-W01"
    assert found.rise == pytest.approx(30 / 11 - 1, abs=1e-3)
    assert "房屋渗漏" in found.reason_zh and "未呼先应" in found.reason_zh
    assert "呈上升趋势" in found.reason_zh  # the last 4 weeks are above the 4 before


def test_an_interval_wholly_above_normal_is_a_suggestion_too() -> None:
    (found,) = suggestions([a_forecast(16, 13, 12, 3.5)], k=2)
    assert found.trigger == "interval_above_normal"
    assert "下限" in found.reason_zh


@pytest.mark.parametrize(
    ("expected", "lower", "normal", "spread"),
    [
        (14, 9, 12, 3.5),  # within the spread, interval reaches below normal
        (4.5, 4, 1, 1),  # far above normal but under the minimum count
        (13.5, 12.5, 12, 0.2),  # above by many spreads but less than 20 %
    ],
)
def test_small_or_uncertain_rises_are_not_suggested(
    expected: float, lower: float, normal: float, spread: float
) -> None:
    assert suggestions([a_forecast(expected, lower, normal, spread)], k=2) == []
