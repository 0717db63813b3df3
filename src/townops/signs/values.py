"""What a computed vital sign looks like to its readers (API, health-check report, overview).

The engine (``townops.signs.service.compute_signs``) returns these; the reports and the
API only read them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Status = Literal["green", "yellow", "red", "none"]
Direction = Literal["higher_is_better", "lower_is_better"]
#: What a sign is judged against (判断依据): a national city health-check standard value
#: (国家城市体检标准值), the town's own target (镇自定目标), its own history (历史区间), or
#: nothing — a base figure that is not judged (不评价).
Basis = Literal["national", "town", "history", "unjudged"]
#: Why a sign carries no colour (``status == "none"``); words in UNJUDGED_WORDS.
Unjudged = Literal[
    "not_judged",
    "no_figure",
    "no_cases",
    "no_value",
    "too_few_cases",
    "short_history",
    "period_running",
]

#: zh / en words of each reason; ``{n}``, ``{need}``, ``{note_zh}``/``{note_en}`` are filled in.
UNJUDGED_WORDS: dict[str, tuple[str, str]] = {
    "not_judged": ("按定义不评价：{note_zh}", "not judged by definition: {note_en}"),
    "no_figure": ("未填报数据", "no figure entered"),
    "no_cases": (
        "本期分母为0（无相关事件或设备），无从计算比率",
        "nothing to count in the period (denominator 0): no rate to judge",
    ),
    "no_value": ("本期无读数（无此类告警）", "no reading in the period (no alarm of the kind)"),
    "too_few_cases": (
        "仅{n}件，少于{need}件不评价",
        "too few cases: {n} (a rate over fewer than {need} is not judged)",
    ),
    "short_history": (
        "可比历史仅{n}期，不足{need}期",
        "only {n} past periods with data (needs {need})",
    ),
    "period_running": (
        "本期尚未结束，累计数不与整期比较",
        "the period is not over: a count so far is not compared with whole periods",
    ),
}


@dataclass(frozen=True, slots=True)
class Band:
    """The usual range (常态区间) a ``history`` sign was judged against.

    ``low``..``high`` is the usual range of one period of length ``per`` (month, week or
    year); beyond ``red_low``/``red_high`` in the bad direction is red. ``compared`` is the
    value that was set against it, for period ``compared_period``: the period's own, or
    for a year judged month by month its last judged month (then ``months_judged``,
    ``months_yellow`` and ``months_red`` say how its months fared).
    """

    low: float
    high: float
    red_low: float
    red_high: float
    centre: float
    spread: float
    periods: int  # past periods the band is computed from
    first: str  # the first and last of them, e.g. "2026-01" … "2026-10"
    last: str
    per: str = "month"
    compared: float | None = None
    compared_period: str = ""
    months_judged: int | None = None
    months_yellow: int | None = None
    months_red: int | None = None


@dataclass(frozen=True, slots=True)
class SignValue:
    id: str
    name_zh: str
    name_en: str
    dimension: str  # health-check dimension code, e.g. "safety_resilience"
    unit: str
    value: float | None  # None: no data for this node and period
    status: Status  # "none": not judged, ``unjudged`` says why
    source: str  # where the sign comes from: the seed document and what it says
    direction: Direction
    target: float | None = None
    # For ratio signs: the parts, so roll-ups add up and readers can check the sum.
    numerator: float | None = None
    denominator: float | None = None
    jurisdiction: str | None = None  # node code; None = the whole town
    period: str = ""  # "2022", "2022-06" or "2022-W23"
    basis: Basis | None = None  # what the status is judged against
    band: Band | None = None  # basis history: the usual range used
    unjudged: Unjudged | None = None  # status "none": why, as a code …
    unjudged_zh: str = ""  # … and in words
    unjudged_en: str = ""


def unjudged_words(code: Unjudged, **fill: object) -> tuple[str, str]:
    """The zh and en words of a reason, its placeholders filled."""
    zh, en = UNJUDGED_WORDS[code]
    values = {"n": "", "need": "", "note_zh": "", "note_en": "", **fill}
    return zh.format(**values), en.format(**values)
