"""Import a 12345 hotline export (CSV or XLSX) into cases, all or nothing.

The city's hotline system hands the town its work orders as spreadsheets. Each row becomes
one ``Case`` created through :func:`townops.cases.service.create_case`, so it gets its
deadline from its category and its ``create`` audit event like any other case.

Every row is checked before anything is written, and every problem is reported (row as the
spreadsheet shows it, column, value, reason). With problems and without ``skip_bad`` nothing
is written. The order number is the case's ``external_id`` under source ``"12345"``, so
importing the same file again adds nothing.

Phone numbers: empty is allowed (callers may ask 12345 to keep their number confidential);
otherwise each number (several may be separated by ``,;/、``) must be a mainland mobile
(11 digits starting 1, optional +86; the middle four may be masked as ``****``, as exports
to towns often are) or a landline (7-8 digits, optional area code 0xx/0xxx with optional
dash or brackets, optional extension after ``-`` or ``转``).
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from townops.auth.actor import SYSTEM, Actor
from townops.cases.enums import CaseKind
from townops.cases.models import Case
from townops.cases.schemas import CaseCreate
from townops.cases.service import create_case
from townops.categories.models import Category
from townops.errors import Conflict, InvalidInput
from townops.jurisdiction.models import Jurisdiction
from townops.timeutil import SHANGHAI, as_utc, utcnow

SOURCE = "12345"
# SQLite builds before 3.32 refuse more than 999 bound parameters in one statement.
_IN_CHUNK = 900
_PROGRESS_EVERY = 200

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
_KINDS = tuple(kind.value for kind in CaseKind)

_TIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M")
_MOBILE = re.compile(r"(?:\+?86)?1[3-9]\d(?:\d{4}|\*{4})\d{4}")
_LANDLINE = re.compile(r"(?:\(?0\d{2,3}\)?-?)?[2-9]\d{6,7}(?:(?:-|转)\d{1,6})?")
_PHONE_SEPARATORS = re.compile(r"[,，;；/、]")

_T = TypeVar("_T")

ProgressCallback = Callable[[str, int, int], None]
"""``progress(phase, done, total)``; phase is ``"check"`` or ``"import"``."""


@dataclass(frozen=True, order=True)
class RowError:
    row: int  # as the spreadsheet shows it: the header is row 1
    column: str  # the header as written in the file
    value: str
    reason: str


@dataclass
class ImportReport:
    rows_total: int
    imported: int
    already_present: int
    errors: list[RowError]
    skipped_columns: list[str]
    # Good rows not yet in the database: what was (or, on a dry run, would be) imported.
    new_rows: int = 0
    dry_run: bool = False

    @property
    def bad_rows(self) -> list[int]:
        return sorted({e.row for e in self.errors})


@dataclass(frozen=True)
class Sheet:
    header: list[str]
    rows: list[tuple[int, list[Any]]]  # (spreadsheet row number, cells)


@dataclass(frozen=True)
class _Columns:
    index: dict[str, int]
    label: dict[str, str]
    skipped: list[str]


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
    path: Path,
    skip_bad: bool = False,
    dry_run: bool = False,
    actor: Actor = SYSTEM,
    now: datetime | None = None,
    progress: ProgressCallback | None = None,
) -> ImportReport:
    """Check every row of a 12345 export, then create the cases (unless told not to).

    Nothing is written on a dry run, or when any row is bad and ``skip_bad`` is False.
    The caller owns the transaction and commits.
    """
    return import_hotline_sheet(
        session,
        sheet=read_sheet(path),
        skip_bad=skip_bad,
        dry_run=dry_run,
        actor=actor,
        now=now,
        progress=progress,
    )


def import_hotline_sheet(
    session: Session,
    *,
    sheet: Sheet,
    skip_bad: bool = False,
    dry_run: bool = False,
    actor: Actor = SYSTEM,
    now: datetime | None = None,
    progress: ProgressCallback | None = None,
) -> ImportReport:
    now = now or utcnow()
    columns = map_columns(sheet.header)
    lookups = _load_lookups(session)
    rows: list[_Row] = []
    for number, cells in with_progress(sheet.rows, "check", progress):
        rows.append(_check_row(number, cells, columns, lookups, now))
    _flag_duplicates(rows, columns)
    present, fresh = _split_already_present(session, rows, columns)
    good = [row for row in fresh if not row.errors]
    report = ImportReport(
        rows_total=len(rows),
        imported=0,
        already_present=len(present),
        errors=sorted(e for row in fresh for e in row.errors),
        skipped_columns=columns.skipped,
        new_rows=len(good),
        dry_run=dry_run,
    )
    if dry_run or (report.errors and not skip_bad):
        return report
    report.imported = _create_cases(session, good, actor=actor, now=now, progress=progress)
    return report


# --------------------------------------------------------------------------- #
# Reading the file
# --------------------------------------------------------------------------- #


def read_sheet(path: Path) -> Sheet:
    """The header and the non-blank rows of a CSV or XLSX file."""
    suffix = path.suffix.lower()
    if suffix in (".csv", ".txt"):
        records = _csv_records(path)
    elif suffix in (".xlsx", ".xlsm"):
        records = _xlsx_records(path)
    else:
        raise InvalidInput(
            f"cannot read '{path.name}': give a .csv or .xlsx file (save .xls as .xlsx)",
            file=str(path),
        )
    if not records or not any(cell_text(c) for c in records[0]):
        raise InvalidInput(f"'{path.name}' has no header row", file=str(path))
    header = [cell_text(c) for c in records[0]]
    rows = [
        (number, list(cells))
        for number, cells in enumerate(records[1:], start=2)
        if any(cell_text(c) for c in cells)
    ]
    return Sheet(header=header, rows=rows)


def decode_csv_bytes(data: bytes) -> str:
    """UTF-8 (with or without BOM), else GB18030, the superset of the GBK offices export."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError as exc:
        raise InvalidInput("the CSV file is neither UTF-8 nor GBK/GB18030 text") from exc


def _csv_records(path: Path) -> list[Sequence[Any]]:
    text = decode_csv_bytes(path.read_bytes())
    first_line = text.split("\n", 1)[0]
    delimiter = max((",", "\t", ";"), key=first_line.count)
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))


def _xlsx_records(path: Path) -> list[Sequence[Any]]:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError) as exc:
        raise InvalidInput(
            f"'{path.name}' is not a readable XLSX workbook", file=str(path)
        ) from exc
    try:
        return [tuple(r) for r in workbook.worksheets[0].iter_rows(values_only=True)]
    finally:
        workbook.close()


def match_header(
    header: Sequence[str], columns: Mapping[str, Sequence[str]]
) -> tuple[dict[str, int], dict[str, str], list[str]]:
    """Field → column position and the header's own label, plus the headers no field has.

    ``columns`` maps each field to the headers (any case, zh or en) that may give it; two
    headers giving one field is an error. Shared by every spreadsheet import.
    """
    names = {alias.casefold(): name for name, aliases in columns.items() for alias in aliases}
    index: dict[str, int] = {}
    label: dict[str, str] = {}
    skipped: list[str] = []
    for position, raw in enumerate(header):
        title = raw.strip()
        name = names.get(title.casefold())
        if name is None:
            if title:
                skipped.append(title)
            continue
        if name in index:
            raise InvalidInput(
                f"the columns '{label[name]}' and '{title}' both give {name}", column=name
            )
        index[name] = position
        label[name] = title
    return index, label, skipped


def map_columns(header: Sequence[str]) -> _Columns:
    """Which file column holds which field; unknown headers are listed as skipped."""
    index, label, skipped = match_header(header, COLUMNS)
    missing = [name for name in REQUIRED_COLUMNS if name not in index]
    if missing:
        wanted = ", ".join(f"{n} / {COLUMNS[n][-1]}" for n in missing)
        raise InvalidInput(f"the header lacks the columns: {wanted}", missing=missing)
    return _Columns(index=index, label=label, skipped=skipped)


# --------------------------------------------------------------------------- #
# Checking rows
# --------------------------------------------------------------------------- #


def _load_lookups(session: Session) -> _Lookups:
    categories: dict[str, str | None] = {}
    loaded = list(session.scalars(select(Category)))
    for category in loaded:
        _add_name(categories, category.name_zh, category.code)
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
                _add_name(jurisdictions, name, code)
    jurisdictions.update({code: code for code, *_ in places})
    return _Lookups(categories=categories, jurisdictions=jurisdictions, pinned=loaded)


def _add_name(names: dict[str, str | None], name: str, code: str) -> None:
    names[name] = code if names.get(name, code) == code else None


class _RowCheck:
    """One row's cells by field name, and the problems found in them."""

    def __init__(self, number: int, cells: list[Any], columns: _Columns) -> None:
        self.number = number
        self.columns = columns
        self.cells = {
            name: cells[i] if i < len(cells) else None for name, i in columns.index.items()
        }
        self.texts = {name: cell_text(self.cells.get(name)) for name in COLUMNS}
        self.errors: list[RowError] = []

    def fail(self, name: str, reason: str) -> None:
        label = self.columns.label.get(name, name)
        self.errors.append(RowError(self.number, label, clip_text(self.texts[name]), reason))

    def received_at(self, now: datetime) -> datetime | None:
        value = parse_received_at(self.cells.get("received_at"))
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
        if not self.texts["order_no"]:
            self.fail("order_no", "缺少工单编号 missing order number")
        if not self.texts["content"]:
            self.fail("content", "诉求内容为空 empty content")
        if self.texts["phone"] and not is_valid_phone(self.texts["phone"]):
            self.fail("phone", "电话号码格式不对 not a Chinese phone number")
        if self.texts["kind"] and self.texts["kind"] not in _KINDS:
            self.fail("kind", f"未知类型 unknown kind (one of {', '.join(_KINDS)})")
        for name, limit in _MAX_LENGTH.items():
            if len(self.texts[name]) > limit:
                self.fail(name, f"太长 longer than {limit} characters")


def _check_row(
    number: int, cells: list[Any], columns: _Columns, lookups: _Lookups, now: datetime
) -> _Row:
    check = _RowCheck(number, cells, columns)
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
            kind=CaseKind(texts["kind"] or CaseKind.hotline),
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


def parse_received_at(value: Any) -> datetime | None:
    """Aware UTC, or None if unreadable; times without an offset are Asia/Shanghai."""
    if isinstance(value, datetime):
        return as_utc(value)
    text = cell_text(value)
    if not text:
        return None
    try:
        return as_utc(datetime.fromisoformat(text))
    except ValueError:
        pass
    for form in _TIME_FORMATS:
        try:
            return as_utc(datetime.strptime(text, form).replace(tzinfo=SHANGHAI))
        except ValueError:
            continue
    return None


def is_valid_phone(value: str) -> bool:
    numbers = [n for n in _PHONE_SEPARATORS.split(value) if n.strip()]
    return bool(numbers) and all(_is_one_phone(n) for n in numbers)


def _is_one_phone(number: str) -> bool:
    compact = re.sub(r"\s", "", number)
    return bool(_MOBILE.fullmatch(compact.replace("-", "")) or _LANDLINE.fullmatch(compact))


def _flag_duplicates(rows: list[_Row], columns: _Columns) -> None:
    first_seen: dict[str, int] = {}
    for row in rows:
        first = first_seen.setdefault(row.order_no, row.number) if row.order_no else row.number
        if first != row.number:
            reason = f"工单编号重复（第 {first} 行） duplicate order number (first on row {first})"
            row.errors.append(_order_no_error(row, columns, reason))


def _split_already_present(
    session: Session, rows: list[_Row], columns: _Columns
) -> tuple[list[_Row], list[_Row]]:
    """Rows already imported (same order number and content) and the rest.

    A known order number with different content is a conflict: the file and the database
    disagree about one work order, so a person must decide.
    """
    known = _known_contents(session, {row.order_no for row in rows if row.order_no})
    present: list[_Row] = []
    fresh: list[_Row] = []
    for row in rows:
        stored = known.get(row.order_no)
        if stored is None or any(e.column == columns.label["order_no"] for e in row.errors):
            fresh.append(row)
        elif stored.strip() == row.content:
            present.append(row)  # in already: problems in its other cells no longer matter
        else:
            reason = "已导入但内容不同 conflict: already imported with different content"
            row.errors.append(_order_no_error(row, columns, reason))
            fresh.append(row)
    return present, fresh


def _order_no_error(row: _Row, columns: _Columns, reason: str) -> RowError:
    return RowError(row.number, columns.label["order_no"], clip_text(row.order_no), reason)


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


# --------------------------------------------------------------------------- #
# Small helpers
# --------------------------------------------------------------------------- #


def with_progress(
    items: Sequence[_T], phase: str, progress: ProgressCallback | None
) -> Iterator[_T]:
    total = len(items)
    for done, item in enumerate(items, start=1):
        yield item
        if progress is not None and (done % _PROGRESS_EVERY == 0 or done == total):
            progress(phase, done, total)


def chunks(items: Sequence[_T], size: int) -> Iterable[Sequence[_T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def cell_text(value: Any) -> str:
    """A cell as trimmed text; Excel stores numbers typed into text columns as floats."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    return str(value).strip()


def clip_text(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
