"""Forecasts for the coming weeks, and suggestions where one rises well above normal.

未呼先应 (answer before the call): a series whose forecast for a coming week is well above
its normal level is worth preparing for (more handlers on duty, a patrol, a notice to the
estates) before residents call. "Normal" is the median of the last ``RECENT_WEEKS``
weeks, its spread the robust standard deviation (1.4826 × the median absolute deviation),
never less than the Poisson noise √normal (a flat series would otherwise raise alarms
over a handful of calls). A surge becomes normal once it fills half the window.

A suggestion is made for a coming week when the forecast is at least ``MIN_EXPECTED``
requests and ``MIN_RISE`` above normal, and either exceeds normal by ``k`` spreads or the
lower bound of its prediction interval is itself above normal.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import func, select, true
from sqlalchemy.orm import Session

from townops.access.actor import Actor
from townops.cases.access import TOWN_WIDE_ROLES, require_role, visible_cases
from townops.cases.models import Case
from townops.db import database_key
from townops.errors import InvalidInput
from townops.forecast import models
from townops.forecast.schemas import (
    ForecastList,
    ForecastPoint,
    SeriesForecast,
    SuggestBy,
    Suggestion,
    SuggestionList,
)
from townops.forecast.series import Grouping, SeriesSet, WeeklySeries, build_series, iso_label
from townops.forecast.sources import RequestLog, read_cases
from townops.towns.profile import get_profile

T = TypeVar("T")

DEFAULT_K = 2.0
MIN_EXPECTED = 5.0
MIN_RISE = 0.2
MAX_WEEKS = 26
MAD_TO_SD = 1.4826  # the MAD of a normal distribution times this is its SD
_TREND_RISE = 1.15  # last 4 weeks this much above the 4 before: "rising"
_SUGGEST_GROUPINGS: dict[SuggestBy, tuple[Grouping, ...]] = {
    SuggestBy.all: (Grouping.category, Grouping.community, Grouping.category_community),
    SuggestBy.category: (Grouping.category,),
    SuggestBy.community: (Grouping.community,),
    SuggestBy.category_community: (Grouping.category_community,),
}


def rules_text(k: float) -> str:
    return (
        f"forecast ≥ {MIN_EXPECTED:g} and ≥ {1 + MIN_RISE:.1f} × normal, and either "
        f"> normal + {k:g} × spread or the {models.INTERVAL:.0%} interval's lower bound > "
        f"normal; normal = median of the last {models.RECENT_WEEKS} weeks, spread = "
        "1.4826 × their median absolute deviation, at least √normal"
    )


# --------------------------------------------------------------------------- the town's cases


def forecast_cases(
    session: Session,
    *,
    actor: Actor,
    by: Grouping,
    weeks: int,
    as_of: date | None = None,
    min_weekly: float | None = None,
) -> ForecastList:
    """Forecasts of the cases ``actor`` may see, for the ``weeks`` after the last full week."""
    require_role(actor, TOWN_WIDE_ROLES, "read forecasts")
    until = _until(session, as_of)
    key = ("forecasts", by.value, weeks, min_weekly)
    return _cached(
        session,
        actor,
        until,
        key,
        lambda: forecast_log(
            read_cases(session, actor=actor, until=until),
            by=by,
            weeks=weeks,
            min_weekly=min_weekly,
        ),
    )


def suggest_for_cases(
    session: Session,
    *,
    actor: Actor,
    by: SuggestBy = SuggestBy.all,
    weeks: int = 1,
    k: float = DEFAULT_K,
    as_of: date | None = None,
) -> SuggestionList:
    require_role(actor, TOWN_WIDE_ROLES, "read forecast suggestions")
    until = _until(session, as_of)
    return _cached(
        session,
        actor,
        until,
        ("suggestions", by.value, weeks, k),
        lambda: suggest_for_log(
            read_cases(session, actor=actor, until=until), by=by, weeks=weeks, k=k
        ),
    )


def _until(session: Session, as_of: date | None) -> datetime | None:
    if as_of is None:
        return None
    tz = ZoneInfo(get_profile(session).timezone)
    return datetime.combine(as_of, time.min, tzinfo=tz).astimezone(UTC)


# Fitting a model per series takes seconds for a town; the answer changes only when cases
# arrive. Kept per database, scope and parameters, and valid while the count and the
# newest receipt of the cases read are unchanged (a case moved to another category
# shows once the next case arrives).
_CACHE_SIZE = 32
_cache: OrderedDict[tuple[object, ...], Any] = OrderedDict()
_cache_lock = threading.Lock()


def _cached(
    session: Session,
    actor: Actor,
    until: datetime | None,
    key: tuple[object, ...],
    compute: Callable[[], T],
) -> T:
    scope = visible_cases(actor)
    cut = Case.received_at < until if until is not None else true()
    count, newest = session.execute(
        select(func.count(), func.max(Case.received_at)).where(scope, cut)
    ).one()
    full_key = (database_key(session), actor.scope_path, until, count, newest, *key)
    with _cache_lock:
        if full_key in _cache:
            _cache.move_to_end(full_key)
            cached: T = _cache[full_key]
            return cached
    result = compute()
    with _cache_lock:
        _cache[full_key] = result
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return result


# --------------------------------------------------------------------------- any source


def cut_log(log: RequestLog, as_of: date | None) -> RequestLog:
    """The log as it stood on ``as_of`` (requests of earlier days only)."""
    if as_of is None:
        return log
    kept = [r for r in log.requests if r.day < as_of]
    if not kept:
        raise InvalidInput(f"{log.name}: nothing before {as_of}", field="as_of")
    return RequestLog(
        name=log.name,
        format=log.format,
        timezone=log.timezone,
        calendar=log.calendar,
        country=log.country,
        requests=kept,
        first_day=log.first_day,
        last_day=min(log.last_day, as_of - timedelta(days=1)),
        names=log.names,
        skipped=log.skipped,
        notes=log.notes,
    )


def forecast_log(
    log: RequestLog, *, by: Grouping, weeks: int, min_weekly: float | None = None
) -> ForecastList:
    _check_weeks(weeks)
    series_set = build_series(log, by, min_weekly=min_weekly)
    return ForecastList(
        source=log.name,
        by=by.value,
        timezone=log.timezone,
        last_week=iso_label(series_set.weeks[-1]),
        interval=models.INTERVAL,
        weeks=weeks,
        min_weekly=series_set.min_weekly,
        left_out=series_set.left_out,
        notes=series_set.notes,
        items=forecast_set(series_set, log, weeks),
    )


def suggest_for_log(
    log: RequestLog, *, by: SuggestBy = SuggestBy.all, weeks: int = 1, k: float = DEFAULT_K
) -> SuggestionList:
    _check_weeks(weeks)
    if not k > 0:
        raise InvalidInput("k must be above zero", field="k")
    found: list[Suggestion] = []
    notes: list[str] = []
    last_week = ""
    for grouping in _SUGGEST_GROUPINGS[by]:
        forecasts = forecast_log(log, by=grouping, weeks=weeks)
        last_week = forecasts.last_week
        notes += [n for n in forecasts.notes if n not in notes]
        found += suggestions(forecasts.items, k=k)
    found.sort(key=lambda s: -(s.expected - s.normal) / s.normal_sd)
    return SuggestionList(
        source=log.name,
        last_week=last_week,
        weeks=weeks,
        k=k,
        rules=rules_text(k),
        notes=notes,
        items=found,
    )


def _check_weeks(weeks: int) -> None:
    if not 1 <= weeks <= MAX_WEEKS:
        raise InvalidInput(f"weeks must be 1..{MAX_WEEKS}", field="weeks")


def forecast_set(series_set: SeriesSet, log: RequestLog, weeks: int) -> list[SeriesForecast]:
    future = series_set.future_features(weeks)
    mondays = series_set.future_weeks(weeks)
    return [
        _series_forecast(series, series_set, log, future, mondays) for series in series_set.series
    ]


def _series_forecast(
    series: WeeklySeries,
    series_set: SeriesSet,
    log: RequestLog,
    future: models.FloatArray,
    mondays: list[date],
) -> SeriesForecast:
    prediction = models.forecast(series.counts, series_set.features, future)
    recent = series.counts[-models.RECENT_WEEKS :]
    normal, spread = normal_level(recent)
    n = len(series.counts)
    points = [
        ForecastPoint(
            week=iso_label(monday),
            start=monday,
            end=monday + timedelta(days=6),
            workdays=int(future[i, 0]),
            expected=round(float(prediction.mean[i]), 2),
            lower=round(float(prediction.lower[i]), 2),
            upper=round(float(prediction.upper[i]), 2),
            same_week_last_year=_last_year(series.counts, n + i),
        )
        for i, monday in enumerate(mondays)
    ]
    key = series.key
    return SeriesForecast(
        category=key.category,
        category_name=log.display_name(key.category) if key.category else None,
        community=key.community,
        community_name=log.display_name(key.community) if key.community else None,
        name=series.name,
        method=prediction.method.value,
        method_zh=models.METHOD_NAMES[prediction.method],
        note=prediction.note,
        history_weeks=n,
        normal=round(normal, 2),
        normal_sd=round(spread, 2),
        recent=[int(c) for c in recent],
        normal_workdays=round(float(series_set.features[-models.RECENT_WEEKS :, 0].mean()), 2),
        points=points,
    )


def normal_level(recent: models.FloatArray) -> tuple[float, float]:
    """Median and robust spread (1.4826 × MAD, at least √median) of the recent weeks.

    Robust on purpose: a surge that began two or three weeks ago must not already count
    as normal, nor widen the spread enough to hide itself.
    """
    if len(recent) == 0:
        return 0.0, 0.0
    median = float(np.median(recent))
    mad = float(np.median(np.abs(recent - median)))
    return median, max(MAD_TO_SD * mad, math.sqrt(median))


def _last_year(counts: models.FloatArray, index: int) -> int | None:
    before = index - 52
    return int(counts[before]) if 0 <= before < len(counts) else None


# --------------------------------------------------------------------------- suggestions


def suggestions(forecasts: Iterable[SeriesForecast], *, k: float = DEFAULT_K) -> list[Suggestion]:
    """The coming weeks of these forecasts that are well above their series' normal."""
    found = []
    for forecast in forecasts:
        for point in forecast.points:
            trigger = _trigger(forecast, point, k)
            if trigger is not None:
                found.append(_suggestion(forecast, point, trigger, k))
    return found


def _trigger(forecast: SeriesForecast, point: ForecastPoint, k: float) -> str | None:
    normal, spread = forecast.normal, forecast.normal_sd
    if point.expected < MIN_EXPECTED or point.expected < (1 + MIN_RISE) * normal:
        return None
    if point.expected > normal + k * spread:
        return "above_k_sd"
    if point.lower > normal:
        return "interval_above_normal"
    return None


def _suggestion(
    forecast: SeriesForecast, point: ForecastPoint, trigger: str, k: float
) -> Suggestion:
    rise = point.expected / forecast.normal - 1 if forecast.normal > 0 else math.inf
    return Suggestion(
        category=forecast.category,
        category_name=forecast.category_name,
        community=forecast.community,
        community_name=forecast.community_name,
        name=forecast.name,
        week=point.week,
        start=point.start,
        end=point.end,
        expected=point.expected,
        lower=point.lower,
        upper=point.upper,
        normal=forecast.normal,
        normal_sd=forecast.normal_sd,
        rise=round(rise, 3) if math.isfinite(rise) else 99.0,
        trigger="above_k_sd" if trigger == "above_k_sd" else "interval_above_normal",
        method=forecast.method,
        reason_zh=reason_zh(forecast, point, trigger),
    )


def reason_zh(forecast: SeriesForecast, point: ForecastPoint, trigger: str) -> str:
    """Why: the figures, what set the rule off, and what in the data points that way."""
    normal, spread = forecast.normal, forecast.normal_sd
    head = (
        f"预计{point.week}（{point.start.month}月{point.start.day}日至"
        f"{point.end.month}月{point.end.day}日）「{forecast.name}」约{point.expected:.0f}件"
        f"（{models.INTERVAL:.0%}预测区间{point.lower:.0f}–{point.upper:.0f}件），"
        f"常态为近{models.RECENT_WEEKS}周中位数{normal:.1f}件"
    )
    if normal > 0:
        head += f"，高出{point.expected / normal - 1:.0%}"
    if trigger == "above_k_sd":
        head += f"，超出常态{(point.expected - normal) / spread:.1f}个标准差"
    else:
        head += f"，预测区间下限{point.lower:.0f}件也高于常态"
    drivers = _drivers(forecast, point)
    tail = "建议提前调配人手、开展排查或发布提示，做到未呼先应。"
    return f"{head}。{'；'.join(drivers)}{'。' if drivers else ''}{tail}"


def _drivers(forecast: SeriesForecast, point: ForecastPoint) -> list[str]:
    found = []
    recent = np.array(forecast.recent, dtype=np.float64)
    if len(recent) == 8:
        before, last = float(recent[:4].mean()), float(recent[4:].mean())
        if last > _TREND_RISE * max(before, 0.5):
            found.append(f"近4周平均{last:.1f}件，高于此前4周的{before:.1f}件，呈上升趋势")
    if point.workdays >= forecast.normal_workdays + 1:
        found.append(
            f"该周有{point.workdays}个工作日，多于近{models.RECENT_WEEKS}周平均的"
            f"{forecast.normal_workdays:.1f}个"
        )
    last_year = point.same_week_last_year
    if last_year is not None and last_year > (1 + MIN_RISE) * forecast.normal:
        found.append(f"去年同期为{last_year}件，有季节性上升")
    if forecast.method == models.Method.recent_mean.value:
        found.append("该序列历史较短或数据稀疏，按近期均值估计")
    return found
