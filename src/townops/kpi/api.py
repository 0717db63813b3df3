"""KPI routes: the report as JSON or as an Excel file, scoped to the caller.

Town-wide roles (leader, duty officer, dispatcher, admin) see the whole town; a handler
sees its department, community staff their community (see :mod:`townops.kpi.service`).
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response

from townops.api.deps import ActorDep, SessionDep
from townops.kpi.export import XLSX_MEDIA_TYPE, default_filename, xlsx_bytes
from townops.kpi.figures import Grouping
from townops.kpi.service import KpiReport, build_report
from townops.periods import parse_period

router = APIRouter(prefix="/api/v1", tags=["kpi"])

ByQuery = Annotated[Grouping, Query(description="department | community | category | town")]
YearQuery = Annotated[str | None, Query(description="A calendar year, e.g. 2022")]
MonthQuery = Annotated[str | None, Query(description="A month, e.g. 2022-06")]
FromQuery = Annotated[str | None, Query(alias="from", description="First local day, 2022-01-01")]
ToQuery = Annotated[str | None, Query(alias="to", description="Last local day (included)")]


@router.get("/kpi", response_model=KpiReport)
def get_kpis(
    session: SessionDep,
    actor: ActorDep,
    by: ByQuery = Grouping.department,
    year: YearQuery = None,
    month: MonthQuery = None,
    date_from: FromQuery = None,
    date_to: ToQuery = None,
    output: Annotated[Literal["json", "xlsx"], Query(alias="format")] = "json",
) -> KpiReport | Response:
    """KPIs per group for one period (year, month, or from/to in local days)."""
    period = parse_period(year=year, month=month, date_from=date_from, date_to=date_to)
    report = build_report(session, by=by, period=period, actor=actor)
    return _xlsx_response(report) if output == "xlsx" else report


@router.get(
    "/kpi.xlsx",
    response_class=Response,
    responses={200: {"content": {XLSX_MEDIA_TYPE: {}}, "description": "The workbook"}},
)
def get_kpis_xlsx(
    session: SessionDep,
    actor: ActorDep,
    by: ByQuery = Grouping.department,
    year: YearQuery = None,
    month: MonthQuery = None,
    date_from: FromQuery = None,
    date_to: ToQuery = None,
) -> Response:
    """The same report as an Excel workbook, with a sheet of definitions."""
    period = parse_period(year=year, month=month, date_from=date_from, date_to=date_to)
    return _xlsx_response(build_report(session, by=by, period=period, actor=actor))


def _xlsx_response(report: KpiReport) -> Response:
    return Response(
        content=xlsx_bytes(report),
        media_type=XLSX_MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{default_filename(report)}"'},
    )
