"""Schema of a town's ``risk.yaml``: what makes a place risky, and how much (风险地图).

A risk score in [0, 100] per micro-grid or community is the sum of six factors' points.
Each factor measures one thing (its ``raw`` value) and earns ``weight × share`` points,
where the share in [0, 1] grows linearly with the raw value up to ``full_at`` (a number,
or one per jurisdiction level since a community holds several micro-grids' worth), and
is clamped there. Coverage is the other way round: the share is the gap below
``target_per_km2``. Weights add up to 100, so the score is out of 100; ``levels`` cut it
into low / medium / high.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from townops.towns.sections import town_section

RISK_FILE = "risk.yaml"

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
Code = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$", max_length=40)]
Weight = Annotated[float, Field(ge=0, le=100)]
Positive = Annotated[float, Field(gt=0)]
FactorKey = Literal[
    "alarms", "open_cases", "overdue_cases", "vulnerable_households", "coverage_gap", "outages"
]
TOTAL_WEIGHT = 100.0
#: Jurisdiction levels the map is drawn at.
MAP_LEVELS = ("micro_grid", "community")

DEFAULT_NAMES: dict[str, tuple[str, str]] = {
    "alarms": ("近期告警", "recent alarms"),
    "open_cases": ("在办工单", "open cases"),
    "overdue_cases": ("超期工单", "overdue cases"),
    "vulnerable_households": ("独居老人燃气报警户", "elderly living alone with gas alarms"),
    "coverage_gap": ("感知设备覆盖不足", "device coverage gap"),
    "outages": ("设备离线", "devices offline"),
}
DEFAULT_URGENCY_WEIGHTS = {"low": 0.5, "normal": 1.0, "high": 2.0, "urgent": 4.0}


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)


class Factor(_Model):
    name_zh: str = ""
    name_en: str = ""
    weight: Weight

    def names(self, key: str) -> tuple[str, str]:
        zh, en = DEFAULT_NAMES[key]
        return self.name_zh or zh, self.name_en or en


class SaturatingFactor(Factor):
    """Points grow linearly with the raw value and reach the weight at ``full_at``."""

    full_at: Positive | dict[str, Positive]

    @model_validator(mode="after")
    def _levels_known(self) -> Any:
        if isinstance(self.full_at, dict):
            missing = [level for level in MAP_LEVELS if level not in self.full_at]
            if missing:
                raise ValueError(f"'full_at' needs a value for every map level: {missing}")
        return self

    def full_at_level(self, level: str) -> float:
        return self.full_at[level] if isinstance(self.full_at, dict) else self.full_at


class AlarmsFactor(SaturatingFactor):
    """Alarms raised in the last ``window_days``, weighted by severity; false alarms and
    the rule kinds in ``exclude_rule_kinds`` (outages are a factor of their own) left out."""

    window_days: Annotated[int, Field(ge=1, le=366)] = 30
    severity_weights: dict[str, Annotated[float, Field(ge=0)]] = Field(
        default_factory=lambda: {"info": 0.5, "warning": 2.0, "critical": 5.0}
    )
    exclude_rule_kinds: list[Code] = Field(default_factory=lambda: ["offline"])


class CasesFactor(SaturatingFactor):
    """Cases whose clock runs (open) or has run out (overdue), weighted by urgency."""

    urgency_weights: dict[str, Annotated[float, Field(ge=0)]] = Field(
        default_factory=lambda: dict(DEFAULT_URGENCY_WEIGHTS)
    )


class HouseholdsFactor(SaturatingFactor):
    """In-home devices (a household registered) of ``device_types``: elderly people living
    alone with a gas alarm. A home whose device is offline counts ``offline_weight``."""

    device_types: list[Code] = Field(default_factory=lambda: ["gas_alarm"], min_length=1)
    offline_weight: Annotated[float, Field(ge=1)] = 2.0


class CoverageFactor(Factor):
    """Active devices per km² of the node's polygon against ``target_per_km2``; in-home
    devices are left out (they protect one flat, not the area)."""

    target_per_km2: Positive
    device_types: list[Code] = Field(default_factory=list)  # empty: every type


class OutagesFactor(SaturatingFactor):
    """Share of the active devices offline at the time (never heard from counts)."""

    full_at: Annotated[float, Field(gt=0, le=1)] | dict[str, Annotated[float, Field(gt=0, le=1)]]


class Factors(_Model):
    alarms: AlarmsFactor
    open_cases: CasesFactor
    overdue_cases: CasesFactor
    vulnerable_households: HouseholdsFactor
    coverage_gap: CoverageFactor
    outages: OutagesFactor

    def items(self) -> list[tuple[str, Factor]]:
        return [(key, getattr(self, key)) for key in DEFAULT_NAMES]


class Levels(_Model):
    """Score → level: below ``medium_from`` low, below ``high_from`` medium, else high."""

    medium_from: Annotated[float, Field(gt=0, lt=100)] = 30
    high_from: Annotated[float, Field(gt=0, le=100)] = 60

    @model_validator(mode="after")
    def _ordered(self) -> Levels:
        if self.high_from <= self.medium_from:
            raise ValueError("'high_from' must be above 'medium_from'")
        return self

    def of(self, score: float) -> Literal["low", "medium", "high"]:
        if score >= self.high_from:
            return "high"
        return "medium" if score >= self.medium_from else "low"


@town_section("risk")
class RiskConfig(_Model):
    factors: Factors
    levels: Levels = Field(default_factory=Levels)

    @model_validator(mode="after")
    def _weights(self) -> RiskConfig:
        total = sum(factor.weight for _, factor in self.factors.items())
        if abs(total - TOTAL_WEIGHT) > 1e-6:
            raise ValueError(f"factor weights must add up to 100 (they add up to {total:g})")
        return self
