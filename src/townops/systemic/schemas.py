"""Pydantic shapes of systemic issues (举一反三) as the API and the CLI show them."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from townops.systemic.detect import Trend


class IssueStatus(StrEnum):
    open = "open"  # detected, nobody has acted on it yet
    root_case_opened = "root_case_opened"  # a root-cause case was opened for it
    lapsed = "lapsed"  # no longer detected; kept because it has a root case


class WeekCountOut(BaseModel):
    week: str = Field(description="ISO week, e.g. 2022-W05 (town time)")
    count: int


class SystemicIssueOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    key: str = Field(description="Stable across refreshes: <place>|<topic>|<n>")
    place_code: str | None
    place_label: str
    topic: str = Field(description="Category code of the member cases")
    topic_label: str = Field(description="Category name and the words the cases share")
    first_seen: datetime
    last_seen: datetime
    case_count: int
    weeks_active: int
    weekly_counts: list[WeekCountOut] = Field(
        description="Every week from the first case to the refresh, zeros included"
    )
    trend: Trend
    slope: float = Field(description="Least-squares slope of weekly counts (cases/week²)")
    status: IssueStatus
    root_case_id: int | None
    refreshed_at: datetime
    member_case_ids: list[int]


class SystemicIssueList(BaseModel):
    items: list[SystemicIssueOut]
    total: int


class RootCaseInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: str = Field(default="", max_length=2000, description="Added to the root case's text")


class RefreshOut(BaseModel):
    found: int
    new: int
    updated: int
    lapsed: int
    removed: int
    cases_considered: int
    seconds: float
