"""Schema of a town's ``assessment.yaml``: how the monthly assessment (月度考核) scores units.

A town is assessed on its 12345 figures and passes the pressure on: every month the
operations centre ranks the departments and the communities by a weighted score of the
same figures. What is scored, with which weight, how a rate becomes points and how many
cases a unit needs before it is ranked are the town's choice, so they live here.

Points of one component = ``weight × share``, where ``share`` in [0, 1] comes from the
component's scoring rule applied to the unit's figure:

* ``linear``: 0 at ``zero_at``, 1 at ``full_at``, a straight line between, clamped.
  ``full_at`` below ``zero_at`` means lower is better (return rate, reopen rate).
* ``steps``: the share of the first step the figure reaches (``at`` and better),
  else 0.

Weights add up to 100, so a unit with every figure at full marks scores 100.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from townops.towns.sections import town_section

ASSESSMENT_FILE = "assessment.yaml"

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
Share = Annotated[float, Field(ge=0.0, le=1.0)]
FigureKey = Literal[
    "on_time_rate", "satisfaction_rate", "return_rate", "reopen_rate", "first_contact_rate"
]
MissingFigure = Literal["redistribute", "zero", "full"]
CountBasis = Literal["closed", "received"]

#: Names shown when the file gives none (the KPI module's names for the same figures).
DEFAULT_NAMES: dict[str, tuple[str, str]] = {
    "on_time_rate": ("按时办结率", "on-time rate"),
    "satisfaction_rate": ("满意率", "satisfaction rate"),
    "return_rate": ("退单率", "return rate"),
    "reopen_rate": ("重办率", "reopen rate"),
    "first_contact_rate": ("先行联系及时率", "first contact on time"),
}
TOTAL_WEIGHT = 100.0


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)


class LinearScoring(_Model):
    rule: Literal["linear"]
    zero_at: Share
    full_at: Share

    @model_validator(mode="after")
    def _distinct(self) -> LinearScoring:
        if self.zero_at == self.full_at:
            raise ValueError("'zero_at' and 'full_at' must differ")
        return self

    @property
    def lower_is_better(self) -> bool:
        return self.full_at < self.zero_at

    def share(self, value: float) -> float:
        fraction = (value - self.zero_at) / (self.full_at - self.zero_at)
        return min(1.0, max(0.0, fraction))

    def describe(self) -> tuple[str, str]:
        zero, full = f"{self.zero_at:.1%}", f"{self.full_at:.1%}"
        if self.lower_is_better:
            return (
                f"≤{full} 得满分，≥{zero} 得 0 分，其间按线性折算",
                f"full marks at or below {full}, 0 at or above {zero}, linear between",
            )
        return (
            f"≥{full} 得满分，≤{zero} 得 0 分，其间按线性折算",
            f"full marks at or above {full}, 0 at or below {zero}, linear between",
        )


class Step(_Model):
    at: Share
    share: Share


class StepScoring(_Model):
    rule: Literal["steps"]
    better: Literal["higher", "lower"] = "higher"
    steps: list[Step] = Field(min_length=1)

    @model_validator(mode="after")
    def _ordered(self) -> StepScoring:
        ats = [s.at for s in self.steps]
        expected = sorted(ats, reverse=self.better == "higher")
        if ats != expected or len(set(ats)) != len(ats):
            order = "descending" if self.better == "higher" else "ascending"
            raise ValueError(f"steps must be listed best first ('at' strictly {order})")
        return self

    def share(self, value: float) -> float:
        for step in self.steps:
            reached = value >= step.at if self.better == "higher" else value <= step.at
            if reached:
                return step.share
        return 0.0

    def describe(self) -> tuple[str, str]:
        sign = "≥" if self.better == "higher" else "≤"
        zh = "；".join(f"{sign}{s.at:.1%} 得 {s.share:.0%}" for s in self.steps)
        en = "; ".join(f"{sign}{s.at:.1%}: {s.share:.0%}" for s in self.steps)
        return f"{zh}；其余 0 分", f"{en}; otherwise 0"


Scoring = Annotated[LinearScoring | StepScoring, Field(discriminator="rule")]


class Component(_Model):
    """One scored figure: the KPI figure it reads, its weight and its scoring rule."""

    key: FigureKey
    name_zh: str = ""
    name_en: str = ""
    weight: Annotated[float, Field(gt=0, le=TOTAL_WEIGHT)]
    scoring: Scoring

    @model_validator(mode="before")
    @classmethod
    def _default_names(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("key") in DEFAULT_NAMES:
            zh, en = DEFAULT_NAMES[data["key"]]
            data = {**data, "name_zh": data.get("name_zh") or zh}
            data["name_en"] = data.get("name_en") or en
        return data


class Ranking(_Model):
    """Who is ranked: a unit needs ``min_cases`` (closed or received in the month)."""

    min_cases: Annotated[int, Field(ge=0)] = 5
    count: CountBasis = "closed"
    # A figure with no denominator this month (nothing rated, nothing dispatched …):
    # redistribute its weight over the others, or give it 0 / full points.
    missing_figure: MissingFigure = "redistribute"


class Units(_Model):
    """Which departments are assessed (by their ``kind`` in departments.yaml)."""

    department_kinds: list[Text] = Field(default_factory=lambda: ["department"], min_length=1)


@town_section("assessment")
class AssessmentConfig(_Model):
    components: list[Component] = Field(min_length=1)
    ranking: Ranking = Field(default_factory=Ranking)
    units: Units = Field(default_factory=Units)

    @model_validator(mode="after")
    def _consistent(self) -> AssessmentConfig:
        keys = [c.key for c in self.components]
        if len(set(keys)) != len(keys):
            raise ValueError("each figure may be scored once: component keys must be unique")
        total = sum(c.weight for c in self.components)
        if abs(total - TOTAL_WEIGHT) > 1e-6:
            raise ValueError(f"component weights must add up to 100 (they add up to {total:g})")
        return self
