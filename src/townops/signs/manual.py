"""Figures townops has no data for (河长巡河, 人民调解, 为老服务 …), entered by people.

A figure is one value per sign (a sign whose formula is ``{manual: true}``), jurisdiction
node and period label. It is entered one at a time (API, by an admin or a duty officer) or
imported from a CSV/XLSX sheet, all rows or none: every row is checked first and every
problem reported (row, column, value, reason), a :mod:`townops.tabular` import. Entering a figure
again replaces it; each entry and import goes to the audit log with the old values.

Reading: :func:`manual_values` gives each node's own figure for a period. A year without a
yearly figure for a node falls back to that node's monthly figures, combined by the sign's
roll-up (sum, max, min; a weighted mean is not recombined from months).
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from townops.access import scope_of
from townops.access.actor import Actor, Role
from townops.auth.models import AuditEntry
from townops.cases.access import require_role
from townops.errors import Forbidden, InvalidInput
from townops.jurisdiction.models import Jurisdiction
from townops.periods import Period
from townops.signs.config import SignDefinition, SignsConfig
from townops.signs.models import ManualFigure
from townops.signs.periods import months_of, parse_sign_period
from townops.tabular import FirstRows, ImportReport, RowCheck, Sheet, add_name, match_header
from townops.timeutil import utcnow

#: Who may enter figures (the CLI enters them as the system).
ENTRY_ROLES = frozenset({Role.admin, Role.duty_officer})

COLUMNS: dict[str, tuple[str, ...]] = {
    "sign": ("sign", "sign_id", "指标代码"),
    "jurisdiction": ("jurisdiction", "辖区代码", "辖区"),
    "period": ("period", "期间"),
    "value": ("value", "数值"),
    "note": ("note", "备注"),
}
REQUIRED = ("sign", "jurisdiction", "period", "value")
_PERCENT = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*[%％]\s*$")


@dataclass(frozen=True)
class FigureInput:
    """One checked figure, ready to write."""

    sign_id: str
    jurisdiction_code: str
    period: str
    value: float
    note: str = ""


# --------------------------------------------------------------------------- checking


@dataclass(frozen=True)
class _Places:
    by_key: dict[str, str | None]  # code, name or alias -> code (None: ambiguous name)
    level: dict[str, str]
    path: dict[str, str]


def _places(session: Session) -> _Places:
    by_key: dict[str, str | None] = {}
    level: dict[str, str] = {}
    path: dict[str, str] = {}
    rows = list(session.execute(select(Jurisdiction)).scalars())
    for row in rows:
        level[row.code], path[row.code] = row.level, row.path
        for name in {row.name_zh, *(row.aliases or [])}:
            add_name(by_key, name, row.code)
    by_key.update({row.code: row.code for row in rows})
    return _Places(by_key, level, path)


def check_figure(
    config: SignsConfig,
    places: _Places,
    *,
    sign_id: str,
    jurisdiction: str,
    period: str,
    value: Any,
    note: str = "",
) -> tuple[FigureInput | None, list[tuple[str, str]]]:
    """The figure, or the problems found as ``(field, reason)`` pairs."""
    problems: list[tuple[str, str]] = []
    sign = config.sign(sign_id.strip())
    if sign is None:
        problems.append(("sign", "未知指标 unknown sign"))
    elif not sign.is_manual:
        problems.append(("sign", "该指标由townops计算，不能填报 computed, not entered"))
    code = places.by_key.get(jurisdiction.strip())
    if code is None:
        reason = "辖区名称不唯一 ambiguous name: use the code"
        problems.append(
            (
                "jurisdiction",
                reason if jurisdiction.strip() in places.by_key else "未知辖区 unknown",
            )
        )
    elif sign is not None and places.level[code] not in sign.levels:
        problems.append(
            ("jurisdiction", f"该指标不适用于{places.level[code]}层级 not kept at this level")
        )
    label = ""
    try:
        label = parse_sign_period(period).label
    except InvalidInput as exc:
        problems.append(("period", exc.message))
    number, reason = _number(value, sign)
    if reason:
        problems.append(("value", reason))
    if problems or sign is None or code is None or number is None:
        return None, problems
    return FigureInput(sign.id, code, label, number, note.strip()), []


def _number(value: Any, sign: SignDefinition | None) -> tuple[float | None, str]:
    if isinstance(value, bool):
        return None, "不是数字 not a number"
    if isinstance(value, int | float):
        number = float(value)
    else:
        text = str(value or "").strip().replace(",", "")
        percent = _PERCENT.match(text)
        try:
            number = float(percent.group(1)) / 100 if percent else float(text)
        except ValueError:
            return None, "不是数字 not a number"
    if not math.isfinite(number):
        return None, "不是有限数 not a finite number"
    if number < 0:
        return None, "不能为负 negative"
    if sign is not None and sign.unit == "rate" and number > 1:
        return None, "比率应在0到1之间（或写作98.4%） a rate is 0..1 (or 98.4%)"
    return number, ""


# --------------------------------------------------------------------------- writing


def enter_figure(
    session: Session,
    *,
    actor: Actor,
    config: SignsConfig,
    sign_id: str,
    jurisdiction: str,
    period: str,
    value: Any,
    note: str = "",
    now: datetime | None = None,
) -> ManualFigure:
    """Enter (or replace) one figure; raises InvalidInput naming every problem."""
    require_role(actor, ENTRY_ROLES, "enter vital-sign figures")
    places = _places(session)
    figure, problems = check_figure(
        config,
        places,
        sign_id=sign_id,
        jurisdiction=jurisdiction,
        period=period,
        value=value,
        note=note,
    )
    if figure is None:
        raise InvalidInput(
            "; ".join(f"{name}: {reason}" for name, reason in problems),
            problems=[{"field": name, "problem": reason} for name, reason in problems],
        )
    _check_scope(actor, places.path[figure.jurisdiction_code])
    now = now or utcnow()
    row, old = _write(session, figure, actor=actor, now=now)
    session.add(
        AuditEntry(
            at=now,
            actor=actor.username,
            action="signs.figure",
            target=f"{figure.sign_id}/{figure.jurisdiction_code}/{figure.period}",
            data={"value": figure.value, "old_value": old, "note": figure.note},
        )
    )
    session.flush()
    return row


def import_figures(
    session: Session,
    *,
    actor: Actor,
    config: SignsConfig,
    sheet: Sheet,
    dry_run: bool = False,
    now: datetime | None = None,
) -> ImportReport:
    """Check every row, then write them all — or none if any row is bad (or on a dry run)."""
    require_role(actor, ENTRY_ROLES, "import vital-sign figures")
    now = now or utcnow()
    # A second column for a field is ignored here (the hotline and device imports refuse it).
    columns = match_header(sheet.header, COLUMNS, required=REQUIRED, first_wins=True)
    places = _places(session)
    report = ImportReport(
        rows_total=len(sheet.rows), skipped_columns=columns.skipped, dry_run=dry_run
    )
    figures: list[FigureInput] = []
    seen = FirstRows[tuple[str, str, str]]()
    for number, cells in sheet.rows:
        check = RowCheck(number, cells, columns)
        # Excel turns codes and years typed in cells into numbers: text but for the value.
        value = check.cells.get("value")
        number_given = isinstance(value, int | float) and not isinstance(value, bool)
        figure, problems = check_figure(
            config,
            places,
            sign_id=check.texts["sign"],
            jurisdiction=check.texts["jurisdiction"],
            period=check.texts["period"],
            value=value if number_given else check.texts["value"],
            note=check.texts["note"],
        )
        if figure is not None:
            key = (figure.sign_id, figure.jurisdiction_code, figure.period)
            first = seen.repeat_of(key, number)
            if first is not None:
                problems = [("sign", f"与第 {first} 行重复 repeats row {first}")]
            elif not _in_scope(actor, places.path[figure.jurisdiction_code]):
                problems = [("jurisdiction", "超出您的辖区 outside your jurisdiction")]
        for name, reason in problems:
            shown = str(value) if name == "value" and number_given else None
            check.fail(name, reason, value=shown)
        report.errors += check.errors
        if figure is not None and not problems:
            figures.append(figure)
    if not report.goes_ahead(skip_bad=False):
        return report
    changes = []
    for figure in figures:
        _, old = _write(session, figure, actor=actor, now=now)
        report.created += old is None
        report.updated += old is not None
        changes.append([figure.sign_id, figure.jurisdiction_code, figure.period, figure.value, old])
    session.add(
        AuditEntry(
            at=now,
            actor=actor.username,
            action="signs.import",
            target=f"{len(figures)} figures",
            data={"figures": changes},
        )
    )
    session.flush()
    return report


def _write(
    session: Session, figure: FigureInput, *, actor: Actor, now: datetime
) -> tuple[ManualFigure, float | None]:
    row = session.scalars(
        select(ManualFigure).where(
            ManualFigure.sign_id == figure.sign_id,
            ManualFigure.jurisdiction_code == figure.jurisdiction_code,
            ManualFigure.period == figure.period,
        )
    ).first()
    old = None if row is None else row.value
    if row is None:
        row = ManualFigure(
            sign_id=figure.sign_id,
            jurisdiction_code=figure.jurisdiction_code,
            period=figure.period,
        )
        session.add(row)
    row.value, row.note = figure.value, figure.note
    row.entered_by, row.entered_at = actor.username, now
    return row, old


def _in_scope(actor: Actor, path: str) -> bool:
    return scope_of(actor).contains_path(path, departments_serve_town=True)


def _check_scope(actor: Actor, path: str) -> None:
    if not _in_scope(actor, path):
        raise Forbidden("that place is outside your jurisdiction")


# --------------------------------------------------------------------------- reading


def manual_values(
    session: Session,
    *,
    signs: Iterable[SignDefinition],
    period: Period,
) -> dict[str, dict[str, float]]:
    """Each sign's own figures per node code for ``period`` (with a year's monthly fallback)."""
    rollups = {sign.id: sign.rollup for sign in signs}
    if not rollups:
        return {}
    months = months_of(period)
    rows = session.execute(
        select(
            ManualFigure.sign_id,
            ManualFigure.jurisdiction_code,
            ManualFigure.period,
            ManualFigure.value,
        ).where(
            ManualFigure.sign_id.in_(list(rollups)),
            ManualFigure.period.in_([period.label, *months]),
        )
    )
    exact: dict[str, dict[str, float]] = defaultdict(dict)
    monthly: dict[tuple[str, str], list[float]] = defaultdict(list)
    for sign_id, code, label, value in rows:
        if label == period.label:
            exact[sign_id][code] = float(value)
        else:
            monthly[(sign_id, code)].append(float(value))
    for (sign_id, code), values in monthly.items():
        combined = _combine_months(rollups[sign_id], values)
        if combined is not None:
            exact[sign_id].setdefault(code, combined)
    return exact


def periods_with_figures(session: Session) -> set[str]:
    """Every period label some figure is entered for (history bands look only at those)."""
    return set(session.scalars(select(ManualFigure.period).distinct()))


def _combine_months(rollup: str, values: list[float]) -> float | None:
    if rollup == "sum":
        return sum(values)
    if rollup == "max":
        return max(values)
    if rollup == "min":
        return min(values)
    return None


def list_figures(
    session: Session,
    *,
    actor: Actor,
    sign_id: str | None = None,
    period: str | None = None,
    jurisdiction: str | None = None,
    limit: int = 1000,
) -> list[ManualFigure]:
    """Figures in the actor's scope, newest period first."""
    stmt = select(ManualFigure, Jurisdiction.path).join(
        Jurisdiction, Jurisdiction.code == ManualFigure.jurisdiction_code
    )
    if sign_id:
        stmt = stmt.where(ManualFigure.sign_id == sign_id)
    if period:
        stmt = stmt.where(ManualFigure.period == parse_sign_period(period).label)
    if jurisdiction:
        stmt = stmt.where(ManualFigure.jurisdiction_code == jurisdiction)
    stmt = stmt.where(scope_of(actor).where(path=Jurisdiction.path, departments_serve_town=True))
    stmt = stmt.order_by(
        ManualFigure.period.desc(), ManualFigure.sign_id, ManualFigure.jurisdiction_code
    ).limit(limit)
    return [figure for figure, _ in session.execute(stmt)]
