"""Judging a sign against its own history (判断依据：历史区间): pure functions, no storage.

A sign with ``basis: history`` has no fixed thresholds. Its value for a period is compared
with the *usual range* of its own values at the same node over the periods just before:

* **Past periods.** The last :data:`HISTORY_PERIODS` (12) periods of the same length
  (months for a month, ISO weeks for a week). A past period is used only if it has a
  value, its ratio has at least ``min_denominator`` cases, and — for signs computed from
  townops data — it lies wholly after the town's records begin (a month before the town
  used townops reads as 0, not as a usual month).
* **Enough history.** At least :data:`MIN_PERIODS` (6) usable past periods, else the sign
  is not judged (``short_history``).
* **The band.** ``centre`` = the mean of the past values; ``spread`` = their sample standard
  deviation, but never less than the noise of one period (:func:`noise_floor`: √centre for
  counts — a Poisson count varies that much by chance —, 2 percentage points for rates,
  5 % of the centre for amounts). Usual range = centre ± 2 spreads (clipped to what the
  unit allows: ≥ 0, rates ≤ 1); red beyond centre ± 3 spreads.
* **The colour** (direction-aware): on the good side of the usual range, or inside it:
  green; beyond it in the bad direction: yellow; beyond the red bound: red. A value
  exactly on a bound earns the better colour.

A year is judged month by month (see :func:`year_status`): each complete month of it with
enough history gets its colour; the year takes the worst.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence

from townops.signs.values import Band, Direction, Status

#: How many past periods of the same length the band looks at.
HISTORY_PERIODS = 12
#: The fewest usable past periods a band is computed from.
MIN_PERIODS = 6
#: Spreads from the centre to the edge of the usual range (yellow beyond it) …
YELLOW_SPREADS = 2.0
#: … and to the red bound.
RED_SPREADS = 3.0
_EPSILON = 1e-9

#: Units that count things: their noise is Poisson (√n), they cannot be negative.
COUNT_UNITS = frozenset(
    {
        "cases",
        "alarms",
        "devices",
        "times",
        "people",
        "person_times",
        "households",
        "sites",
        "items",
        "enterprises",
    }
)
#: Units that are fractions or ratios: their noise floor is absolute (percentage points).
SHARE_UNITS = frozenset({"rate", "ratio"})
RATE_FLOOR = 0.02
AMOUNT_FLOOR_SHARE = 0.05


def noise_floor(unit: str, centre: float) -> float:
    """The least spread a band may have: what one period varies by chance."""
    if unit in COUNT_UNITS:
        return math.sqrt(max(abs(centre), 1.0))
    if unit in SHARE_UNITS:
        return RATE_FLOOR
    return max(abs(centre) * AMOUNT_FLOOR_SHARE, _EPSILON)


def band_of(
    past: Sequence[tuple[str, float]],
    *,
    unit: str,
    per: str = "month",
    min_periods: int = MIN_PERIODS,
) -> Band | None:
    """The band from ``(period label, value)`` pairs, oldest first; None if too few."""
    if len(past) < max(min_periods, 1):
        return None
    values = [value for _, value in past]
    centre = statistics.fmean(values)
    deviation = statistics.stdev(values) if len(values) > 1 else 0.0
    spread = max(deviation, noise_floor(unit, centre))
    lowest, highest = _limits(unit)
    return Band(
        low=_clip(centre - YELLOW_SPREADS * spread, lowest, highest),
        high=_clip(centre + YELLOW_SPREADS * spread, lowest, highest),
        red_low=_clip(centre - RED_SPREADS * spread, lowest, highest),
        red_high=_clip(centre + RED_SPREADS * spread, lowest, highest),
        centre=centre,
        spread=spread,
        periods=len(past),
        first=past[0][0],
        last=past[-1][0],
        per=per,
    )


def _limits(unit: str) -> tuple[float | None, float | None]:
    if unit == "rate":
        return 0.0, 1.0
    if unit in COUNT_UNITS or unit in SHARE_UNITS:
        return 0.0, None
    return None, None


def _clip(value: float, lowest: float | None, highest: float | None) -> float:
    if lowest is not None:
        value = max(value, lowest)
    if highest is not None:
        value = min(value, highest)
    return value


def status_in_band(value: float, band: Band, direction: Direction) -> Status:
    """green inside the usual range or on its good side; yellow, then red, in the bad one."""
    if direction == "lower_is_better":
        if value <= band.high + _EPSILON:
            return "green"
        return "yellow" if value <= band.red_high + _EPSILON else "red"
    if value >= band.low - _EPSILON:
        return "green"
    return "yellow" if value >= band.red_low - _EPSILON else "red"


def bad_edge(band: Band, direction: Direction) -> float:
    """The edge of the usual range a warning names (the yellow line in the bad direction)."""
    return band.high if direction == "lower_is_better" else band.low


_RANK: dict[Status, int] = {"none": -1, "green": 0, "yellow": 1, "red": 2}


def worst(statuses: Sequence[Status]) -> Status:
    """The worst colour of several (``none`` when none is judged)."""
    judged = [s for s in statuses if s != "none"]
    return max(judged, key=_RANK.__getitem__) if judged else "none"


def year_status(months: Sequence[Status]) -> Status:
    """A year judged month by month: the worst colour of its judged months."""
    return worst(months)
