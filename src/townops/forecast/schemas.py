"""What the forecast API and CLI return: forecasts with intervals, and suggestions."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, Field


class SuggestBy(StrEnum):
    """Which series suggestions are looked for in; ``all`` is the three together."""

    all = "all"
    category = "category"
    community = "community"
    category_community = "category_community"


class ForecastPoint(BaseModel):
    week: str = Field(description="ISO week, e.g. 2023-W01")
    start: date = Field(description="Monday (local)")
    end: date = Field(description="Sunday (local)")
    workdays: int = Field(description="Working days in the week (the town's calendar)")
    expected: float = Field(description="Forecast count (the median of the prediction)")
    lower: float = Field(description="Lower bound of the prediction interval")
    upper: float = Field(description="Upper bound of the prediction interval")
    same_week_last_year: int | None = Field(
        default=None, description="The count 52 weeks before, when the history reaches it"
    )


class SeriesForecast(BaseModel):
    category: str | None = None
    category_name: str | None = None
    community: str | None = None
    community_name: str | None = None
    name: str
    method: str = Field(description="uc_seasonal | uc_level | recent_mean (fallback)")
    method_zh: str
    note: str = Field(description="Why this method (fallbacks say why)")
    history_weeks: int
    normal: float = Field(description="Normal level: the median of the last 8 weeks")
    normal_sd: float = Field(
        description="Spread of the last 8 weeks: 1.4826 × MAD, at least √normal"
    )
    recent: list[int] = Field(description="The last 8 weekly counts, oldest first")
    normal_workdays: float = Field(description="Mean working days of the last 8 weeks")
    points: list[ForecastPoint]


class ForecastList(BaseModel):
    source: str = Field(description="'db' or the file read")
    by: str
    timezone: str
    last_week: str = Field(description="The last complete ISO week of data used")
    interval: float = Field(description="Coverage of the prediction intervals, e.g. 0.8")
    weeks: int
    min_weekly: float = Field(description="Series averaging fewer a week were left out")
    left_out: int
    notes: list[str] = Field(default_factory=list)
    items: list[SeriesForecast]


class Suggestion(BaseModel):
    """未呼先应: a series expected well above its normal level in a coming week."""

    category: str | None = None
    category_name: str | None = None
    community: str | None = None
    community_name: str | None = None
    name: str
    week: str
    start: date
    end: date
    expected: float
    lower: float
    upper: float
    normal: float
    normal_sd: float
    rise: float = Field(description="expected / normal - 1")
    trigger: Literal["above_k_sd", "interval_above_normal"]
    method: str
    reason_zh: str


class SuggestionList(BaseModel):
    source: str
    last_week: str
    weeks: int
    k: float
    rules: str = Field(description="When a suggestion is made, in words")
    notes: list[str] = Field(default_factory=list)
    items: list[Suggestion]
