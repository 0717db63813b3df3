"""What a computed vital sign looks like to its readers (API, health-check report, overview).

The engine (``townops.signs.service.compute_signs``) returns these; the reports and the
API only read them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Status = Literal["green", "yellow", "red", "none"]
Direction = Literal["higher_is_better", "lower_is_better"]


@dataclass(frozen=True, slots=True)
class SignValue:
    id: str
    name_zh: str
    name_en: str
    dimension: str  # health-check dimension code, e.g. "safety_resilience"
    unit: str
    value: float | None  # None: no data for this node and period
    status: Status  # "none" when value is None or the sign has no thresholds
    source: str  # where the sign comes from: the seed document and what it says
    direction: Direction
    target: float | None = None
    # For ratio signs: the parts, so roll-ups add up and readers can check the sum.
    numerator: float | None = None
    denominator: float | None = None
    jurisdiction: str | None = None  # node code; None = the whole town
    period: str = ""  # "2022", "2022-06" or "2022-W23"
