"""Monthly assessment routes: the ranking as JSON, and the workbook the offices exchange.

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

MonthQuery = Annotated[str, Query(description="The month assessed, e.g. 2022-06")]
OfQuery = Annotated[AssessmentOf, Query(description="departments | communities")]


@router.get("/assessment", response_model=AssessmentReport)
def get_assessment(
    session: SessionDep,
    actor: ActorDep,
    month: MonthQuery,
    of: OfQuery = AssessmentOf.departments,
) -> AssessmentReport:
    """月度考核: units ranked by weighted points, with each component and last month's rank."""
    return assess(session, month=month, of=of, actor=actor)


@router.get(
    "/assessment.xlsx",
    response_class=Response,
    responses={200: {"content": {XLSX_MEDIA_TYPE: {}}, "description": "The workbook"}},
)
def get_assessment_xlsx(session: SessionDep, actor: ActorDep, month: MonthQuery) -> Response:
    """The month's workbook: departments, communities, and the scoring rules."""
    now = utcnow()  # both sheets at the same instant
    reports = [assess(session, month=month, of=of, actor=actor, now=now) for of in AssessmentOf]
    filename = default_filename(reports[0].month)
    return Response(
        content=xlsx_bytes(reports),
        media_type=XLSX_MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
