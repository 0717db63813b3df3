"""Alarm rules as pure functions: a rule's saved state and one reading → new state and event.

Nothing here touches the database. The pipeline keeps each rule's state in
``DeviceState.rule_state[rule.id]`` (a small JSON object, absent when empty) and calls
:func:`evaluate` for every reading newer than the device's last one, in timestamp order.

State keys (short on purpose: one hot JSON row per device is rewritten on every batch):

* ``on``: the rule has raised and not yet cleared.
* ``since``: ``held`` rules: since when (reading time, POSIX seconds) the value has been
  across the line without a break.
* ``v`` / ``t``: ``rate`` rules: the previous value of the quantity and its time.

Hysteresis: a raised rule clears only when the value (the rate, for ``rate`` rules) is back
at or on the safe side of ``AlarmRule.clear_line``; in between it stays raised, so a value
hovering at the line neither clears nor raises again.

``offline`` rules are not evaluated on readings: the sweep raises them (no reading came)
and the pipeline clears them when a device is heard again.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from enum import StrEnum
from typing import Any, NamedTuple

from townops.sensing.config import AlarmRule

RuleState = dict[str, Any]


class RuleEvent(StrEnum):
    none = "none"
    raise_ = "raise"
    clear = "clear"


class Evaluation(NamedTuple):
    """The rule's new state (``{}`` = nothing to keep) and what happened.

    ``value`` is what the rule judged: the quantity's value, or the change per minute for
    ``rate`` rules; None when the reading did not concern the rule. (A named tuple: it is
    made for every rule and reading, and a tuple is the cheapest object to make.)
    """

    state: RuleState
    event: RuleEvent = RuleEvent.none
    value: float | None = None


def crossed(rule: AlarmRule, value: float) -> bool:
    """Across the alarm line: strictly above ``above`` or strictly below ``below``."""
    if rule.above is not None:
        return value > rule.above
    return rule.below is not None and value < rule.below


def calm_range(rule: AlarmRule) -> tuple[float, float] | None:
    """``(low, high)``: a ``threshold`` or ``held`` rule that keeps no state stays so, with
    no event, for a value within ``low <= value <= high`` (not :func:`crossed`).

    The pipeline skips :func:`evaluate` for those readings (nearly all of them). None for
    ``rate`` rules, whose state follows every value, and for ``offline`` rules.
    """
    if rule.kind not in ("threshold", "held"):
        return None
    if rule.above is not None:
        return -math.inf, rule.above
    if rule.below is not None:
        return rule.below, math.inf
    return -math.inf, math.inf


def back_to_normal(rule: AlarmRule, value: float) -> bool:
    """At or on the safe side of the clear line (hysteresis)."""
    if rule.above is not None:
        return value <= rule.clear_line
    return value >= rule.clear_line


def evaluate(
    rule: AlarmRule, state: RuleState, ts: float, values: Mapping[str, float]
) -> Evaluation:
    """Judge one reading (``ts`` in POSIX seconds) against one rule.

    A reading without the rule's quantity leaves the rule untouched (same state object).
    """
    if rule.kind == "offline" or rule.quantity is None:
        return Evaluation(state)
    value = values.get(rule.quantity)
    if value is None:
        return Evaluation(state)
    if rule.kind == "threshold":
        return _threshold(rule, state, value)
    if rule.kind == "held":
        return _held(rule, state, ts, value)
    return _rate(rule, state, ts, value)


def evaluate_late(rule: AlarmRule, state: RuleState, values: Mapping[str, float]) -> Evaluation:
    """Judge a reading older than the device's newest one (out of order, e.g. split
    between two ingesters by a shared subscription).

    Only a ``threshold`` crossing counts, and only to raise: the newer readings already
    judged say nothing about this moment, and missing a gas leak is worse than an alarm
    that the device's next normal reading clears. ``held`` and ``rate`` need the readings
    in order, so a late reading leaves them alone.
    """
    if rule.kind != "threshold" or rule.quantity is None or state.get("on"):
        return Evaluation(state)
    value = values.get(rule.quantity)
    if value is None or not crossed(rule, value):
        return Evaluation(state)
    return Evaluation({"on": True}, RuleEvent.raise_, value)


def _threshold(rule: AlarmRule, state: RuleState, value: float) -> Evaluation:
    if state.get("on"):
        if back_to_normal(rule, value):
            return Evaluation({}, RuleEvent.clear, value)
        return Evaluation(state, RuleEvent.none, value)
    if crossed(rule, value):
        return Evaluation({"on": True}, RuleEvent.raise_, value)
    return Evaluation({}, RuleEvent.none, value)


def _held(rule: AlarmRule, state: RuleState, ts: float, value: float) -> Evaluation:
    if state.get("on"):
        return _threshold(rule, state, value)
    if not crossed(rule, value):
        # Back on the safe side: the clock starts again at the next crossing.
        return Evaluation({}, RuleEvent.none, value)
    since = float(state.get("since", ts))
    if ts - since >= (rule.for_seconds or 0):
        return Evaluation({"on": True}, RuleEvent.raise_, value)
    return Evaluation({"since": since}, RuleEvent.none, value)


def _rate(rule: AlarmRule, state: RuleState, ts: float, value: float) -> Evaluation:
    previous, previous_ts = state.get("v"), state.get("t")
    on = bool(state.get("on"))
    if previous is None or previous_ts is None:
        return Evaluation(_rate_state(value, ts, on), RuleEvent.none, None)
    elapsed = ts - float(previous_ts)
    if elapsed <= 0:
        # Same timestamp as the previous value: no rate can be computed from it.
        return Evaluation(state)
    per_minute = (value - float(previous)) * 60.0 / elapsed
    if on:
        if back_to_normal(rule, per_minute):
            return Evaluation(_rate_state(value, ts, False), RuleEvent.clear, per_minute)
        return Evaluation(_rate_state(value, ts, True), RuleEvent.none, per_minute)
    if crossed(rule, per_minute):
        return Evaluation(_rate_state(value, ts, True), RuleEvent.raise_, per_minute)
    return Evaluation(_rate_state(value, ts, False), RuleEvent.none, per_minute)


def _rate_state(value: float, ts: float, on: bool) -> RuleState:
    state: RuleState = {"v": value, "t": ts}
    if on:
        state["on"] = True
    return state


def offline_after_seconds(heartbeat_seconds: int, missed_heartbeats: int) -> int:
    """How long a device may stay silent before it counts as offline."""
    return heartbeat_seconds * missed_heartbeats
