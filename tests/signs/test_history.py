"""Judging a sign against its own history (townops.signs.history): pure, no database."""

from __future__ import annotations

import math
import os
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from townops.reports.health_check import judgement_text
from townops.signs.config import SIGNS_FILE, SignsConfigError, read_signs_file
from townops.signs.history import (
    HISTORY_PERIODS,
    MIN_PERIODS,
    RATE_FLOOR,
    bad_edge,
    band_of,
    noise_floor,
    status_in_band,
    worst,
    year_status,
)
from townops.signs.values import Band, Direction, SignValue, Status, unjudged_words

# Pure: no storage involved, so run once, in the SQLite pass.
pytestmark = pytest.mark.skipif(
    bool(os.environ.get("TOWNOPS_TEST_DATABASE_URL")),
    reason="no storage involved: run once, in the SQLite pass",
)

_RANK = {"green": 0, "yellow": 1, "red": 2}
counts = st.integers(min_value=0, max_value=5000).map(float)
histories = st.lists(counts, min_size=MIN_PERIODS, max_size=HISTORY_PERIODS)
directions = st.sampled_from(["higher_is_better", "lower_is_better"])


def labelled(values: list[float]) -> list[tuple[str, float]]:
    return [(f"2026-{n + 1:02d}", v) for n, v in enumerate(values)]


def test_the_usual_range_is_the_mean_give_or_take_two_spreads() -> None:
    band = band_of(labelled([20, 22, 18, 20, 24, 16]), unit="cases")
    assert band is not None
    sd = math.sqrt(sum((v - 20) ** 2 for v in [20, 22, 18, 20, 24, 16]) / 5)  # ≈ 2.83
    assert band.centre == 20 and band.spread == pytest.approx(max(sd, math.sqrt(20)))
    assert (band.low, band.high) == pytest.approx((20 - 2 * band.spread, 20 + 2 * band.spread))
    assert band.red_high == pytest.approx(20 + 3 * band.spread)
    assert (band.periods, band.first, band.last) == (6, "2026-01", "2026-06")


def test_a_band_never_comes_from_fewer_periods_than_the_minimum() -> None:
    assert band_of(labelled([5.0] * (MIN_PERIODS - 1)), unit="cases") is None
    assert band_of(labelled([5.0] * 3), unit="cases", min_periods=3) is not None


@given(values=st.lists(counts, max_size=MIN_PERIODS - 1))
def test_too_short_a_history_is_never_judged(values: list[float]) -> None:
    assert band_of(labelled(values), unit="cases") is None


def test_a_flat_history_still_has_the_noise_of_one_period() -> None:
    # Twelve months of exactly 25 complaints: 26 is not unusual, 40 is.
    band = band_of(labelled([25.0] * 12), unit="cases")
    assert band is not None and band.spread == 5.0  # √25
    assert status_in_band(26, band, "lower_is_better") == "green"
    assert status_in_band(36, band, "lower_is_better") == "yellow"
    assert status_in_band(41, band, "lower_is_better") == "red"
    assert noise_floor("rate", 0.99) == RATE_FLOOR
    assert noise_floor("sqm", 1000) == 50


def test_rates_stay_between_zero_and_one_and_counts_above_zero() -> None:
    rates = band_of(labelled([0.99, 1.0, 1.0, 0.98, 1.0, 1.0]), unit="rate")
    assert rates is not None and rates.high == 1.0 and rates.red_high == 1.0
    few = band_of(labelled([1.0, 0.0, 2.0, 1.0, 0.0, 1.0]), unit="cases")
    assert few is not None and few.low == 0.0 and few.red_low == 0.0


@pytest.mark.parametrize(
    ("direction", "value", "expected"),
    [
        ("lower_is_better", 5.0, "green"),  # far below the usual complaints: good
        ("lower_is_better", 41.0, "red"),
        ("higher_is_better", 41.0, "green"),  # far more patrols than usual: good
        ("higher_is_better", 5.0, "red"),
    ],
)
def test_only_the_bad_direction_warns(direction: Direction, value: float, expected: str) -> None:
    band = band_of(labelled([25.0] * 12), unit="cases")
    assert band is not None
    assert status_in_band(value, band, direction) == expected


@given(past=histories, a=counts, b=counts, direction=directions)
def test_the_colour_only_worsens_as_the_value_moves_the_bad_way(
    past: list[float], a: float, b: float, direction: Direction
) -> None:
    band = band_of(labelled(past), unit="cases")
    assert band is not None
    better, worse = sorted([a, b], reverse=direction == "higher_is_better")
    first, second = status_in_band(better, band, direction), status_in_band(worse, band, direction)
    assert _RANK[first] <= _RANK[second]


@given(past=histories, direction=directions)
def test_the_usual_centre_is_green_and_the_bounds_are_ordered(
    past: list[float], direction: Direction
) -> None:
    band = band_of(labelled(past), unit="cases")
    assert band is not None
    assert band.red_low <= band.low <= band.centre <= band.high <= band.red_high
    assert status_in_band(band.centre, band, direction) == "green"
    edge = bad_edge(band, direction)
    assert status_in_band(edge, band, direction) == "green"  # on the bound: the better colour


def test_a_year_takes_the_worst_of_its_judged_months() -> None:
    months: list[Status] = ["green", "none", "yellow", "green"]
    assert year_status(months) == "yellow"
    assert year_status([*months, "red"]) == "red"
    assert worst(["none", "none"]) == "none"


def test_reasons_have_words_in_both_languages() -> None:
    zh, en = unjudged_words("short_history", n=2, need=6)
    assert zh == "可比历史仅2期，不足6期" and en == "only 2 past periods with data (needs 6)"
    assert unjudged_words("no_figure") == ("未填报数据", "no figure entered")
    assert Band(0, 1, 0, 2, 0.5, 0.25, 6, "a", "b").per == "month"


# --------------------------------------------------------------------------- the definition

SIGN = """\
dimensions:
  - {code: governance, name_zh: 治理, name_en: Governance}
signs:
  - id: x_cases
    name_zh: 测试
    name_en: Test
    dimension: governance
    unit: cases
    formula: {count: cases}
    levels: [town]
    rollup: sum
    owner: operations_centre
    source: {seed: "003", quote: 测试}
"""


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("    basis: history\n", "state the 'direction'"),
        ("    basis: guess\n    direction: lower_is_better\n", "Input should be 'national'"),
        (
            "    direction: lower_is_better\n    basis: town\n    basis_note: x\n",
            "needs 'thresholds'",
        ),
        (
            "    direction: lower_is_better\n    basis: national\n"
            "    thresholds: {green: 1, yellow: 2}\n",
            "needs a 'basis_note'",
        ),
        (
            "    direction: lower_is_better\n    basis: history\n"
            "    thresholds: {green: 1, yellow: 2}\n",
            "takes no 'thresholds'",
        ),
        ("    basis: unjudged\n", "needs a 'basis_note'"),
        (
            "    direction: lower_is_better\n    basis: history\n"
            "    history: {periods: 4, min_periods: 6}\n",
            "min_periods cannot exceed periods",
        ),
    ],
)
def test_a_basis_must_come_with_what_it_needs(tmp_path: Path, extra: str, message: str) -> None:
    path = tmp_path / SIGNS_FILE
    path.write_text(SIGN + extra, encoding="utf-8")
    with pytest.raises(SignsConfigError) as caught:
        read_signs_file(path)
    assert any(
        issue.startswith(f"{SIGNS_FILE}:") and message in issue for issue in caught.value.issues
    ), caught.value.issues
    assert not any(issue.startswith(f"{SIGNS_FILE}:?") for issue in caught.value.issues)


def test_every_basis_is_accepted_with_what_it_needs(tmp_path: Path) -> None:
    path = tmp_path / SIGNS_FILE
    path.write_text(SIGN + "    direction: lower_is_better\n    basis: history\n", encoding="utf-8")
    sign = read_signs_file(path).signs[0]
    assert sign.basis == "history" and sign.history_rule.periods == HISTORY_PERIODS
    assert sign.thresholds_at("town") is None


def test_the_health_check_report_says_what_a_sign_was_judged_against() -> None:
    band = Band(700, 1100, 600, 1200, 900, 100, 10, "2026-01", "2026-10", per="month")
    value = SignValue(
        "x", "x", "x", "governance", "cases", 950, "green", "", "lower_is_better",
        basis="history", band=replace(band, months_judged=11, months_yellow=1, months_red=0),
    )  # fmt: skip
    assert judgement_text(value) == (
        "历史区间 own history：常态 700–1,100/月（2026-01至2026-10，10期）；"
        "评价11个月，关注1个月，预警0个月"
    )
    missing = replace(value, status="none", unjudged="no_figure", unjudged_zh="未填报数据")
    assert judgement_text(missing) == "未填报数据"
    assert judgement_text(replace(value, basis="town", band=None)) == "镇自定目标 town target"
