"""Vital-sign routes (动态体征): values per node and period, definitions, levels, figures.

Staff roles read the signs of their scope (community staff and grid workers only their
subtree; town-wide roles and handlers the town); residents are refused. Manual figures
are entered by admins and duty officers.
"""

from __future__ import annotations

import tempfile
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, UploadFile, status
from pydantic import BaseModel, Field

from townops.api.deps import ActorDep, ProfileDep, SessionDep
from townops.errors import InvalidInput
from townops.signs import manual
from townops.signs.config import UNITS
from townops.signs.models import ManualFigure, SignWarning
from townops.signs.periods import parse_sign_period
from townops.signs.service import (
    NodeSigns,
    compute_signs,
    compute_signs_by_level,
    definition_dict,
    node_for,
    signs_config,
)
from townops.signs.values import SignValue
from townops.signs.warnings import list_warnings
from townops.tabular import read_sheet
from townops.timeutil import utcnow
from townops.towns.profile import TownProfile

router = APIRouter(prefix="/api/v1/vital-signs", tags=["vital signs"])

PeriodQuery = Annotated[
    str | None,
    Query(description="A year (2022), a month (2022-06) or an ISO week (2022-W23); default: "
          "this year"),
]  # fmt: skip


class FigureIn(BaseModel):
    sign: str = Field(description="The id of a manual sign (formula {manual: true})")
    jurisdiction: str = Field(description="Jurisdiction code (or its Chinese name)")
    period: str = Field(description="2022, 2022-06 or 2022-W23")
    value: float | str = Field(description="A number; rates as 0.984 or '98.4%'")
    note: str = ""


class FigureOut(BaseModel):
    sign: str
    jurisdiction: str
    period: str
    value: float
    note: str
    entered_by: str
    entered_at: datetime


class WarningOut(BaseModel):
    sign: str
    jurisdiction: str
    period: str
    value: float
    threshold: float
    owner: str
    raised_at: datetime
    case_id: int | None


def _period_label(period: str | None, profile: TownProfile) -> str:
    if period is None or not period.strip():
        return str(utcnow().astimezone(ZoneInfo(profile.timezone)).year)
    return period


def _period_out(label: str) -> dict[str, Any]:
    parsed = parse_sign_period(label)
    return {"label": parsed.label, "first_day": parsed.first_day, "last_day": parsed.last_day}


def _sign_out(value: SignValue) -> dict[str, Any]:
    return asdict(value)


def _node_out(node: NodeSigns) -> dict[str, Any]:
    return {
        "code": node.code,
        "name_zh": node.name_zh,
        "name_en": node.name_en,
        "level": node.level,
        "parent": node.parent,
        "signs": [_sign_out(v) for v in node.signs],
    }


@router.get("")
def get_vital_signs(
    session: SessionDep,
    actor: ActorDep,
    profile: ProfileDep,
    jurisdiction: Annotated[str | None, Query(description="Node code; default the town")] = None,
    period: PeriodQuery = None,
) -> dict[str, Any]:
    """Every sign of one node for one period: value, status, source, target, parts."""
    label = _period_label(period, profile)
    parse_sign_period(label)  # a bad period is a 422 before anything else
    node = node_for(session, actor=actor, code=jurisdiction)
    values = compute_signs(session, jurisdiction=node.code, period=label)
    return {
        "period": _period_out(label),
        "jurisdiction": {
            "code": node.code,
            "name_zh": node.name_zh,
            "name_en": node.name_en,
            "level": node.level,
        },
        "signs": [_sign_out(v) for v in values],
    }


@router.get("/definitions")
def get_definitions(session: SessionDep, actor: ActorDep) -> dict[str, Any]:
    """The town's sign definitions, dimensions and units."""
    node_for(session, actor=actor, code=None)  # role and scope check only
    config = signs_config(session)
    return {
        "dimensions": [d.model_dump() for d in config.dimensions],
        "units": {code: {"name_zh": zh, "name_en": en} for code, (zh, en) in UNITS.items()},
        "seeds": [s.model_dump() for s in config.seeds],
        "signs": [definition_dict(config, s) for s in config.signs],
    }


@router.get("/by-level")
def get_by_level(
    session: SessionDep,
    actor: ActorDep,
    profile: ProfileDep,
    level: Annotated[str, Query(description="community, micro_grid …")],
    period: PeriodQuery = None,
) -> dict[str, Any]:
    """Every node of a level at once (within the caller's scope), the remainder that no
    node of the level holds, and the total they add up to."""
    label = _period_label(period, profile)
    parse_sign_period(label)
    top = node_for(session, actor=actor, code=None)
    result = compute_signs_by_level(session, level=level, period=label, under=top.code)
    return {
        "level": result.level,
        "period": _period_out(label),
        "nodes": [_node_out(n) for n in result.nodes],
        "unassigned": [_sign_out(v) for v in result.unassigned],
        "total": _node_out(result.total),
    }


def _figure_out(figure: ManualFigure) -> FigureOut:
    return FigureOut(
        sign=figure.sign_id,
        jurisdiction=figure.jurisdiction_code,
        period=figure.period,
        value=figure.value,
        note=figure.note,
        entered_by=figure.entered_by,
        entered_at=figure.entered_at,
    )


@router.post("/manual-figures", status_code=status.HTTP_201_CREATED)
def post_manual_figure(body: FigureIn, session: SessionDep, actor: ActorDep) -> FigureOut:
    """Enter (or replace) one figure townops has no data for (admin, duty officer)."""
    figure = manual.enter_figure(
        session,
        actor=actor,
        config=signs_config(session),
        sign_id=body.sign,
        jurisdiction=body.jurisdiction,
        period=body.period,
        value=body.value,
        note=body.note,
    )
    session.commit()
    return _figure_out(figure)


@router.post("/manual-figures/import")
def import_manual_figures(
    file: UploadFile,
    session: SessionDep,
    actor: ActorDep,
    dry_run: bool = False,
) -> dict[str, Any]:
    """Import a CSV/XLSX of figures: every row, or none if any row is bad (then 422)."""
    suffix = Path(file.filename or "figures.csv").suffix or ".csv"
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / f"upload{suffix}"
        path.write_bytes(file.file.read())
        sheet = read_sheet(path)
    report = manual.import_figures(
        session, actor=actor, config=signs_config(session), sheet=sheet, dry_run=dry_run
    )
    errors = [asdict(e) for e in report.errors]
    if errors:
        raise InvalidInput(f"{len(report.bad_rows)} bad rows: nothing imported", errors=errors)
    session.commit()
    return {
        "rows": report.rows_total,
        "created": report.created,
        "updated": report.updated,
        "dry_run": report.dry_run,
    }


@router.get("/manual-figures")
def get_manual_figures(
    session: SessionDep,
    actor: ActorDep,
    sign: str | None = None,
    period: str | None = None,
    jurisdiction: str | None = None,
) -> list[FigureOut]:
    """Figures entered, within the caller's scope."""
    node_for(session, actor=actor, code=jurisdiction)
    figures = manual.list_figures(
        session, actor=actor, sign_id=sign, period=period, jurisdiction=jurisdiction
    )
    return [_figure_out(f) for f in figures]


@router.get("/warnings")
def get_warnings(
    session: SessionDep,
    actor: ActorDep,
    period: str | None = None,
) -> list[WarningOut]:
    """Warnings raised (体征预警), within the caller's scope."""
    top = node_for(session, actor=actor, code=None)
    return [_warning_out(w) for w in list_warnings(session, period=period, under_path=top.path)]


def _warning_out(warning: SignWarning) -> WarningOut:
    return WarningOut(
        sign=warning.sign_id,
        jurisdiction=warning.jurisdiction_code,
        period=warning.period,
        value=warning.value,
        threshold=warning.threshold,
        owner=warning.owner,
        raised_at=warning.raised_at,
        case_id=warning.case_id,
    )
