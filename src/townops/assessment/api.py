"""Assessment routes: the ranking as JSON, and the workbook the offices exchange.

Monthly (``month=2022-06``), or by quarter or year (``period=2022-Q2`` / ``period=2022``).
Admins, leaders and duty officers with the whole town in scope; everyone else gets 403.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from townops.api.deps import ActorDep, SessionDep
from townops.assessment.export import XLSX_MEDIA_TYPE, default_filename, xlsx_bytes
from townops.assessment.service import AssessmentOf, AssessmentReport, assess
from townops.timeutil import utcnow

router = APIRouter(prefix="/api/v1", tags=["assessment"])

MonthQuery = Annotated[str | None, Query(description="The month assessed, e.g. 2022-06")]
PeriodQuery = Annotated[
    str | None,
    Query(description="Instead of month: a month 2022-06, a quarter 2022-Q2 or a year 2022"),
]
OfQuery = Annotated[AssessmentOf, Query(description="departments | communities")]


@router.get("/assessment", response_model=AssessmentReport)
def get_assessment(
    session: SessionDep,
    actor: ActorDep,
    month: MonthQuery = None,
    period: PeriodQuery = None,
    of: OfQuery = AssessmentOf.departments,
) -> AssessmentReport:
    """月度考核: units ranked by weighted points, with each component and the rank in the
    period before (last month, last quarter, last year)."""
    return assess(session, month=month, period=period, of=of, actor=actor)


@router.get(
    "/assessment.xlsx",
    response_class=Response,
    responses={200: {"content": {XLSX_MEDIA_TYPE: {}}, "description": "The workbook"}},
)
def get_assessment_xlsx(
    session: SessionDep, actor: ActorDep, month: MonthQuery = None, period: PeriodQuery = None
) -> Response:
    """The period's workbook: departments, communities, and the scoring rules."""
    now = utcnow()  # both sheets at the same instant
    reports = [
        assess(session, month=month, period=period, of=of, actor=actor, now=now)
        for of in AssessmentOf
    ]
    filename = default_filename(reports[0].label)
    return Response(
        content=xlsx_bytes(reports),
        media_type=XLSX_MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
