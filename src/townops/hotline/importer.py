"""Import a 12345 hotline export (CSV or XLSX) into cases, all or nothing.

The city's hotline system hands the town its work orders as spreadsheets. Each row becomes
one ``Case`` created through :func:`townops.cases.service.create_case`, so it gets its
deadline from its category and its ``create`` audit event like any other case.

Reading, header matching, the row checks' reporting and the all-or-nothing rule are
:mod:`townops.tabular`'s: every row is checked before anything is written, and every
problem is reported (row as the spreadsheet shows it, column, value, reason). With problems
and without ``skip_bad`` nothing is written. The order number is the case's
``external_id`` under source ``"12345"``, so importing the same file again adds nothing.

Phone numbers: empty is allowed (callers may ask 12345 to keep their number confidential);
otherwise :func:`townops.tabular.is_valid_phone` (masked mobiles as exports to towns often
are, landlines with area code and extension).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from townops.access.actor import SYSTEM, Actor
from townops.cases.kinds import HOTLINE, case_kinds
from townops.cases.models import Case
from townops.cases.schemas import CaseCreate
from townops.cases.service import create_case
from townops.categories.models import Category
from townops.errors import Conflict
from townops.jurisdiction.models import Jurisdiction
from townops.tabular import (
    Columns,
    ImportReport,
    ProgressCallback,
    RowCheck,
    RowError,
    Sheet,
    add_name,
    as_sheet,
    chunks,
    clip_text,
    flag_duplicates,
    match_header,
    parse_datetime,
    with_progress,
)
from townops.timeutil import utcnow

SOURCE = "12345"
# SQLite builds before 3.32 refuse more than 999 bound parameters in one statement.
_IN_CHUNK = 900

# field -> accepted header names (English matched case-insensitively, Chinese exactly).
COLUMNS: dict[str, tuple[str, ...]] = {
    "order_no": ("order_no", "工单编号"),
    "received_at": ("received_at", "来电时间"),
    "category": ("category", "诉求类别"),
    "content": ("content", "诉求内容"),
    "address": ("address", "地址"),
    "phone": ("phone", "联系电话"),
    "name": ("name", "联系人"),
    "jurisdiction": ("jurisdiction", "所属居委"),
    "kind": ("kind",),
}
REQUIRED_COLUMNS = ("order_no", "received_at", "category", "content", "address", "phone")
# The widths of the columns these fields land in; longer text would fail on PostgreSQL.
_MAX_LENGTH = {"order_no": 80, "content": 5000, "address": 300, "phone": 40, "name": 100}
# CaseCreate field -> import field, where the names differ.
_SCHEMA_FIELDS = {"external_id": "order_no", "requester_phone": "phone", "requester_name": "name"}


@dataclass(frozen=True)
class _Lookups:
    # code or name -> code; None marks a name shared by several entries (ambiguous).
    categories: dict[str, str | None]
    jurisdictions: dict[str, str | None]
    # The identity map holds objects weakly; while these stay referenced, create_case's
    # session.get(Category, ...) finds them in memory instead of querying once per row.
    pinned: list[Category]


@dataclass
class _Row:
    number: int
    order_no: str
    content: str
    data: CaseCreate | None = None
    errors: list[RowError] = field(default_factory=list)


def import_hotline_file(
    session: Session,
    *,
    path: Path | Sheet,
    skip_bad: bool = False,
    dry_run: bool = False,
    actor: Actor = SYSTEM,
    now: datetime | None = None,
    progress: ProgressCallback | None = None,
) -> ImportReport:
    """Check every row of a 12345 export, then create the cases (unless told not to).

    ``path`` is a CSV/XLSX file, or a :class:`~townops.tabular.Sheet` already read.
    Nothing is written on a dry run, or when any row is bad and ``skip_bad`` is False.
    The caller owns the transaction and commits.
    """
    sheet = as_sheet(path)
    now = now or utcnow()
    columns = map_columns(sheet.header)
    lookups = _load_lookups(session)
    rows: list[_Row] = []
    for number, cells in with_progress(sheet.rows, "check", progress):
        rows.append(_check_row(number, cells, columns, lookups, now))
    flag_duplicates(
        rows,
        key=lambda row: row.order_no,
        column=columns.label["order_no"],
        what=("工单编号", "order number"),
    )
    present, fresh = _split_already_present(session, rows, columns)
    good = [row for row in fresh if not row.errors]
    report = ImportReport(
        rows_total=len(rows),
        already_present=len(present),
        errors=sorted(e for row in fresh for e in row.errors),
        skipped_columns=columns.skipped,
        new_rows=len(good),
        dry_run=dry_run,
    )
    if report.goes_ahead(skip_bad=skip_bad):
        report.created = _create_cases(session, good, actor=actor, now=now, progress=progress)
    return report


def map_columns(header: Sequence[str]) -> Columns:
    """Which file column holds which field; unknown headers are listed as skipped."""
    return match_header(header, COLUMNS, required=REQUIRED_COLUMNS)


# --------------------------------------------------------------------------- #
# Checking rows
# --------------------------------------------------------------------------- #


def _load_lookups(session: Session) -> _Lookups:
    categories: dict[str, str | None] = {}
    loaded = list(session.scalars(select(Category)))
    for category in loaded:
        add_name(categories, category.name_zh, category.code)
    # A code wins over another category's Chinese name that happens to spell the same.
    categories.update({category.code: category.code for category in loaded})
    jurisdictions: dict[str, str | None] = {}
    places = list(
        session.execute(
            select(
                Jurisdiction.code, Jurisdiction.name_zh, Jurisdiction.aliases, Jurisdiction.level
            )
        )
    )
    for code, name_zh, aliases, level in places:
        if level == "community":
            for name in {name_zh, *(aliases or [])}:
                add_name(jurisdictions, name, code)
    jurisdictions.update({code: code for code, *_ in places})
    return _Lookups(categories=categories, jurisdictions=jurisdictions, pinned=loaded)


class _HotlineCheck(RowCheck):
    """The checks of one work order's cells."""

    def received_at(self, now: datetime) -> datetime | None:
        value = parse_datetime(self.cells.get("received_at"))
        if value is None:
            self.fail("received_at", "无法识别的时间 unreadable time")
        elif value > now:
            self.fail("received_at", "来电时间在未来 time is in the future")
        return value

    def code(self, name: str, names: dict[str, str | None], zh: str) -> str | None:
        text = self.texts[name]
        code = names.get(text) if text else None
        if code is not None:
            return code
        if not text:
            if name in REQUIRED_COLUMNS:
                self.fail(name, f"缺少{zh} missing {name}")
        elif text in names:
            self.fail(name, f"{zh}名称不唯一 ambiguous {name} name: use the code")
        else:
            self.fail(name, f"未知{zh} unknown {name}")
        return None

    def plain_fields(self) -> None:
        self.require("order_no", "缺少工单编号 missing order number")
        self.require("content", "诉求内容为空 empty content")
        self.phone("phone")
        kinds = [rule.name for rule in case_kinds()]
        if self.texts["kind"] and self.texts["kind"] not in kinds:
            self.fail("kind", f"未知类型 unknown kind (one of {', '.join(kinds)})")
        self.within_limits(_MAX_LENGTH)


def _check_row(
    number: int, cells: list[Any], columns: Columns, lookups: _Lookups, now: datetime
) -> _Row:
    check = _HotlineCheck(number, cells, columns)
    texts = check.texts
    check.plain_fields()
    received_at = check.received_at(now)
    category = check.code("category", lookups.categories, "诉求类别")
    jurisdiction = check.code("jurisdiction", lookups.jurisdictions, "辖区")
    row = _Row(number, texts["order_no"], texts["content"], errors=check.errors)
    if row.errors:
        return row
    try:
        row.data = CaseCreate(
            kind=texts["kind"] or HOTLINE.name,
            source=SOURCE,
            external_id=row.order_no,
            received_at=received_at,
            category=category or "",
            content=row.content,
            address=texts["address"],
            requester_phone=texts["phone"],
            requester_name=texts["name"],
            jurisdiction=jurisdiction,
        )
    except ValidationError as exc:  # a safety net: the checks above should catch it all
        for problem in exc.errors():
            where = str(problem["loc"][0]) if problem["loc"] else ""
            check.fail(
                _SCHEMA_FIELDS.get(where, where if where in COLUMNS else "order_no"), problem["msg"]
            )
    return row


def _split_already_present(
    session: Session, rows: list[_Row], columns: Columns
) -> tuple[list[_Row], list[_Row]]:
    """Rows already imported (same order number and content) and the rest.

    A known order number with different content is a conflict: the file and the database
    disagree about one work order, so a person must decide.
    """
    known = _known_contents(session, {row.order_no for row in rows if row.order_no})
    label = columns.label["order_no"]
    present: list[_Row] = []
    fresh: list[_Row] = []
    for row in rows:
        stored = known.get(row.order_no)
        if stored is None or any(e.column == label for e in row.errors):
            fresh.append(row)
        elif stored.strip() == row.content:
            present.append(row)  # in already: problems in its other cells no longer matter
        else:
            reason = "已导入但内容不同 conflict: already imported with different content"
            row.errors.append(RowError(row.number, label, clip_text(row.order_no), reason))
            fresh.append(row)
    return present, fresh


def _known_contents(session: Session, order_nos: set[str]) -> dict[str, str]:
    known: dict[str, str] = {}
    for chunk in chunks(sorted(order_nos), _IN_CHUNK):
        result = session.execute(
            select(Case.external_id, Case.content).where(
                Case.source == SOURCE, Case.external_id.in_(chunk)
            )
        )
        known.update({ext: content for ext, content in result if ext is not None})
    return known


# --------------------------------------------------------------------------- #
# Writing
# --------------------------------------------------------------------------- #


def _create_cases(
    session: Session,
    rows: list[_Row],
    *,
    actor: Actor,
    now: datetime,
    progress: ProgressCallback | None,
) -> int:
    created = 0
    try:
        for row in with_progress(rows, "import", progress):
            assert row.data is not None  # only checked rows get here
            create_case(session, actor=actor, data=row.data, now=now)
            created += 1
        session.flush()
    except IntegrityError as exc:
        raise Conflict(
            "another import wrote some of these order numbers at the same time; "
            "nothing was imported, run the import again"
        ) from exc
    return created
