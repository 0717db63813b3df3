"""The KPI figures: names (zh / en), units and definitions, shown in every output.

The definitions here and in :mod:`townops.kpi.service` (which computes them) say the same.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict

Unit = Literal["count", "rate", "hours", "minutes"]


class Grouping(StrEnum):
    department = "department"
    community = "community"
    category = "category"
    town = "town"


GROUPING_NAMES: dict[Grouping, tuple[str, str]] = {
    Grouping.department: ("部门", "department"),
    Grouping.community: ("居村", "community"),
    Grouping.category: ("类别", "category"),
    Grouping.town: ("全镇", "town"),
}


class Figure(BaseModel):
    """One column of the KPI table, with its definition (shown in every output)."""

    model_config = ConfigDict(frozen=True)

    key: str
    name_zh: str
    name_en: str
    unit: Unit
    definition_zh: str
    definition_en: str

    @property
    def header(self) -> str:
        return f"{self.name_zh} ({self.name_en})"


def _fig(key: str, zh: str, en: str, unit: Unit, def_zh: str, def_en: str) -> Figure:
    return Figure(
        key=key, name_zh=zh, name_en=en, unit=unit, definition_zh=def_zh, definition_en=def_en
    )


MAIN_FIGURES: tuple[Figure, ...] = (
    _fig(
        "received",
        "受理量",
        "received",
        "count",
        "受理时间在统计周期内的工单数",
        "cases received in the period",
    ),
    _fig(
        "closed",
        "办结量",
        "closed",
        "count",
        "结案时间在统计周期内的工单数",
        "cases closed in the period",
    ),
    _fig(
        "on_time_rate",
        "按时办结率",
        "on-time rate",
        "rate",
        "办结工单中未超期（breached = false）的比例；超期由超期扫描或逾期办结标记",
        "share of the closed cases never marked breached (by the overdue sweep or a late "
        "resolution)",
    ),
    _fig(
        "satisfaction_rate",
        "满意率",
        "satisfaction rate",
        "rate",
        "期内每次回访评价中“满意”+“基本满意”的比例（重办前后的评价各计一次）",
        "(satisfied + basically satisfied) / rated, over every callback made in the period "
        "(a rating before and after a reopening each count)",
    ),
    _fig(
        "callback_coverage",
        "回访率",
        "callback coverage",
        "rate",
        "至少回访一次的办结工单数 / 办结量",
        "closed cases called back at least once / closed cases",
    ),
    _fig("return_rate", "退单率", "return rate", "rate", "", ""),
    _fig(
        "reopen_rate",
        "重办率",
        "reopen rate",
        "rate",
        "办结工单中曾被重办（reopen_count > 0）的比例",
        "share of the closed cases reopened at least once",
    ),
    _fig(
        "median_handling_hours",
        "办理时长中位数(工作小时)",
        "median handling hours",
        "hours",
        "办结工单从受理到办结的工作日小时数的中位数",
        "median working-day hours from receipt to resolution, over the closed cases",
    ),
    _fig(
        "auto_dispatch_rate",
        "自动派单率",
        "auto-dispatch rate",
        "rate",
        "期内受理并经自动派单判断的工单中，由系统直接派出（无人工）的比例",
        "of the cases received in the period that went through automatic dispatch, the share "
        "the system dispatched without a person",
    ),
    _fig(
        "auto_dispatch_accuracy",
        "自动派单准确率",
        "auto-dispatch accuracy",
        "rate",
        "系统自动派出的工单中，未被退单、也未被人工改派的比例",
        "of the automatic dispatches, the share never returned nor re-dispatched by a person",
    ),
    _fig(
        "median_minutes_to_dispatch",
        "派单时长中位数(分钟)",
        "median minutes to dispatch",
        "minutes",
        "期内受理的工单从受理到首次派单（系统或人工）的分钟数中位数",
        "median clock minutes from receipt to the first dispatch (system or person), over "
        "the routed cases received in the period",
    ),
    _fig(
        "overdue_open",
        "当前超期",
        "overdue open",
        "count",
        "统计时点仍在办理（计时中）且已过办理时限的工单数，不受统计周期限制",
        "cases still being handled (clock running) whose deadline has passed at the "
        "report time; a snapshot, not bound to the period",
    ),
    _fig(
        "extensions",
        "延期",
        "extensions",
        "count",
        "统计周期内批准的延期次数",
        "extensions approved in the period",
    ),
    _fig(
        "supervisions",
        "督办",
        "supervisions",
        "count",
        "统计周期内的督办次数（含超期自动督办）",
        "supervisions in the period, automatic ones included",
    ),
)

_COUNT_FIGURES: tuple[Figure, ...] = (
    _fig(
        "closed_on_time",
        "按时办结数",
        "closed on time",
        "count",
        "办结工单中未超期的数量",
        "closed cases never marked breached",
    ),
    _fig(
        "rated",
        "回访评价数",
        "rated",
        "count",
        "期内回访评价次数",
        "callbacks (ratings) made in the period",
    ),
    _fig(
        "satisfied",
        "满意数(含基本满意)",
        "satisfied",
        "count",
        "期内评价为满意或基本满意的回访次数",
        "callbacks in the period rated satisfied or basically satisfied",
    ),
    _fig(
        "reopened",
        "重办办结数",
        "reopened",
        "count",
        "办结工单中曾被重办的数量",
        "closed cases reopened at least once",
    ),
    _fig(
        "routed",
        "经自动派单判断数",
        "routed",
        "count",
        "期内受理并经自动派单判断的工单数",
        "cases received in the period that went through automatic dispatch",
    ),
    _fig(
        "auto_dispatched",
        "自动派单数",
        "auto-dispatched",
        "count",
        "其中由系统直接派出的工单数",
        "of those, dispatched by the system without a person",
    ),
    _fig(
        "auto_correct",
        "自动派单未纠正数",
        "auto-dispatched, not corrected",
        "count",
        "自动派出后未被退单或改派的工单数",
        "automatic dispatches never returned nor re-dispatched",
    ),
    _fig("returned", "退单数", "returned", "count", "", ""),
    _fig("dispatched", "派单数", "dispatched", "count", "", ""),
)

_RETURN_TEXTS: dict[str, dict[str, tuple[str, str]]] = {
    "events": {
        "return_rate": (
            "退单数 / 派单数：统计周期内记在该部门名下的退单事件数除以派往该部门的派单事件数",
            "return events recorded against the department / dispatch events to it, by "
            "event time in the period",
        ),
        "returned": ("统计周期内该部门的退单事件数", "return events of the department"),
        "dispatched": ("统计周期内派往该部门的派单事件数", "dispatch events to the department"),
    },
    "cases": {
        "return_rate": (
            "统计周期内受理并已派单的工单中，曾被退单（return_count > 0）的比例",
            "of the cases received in the period and dispatched, the share returned at least once",
        ),
        "returned": (
            "周期内受理、已派单且曾被退单的工单数",
            "cases received in the period, dispatched and returned at least once",
        ),
        "dispatched": (
            "周期内受理且已派单的工单数",
            "cases received in the period and dispatched at least once",
        ),
    },
}


def return_rate_basis(by: Grouping) -> Literal["events", "cases"]:
    return "events" if by == Grouping.department else "cases"


def figures_for(by: Grouping) -> tuple[Figure, ...]:
    """Main figures then supporting counts, with the return-rate texts of ``by``."""
    texts = _RETURN_TEXTS[return_rate_basis(by)]
    return tuple(
        f.model_copy(update={"definition_zh": texts[f.key][0], "definition_en": texts[f.key][1]})
        if f.key in texts
        else f
        for f in (*MAIN_FIGURES, *_COUNT_FIGURES)
    )
