"""The route of the sensing KPIs (thin): ``GET /api/v1/sensing/kpi``, JSON or XLSX.

The caller's role and scope are checked by :func:`townops.sensing.kpi.service.sensing_kpis`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response

from townops.api.deps import ActorDep, ProfileDep, SessionDep
from townops.sensing.kpi.service import (
    XLSX_MEDIA_TYPE,
    SensingGrouping,
    SensingKpiReport,
    kpi_xlsx_bytes,
    period_from,
    sensing_kpis,
)
from townops.timeutil import utcnow

router = APIRouter(prefix="/api/v1", tags=["sensing"])


@router.get(
    "/sensing/kpi",
    response_model=SensingKpiReport,
    responses={200: {"content": {XLSX_MEDIA_TYPE: {}}, "description": "JSON or the workbook"}},
)
def get_sensing_kpi(
    session: SessionDep,
    actor: ActorDep,
    profile: ProfileDep,
    by: SensingGrouping = SensingGrouping.type,
    year: Annotated[str | None, Query(description="e.g. 2026")] = None,
    month: Annotated[str | None, Query(description="e.g. 2026-11")] = None,
    date_from: Annotated[str | None, Query(alias="from", description="first local day")] = None,
    date_to: Annotated[str | None, Query(alias="to", description="last local day, kept")] = None,
    output: Annotated[Literal["json", "xlsx"], Query(alias="format")] = "json",
) -> SensingKpiReport | Response:
    """Online rate, alarms, false-alarm rate, time to acknowledge / close (default: 30 days)."""
    now = utcnow()
    period = period_from(
        now=now,
        timezone=profile.timezone,
        year=year,
        month=month,
        date_from=date_from,
        date_to=date_to,
    )
    report = sensing_kpis(session, by=by, period=period, actor=actor, now=now)
    if output == "json":
        return report
    filename = f"sensing-kpi-{report.first_day}_{report.last_day}-{report.by.value}.xlsx"
    return Response(
        content=kpi_xlsx_bytes(report),
        media_type=XLSX_MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
