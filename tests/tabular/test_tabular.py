"""The one spreadsheet-import framework (townops.tabular), on its own: no database, no domain.

Reading (CSV in UTF-8, UTF-8 with BOM, GBK, GB18030; XLSX), header matching (zh/en, English
in any case), row checks, duplicate keys within a file, and the all-or-nothing rule, shown
by a small import built on the module the way the hotline, device and figure imports are.
"""

from __future__ import annotations

import ast
import os
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import townops.tabular
from tests.factories import write_csv, write_xlsx
from townops.errors import InvalidInput
from townops.tabular import (
    Columns,
    FirstRows,
    ImportReport,
    ProgressCallback,
    RowCheck,
    RowError,
    SheetSource,
    as_sheet,
    cell_text,
    chunks,
    clip_text,
    decode_csv_bytes,
    flag_duplicates,
    is_valid_phone,
    lacking_columns,
    match_header,
    parse_date,
    parse_datetime,
    read_sheet,
    with_progress,
)

# Pure: no storage involved, so run once, in the SQLite pass.
pytestmark = pytest.mark.skipif(
    bool(os.environ.get("TOWNOPS_TEST_DATABASE_URL")),
    reason="no storage involved: run once, in the SQLite pass",
)


PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# A spreadsheet of 门牌 (house plates): the toy import these tests build on the module.
SPEC: dict[str, tuple[str, ...]] = {
    "plate": ("plate", "门牌号"),
    "street": ("street", "路名"),
    "phone": ("phone", "联系电话"),
    "note": ("note", "备注"),
}
REQUIRED = ("plate", "street")
ZH_ROWS = [
    ["门牌号", "路名", "联系电话", "备注"],
    ["东靖路1200弄3号", "东靖路", "13812341234", "南新居委会"],
    ["高行家园5号楼", "高行路", "021-58581234", ""],
]
# Any text of these characters has a GBK form that is not UTF-8 ("中" is D6 D0: a lead byte
# followed by another lead byte), so a file holding one is told apart from UTF-8.
HANZI = st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5)
GBK_TEXT = st.text(
    alphabet=st.one_of(HANZI, st.characters(min_codepoint=0x20, max_codepoint=0x7E)), max_size=40
)


# --------------------------------------------------------------------------- #
# Reading: encodings, delimiters, XLSX
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_a_csv_file_in_any_office_encoding_reads_the_same(tmp_path: Path, encoding: str) -> None:
    sheet = read_sheet(write_csv(tmp_path / "plates.csv", ZH_ROWS, encoding))

    assert sheet.header == ZH_ROWS[0]
    assert sheet.rows == [(2, ZH_ROWS[1]), (3, ZH_ROWS[2])]


@PROPERTY
@given(text=st.text(st.characters(exclude_categories=["Cs"]), max_size=60))
def test_utf8_with_or_without_a_bom_decodes_to_the_text(text: str) -> None:
    assume(not text.startswith("\ufeff"))  # a leading BOM is the file's, not the text's
    assert decode_csv_bytes(text.encode("utf-8")) == text
    assert decode_csv_bytes(text.encode("utf-8-sig")) == text


@PROPERTY
@given(before=GBK_TEXT, after=GBK_TEXT, encoding=st.sampled_from(["gbk", "gb18030"]))
def test_gbk_and_gb18030_decode_to_the_text(before: str, after: str, encoding: str) -> None:
    text = f"{before}中{after}"
    assert decode_csv_bytes(text.encode(encoding)) == text


@PROPERTY
@given(text=st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=40))
def test_gb18030_carries_every_character(text: str) -> None:
    # Past GBK (e.g. 𠀀, emoji): GB18030 encodes all of Unicode.
    data = f"中{text}".encode("gb18030")
    assert decode_csv_bytes(data) == f"中{text}"


def test_bytes_that_are_neither_utf8_nor_gb18030_are_refused() -> None:
    with pytest.raises(InvalidInput, match="neither UTF-8 nor GBK"):
        decode_csv_bytes(b"\x81\x30\xff\xff")


@pytest.mark.parametrize("delimiter", [",", "\t", ";"])
def test_the_delimiter_is_the_one_the_header_line_uses(tmp_path: Path, delimiter: str) -> None:
    rows = [["plate", "street"], ["3号, 东靖路1200弄", "东靖路"]]
    sheet = read_sheet(write_csv(tmp_path / "plates.txt", rows, "utf-8", delimiter))

    assert sheet.header == ["plate", "street"]
    assert sheet.rows == [(2, ["3号, 东靖路1200弄", "东靖路"])]


def test_blank_rows_are_dropped_and_rows_keep_the_numbers_the_spreadsheet_shows(
    tmp_path: Path,
) -> None:
    rows = [[" plate ", "street"], ["", ""], ["1号", "东靖路"], [" ", "  "], ["2号", "高行路"]]
    sheet = read_sheet(write_csv(tmp_path / "plates.csv", rows, "utf-8"))

    assert sheet.header == ["plate", "street"]
    assert [number for number, _ in sheet.rows] == [3, 5]


def test_an_xlsx_sheet_reads_numbers_typed_into_text_columns_as_text(tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path / "plates.xlsx",
        [["门牌号", "联系电话", "安装日期"], [1200.0, 13812341234, datetime(2022, 3, 1)]],
    )
    sheet = read_sheet(path)

    assert sheet.header == ["门牌号", "联系电话", "安装日期"]
    number, cells = sheet.rows[0]
    assert number == 2
    assert [cell_text(c) for c in cells] == ["1200", "13812341234", "2022-03-01 00:00:00"]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("plates.xls", b"", "give a .csv or .xlsx file"),
        ("plates.xlsx", b"not a zip", "not a readable XLSX workbook"),
        ("plates.csv", b"\n\n", "has no header row"),
        ("plates.csv", b"", "has no header row"),
    ],
)
def test_a_file_that_cannot_be_read_as_a_sheet_is_refused_whole(
    tmp_path: Path, name: str, content: bytes, message: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(InvalidInput, match=message):
        read_sheet(path)


def test_rows_given_as_mappings_become_a_sheet_under_a_header() -> None:
    sheet = as_sheet([{"plate": "1号", "street": "东靖路"}, {}, {"street": "高行路", "note": "x"}])

    assert sheet.header == ["plate", "street", "note"]
    assert sheet.rows == [(2, ["1号", "东靖路", None]), (4, [None, "高行路", "x"])]
    assert as_sheet(sheet) is sheet


# --------------------------------------------------------------------------- #
# Header matching
# --------------------------------------------------------------------------- #


def test_chinese_and_english_headers_give_the_same_fields() -> None:
    zh = match_header(["门牌号", "路名", "联系电话"], SPEC, required=REQUIRED)
    en = match_header(["plate", "street", "phone"], SPEC, required=REQUIRED)

    assert zh.index == en.index == {"plate": 0, "street": 1, "phone": 2}
    assert zh.label == {"plate": "门牌号", "street": "路名", "phone": "联系电话"}
    assert zh.known == ("plate", "street", "phone", "note")


@PROPERTY
@given(
    flips=st.lists(st.booleans(), min_size=6, max_size=6),
    padding=st.sampled_from(["", " ", "  ", "\t"]),
)
def test_english_headers_match_in_any_case_and_keep_their_label(
    flips: list[bool], padding: str
) -> None:
    written = "".join(c.upper() if up else c for c, up in zip("street", flips, strict=True))
    columns = match_header(["plate", f"{padding}{written}{padding}"], SPEC)

    assert columns.index["street"] == 1
    assert columns.label_of("street") == written  # the header as the file writes it
    assert columns.label_of("note") == "note"  # a field the file lacks: its own name


def test_unknown_headers_are_listed_as_skipped_and_blank_ones_ignored() -> None:
    columns = match_header(["plate", "渠道", "", "street", "channel"], SPEC, required=REQUIRED)

    assert columns.skipped == ["渠道", "channel"]
    assert (columns.has("plate"), columns.has("phone")) == (True, False)


def test_two_headers_for_one_field_are_an_error_unless_the_first_wins() -> None:
    with pytest.raises(InvalidInput, match="the columns 'plate' and '门牌号' both give plate"):
        match_header(["plate", "street", "门牌号"], SPEC)

    assert match_header(["plate", "street", "门牌号"], SPEC, first_wins=True).index["plate"] == 0


def test_missing_required_columns_are_all_named() -> None:
    with pytest.raises(InvalidInput) as caught:
        match_header(["phone", "备注"], SPEC, required=REQUIRED)

    assert caught.value.message == "the header lacks the columns: plate / 门牌号, street / 路名"
    assert caught.value.details == {"missing": ["plate", "street"]}
    hinted = lacking_columns(SPEC, ["street"], hint=" (or give a map)")
    assert hinted.message == "the header lacks the columns: street / 路名 (or give a map)"


# --------------------------------------------------------------------------- #
# Row checks and duplicates
# --------------------------------------------------------------------------- #


def test_a_row_check_reports_each_problem_under_the_header_as_written() -> None:
    columns = match_header(["门牌号", "路名", "联系电话"], SPEC)
    check = RowCheck(7, ["x" * 100, "", "138****1234"], columns)

    check.require("street", "缺少路名 missing street")
    check.within_limits({"plate": 80})
    check.phone("phone", masked_ok=False)
    check.fail("note", "no note column", value="shown")

    assert check.texts == {"plate": "x" * 100, "street": "", "phone": "138****1234", "note": ""}
    assert check.errors == [
        RowError(7, "路名", "", "缺少路名 missing street"),
        RowError(7, "门牌号", "x" * 59 + "…", "太长 longer than 80 characters"),
        RowError(
            7, "联系电话", "138****1234", "号码被遮蔽，无法联系 masked number: give it in full"
        ),
        RowError(7, "note", "shown", "no note column"),
    ]


def test_a_short_row_reads_as_empty_cells() -> None:
    check = RowCheck(2, ["1号"], match_header(["plate", "street"], SPEC))
    assert check.cells == {"plate": "1号", "street": None}
    assert check.texts["street"] == ""


@dataclass
class Keyed:
    number: int
    key: str
    errors: list[RowError] = field(default_factory=list)


@PROPERTY
@given(keys=st.lists(st.sampled_from(["", "A", "B", "甲", "乙"]), max_size=30))
def test_every_row_repeating_an_earlier_key_is_flagged_with_the_first_row(
    keys: list[str],
) -> None:
    rows = [Keyed(number, key) for number, key in enumerate(keys, start=2)]

    flagged = flag_duplicates(rows, key=lambda r: r.key, column="门牌号", what=("门牌号", "plate"))

    first: dict[str, int] = {}
    for row in rows:
        if row.key and row.key in first:
            n = first[row.key]
            reason = f"门牌号重复（第 {n} 行） duplicate plate (first on row {n})"
            assert row.errors == [RowError(row.number, "门牌号", row.key, reason)]
        else:
            assert row.errors == []
            if row.key:
                first[row.key] = row.number
    assert [r.number for r in flagged] == [r.number for r in rows if r.errors]


def test_first_rows_remember_where_a_key_was_first_seen() -> None:
    seen = FirstRows[tuple[str, str]]()
    assert seen.repeat_of(("a", "1"), 2) is None
    assert seen.repeat_of(("a", "2"), 3) is None
    assert seen.repeat_of(("a", "1"), 9) == 2


# --------------------------------------------------------------------------- #
# Cells
# --------------------------------------------------------------------------- #


@PROPERTY
@given(text=st.text(max_size=200), limit=st.integers(min_value=1, max_value=80))
def test_clipped_text_fits_and_keeps_its_start(text: str, limit: int) -> None:
    clipped = clip_text(text, limit)
    assert len(clipped) <= limit
    assert clipped == text if len(text) <= limit else clipped == text[: limit - 1] + "…"


@PROPERTY
@given(number=st.integers(min_value=-(10**12), max_value=10**12))
def test_whole_numbers_excel_stores_as_floats_read_as_integers(number: int) -> None:
    assert cell_text(float(number)) == cell_text(number) == str(number)


def test_cells_and_times_read_as_offices_write_them() -> None:
    assert (cell_text(None), cell_text("  东靖路 "), cell_text(1.5)) == ("", "东靖路", "1.5")
    assert parse_datetime("2022/03/01 09:15") == datetime(2022, 3, 1, 1, 15, tzinfo=UTC)
    assert parse_date("2022年3月1日") == parse_date(20220301) == date(2022, 3, 1)
    assert parse_date("三月") is None
    assert is_valid_phone("138****1234、021-58581234转801")
    assert not is_valid_phone("12345")


# --------------------------------------------------------------------------- #
# All or nothing: a small import built on the module
# --------------------------------------------------------------------------- #


@dataclass
class _Plate:
    number: int
    plate: str
    street: str = ""
    errors: list[RowError] = field(default_factory=list)


class _PlateCheck(RowCheck):
    def plate(self) -> _Plate:
        row = _Plate(self.number, self.require("plate", "缺少门牌号 missing plate"))
        row.street = self.require("street", "缺少路名 missing street")
        self.phone("phone")
        self.within_limits({"plate": 20})
        row.errors = self.errors
        return row


def import_plates(
    store: dict[str, str],
    source: SheetSource,
    *,
    skip_bad: bool = False,
    dry_run: bool = False,
    progress: ProgressCallback | None = None,
) -> ImportReport:
    """Plates (upsert by plate) into ``store``: every row checked, then all or none."""
    sheet = as_sheet(source)
    columns: Columns = match_header(sheet.header, SPEC, required=REQUIRED)
    rows = [
        _PlateCheck(number, cells, columns).plate()
        for number, cells in with_progress(sheet.rows, "check", progress)
    ]
    flag_duplicates(
        rows, key=lambda r: r.plate, column=columns.label["plate"], what=("门牌号", "plate")
    )
    good = [row for row in rows if not row.errors]
    report = ImportReport(
        rows_total=len(rows),
        errors=sorted(e for row in rows for e in row.errors),
        skipped_columns=columns.skipped,
        new_rows=sum(row.plate not in store for row in good),
        changed_rows=sum(store.get(row.plate, row.street) != row.street for row in good),
        already_present=sum(store.get(row.plate) == row.street for row in good),
        dry_run=dry_run,
    )
    if report.goes_ahead(skip_bad=skip_bad):
        for row in with_progress(good, "import", progress):
            report.created += row.plate not in store
            report.updated += store.get(row.plate, row.street) != row.street
            store[row.plate] = row.street
    return report


MIXED = [
    {"门牌号": "1号", "路名": "东靖路", "渠道": "web"},
    {"门牌号": "", "路名": "高行路"},
    {"门牌号": "2号", "路名": "高行路", "联系电话": "12345"},
    {"门牌号": "1号", "路名": "东靖路"},
    {"门牌号": "3号", "路名": "东靖路"},
]


def test_one_bad_row_and_nothing_is_written() -> None:
    store: dict[str, str] = {}
    report = import_plates(store, MIXED)

    assert store == {}
    assert (report.rows_total, report.new_rows, report.imported, report.written) == (5, 2, 0, False)
    assert report.bad_rows == [3, 4, 5]
    assert report.skipped_columns == ["渠道"]
    assert report.errors == [
        RowError(3, "门牌号", "", "缺少门牌号 missing plate"),
        RowError(4, "联系电话", "12345", "电话号码格式不对 not a Chinese phone number"),
        RowError(5, "门牌号", "1号", "门牌号重复（第 2 行） duplicate plate (first on row 2)"),
    ]


def test_skipping_bad_rows_writes_the_good_ones_and_a_dry_run_writes_nothing() -> None:
    store = {"3号": "高行路"}
    dry = import_plates(store, MIXED, skip_bad=True, dry_run=True)
    assert store == {"3号": "高行路"} and dry.dry_run and dry.imported == 0
    assert (dry.new_rows, dry.changed_rows, dry.already_present) == (1, 1, 0)

    report = import_plates(store, MIXED, skip_bad=True)

    assert store == {"1号": "东靖路", "3号": "东靖路"}
    assert (report.created, report.updated, report.imported) == (1, 1, 2)
    again = import_plates(store, MIXED, skip_bad=True)
    assert (again.imported, again.already_present, again.unchanged_rows) == (0, 2, 2)


@pytest.mark.parametrize("encoding", ["utf-8-sig", "gbk"])
def test_a_clean_file_imports_whole_with_progress(tmp_path: Path, encoding: str) -> None:
    rows = [["门牌号", "路名"], *([f"{n}号", "东靖路"] for n in range(1, 451))]
    calls: list[tuple[str, int, int]] = []
    store: dict[str, str] = {}

    def progress(phase: str, done: int, total: int) -> None:
        calls.append((phase, done, total))

    report = import_plates(
        store, write_csv(tmp_path / "plates.csv", rows, encoding), progress=progress
    )

    assert report.errors == [] and report.created == len(store) == 450
    assert calls == [
        ("check", 200, 450),
        ("check", 400, 450),
        ("check", 450, 450),
        ("import", 200, 450),
        ("import", 400, 450),
        ("import", 450, 450),
    ]


@pytest.mark.parametrize(
    ("dry_run", "skip_bad", "bad", "writes"),
    [
        (False, False, False, True),
        (False, False, True, False),
        (False, True, True, True),
        (True, False, False, False),
        (True, True, True, False),
    ],
)
def test_an_import_writes_only_when_not_dry_and_clean_or_skipping(
    dry_run: bool, skip_bad: bool, bad: bool, writes: bool
) -> None:
    errors = [RowError(2, "门牌号", "", "missing")] if bad else []
    report = ImportReport(rows_total=1, errors=errors, dry_run=dry_run)
    assert report.goes_ahead(skip_bad=skip_bad) is writes


@PROPERTY
@given(items=st.lists(st.integers(), max_size=50), size=st.integers(min_value=1, max_value=20))
def test_chunks_cover_the_items_in_order_and_in_size(items: list[int], size: int) -> None:
    parts = list(chunks(items, size))
    assert [x for part in parts for x in part] == items
    assert all(0 < len(part) <= size for part in parts)


# --------------------------------------------------------------------------- #
# A core layer
# --------------------------------------------------------------------------- #


def test_the_tabular_package_imports_no_domain() -> None:
    allowed = {"townops.errors", "townops.timeutil"}
    package = Path(townops.tabular.__file__).parent
    for path in package.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            for name in names:
                if name.startswith("townops"):
                    assert name in allowed or name.startswith("townops.tabular"), (path, name)
