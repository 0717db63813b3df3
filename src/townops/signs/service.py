"""Computing vital signs (动态体征) per jurisdiction node and period.

One pass reads every measure the signs need with a few grouped queries (see
:mod:`townops.signs.formulas`), then rolls the per-place rows up the jurisdiction tree
(micro-grid → community → town) in Python. Because every node is a sum of the same rows,
the children's numerators and denominators add up to the parent's; what has no node at a
level (a case placed only at the town, or with no place at all) is reported as an
explicit ``unassigned`` remainder of that level, never dropped.

Manual figures (``{manual: true}``) roll up by the sign's ``rollup``: a node's own figure
wins; a node without one combines its children's (sum, max, min, or a mean weighted by the
sign's ``weight``).

Status (judgement, 评价) by the sign's ``basis``: ``national``/``town`` signs by their
thresholds (per level if given) and ``direction``; ``history`` signs by the usual range of
their own past periods at the same node (:mod:`townops.signs.history`; the engines of the
past periods are built only when a history sign needs them); ``unjudged`` signs never.
A sign without a colour says why (``unjudged``: no figure entered, no cases, too few
cases, too little history, the period still running, or not judged by definition).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from townops.access import scope_of
from townops.access.actor import STAFF_ROLES, Actor
from townops.cases.access import require_role
from townops.errors import DomainError, Forbidden, InvalidInput, NotFound
from townops.jurisdiction.models import Jurisdiction
from townops.periods import Period
from townops.signs.config import (
    SIGNS_FILE,
    Count,
    Extreme,
    Manual,
    Measure,
    Ratio,
    SignDefinition,
    SignsConfig,
    Thresholds,
)
from townops.signs.formulas import (
    PathTallies,
    Window,
    combine_op,
    data_tallies,
    measure_key,
    records_start,
)
from townops.signs.history import band_of, status_in_band, worst
from townops.signs.manual import manual_values, periods_with_figures
from townops.signs.periods import kind_of, months_of, parse_sign_period, previous_period
from townops.signs.values import Band, SignValue, Status, Unjudged, unjudged_words
from townops.timeutil import as_utc, utcnow
from townops.towns.profile import TownProfile, get_profile

__all__ = [
    "READ_ROLES",
    "UNASSIGNED",
    "LevelSigns",
    "Node",
    "NodeSigns",
    "compute_every_node",
    "compute_signs",
    "compute_signs_by_level",
    "node_for",
    "signs_config",
    "status_of",
]

#: The ``jurisdiction`` of a level's remainder: what no node of that level holds.
UNASSIGNED = "unassigned"
#: Staff roles that read vital signs (within their scope); residents do not.
READ_ROLES = STAFF_ROLES
_EPSILON = 1e-9


# --------------------------------------------------------------------------- config


def signs_config(session: Session) -> SignsConfig:
    """The town's sign definitions (``vital_signs.yaml``, carried in the town profile)."""
    profile = get_profile(session)
    if not profile.has_config(SignsConfig):
        raise DomainError(f"this town defines no vital signs (its {SIGNS_FILE} is missing)")
    return profile.config(SignsConfig)


# --------------------------------------------------------------------------- the tree


@dataclass(frozen=True)
class Node:
    code: str
    name_zh: str
    name_en: str
    level: str
    path: str
    parent: str | None

    @property
    def depth(self) -> int:
        return self.path.count("/")


@dataclass(frozen=True)
class NodeSigns:
    """One node's signs for a period."""

    code: str
    name_zh: str
    name_en: str
    level: str
    parent: str | None
    signs: list[SignValue]


@dataclass(frozen=True)
class LevelSigns:
    """Every node of a level (under ``total``'s node), the remainder, and the total.

    For sum and ratio signs: Σ nodes + ``unassigned`` = ``total``, numerators and
    denominators alike.
    """

    level: str
    period: str
    nodes: list[NodeSigns]
    unassigned: list[SignValue]
    total: NodeSigns


@dataclass
class _Tree:
    nodes: dict[str, Node]
    children: dict[str, list[str]]
    root: Node
    levels: tuple[str, ...]

    def subtree(self, top: Node) -> list[Node]:
        return [n for n in self.nodes.values() if n.path.startswith(top.path)]


def _tree(session: Session, profile: TownProfile) -> _Tree:
    rows = session.execute(
        select(
            Jurisdiction.code,
            Jurisdiction.name_zh,
            Jurisdiction.name_en,
            Jurisdiction.level,
            Jurisdiction.path,
            Jurisdiction.parent_code,
        ).order_by(Jurisdiction.path)
    )
    nodes = {row.code: Node(*row) for row in rows}
    children: dict[str, list[str]] = defaultdict(list)
    for node in nodes.values():
        if node.parent is not None:
            children[node.parent].append(node.code)
    roots = [n for n in nodes.values() if n.parent is None]
    if not roots:
        raise DomainError("the jurisdiction tree is empty: load a town first")
    return _Tree(nodes, children, roots[0], profile.levels)


def node_for(session: Session, *, actor: Actor | None, code: str | None) -> Node:
    """The node to report on: ``code``, else the actor's scope, else the town.

    Raises NotFound for an unknown code and Forbidden outside the actor's scope (or for a
    role that does not read signs).
    """
    if actor is not None:
        require_role(actor, READ_ROLES, "read vital signs")
    tree = _tree(session, get_profile(session))
    if code is None:
        code = actor.scope_code if actor is not None and actor.scope_code else tree.root.code
    node = tree.nodes.get(code)
    if node is None:
        raise NotFound(f"unknown jurisdiction '{code}'", jurisdiction=code)
    if actor is not None and not _sees(actor, node):
        raise Forbidden("that place is outside your jurisdiction", jurisdiction=code)
    return node


def _sees(actor: Actor, node: Node) -> bool:
    # Vital signs describe places: a department's handler reads the whole town's.
    return scope_of(actor).contains_path(node.path, departments_serve_town=True)


# --------------------------------------------------------------------------- the engine


def compute_signs(
    session: Session,
    *,
    jurisdiction: str | None,
    period: str,
    now: datetime | None = None,
) -> list[SignValue]:
    """Every sign that applies to the node's level, for ``period`` ("2022", "2022-06",
    "2022-W23"); ``jurisdiction`` None is the town."""
    parsed = parse_sign_period(period)
    node = node_for(session, actor=None, code=jurisdiction)
    engine = _Engine(session, parsed, now=now, top=node)
    return engine.signs_at(node)


def compute_signs_by_level(
    session: Session,
    *,
    level: str,
    period: str,
    under: str | None = None,
    now: datetime | None = None,
) -> LevelSigns:
    """Every node of ``level`` (under node ``under``, default the town) in one pass."""
    parsed = parse_sign_period(period)
    top = node_for(session, actor=None, code=under)
    engine = _Engine(session, parsed, now=now, top=top)
    levels = engine.tree.levels
    if level not in levels:
        raise InvalidInput(f"unknown level '{level}' (levels: {', '.join(levels)})", field="level")
    if levels.index(level) < levels.index(top.level):
        raise InvalidInput(f"level '{level}' is above '{top.code}'", field="level")
    members = [n for n in engine.tree.subtree(top) if n.level == level]
    return LevelSigns(
        level=level,
        period=parsed.label,
        nodes=[engine.node_signs(n, level=level) for n in members],
        unassigned=engine.unassigned_signs(level) if level != top.level else [],
        total=engine.node_signs(top, level=top.level),
    )


def compute_every_node(
    session: Session, *, period: str, now: datetime | None = None
) -> list[NodeSigns]:
    """Every node of every level with signs, town first (the warnings read this)."""
    parsed = parse_sign_period(period)
    engine = _Engine(session, parsed, now=now, top=None)
    return [
        engine.node_signs(node, level=node.level)
        for node in sorted(engine.tree.nodes.values(), key=lambda n: (n.depth, n.path))
        if any(node.level in s.levels for s in engine.config.signs)
    ]


class _Engine:
    """One period's measures for one subtree, rolled up to every node in it."""

    def __init__(
        self,
        session: Session,
        period: Period,
        *,
        now: datetime | None,
        top: Node | None,
        judge_history: bool = True,
    ) -> None:
        self.session = session
        self.config = signs_config(session)
        profile = get_profile(session)
        self.tree = _tree(session, profile)
        self.top = top or self.tree.root
        self.period = period
        self.zone = ZoneInfo(profile.timezone)
        start, end = period.utc_bounds(self.zone)
        self.moment = as_utc(now) if now else utcnow()
        self.window = Window(start, end, min(end, self.moment), period.last_day)
        # An engine of a past period only supplies history signs' values: it judges nothing
        # by history itself (and so never builds engines of its own).
        self.past = _Past(self) if judge_history else None
        self.members = {n.code: n for n in self.tree.subtree(self.top)}
        self.measures: dict[str, Count | Extreme] = {}
        # A past period's engine answers history signs only: it reads only their measures.
        wanted = self.config.signs if judge_history else _history_signs(self.config)
        for sign in wanted:
            for measure in sign.measures():
                if isinstance(measure, Count | Extreme):
                    self.measures[measure_key(measure)] = measure
        under = None if self.top.code == self.tree.root.code else self.top.path
        tallies = data_tallies(
            session, self.measures.values(), window=self.window, under_path=under
        )
        self.totals, self.remainders = self._roll_up(tallies)
        self.own = manual_values(
            session, signs=[s for s in self.config.signs if s.is_manual], period=period
        )
        self.manual: dict[str, dict[str, tuple[float | None, float | None, float | None]]] = {}
        self._computing: set[str] = set()

    # -- data measures

    def _roll_up(
        self, tallies: PathTallies
    ) -> tuple[dict[str, dict[str, float | None]], dict[str, dict[str, float | None]]]:
        """Credit every place's row to each node on its path, and to the remainder of each
        level the path does not reach."""
        totals: dict[str, dict[str, float | None]] = defaultdict(dict)
        remainders: dict[str, dict[str, float | None]] = defaultdict(dict)
        below = self.tree.levels[self.tree.levels.index(self.top.level) + 1 :]
        ops = {key: combine_op(m) for key, m in self.measures.items()}
        for path, values in tallies.items():
            # Zero counts change no sum: most measures are 0 at most places.
            items = [(k, v, ops[k]) for k, v in values.items() if v or ops[k] != "sum"]
            codes = [self.top.code] if path is None else path.strip("/").split("/")
            reached = [self.members[c] for c in codes if c in self.members]
            if path is None or not reached:
                reached = [self.top]
            for node in reached:
                _add(totals[node.code], items)
            levels = {node.level for node in reached}
            for level in below:
                if level not in levels:
                    _add(remainders[level], items)
        return totals, remainders

    def _data(self, code: str | None, measure: Count | Extreme, level: str) -> float | None:
        table = self.remainders[level] if code is None else self.totals.get(code, {})
        value = table.get(measure_key(measure))
        if value is None and isinstance(measure, Count):
            return 0.0
        return value

    # -- manual figures

    def _series(self, sign_id: str) -> dict[str, tuple[float | None, float | None, float | None]]:
        """Per node: (value, weighted numerator, weight) of a manual sign, bottom-up."""
        if sign_id in self.manual:
            return self.manual[sign_id]
        if sign_id in self._computing:
            raise DomainError(f"sign '{sign_id}' is weighted by itself")
        self._computing.add(sign_id)
        sign = self.config.sign(sign_id)
        assert sign is not None
        own = self.own.get(sign_id, {})
        series: dict[str, tuple[float | None, float | None, float | None]] = {}
        for node in sorted(self.members.values(), key=lambda n: -n.depth):
            kids = [c for c in self.tree.children.get(node.code, []) if c in series]
            values = [series[c][0] for c in kids]
            if node.code in own:
                series[node.code] = (own[node.code], None, None)
            elif sign.rollup == "weighted_mean" and sign.weight is not None:
                weight = sign.weight
                weights = [self._measure(c, weight, sign, node.level) for c in kids]
                series[node.code] = _weighted_mean(values, weights)
            else:
                series[node.code] = (_combine(sign.rollup, values), None, None)
        self._computing.discard(sign_id)
        self.manual[sign_id] = series
        return series

    def _manual(self, code: str | None, sign_id: str, level: str) -> float | None:
        series = self._series(sign_id)
        if code is not None:
            return series.get(code, (None, None, None))[0]
        # The remainder of a level: the top's figure less what the level's nodes hold.
        sign = self.config.sign(sign_id)
        top = series.get(self.top.code, (None, None, None))[0]
        if sign is None or sign.rollup != "sum" or top is None:
            return None
        held = [series[n.code][0] for n in self.members.values() if n.level == level]
        return top - sum(v for v in held if v is not None)

    # -- signs

    def _measure(
        self, code: str | None, measure: Measure, sign: SignDefinition, level: str
    ) -> float | None:
        if isinstance(measure, Manual):
            target = sign.id if measure.manual is True else measure.manual
            return self._manual(code, target, level)
        return self._data(code, measure, level)

    def raw(
        self, code: str | None, sign: SignDefinition, level: str
    ) -> tuple[float | None, float | None, float | None]:
        """(value, numerator, denominator) of a sign at a node (``None``: a remainder)."""
        numerator = denominator = None
        formula = sign.formula
        if isinstance(formula, Ratio):
            numerator = self._measure(code, formula.ratio[0], sign, level)
            denominator = self._measure(code, formula.ratio[1], sign, level)
            value = numerator / denominator if numerator is not None and denominator else None
        elif sign.rollup == "weighted_mean" and code is not None:
            value, numerator, denominator = self._series(sign.id).get(code, (None, None, None))
        else:
            value = self._measure(code, formula, sign, level)
        return value, numerator, denominator

    def _value(self, code: str | None, sign: SignDefinition, level: str) -> SignValue:
        value, numerator, denominator = self.raw(code, sign, level)
        judged = self._judge(code, sign, level, value, denominator)
        words = unjudged_words(judged.unjudged, **judged.fill) if judged.unjudged else ("", "")
        return SignValue(
            id=sign.id,
            name_zh=sign.name_zh,
            name_en=sign.name_en,
            dimension=sign.dimension,
            unit=sign.unit,
            value=value,
            status=judged.status,
            source=source_text(self.config, sign),
            direction=sign.direction,
            target=sign.target,
            numerator=numerator,
            denominator=denominator,
            jurisdiction=_jurisdiction(code, self.tree.root),
            period=self.period.label,
            basis=sign.basis,
            band=judged.band,
            unjudged=judged.unjudged,
            unjudged_zh=words[0],
            unjudged_en=words[1],
        )

    def _judge(
        self,
        code: str | None,
        sign: SignDefinition,
        level: str,
        value: float | None,
        denominator: float | None,
    ) -> _Judgement:
        """The colour by the sign's basis, or why there is none."""
        if sign.basis == "unjudged":
            return _Judgement("none", unjudged="not_judged", fill=_note_words(sign.basis_note))
        if value is None:
            return _Judgement("none", unjudged=_missing(sign))
        need = min_denominator(sign, level)
        if denominator is not None and denominator < need:
            return _too_few(denominator, need)
        if sign.basis == "history":
            if self.past is None:  # a past period's engine: its values are all that is asked
                return _Judgement("none")
            return self.past.judge(code, sign, level, value)
        return _Judgement(status_of(sign, value, level=level, denominator=denominator))

    def signs_at(self, node: Node) -> list[SignValue]:
        return [self._value(node.code, s, node.level) for s in self.config.signs
                if node.level in s.levels]  # fmt: skip

    def node_signs(self, node: Node, *, level: str) -> NodeSigns:
        return NodeSigns(
            code=node.code,
            name_zh=node.name_zh,
            name_en=node.name_en,
            level=level,
            parent=node.parent,
            signs=self.signs_at(node),
        )

    def unassigned_signs(self, level: str) -> list[SignValue]:
        return [self._value(None, s, level) for s in self.config.signs if level in s.levels]


@dataclass(frozen=True)
class _Judgement:
    status: Status
    band: Band | None = None
    unjudged: Unjudged | None = None
    fill: dict[str, object] = field(default_factory=dict)


def _history_signs(config: SignsConfig) -> list[SignDefinition]:
    return [sign for sign in config.signs if sign.basis == "history"]


def _note_words(note: str) -> dict[str, object]:
    """A basis note "中文 — English" split for the zh and en words of a reason."""
    zh, _, en = note.partition(" — ")
    return {"note_zh": zh.strip(), "note_en": (en or zh).strip()}


def _short(available: int, need: int) -> _Judgement:
    return _Judgement("none", unjudged="short_history", fill={"n": available, "need": need})


def _too_few(denominator: float, need: int) -> _Judgement:
    return _Judgement(
        "none", unjudged="too_few_cases", fill={"n": f"{denominator:g}", "need": need}
    )


def _missing(sign: SignDefinition) -> Unjudged:
    """Why a sign has no value: a figure nobody entered, a rate over nothing, no reading."""
    if any(isinstance(m, Manual) for m in sign.measures()):
        return "no_figure"
    return "no_cases" if isinstance(sign.formula, Ratio) else "no_value"


def min_denominator(sign: SignDefinition, level: str) -> int:
    """The fewest cases a ratio is judged over, at ``level``."""
    if sign.basis == "history":
        return sign.history_rule.min_denominator
    thresholds = sign.thresholds_at(level)
    return thresholds.min_denominator if thresholds is not None else 0


class _Past:
    """A sign's values in the periods before the engine's, for ``history`` judgements.

    The engine of each past period (same subtree) is built the first time a history sign
    asks for it and kept, so a by-level pass builds each past period once for every node.
    """

    def __init__(self, engine: _Engine) -> None:
        self.engine = engine
        self.today = engine.moment.astimezone(engine.zone).date()
        self._engines: dict[str, _Engine] = {}
        self._start: date | None = None
        self._start_read = False
        self._figure_periods: set[str] | None = None

    def judge(self, code: str | None, sign: SignDefinition, level: str, value: float) -> _Judgement:
        period = self.engine.period
        if kind_of(period) == "year" and not sign.reads_only_manual:
            return self._judge_year_by_months(code, sign, level)
        if not self._comparable_so_far(period, sign):
            return _Judgement("none", unjudged="period_running")
        past = self._past_values(code, sign, level, period)
        rule = sign.history_rule
        band = band_of(past, unit=sign.unit, per=kind_of(period), min_periods=rule.min_periods)
        if band is None:
            return _short(len(past), rule.min_periods)
        band = replace(band, compared=value, compared_period=period.label)
        return _Judgement(status_in_band(value, band, sign.direction), band=band)

    def _judge_year_by_months(
        self, code: str | None, sign: SignDefinition, level: str
    ) -> _Judgement:
        """Each complete month of the year against its own band; the year takes the worst."""
        rule = sign.history_rule
        judged: list[tuple[Status, Band]] = []
        most_history = 0
        for label in months_of(self.engine.period):
            month = parse_sign_period(label)
            if not (self._complete(month) and self._usable(month, sign)):
                continue
            value = self._value_in(month, code, sign, level)
            past = self._past_values(code, sign, level, month)
            most_history = max(most_history, len(past))
            band = band_of(past, unit=sign.unit, per="month", min_periods=rule.min_periods)
            if value is None or band is None:
                continue
            band = replace(band, compared=value, compared_period=label)
            judged.append((status_in_band(value, band, sign.direction), band))
        if not judged:
            return _short(most_history, rule.min_periods)
        statuses = [status for status, _ in judged]
        last = replace(
            judged[-1][1],
            months_judged=len(judged),
            months_yellow=statuses.count("yellow"),
            months_red=statuses.count("red"),
        )
        return _Judgement(worst(statuses), band=last)

    def _past_values(
        self, code: str | None, sign: SignDefinition, level: str, period: Period
    ) -> list[tuple[str, float]]:
        """(label, value) of the usable periods among the ``periods`` before, oldest first."""
        before: list[Period] = []
        for _ in range(sign.history_rule.periods):
            period = previous_period(period)
            before.append(period)
        found = []
        for past in reversed(before):
            if self._usable(past, sign):
                value = self._value_in(past, code, sign, level)
                if value is not None:
                    found.append((past.label, value))
        return found

    def _value_in(
        self, period: Period, code: str | None, sign: SignDefinition, level: str
    ) -> float | None:
        """The sign's value in another period; None if absent or over too few cases."""
        value, _, denominator = self._engine_for(period).raw(code, sign, level)
        if denominator is not None and denominator < min_denominator(sign, level):
            return None
        return value

    def _usable(self, period: Period, sign: SignDefinition) -> bool:
        """Manual signs: a period with figures; data signs: a period after records begin."""
        if sign.reads_only_manual:
            labels = self._periods_with_figures()
            return period.label in labels or any(m in labels for m in months_of(period))
        start = self._records_start()
        return start is not None and period.first_day >= start

    def _complete(self, period: Period) -> bool:
        return period.last_day < self.today

    def _comparable_so_far(self, period: Period, sign: SignDefinition) -> bool:
        """A running period's count is partial; a share, a mean, or a figure people entered
        for the whole period is not."""
        return (
            self._complete(period)
            or sign.rollup in _COMPARABLE_WHILE_RUNNING
            or sign.reads_only_manual
        )

    def _engine_for(self, period: Period) -> _Engine:
        if period.label not in self._engines:
            self._engines[period.label] = _Engine(
                self.engine.session,
                period,
                now=self.engine.moment,
                top=self.engine.top,
                judge_history=False,
            )
        return self._engines[period.label]

    def _records_start(self) -> date | None:
        if not self._start_read:
            first = records_start(self.engine.session)
            self._start = as_utc(first).astimezone(self.engine.zone).date() if first else None
            self._start_read = True
        return self._start

    def _periods_with_figures(self) -> set[str]:
        if self._figure_periods is None:
            self._figure_periods = periods_with_figures(self.engine.session)
        return self._figure_periods


#: Rollups whose value over part of a period compares with whole periods (shares, means).
_COMPARABLE_WHILE_RUNNING = ("ratio", "weighted_mean")


def _jurisdiction(code: str | None, root: Node) -> str | None:
    if code is None:
        return UNASSIGNED
    return None if code == root.code else code


def _add(table: dict[str, float | None], items: list[tuple[str, float | None, str]]) -> None:
    for key, value, op in items:
        current = table.get(key)
        if value is None or current is None:
            table[key] = value if current is None else current
        elif op == "max":
            table[key] = max(current, value)
        elif op == "min":
            table[key] = min(current, value)
        else:
            table[key] = current + value


def _weighted_mean(
    values: list[float | None], weights: list[float | None]
) -> tuple[float | None, float | None, float | None]:
    """(mean, Σ value × weight, Σ weight) over the children that have both."""
    numerator = weight = 0.0
    for value, w in zip(values, weights, strict=True):
        if value is not None and w:
            numerator += value * w
            weight += w
    return (numerator / weight if weight else None, numerator, weight)


def _combine(rollup: str, values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    if not present:
        return None
    if rollup == "max":
        return max(present)
    if rollup == "min":
        return min(present)
    return sum(present)


# --------------------------------------------------------------------------- status, source


def status_of(
    sign: SignDefinition, value: float | None, *, level: str, denominator: float | None = None
) -> Status:
    """green / yellow / red by the level's fixed thresholds and the sign's direction
    (``none`` for a sign without them: history signs are judged by the engine)."""
    thresholds: Thresholds | None = sign.thresholds_at(level)
    if value is None or thresholds is None:
        return "none"
    if denominator is not None and denominator < thresholds.min_denominator:
        return "none"

    def at_least_as_good(bound: float) -> bool:
        if sign.direction == "higher_is_better":
            return value >= bound - _EPSILON
        return value <= bound + _EPSILON

    if at_least_as_good(thresholds.green):
        return "green"
    return "yellow" if at_least_as_good(thresholds.yellow) else "red"


def source_text(config: SignsConfig, sign: SignDefinition) -> str:
    """The seed, its words, and whether townops computes the sign or people enter it."""
    seed = config.seed_titles().get(sign.source.seed)
    title = f"{sign.source.seed} {seed.title_zh}" if seed else sign.source.seed
    words = f"「{sign.source.quote}」" if sign.source.quote else f"（大意）{sign.source.paraphrase}"
    return f"{title}：{words} — {origin_of(sign)}"


def origin_of(sign: SignDefinition) -> str:
    kinds = {type(m) for m in sign.measures() if m is not sign.weight}
    if sign.is_manual:
        return "人工填报 entered manually"
    if kinds == {Manual}:
        return "由人工填报数计算 computed from manual figures"
    if Manual in kinds:
        return "由townops数据与人工填报数计算 computed from townops data and manual figures"
    return "townops数据计算 computed from townops data"


def definition_dict(config: SignsConfig, sign: SignDefinition) -> dict[str, Any]:
    """A sign's definition as the API and the export show it."""
    dimension = config.dimension_names().get(sign.dimension, (sign.dimension, sign.dimension))
    return {
        "id": sign.id,
        "name_zh": sign.name_zh,
        "name_en": sign.name_en,
        "dimension": sign.dimension,
        "dimension_zh": dimension[0],
        "dimension_en": dimension[1],
        "unit": sign.unit,
        "levels": list(sign.levels),
        "rollup": sign.rollup,
        "direction": sign.direction,
        "basis": sign.basis,
        "basis_note": sign.basis_note,
        "history": sign.history_rule.model_dump() if sign.basis == "history" else None,
        "thresholds": sign.thresholds.model_dump() if sign.thresholds else None,
        "level_thresholds": {k: v.model_dump() for k, v in sign.level_thresholds.items()},
        "target": sign.target,
        "owner": sign.owner,
        "origin": "manual" if sign.is_manual else "computed",
        "formula": sign.formula.model_dump(mode="json", exclude_none=True, exclude_defaults=True),
        "source": source_text(config, sign),
        "note": sign.note,
    }
