"""The vital-sign definition format (``vital_signs.yaml``): pydantic, strict, clear errors.

A town's file has three parts:

* ``dimensions``: the city health-check (城市体检) dimensions with their zh/en names; codes
  are the national system's eight plus ``governance`` (基层治理: 12345, 一网统管).
* ``seeds``: the documents the signs cite (``code`` → title and file name).
* ``signs``: one definition per vital sign (体征). Its ``formula`` is a small declarative
  vocabulary over townops data (see :mod:`townops.signs.formulas`), never code:

  ``{count: cases, at: closed, where: {kind: [hotline], on_time: true}}``,
  ``{ratio: [<measure>, <measure>]}``, ``{max: alarm_value, where: {...}}``,
  ``{manual: true}`` (figures entered by people, table ``manual_figures``) or
  ``{manual: other_sign_id}`` inside a ratio.

Judgement (评价): every sign says what it is judged against in ``basis`` —
``national`` (a national city health-check standard value, cited in ``basis_note``),
``town`` (the town's own target, cited in ``basis_note``), ``history`` (its own usual
range over its last periods, :mod:`townops.signs.history`) or ``unjudged`` (a base figure
such as a denominator; ``basis_note`` says why) — and, when judged, its ``direction``.

Thresholds (``national``/``town``): ``green`` and ``yellow`` are the worst values that
still earn that colour; a value worse than ``yellow`` is red. "Worse" follows
``direction``. Rates are fractions (0.92 = 92 %).

Cross-file checks (categories, departments, levels exist) are in
:func:`check_signs_config`, which returns ``(location, message)`` pairs so a loader can
turn locations into ``FILE:LINE``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    StringConstraints,
    Tag,
    ValidationError,
    model_validator,
)

from townops.cases.enums import Rating, State
from townops.cases.kinds import KindName
from townops.errors import DomainError
from townops.signs.history import HISTORY_PERIODS, MIN_PERIODS
from townops.signs.values import Basis, Direction
from townops.towns.sections import town_section

SIGNS_FILE = "vital_signs.yaml"

DimensionCode = Literal[
    "eco_livable",
    "healthy_comfortable",
    "safety_resilience",
    "convenient_transport",
    "distinctive_townscape",
    "tidy_orderly",
    "inclusive",
    "innovative_vibrant",
    "governance",
]
#: zh / en names of the units a sign may have; readers format ``rate`` as a percentage.
UNITS: dict[str, tuple[str, str]] = {
    "rate": ("比率", "rate (fraction, shown as %)"),
    "cases": ("件", "cases"),
    "alarms": ("次", "alarms"),
    "devices": ("个", "devices"),
    "times": ("次", "times"),
    "people": ("人", "people"),
    "person_times": ("人次", "person-times"),
    "households": ("户", "households"),
    "sites": ("个", "sites"),
    "items": ("项", "items"),
    "enterprises": ("家", "enterprises"),
    "sqm": ("平方米", "square metres"),
    "metres": ("米", "metres"),
    "minutes": ("分钟", "minutes"),
    "ratio": ("比值", "ratio"),
}
Unit = Literal[
    "rate",
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
    "sqm",
    "metres",
    "minutes",
    "ratio",
]
Rollup = Literal["sum", "ratio", "weighted_mean", "max", "min"]
CaseTime = Literal["received", "closed", "resolved", "open_at_end"]
CountTarget = Literal["cases", "callbacks", "supervisions", "summonses", "alarms", "devices"]
ExtremeField = Literal["alarm_value", "minutes_to_acknowledge"]

SignId = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{1,59}$")]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Codes = Annotated[list[str], Field(min_length=1)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Where(_Strict):
    """Filters of a count. Which ones apply depends on what is counted (see ``FILTERS``)."""

    # the case (cases, callbacks, supervisions, summonses: the case they belong to)
    kind: list[KindName] | None = None
    category: Codes | None = None
    source: Codes | None = None
    # cases only
    state: list[State] | None = None
    on_time: bool | None = None  # not breached (按时)
    reopened: bool | None = None  # reopen_count > 0 (重办)
    returned: bool | None = None  # return_count > 0 (退单)
    dispatched: bool | None = None  # dispatched at least once
    called_back: bool | None = None  # at least one callback (回访)
    resolved: bool | None = None  # has a resolution (办结)
    overdue: bool | None = None  # at: open_at_end only: deadline passed at the period's end
    repeat: bool | None = None  # linked to an earlier open case (重复件)
    routed: bool | None = None  # went through automatic dispatch
    auto_dispatched: bool | None = None  # dispatched by the system without a person
    # callbacks
    rating: list[Rating] | None = None
    # summonses (吹哨报到)
    department: Codes | None = None
    reported_in: bool | None = None
    reported_in_on_time: bool | None = None
    # alarms and devices
    device_type: Codes | None = None
    severity: list[Literal["info", "warning", "critical"]] | None = None
    alarm_state: (
        list[Literal["raised", "acknowledged", "verified", "cleared", "false_alarm"]] | None
    ) = None
    rule: Codes | None = None
    false_alarm: bool | None = None
    acknowledged_within_minutes: Annotated[int, Field(ge=1, le=10080)] | None = None
    case_opened: bool | None = None
    network: Codes | None = None
    in_home: bool | None = None  # in a household (e.g. gas alarms of elderly people alone)
    online: bool | None = None  # heard from within its heartbeat window

    def given(self) -> list[str]:
        return [name for name in type(self).model_fields if getattr(self, name) is not None]


_CASE_FILTERS = ("kind", "category", "source")
FILTERS: dict[str, tuple[str, ...]] = {
    "cases": (
        *_CASE_FILTERS,
        "state",
        "on_time",
        "reopened",
        "returned",
        "dispatched",
        "called_back",
        "resolved",
        "overdue",
        "repeat",
        "routed",
        "auto_dispatched",
    ),
    "callbacks": (*_CASE_FILTERS, "rating"),
    "supervisions": _CASE_FILTERS,
    "summonses": (*_CASE_FILTERS, "department", "reported_in", "reported_in_on_time"),
    "alarms": (
        "device_type",
        "severity",
        "alarm_state",
        "rule",
        "false_alarm",
        "acknowledged_within_minutes",
        "case_opened",
    ),
    "devices": ("device_type", "network", "in_home", "online"),
}


class Count(_Strict):
    """How many rows of ``count`` fall in the node and period and match ``where``.

    Cases are placed in the period by ``at`` (received, closed, resolved, or open at the
    period's end); callbacks and supervisions by the event's time, summonses by when they
    were made, alarms by when raised; devices are the registry at the period's end.
    """

    count: CountTarget
    at: CaseTime | None = None
    where: Where = Where()

    @model_validator(mode="after")
    def _filters_fit(self) -> Count:
        allowed = FILTERS[self.count]
        wrong = [name for name in self.where.given() if name not in allowed]
        if wrong:
            raise ValueError(
                f"where.{wrong[0]} is not a filter of {self.count} "
                f"(filters of {self.count}: {', '.join(allowed)})"
            )
        if self.at is not None and self.count != "cases":
            raise ValueError(f"'at' applies to cases only, not to {self.count}")
        if self.where.overdue is not None and self.at != "open_at_end":
            raise ValueError("where.overdue needs 'at: open_at_end' (open at the period's end)")
        return self

    @property
    def case_time(self) -> CaseTime:
        return self.at or "received"


class Extreme(_Strict):
    """The largest (``max``) or smallest (``min``) value of an alarm field in the node."""

    max: ExtremeField | None = None
    min: ExtremeField | None = None
    where: Where = Where()

    @model_validator(mode="after")
    def _one_field(self) -> Extreme:
        if (self.max is None) == (self.min is None):
            raise ValueError("give exactly one of 'max' or 'min'")
        wrong = [name for name in self.where.given() if name not in FILTERS["alarms"]]
        if wrong:
            raise ValueError(f"where.{wrong[0]} is not a filter of alarms")
        return self

    @property
    def op(self) -> Literal["max", "min"]:
        return "max" if self.max is not None else "min"

    @property
    def field(self) -> ExtremeField:
        value = self.max or self.min
        assert value is not None
        return value


class Manual(_Strict):
    """Figures people enter (``manual_figures``): ``true`` = this sign's own, else a sign id."""

    manual: Literal[True] | SignId


def _formula_kind(value: Any) -> str | None:
    """Which form a formula has, from its first key (so errors speak of that form only)."""
    if isinstance(value, BaseModel):
        return type(value).__name__
    if isinstance(value, dict):
        for key, kind in _FORM_KEYS:
            if key in value:
                return kind
    return None


_FORM_KEYS = (
    ("ratio", "Ratio"),
    ("count", "Count"),
    ("max", "Extreme"),
    ("min", "Extreme"),
    ("manual", "Manual"),
)
_FORMS = "{count: ...}, {ratio: [a, b]}, {max: ...}, {min: ...} or {manual: ...}"

Measure = Annotated[
    Annotated[Count, Tag("Count")]
    | Annotated[Extreme, Tag("Extreme")]
    | Annotated[Manual, Tag("Manual")],
    Discriminator(
        _formula_kind,
        custom_error_type="measure",
        custom_error_message=f"a measure is one of {_FORMS.replace(', {ratio: [a, b]}', '')}",
    ),
]


class Ratio(_Strict):
    """``numerator / denominator``; None when the denominator is 0."""

    ratio: tuple[Measure, Measure]


Formula = Annotated[
    Annotated[Ratio, Tag("Ratio")]
    | Annotated[Count, Tag("Count")]
    | Annotated[Extreme, Tag("Extreme")]
    | Annotated[Manual, Tag("Manual")],
    Discriminator(
        _formula_kind,
        custom_error_type="formula",
        custom_error_message=f"a formula is one of {_FORMS}",
    ),
]


class Thresholds(_Strict):
    """``green``/``yellow``: the worst value that still earns the colour; beyond yellow: red.

    ``min_denominator``: a ratio over fewer cases than this gets no colour (too few to judge).
    """

    green: float
    yellow: float
    min_denominator: Annotated[int, Field(ge=0)] = 0


class HistoryRule(_Strict):
    """How a ``basis: history`` sign's band is taken (defaults: :mod:`townops.signs.history`).

    ``min_denominator``: a ratio over fewer cases than this is neither judged nor used as a
    past period (too few to say what is usual).
    """

    periods: Annotated[int, Field(ge=2, le=60)] = HISTORY_PERIODS
    min_periods: Annotated[int, Field(ge=2, le=60)] = MIN_PERIODS
    min_denominator: Annotated[int, Field(ge=0)] = 0

    @model_validator(mode="after")
    def _enough_to_look_at(self) -> HistoryRule:
        if self.min_periods > self.periods:
            raise ValueError("history: min_periods cannot exceed periods")
        return self


class SignSource(_Strict):
    """Where a sign comes from: a seed document and what it says (quoted or paraphrased)."""

    seed: Annotated[str, StringConstraints(pattern=r"^\d{3}$")]
    quote: Name | None = None
    paraphrase: Name | None = None

    @model_validator(mode="after")
    def _says_something(self) -> SignSource:
        if self.quote is None and self.paraphrase is None:
            raise ValueError("give the seed's words as 'quote' (verbatim) or 'paraphrase'")
        return self


class SignDefinition(_Strict):
    id: SignId
    name_zh: Name
    name_en: Name
    dimension: DimensionCode
    unit: Unit
    formula: Formula
    levels: Annotated[list[str], Field(min_length=1)]
    rollup: Rollup
    weight: Measure | None = None
    basis: Basis
    basis_note: str = ""
    direction: Direction = "higher_is_better"
    thresholds: Thresholds | None = None
    level_thresholds: dict[str, Thresholds] = Field(default_factory=dict)
    history: HistoryRule | None = None
    target: float | None = None
    owner: Annotated[str, StringConstraints(min_length=1, max_length=40)]
    source: SignSource
    note: str = ""

    @model_validator(mode="after")
    def _consistent(self) -> SignDefinition:
        expected = _rollups_for(self.formula)
        if self.rollup not in expected:
            raise ValueError(
                f"rollup '{self.rollup}' does not fit the formula (use {' or '.join(expected)})"
            )
        if (self.rollup == "weighted_mean") != (self.weight is not None):
            raise ValueError("'weight' goes with rollup weighted_mean, and only with it")
        if len(set(self.levels)) != len(self.levels):
            raise ValueError("levels are repeated")
        for where, thresholds in (("thresholds", self.thresholds), *self.level_thresholds.items()):
            if thresholds is not None:
                _check_order(thresholds, self.direction, where)
        _check_basis(self)
        return self

    @property
    def is_manual(self) -> bool:
        return isinstance(self.formula, Manual) and self.formula.manual is True

    def thresholds_at(self, level: str) -> Thresholds | None:
        """The fixed thresholds at ``level`` (none for history and unjudged signs)."""
        if self.basis not in ("national", "town"):
            return None
        return self.level_thresholds.get(level, self.thresholds)

    @property
    def history_rule(self) -> HistoryRule:
        return self.history or HistoryRule()

    @property
    def reads_only_manual(self) -> bool:
        """Every measure is a manual figure (its history is the figures of past periods)."""
        return all(isinstance(m, Manual) for m in self.measures())

    def measures(self) -> list[Measure]:
        """Every measure the sign reads (its formula's and its weight)."""
        found: list[Measure] = (
            list(self.formula.ratio) if isinstance(self.formula, Ratio) else [self.formula]
        )
        return found + ([self.weight] if self.weight is not None else [])


def _rollups_for(formula: Formula) -> tuple[Rollup, ...]:
    if isinstance(formula, Ratio):
        return ("ratio",)
    if isinstance(formula, Count):
        return ("sum",)
    if isinstance(formula, Extreme):
        return (formula.op,)
    return ("sum", "max", "min", "weighted_mean")


def _check_basis(sign: SignDefinition) -> None:
    """What each basis needs: thresholds and a citation, a band rule, or a reason."""
    fixed = sign.thresholds is not None or bool(sign.level_thresholds)
    if sign.basis in ("national", "town"):
        if sign.thresholds is None:
            raise ValueError(f"basis {sign.basis} needs 'thresholds' (green, yellow)")
        if not sign.basis_note.strip():
            raise ValueError(
                f"basis {sign.basis} needs a 'basis_note' saying where the values come from"
            )
    elif fixed:
        raise ValueError(f"basis {sign.basis} takes no 'thresholds' (only national and town do)")
    if sign.history is not None and sign.basis != "history":
        raise ValueError("'history' goes with basis history, and only with it")
    if sign.basis == "unjudged":
        if not sign.basis_note.strip():
            raise ValueError(
                "basis unjudged needs a 'basis_note' saying why the sign is not judged"
            )
    elif "direction" not in sign.model_fields_set:
        raise ValueError(
            f"basis {sign.basis}: state the 'direction' (higher_is_better or lower_is_better)"
        )


def _check_order(thresholds: Thresholds, direction: Direction, where: str) -> None:
    ok = (
        thresholds.green >= thresholds.yellow
        if direction == "higher_is_better"
        else thresholds.green <= thresholds.yellow
    )
    if not ok:
        relation = ">=" if direction == "higher_is_better" else "<="
        raise ValueError(f"{where}: with {direction}, green must be {relation} yellow")


class DimensionSpec(_Strict):
    code: DimensionCode
    name_zh: Name
    name_en: Name


class SeedSpec(_Strict):
    code: Annotated[str, StringConstraints(pattern=r"^\d{3}$")]
    file: Name
    title_zh: Name
    title_en: Name


@town_section("signs")
class SignsConfig(_Strict):
    dimensions: Annotated[list[DimensionSpec], Field(min_length=1)]
    seeds: list[SeedSpec] = Field(default_factory=list)
    signs: list[SignDefinition] = Field(default_factory=list)

    @model_validator(mode="after")
    def _references(self) -> SignsConfig:
        dimensions = {d.code for d in self.dimensions}
        seeds = {s.code for s in self.seeds}
        ids: set[str] = set()
        manual_ids = {s.id for s in self.signs if s.is_manual}
        for index, sign in enumerate(self.signs):
            where = f"signs[{index}] ({sign.id})"
            if sign.id in ids:
                raise ValueError(f"{where}: id '{sign.id}' is used twice")
            ids.add(sign.id)
            if sign.dimension not in dimensions:
                raise ValueError(f"{where}: dimension '{sign.dimension}' is not in 'dimensions'")
            if seeds and sign.source.seed not in seeds:
                raise ValueError(f"{where}: source seed '{sign.source.seed}' is not in 'seeds'")
            for measure in sign.measures():
                referred = measure.manual if isinstance(measure, Manual) else True
                if referred is not True and referred not in manual_ids:
                    raise ValueError(
                        f"{where}: manual '{referred}' is not a sign with formula {{manual: true}}"
                    )
        return self

    def sign(self, sign_id: str) -> SignDefinition | None:
        return next((s for s in self.signs if s.id == sign_id), None)

    def dimension_names(self) -> dict[str, tuple[str, str]]:
        return {d.code: (d.name_zh, d.name_en) for d in self.dimensions}

    def seed_titles(self) -> dict[str, SeedSpec]:
        return {s.code: s for s in self.seeds}


# --------------------------------------------------------------------------- cross-checks


Location = tuple[int | str, ...]


def check_signs_config(
    config: SignsConfig,
    *,
    categories: set[str] | None,
    departments: set[str] | None,
    levels: Sequence[str] | None,
) -> list[tuple[Location, str]]:
    """Names the file uses that the rest of the town does not define, with their locations."""
    problems: list[tuple[Location, str]] = []
    for index, sign in enumerate(config.signs):
        at: Location = ("signs", index)
        label = f"sign {sign.id!r}"
        if departments is not None and sign.owner not in departments:
            problems.append(((*at, "owner"), f"{label}: owner {sign.owner!r} is not a department"))
        if levels is not None:
            for position, level in enumerate(sign.levels):
                if level not in levels:
                    problems.append(
                        ((*at, "levels", position), f"{label}: level {level!r} is not a level")
                    )
            if levels and levels[0] not in sign.levels:
                problems.append(
                    ((*at, "levels"), f"{label}: levels must include the top level {levels[0]!r}")
                )
            for level in sign.level_thresholds:
                if level not in levels:
                    problems.append(
                        ((*at, "level_thresholds", level), f"{label}: unknown level {level!r}")
                    )
        if categories is not None:
            for measure in sign.measures():
                where = getattr(measure, "where", None)
                for code in (where.category or []) if where is not None else []:
                    if code not in categories:
                        problems.append(
                            ((*at, "formula"), f"{label}: category {code!r} does not exist")
                        )
    return problems


# --------------------------------------------------------------------------- reading a file


class SignsConfigError(DomainError):
    """A vital_signs.yaml that cannot be used; ``issues`` are ``FILE:LINE: message`` lines."""

    def __init__(self, issues: list[str]) -> None:
        super().__init__(
            f"invalid {SIGNS_FILE} ({len(issues)} problems):\n  " + "\n  ".join(issues),
            issues=issues,
        )
        self.issues = issues


def read_signs_file(
    path: Path,
    *,
    categories: set[str] | None = None,
    departments: set[str] | None = None,
    levels: Sequence[str] | None = None,
) -> SignsConfig:
    """Parse and check one vital_signs.yaml; every problem is reported as FILE:LINE."""
    name = path.name
    try:
        text = path.read_text(encoding="utf-8")
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except OSError as exc:
        raise SignsConfigError([f"{name}: cannot read file: {exc}"]) from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{name}:{mark.line + 1}" if mark is not None else name
        raise SignsConfigError([f"{where}: invalid YAML: {exc}"]) from exc
    try:
        config = SignsConfig.model_validate(data or {})
    except ValidationError as exc:
        raise SignsConfigError(_pydantic_issues(name, node, data, exc)) from exc
    problems = check_signs_config(
        config, categories=categories, departments=departments, levels=levels
    )
    if problems:
        raise SignsConfigError(
            [f"{name}:{yaml_line(node, loc) or '?'}: {message}" for loc, message in problems]
        )
    return config


def _pydantic_issues(
    name: str, node: yaml.Node | None, data: Any, exc: ValidationError
) -> list[str]:
    issues = []
    for error in exc.errors():
        loc = tuple(error["loc"])
        message = str(error["msg"]).removeprefix("Value error, ")
        # A model-level error names its sign in the message; point at that sign's line.
        line = yaml_line(node, loc) or yaml_line(node, _sign_in(message))
        issues.append(f"{name}:{line or '?'}: {_where(loc, data)}{message}")
    return issues


def _where(loc: Location, data: Any) -> str:
    """``sign 'x': formula.where.kinds: `` — the sign by id, without the union's form names."""
    parts = [str(p) for p in loc if not (str(p)[:1].isupper() or str(p).startswith("function-"))]
    if len(parts) >= 2 and parts[0] == "signs" and parts[1].isdigit():
        sign_id = _sign_id(data, int(parts[1]))
        label = f"sign {sign_id!r}" if sign_id else f"signs[{parts[1]}]"
        rest = ".".join(parts[2:])
        return f"{label}: {rest}: " if rest else f"{label}: "
    return f"{'.'.join(parts)}: " if parts else ""


def _sign_id(data: Any, index: int) -> str | None:
    signs = data.get("signs") if isinstance(data, dict) else None
    if isinstance(signs, list) and index < len(signs) and isinstance(signs[index], dict):
        value = signs[index].get("id")
        return str(value) if value is not None else None
    return None


def _sign_in(message: str) -> Location:
    if message.startswith("signs[") and "]" in message:
        index = message[len("signs[") : message.index("]")]
        if index.isdigit():
            return ("signs", int(index))
    return ()


def yaml_line(node: yaml.Node | None, loc: Sequence[int | str]) -> int | None:
    """The 1-based line of the YAML item a pydantic location points at (as deep as it goes)."""
    if node is None:
        return None
    line = node.start_mark.line + 1
    current: yaml.Node = node
    for part in loc:
        if isinstance(current, yaml.MappingNode):
            match = next(
                ((k, v) for k, v in current.value if isinstance(k, yaml.ScalarNode)
                 and k.value == str(part)),
                None,
            )  # fmt: skip
            if match is None:
                continue  # a union's branch name in the location: skip it, keep walking
            line, current = match[0].start_mark.line + 1, match[1]
        elif isinstance(current, yaml.SequenceNode) and isinstance(part, int):
            if not 0 <= part < len(current.value):
                break
            current = current.value[part]
            line = current.start_mark.line + 1
    return line
