"""A case search as an Excel workbook (工单导出): the cases of ``GET /api/v1/cases`` with the
same filters, as the caller may see them.

One sheet "工单 Cases", Chinese headers, names instead of codes, times in the town's time
zone. Contact fields (name, phone, the address below the building, numbers typed into the
text) are masked exactly as the API masks them for the caller
(:func:`townops.cases.access.case_contact`); cells are written through
:mod:`townops.workbook`, so no text becomes a formula. At most :data:`MAX_EXPORT_ROWS`
rows: a larger search is refused (narrow it), never cut short in silence.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from townops.access.actor import Actor
from townops.auth.models import AuditEntry
from townops.cases.access import case_contact
from townops.cases.enums import CLOCK_STATES, State
from townops.cases.service import CaseFilters, count_cases, search_cases
from townops.categories.service import all_categories
from townops.deadlines import is_overdue
from townops.errors import InvalidInput
from townops.jurisdiction.models import Jurisdiction
from townops.organization.models import Department
from townops.timeutil import utcnow
from townops.towns.profile import get_profile
from townops.workbook import XLSX_MEDIA_TYPE, Book

__all__ = ["HEADERS", "MAX_EXPORT_ROWS", "XLSX_MEDIA_TYPE", "export_cases"]

MAX_EXPORT_ROWS = 10_000
SHEET = "工单 Cases"
HEADERS = (
    "编号",
    "查询码",
    "类别",
    "状态",
    "受理时间",
    "办理期限",
    "承办部门",
    "所属居村",
    "地址",
    "诉求内容",
    "诉求人",
    "电话",
    "超期",
)
_TIME = "yyyy-mm-dd hh:mm"
_FORMATS: Sequence[str | None] = (None, None, None, None, _TIME, _TIME, *([None] * 7))
STATE_NAMES = {
    State.received: "受理",
    State.dispatched: "已派单",
    State.accepted: "已签收",
    State.returned: "已退单",
    State.linked: "重复件",
    State.resolved: "已办结",
    State.callback: "已回访",
    State.reopened: "重办",
    State.closed: "已结案",
}
_RUNNING = {s.value for s in CLOCK_STATES}
_BATCH = 1000


def export_cases(
    session: Session,
    *,
    actor: Actor,
    filters: CaseFilters,
    limit: int | None = None,
    now: datetime | None = None,
) -> tuple[bytes, int]:
    """The workbook of the cases ``actor`` finds with ``filters``, and how many rows it has.
    More than ``limit`` cases is a 422 naming ``limit`` (narrow the search). The export is
    recorded in the audit log (who, the filters, how many rows): it carries personal data."""
    now = now or utcnow()
    limit = MAX_EXPORT_ROWS if limit is None else limit
    stmt = search_cases(session, actor=actor, filters=filters, now=now)
    found = count_cases(session, stmt)
    if found > limit:
        raise InvalidInput(
            f"the search finds {found} cases; an export holds at most {limit}: "
            "narrow the search (dates, state, department …)",
            field="limit",
            found=found,
            limit=limit,
        )
    profile = get_profile(session)
    zone = ZoneInfo(profile.timezone)
    categories = all_categories(session)
    departments = {c: n for c, n in session.execute(select(Department.code, Department.name_zh))}
    places = {c: n for c, n in session.execute(select(Jurisdiction.code, Jurisdiction.name_zh))}

    def local(moment: datetime | None) -> datetime | None:
        return moment.astimezone(zone).replace(tzinfo=None) if moment else None

    book = Book()
    sheet = book.sheet(SHEET)
    sheet.append(HEADERS)
    sheet.style_header()
    rows = 0
    for case in session.scalars(stmt.execution_options(yield_per=_BATCH)):
        contact = case_contact(actor, case, profile)
        category = categories.get(case.category_code)
        community = case.assignee_community_code or case.community_code
        overdue = case.state in _RUNNING and is_overdue(case.due_at, now)
        sheet.append(
            [
                case.id,
                case.token,
                category.name_zh if category else case.category_code,
                STATE_NAMES.get(State(case.state), case.state),
                local(case.received_at),
                local(case.due_at),
                departments.get(case.department_code or "", case.department_code),
                places.get(community or "", community),
                contact.address(case.address),
                contact.text(case.content),
                contact.name(case.requester_name),
                contact.phone(case.requester_phone),
                "是" if overdue else "否",
            ],
            formats=_FORMATS,
        )
        rows += 1
    sheet.set_column_widths([8, 13, 16, 8, 17, 17, 20, 16, 30, 60, 10, 14, 6])
    sheet.ws.freeze_panes = "C2"
    sheet.ws.auto_filter.ref = f"A1:M{rows + 1}"
    data = book.to_bytes()
    session.add(
        AuditEntry(
            actor=actor.username,
            action="cases.export",
            target=f"{rows} cases",
            data={"rows": rows, "filters": _jsonable(asdict(filters))},
        )
    )
    return data, rows


def _jsonable(filters: dict[str, Any]) -> dict[str, Any]:
    return {
        k: v.isoformat() if isinstance(v, datetime) else v
        for k, v in filters.items()
        if v is not None
    }
