"""Alarm rules as pure functions: threshold, held, rate, hysteresis, missing quantities."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from townops.sensing.alarms.rules import RuleEvent, calm_range, evaluate
from townops.sensing.config import AlarmRule

GAS = AlarmRule(
    id="gas_leak", name_zh="可燃气体泄漏", name_en="Gas leak", kind="threshold",
    device_types=["gas_alarm"], quantity="gas_lel", above=10, clear_at=5, severity="critical",
)  # fmt: skip
BATTERY = AlarmRule(
    id="low_battery", name_zh="电量低", name_en="Low battery", kind="threshold",
    device_types=["gas_alarm"], quantity="battery", below=20, clear_at=30, severity="info",
)  # fmt: skip
CURRENT = AlarmRule(
    id="residual_current_high", name_zh="剩余电流超限", name_en="Residual current high",
    kind="held", device_types=["electrical_fire_monitor"], quantity="residual_current",
    above=300, clear_at=250, for_seconds=60,
)  # fmt: skip
RISE = AlarmRule(
    id="temperature_rise", name_zh="温度骤升", name_en="Temperature rising fast", kind="rate",
    device_types=["smoke_detector"], quantity="temperature", above=8, clear_at=1,
)  # fmt: skip
DOOR = AlarmRule(
    id="door", name_zh="防火门常开", name_en="Fire door held open", kind="held",
    device_types=["fire_door_sensor"], quantity="door_open", above=0.5, for_seconds=600,
)  # fmt: skip
OFFLINE = AlarmRule(
    id="heartbeat_lost", name_zh="设备离线", name_en="Device offline", kind="offline",
    device_types=["smoke_detector"], severity="info",
)  # fmt: skip


def run(
    rule: AlarmRule, steps: Sequence[tuple[float, float]], state: dict[str, Any] | None = None
) -> tuple[list[str], dict[str, Any]]:
    """Feed (seconds, value) readings; the events in order and the final state."""
    state = state or {}
    events = []
    for ts, value in steps:
        outcome = evaluate(rule, state, ts, {rule.quantity or "x": value})
        state = outcome.state
        events.append(outcome.event.value)
    return events, state


def test_threshold_raises_above_the_line_and_clears_only_past_the_clear_line() -> None:
    events, state = run(GAS, [(0, 3), (10, 12), (20, 8), (30, 11), (40, 5), (50, 4)])
    assert events == ["none", "raise", "none", "none", "clear", "none"]
    assert state == {}


def test_a_value_exactly_on_the_line_does_not_raise() -> None:
    assert run(GAS, [(0, 10)])[0] == ["none"]


def test_below_rule_raises_low_and_clears_at_its_clear_line() -> None:
    events, _ = run(BATTERY, [(0, 25), (10, 15), (20, 25), (30, 29.9), (40, 30)])
    assert events == ["none", "raise", "none", "none", "clear"]


def test_value_reported_with_the_event() -> None:
    outcome = evaluate(GAS, {}, 0, {"gas_lel": 12.5})
    assert outcome.event is RuleEvent.raise_
    assert outcome.value == 12.5


def test_held_raises_only_after_the_line_is_held_for_its_duration() -> None:
    steps = [(0, 310), (30, 320), (59, 330), (60, 340)]
    events, state = run(CURRENT, steps)
    assert events == ["none", "none", "none", "raise"]
    assert state == {"on": True}


def test_held_resets_when_a_reading_is_back_on_the_safe_side() -> None:
    # 290 at t=50 breaks the run: held from t=60, so t=100 is not enough, t=120 is.
    events, _ = run(CURRENT, [(0, 310), (50, 290), (60, 310), (100, 310), (120, 305)])
    assert events == ["none", "none", "none", "none", "raise"]


def test_held_clears_past_its_clear_line_not_at_the_line() -> None:
    events, _ = run(CURRENT, [(0, 310), (60, 310), (70, 280), (80, 260), (90, 250)])
    assert events == ["none", "raise", "none", "none", "clear"]


def test_held_counts_reading_time_not_the_number_of_readings() -> None:
    # Two readings 10 minutes apart are enough for a 600 s rule.
    events, _ = run(DOOR, [(0, 1), (600, 1)])
    assert events == ["none", "raise"]


def test_rate_compares_the_change_per_minute_between_consecutive_readings() -> None:
    # 20 → 22 in 60 s = 2/min; → 32 in 60 s = 10/min: raise; 5/min stays (band); 0.5/min clears.
    steps = [(0, 20), (60, 22), (120, 32), (180, 37), (240, 37.5)]
    events, state = run(RISE, steps)
    assert events == ["none", "none", "raise", "none", "clear"]
    assert state == {"v": 37.5, "t": 240}


def test_rate_value_is_per_minute() -> None:
    outcome = evaluate(RISE, {"v": 20.0, "t": 0.0}, 30, {"temperature": 25.0})
    assert outcome.event is RuleEvent.raise_
    assert outcome.value == 10.0


def test_rate_with_the_same_timestamp_leaves_the_state_alone() -> None:
    state = {"v": 20.0, "t": 60.0}
    outcome = evaluate(RISE, state, 60, {"temperature": 99.0})
    assert outcome.state is state
    assert outcome.event is RuleEvent.none


def test_a_reading_without_the_quantity_leaves_the_rule_untouched() -> None:
    for rule, state in ((GAS, {"on": True}), (CURRENT, {"since": 5.0}), (RISE, {"v": 1, "t": 0})):
        outcome = evaluate(rule, state, 100, {"battery": 50.0})
        assert outcome.state is state
        assert outcome.event is RuleEvent.none


def test_offline_rules_are_not_judged_on_readings() -> None:
    state = {"on": True}
    outcome = evaluate(OFFLINE, state, 0, {"smoke": 1.0})
    assert outcome.state is state
    assert outcome.event is RuleEvent.none


@given(st.lists(st.floats(min_value=5, max_value=30, exclude_min=True), max_size=60))
def test_gas_hovering_in_the_hysteresis_band_never_flaps(values: list[float]) -> None:
    events, state = run(GAS, [(0, 12)] + [(i + 1, v) for i, v in enumerate(values)])
    assert events[0] == "raise"
    assert set(events[1:]) <= {"none"}
    assert state == {"on": True}


@given(st.lists(st.floats(min_value=0, max_value=30, exclude_max=True), max_size=60))
def test_low_battery_hovering_in_its_band_never_flaps(values: list[float]) -> None:
    events, _ = run(BATTERY, [(0, 10)] + [(i + 1, v) for i, v in enumerate(values)])
    assert events[0] == "raise"
    assert set(events[1:]) <= {"none"}


@given(st.lists(st.floats(min_value=250, max_value=1000, exclude_min=True), max_size=60))
def test_held_rule_hovering_in_its_band_never_flaps(values: list[float]) -> None:
    steps = [(0, 310), (60, 310)] + [(61 + i, v) for i, v in enumerate(values)]
    events, _ = run(CURRENT, steps)
    assert events[:2] == ["none", "raise"]
    assert set(events[2:]) <= {"none"}


# --- the calm range: readings the pipeline may skip -----------------------------------------


def test_rate_and_offline_rules_have_no_calm_range() -> None:
    # A rate rule keeps the previous value on every reading; offline rules see no readings.
    assert calm_range(RISE) is None and calm_range(OFFLINE) is None
    assert calm_range(GAS) == (-math.inf, 10) and calm_range(BATTERY) == (20, math.inf)


@given(
    st.sampled_from([GAS, BATTERY, CURRENT, DOOR]),
    st.floats(min_value=-50, max_value=400, allow_nan=False),
    st.floats(min_value=0, max_value=1e9),
)
def test_a_value_in_the_calm_range_leaves_a_stateless_rule_alone_and_no_other_does(
    rule: AlarmRule, value: float, ts: float
) -> None:
    low, high = calm_range(rule) or (math.inf, -math.inf)
    outcome = evaluate(rule, {}, ts, {rule.quantity or "x": value})
    quiet = not outcome.state and outcome.event is RuleEvent.none
    assert quiet == (low <= value <= high)
