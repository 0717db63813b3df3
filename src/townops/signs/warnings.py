"""Warnings (体征预警): a sign that turns red for a node raises one warning per period.

``raise_warnings`` computes every sign at every node for the period, records a
``SignWarning`` for each red one not warned of yet (the table's unique key makes it once
per sign, node and period), and — when asked — opens a case for the sign's owner
department: created and dispatched by the system through the case engine, so it has a
deadline, a timeline and a place in the queues like any other case (未呼先应).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from townops.access.actor import SYSTEM
from townops.cases.enums import Action
from townops.cases.kinds import PATROL
from townops.cases.schemas import ActionInput, CaseCreate
from townops.cases.service import create_case, perform_action
from townops.jurisdiction.models import Jurisdiction
from townops.signs.config import SignDefinition
from townops.signs.history import bad_edge
from townops.signs.models import SignWarning
from townops.signs.periods import parse_sign_period
from townops.signs.service import NodeSigns, compute_every_node, signs_config
from townops.signs.values import SignValue
from townops.timeutil import as_utc, utcnow

#: The category of warning cases (体征预警; only townops opens it).
WARNING_CATEGORY = "vital_sign_warning"
WARNING_SOURCE = "vital_sign"


@dataclass
class WarningRun:
    period: str
    raised: list[SignWarning] = field(default_factory=list)
    already_raised: int = 0
    cases_opened: list[int] = field(default_factory=list)


def raise_warnings(
    session: Session,
    *,
    period: str,
    open_cases: bool = False,
    now: datetime | None = None,
) -> WarningRun:
    """Record a warning for every red sign of every node (once), optionally opening cases."""
    now = as_utc(now) if now else utcnow()
    label = parse_sign_period(period).label
    config = signs_config(session)
    existing = {
        (w.sign_id, w.jurisdiction_code): w
        for w in session.scalars(select(SignWarning).where(SignWarning.period == label))
    }
    run = WarningRun(period=label)
    nodes = compute_every_node(session, period=label, now=now)
    by_code = {node.code: node for node in nodes}
    for node in nodes:
        for value in node.signs:
            if value.status != "red":
                continue
            if (value.id, node.code) in existing:
                run.already_raised += 1
                continue
            sign = config.sign(value.id)
            assert sign is not None
            warning = _warning(sign, node, value, label, now)
            session.add(warning)
            existing[(value.id, node.code)] = warning
            run.raised.append(warning)
    session.flush()
    if open_cases:
        for warning in existing.values():
            owner_sign = config.sign(warning.sign_id)
            place = by_code.get(warning.jurisdiction_code)
            if warning.case_id is None and owner_sign is not None and place is not None:
                warning.case_id = _open_case(session, owner_sign, place, warning, now)
                run.cases_opened.append(warning.case_id)
        session.flush()
    return run


def list_warnings(
    session: Session, *, period: str | None = None, under_path: str | None = None
) -> list[SignWarning]:
    """Warnings, newest first; ``under_path``: only nodes in that subtree."""
    stmt = select(SignWarning).order_by(SignWarning.raised_at.desc(), SignWarning.id.desc())
    if under_path:
        stmt = stmt.join(Jurisdiction, Jurisdiction.code == SignWarning.jurisdiction_code).where(
            Jurisdiction.path.startswith(under_path, autoescape=True)
        )
    if period:
        stmt = stmt.where(SignWarning.period == parse_sign_period(period).label)
    return list(session.scalars(stmt))


def _warning(
    sign: SignDefinition, node: NodeSigns, value: SignValue, period: str, now: datetime
) -> SignWarning:
    assert value.value is not None  # red needs a value
    return SignWarning(
        sign_id=sign.id,
        jurisdiction_code=node.code,
        period=period,
        value=value.value,
        threshold=yellow_line(sign, node.level, value),
        owner=sign.owner,
        raised_at=now,
    )


def yellow_line(sign: SignDefinition, level: str, value: SignValue) -> float:
    """The line a red value crossed: the yellow threshold, or the edge of the usual range
    in the bad direction for a sign judged by its history."""
    if value.band is not None:
        return bad_edge(value.band, sign.direction)
    thresholds = sign.thresholds_at(level)
    assert thresholds is not None  # a red national/town sign has thresholds
    return thresholds.yellow


def _open_case(
    session: Session, sign: SignDefinition, node: NodeSigns, warning: SignWarning, now: datetime
) -> int:
    case = create_case(
        session,
        actor=SYSTEM,
        data=CaseCreate(
            kind=PATROL.name,
            category=WARNING_CATEGORY,
            content=warning_text(sign, node, warning),
            jurisdiction=node.code,
            source=WARNING_SOURCE,
            external_id=f"{warning.sign_id}/{warning.jurisdiction_code}/{warning.period}",
        ),
        now=now,
    )
    perform_action(
        session,
        actor=SYSTEM,
        case_id=case.id,
        action=Action.dispatch,
        body=ActionInput(
            version=case.version,
            department=sign.owner,
            comment=f"体征预警派给责任部门 vital-sign warning for its owner: {sign.id}",
        ),
        now=now,
    )
    return case.id


def warning_text(sign: SignDefinition, node: NodeSigns, warning: SignWarning) -> str:
    worse = "低于" if sign.direction == "higher_is_better" else "高于"
    line = "常态区间边界" if sign.basis == "history" else "黄线"
    return (
        f"【体征预警】{node.name_zh}「{sign.name_zh}」{warning.period} 为 "
        f"{format_value(warning.value, sign.unit)}，{worse}{line} "
        f"{format_value(warning.threshold, sign.unit)}，已为红色。请核查原因并处置。"
        f" Vital-sign warning: {sign.name_en} of {node.name_en} for {warning.period} is red."
    )


def format_value(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if unit == "rate":
        return f"{value:.1%}"
    return f"{value:g}"
