"""Importing 12345 hotline exports: every row checked, then all rows or none become cases."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from tests.helpers import NANXIN
from townops.cases.models import Case, CaseEvent
from townops.cli.main import app as cli_app
from townops.errors import InvalidInput
from townops.hotline.importer import SOURCE, import_hotline_file
from townops.tabular import ImportReport, is_valid_phone
from townops.tabular import parse_datetime as parse_received_at

FIXTURES = Path(__file__).parent.parent / "fixtures" / "hotline"
NOW = datetime(2022, 6, 1, tzinfo=UTC)


def run_import(
    session: Session, path: Path, *, skip_bad: bool = False, dry_run: bool = False
) -> ImportReport:
    return import_hotline_file(session, path=path, now=NOW, skip_bad=skip_bad, dry_run=dry_run)


def imported(session: Session) -> dict[str, Case]:
    cases = session.scalars(select(Case).where(Case.source == SOURCE))
    return {case.external_id or "": case for case in cases}


def count_imported(session: Session) -> int:
    return session.scalar(select(func.count()).where(Case.source == SOURCE)) or 0


def reencoded(source: Path, target: Path, encoding: str) -> Path:
    target.write_bytes(source.read_text(encoding="utf-8").encode(encoding))
    return target


# --------------------------------------------------------------------------- #
# Good files
# --------------------------------------------------------------------------- #


def test_an_english_header_file_becomes_hotline_cases_with_deadlines_and_create_events(
    session: Session,
) -> None:
    report = run_import(session, FIXTURES / "orders_en.csv")

    assert (report.rows_total, report.imported, report.already_present) == (3, 3, 0)
    assert report.errors == [] and report.skipped_columns == ["channel"]
    cases = imported(session)
    first = cases["HL-EN-001"]
    assert (first.kind, first.category_code, first.state) == (
        "hotline",
        "illegal_construction",
        "received",
    )
    assert first.requester_phone == "13812341234" and first.requester_name == "王女士"
    assert first.jurisdiction_code == NANXIN and first.community_code == NANXIN
    # 5 working days after Tuesday 1 March 2022: Wednesday 2nd ... Tuesday 8th, 23:59:59 local.
    assert first.due_at == datetime(2022, 3, 8, 15, 59, 59, tzinfo=UTC)
    gas = cases["HL-EN-003"]
    assert gas.due_at == datetime(2022, 3, 2, 3, 5, tzinfo=UTC)  # 2 clock hours
    assert gas.jurisdiction_code is None and gas.requester_phone == ""
    events = session.scalars(
        select(CaseEvent).where(CaseEvent.case_id.in_([c.id for c in cases.values()]))
    ).all()
    assert (
        sorted((e.action, e.to_state, e.actor_name) for e in events)
        == [("create", "received", "system")] * 3
    )


def test_a_time_without_offset_is_shanghai_time_and_an_offset_is_honoured(
    session: Session,
) -> None:
    run_import(session, FIXTURES / "orders_en.csv")

    cases = imported(session)
    assert cases["HL-EN-001"].received_at == datetime(2022, 3, 1, 1, 15, tzinfo=UTC)
    assert cases["HL-EN-002"].received_at == datetime(2022, 3, 1, 10, 0, tzinfo=UTC)
    assert cases["HL-EN-003"].received_at == datetime(2022, 3, 2, 1, 5, tzinfo=UTC)


def test_a_category_may_be_given_by_its_chinese_name_and_a_community_by_its_alias(
    session: Session,
) -> None:
    run_import(session, FIXTURES / "orders_en.csv")

    second = imported(session)["HL-EN-002"]
    assert second.category_code == "illegal_construction"  # 违法搭建
    assert second.jurisdiction_code == NANXIN  # 南新


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_a_chinese_header_csv_is_read_in_any_office_encoding(
    session: Session, tmp_path: Path, encoding: str
) -> None:
    path = reencoded(FIXTURES / "orders_zh.csv", tmp_path / "orders.csv", encoding)

    report = run_import(session, path)

    assert report.errors == [] and report.imported == 2
    assert report.skipped_columns == ["承办单位"]
    cases = imported(session)
    leak = cases["ZH-0001"]
    assert leak.category_code == "house_leak" and leak.content.startswith("楼上卫生间漏水")
    assert leak.received_at == datetime(2022, 3, 1, 1, 15, tzinfo=UTC)
    assert leak.jurisdiction_code == NANXIN and leak.requester_name == "王女士"
    vending = cases["ZH-0002"]
    assert vending.category_code == "street_vending"
    assert vending.requester_phone == "(021)58581234转801"
    assert vending.due_at == datetime(2022, 3, 10, 15, 59, 59, tzinfo=UTC)


def test_an_xlsx_export_with_real_datetime_and_number_cells_is_imported(
    session: Session, tmp_path: Path
) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["工单编号", "来电时间", "诉求类别", "诉求内容", "地址", "联系电话", "备注"])
    sheet.append(
        [
            20220301001,
            datetime(2022, 3, 1, 9, 15),
            "路灯不亮",
            "路灯坏了",
            "东靖路",
            13812341234,
            "x",
        ]
    )
    sheet.append([])
    sheet.append(["X-2", datetime(2022, 3, 1, 9, 30), "no_such_category", "其他", "", None, ""])
    sheet.append([20220301003, "2022/3/1 10:05", "street_light", "还是不亮", "东靖路", None, None])
    path = tmp_path / "orders.xlsx"
    book.save(path)

    report = run_import(session, path, skip_bad=True)

    assert [(e.row, e.column) for e in report.errors] == [(4, "诉求类别")]
    assert report.imported == 2 and report.skipped_columns == ["备注"]
    cases = imported(session)
    assert cases["20220301001"].received_at == datetime(2022, 3, 1, 1, 15, tzinfo=UTC)
    assert cases["20220301001"].requester_phone == "13812341234"
    assert cases["20220301003"].received_at == datetime(2022, 3, 1, 2, 5, tzinfo=UTC)


# --------------------------------------------------------------------------- #
# Bad rows, all or nothing
# --------------------------------------------------------------------------- #


def test_bad_rows_are_all_reported_and_nothing_is_imported(session: Session) -> None:
    before = count_imported(session)

    report = run_import(session, FIXTURES / "orders_bad.csv")

    assert report.bad_rows == [3, 4, 6]
    problems = {(e.row, e.column): e for e in report.errors}
    assert set(problems) == {(3, "诉求类别"), (4, "来电时间"), (4, "联系电话"), (6, "工单编号")}
    assert "unknown category" in problems[3, "诉求类别"].reason
    assert problems[3, "诉求类别"].value == "外星人入侵"
    assert "future" in problems[4, "来电时间"].reason
    assert "phone" in problems[4, "联系电话"].reason and problems[4, "联系电话"].value == "12345"
    assert "row 2" in problems[6, "工单编号"].reason
    assert report.imported == 0 and report.new_rows == 2
    assert count_imported(session) == before


def test_with_skip_bad_the_good_rows_are_imported_and_the_bad_ones_reported(
    session: Session,
) -> None:
    report = run_import(session, FIXTURES / "orders_bad.csv", skip_bad=True)

    assert report.imported == 2 and report.bad_rows == [3, 4, 6]
    cases = imported(session)
    assert set(cases) == {"BAD-001", "BAD-004"}
    assert cases["BAD-001"].content == "楼上漏水"  # the first of the duplicated order numbers


def test_a_dry_run_checks_every_row_and_writes_nothing(session: Session) -> None:
    report = run_import(session, FIXTURES / "orders_en.csv", dry_run=True)

    assert report.dry_run and report.new_rows == 3 and report.imported == 0
    assert count_imported(session) == 0


def test_a_header_without_the_required_columns_is_refused(session: Session, tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_text("工单编号,诉求内容\nA-1,漏水\n", encoding="utf-8")

    with pytest.raises(InvalidInput) as caught:
        run_import(session, path)

    assert caught.value.details["missing"] == ["received_at", "category", "address", "phone"]


def test_a_file_that_is_not_csv_or_xlsx_is_refused(session: Session, tmp_path: Path) -> None:
    path = tmp_path / "orders.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0")

    with pytest.raises(InvalidInput, match=r"\.xlsx"):
        run_import(session, path)


GOOD_ROW = {
    "order_no": "R-1",
    "received_at": "2022-03-01 09:15",
    "category": "house_leak",
    "content": "楼上漏水",
    "address": "南新居民区12号楼",
    "phone": "13812341234",
    "jurisdiction": "",
    "kind": "",
}


def one_row_file(tmp_path: Path, **changes: str) -> Path:
    row = {**GOOD_ROW, **changes}
    path = tmp_path / "one.csv"
    path.write_text(",".join(row) + "\n" + ",".join(row.values()) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("changes", "column", "reason"),
    [
        ({"order_no": ""}, "order_no", "missing order number"),
        ({"received_at": "上周二"}, "received_at", "unreadable time"),
        ({"received_at": "2022-06-01T08:00:01+08:00"}, "received_at", "in the future"),
        ({"category": "   "}, "category", "missing category"),
        ({"category": "rubbish"}, "category", "unknown category"),
        ({"content": ""}, "content", "empty content"),
        ({"phone": "110"}, "phone", "not a Chinese phone number"),
        ({"jurisdiction": "火星居委会"}, "jurisdiction", "unknown jurisdiction"),
        ({"kind": "telepathy"}, "kind", "unknown kind"),
        ({"address": "长" * 301}, "address", "longer than 300"),
    ],
)
def test_each_bad_cell_is_reported_with_its_column_and_reason(
    session: Session, tmp_path: Path, changes: dict[str, str], column: str, reason: str
) -> None:
    report = run_import(session, one_row_file(tmp_path, **changes))

    assert [(e.row, e.column) for e in report.errors] == [(2, column)]
    assert reason in report.errors[0].reason
    assert count_imported(session) == 0


def test_an_empty_phone_and_a_given_kind_are_accepted(session: Session, tmp_path: Path) -> None:
    report = run_import(session, one_row_file(tmp_path, phone="", kind="patrol"))

    assert report.errors == [] and report.imported == 1
    case = imported(session)["R-1"]
    assert (case.kind, case.source, case.requester_phone) == ("patrol", "12345", "")


def test_progress_is_reported_for_checking_and_for_importing(
    session: Session,
) -> None:
    seen: list[tuple[str, int, int]] = []

    import_hotline_file(
        session,
        path=FIXTURES / "orders_en.csv",
        now=NOW,
        progress=lambda phase, done, total: seen.append((phase, done, total)),
    )

    assert seen == [("check", 3, 3), ("import", 3, 3)]


# --------------------------------------------------------------------------- #
# Importing again
# --------------------------------------------------------------------------- #


def test_importing_the_same_file_again_creates_nothing_new(session: Session) -> None:
    run_import(session, FIXTURES / "orders_en.csv")

    again = run_import(session, FIXTURES / "orders_en.csv")

    assert (again.imported, again.already_present, again.errors) == (0, 3, [])
    assert count_imported(session) == 3


def test_a_known_order_number_with_different_content_is_a_conflict(
    session: Session, tmp_path: Path
) -> None:
    run_import(session, FIXTURES / "orders_en.csv")
    changed = (FIXTURES / "orders_en.csv").read_text(encoding="utf-8")
    changed = changed.replace("楼道里闻到很浓的燃气味", "楼道里有烟")
    path = tmp_path / "changed.csv"
    path.write_text(changed, encoding="utf-8")

    report = run_import(session, path)

    assert report.already_present == 2
    assert [(e.row, e.column) for e in report.errors] == [(4, "order_no")]
    assert "conflict" in report.errors[0].reason
    assert imported(session)["HL-EN-003"].content == "楼道里闻到很浓的燃气味"


# --------------------------------------------------------------------------- #
# Cell formats
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2022-03-01 09:15:00", datetime(2022, 3, 1, 1, 15, tzinfo=UTC)),
        ("2022-03-01 09:15", datetime(2022, 3, 1, 1, 15, tzinfo=UTC)),
        ("2022/3/1 9:15", datetime(2022, 3, 1, 1, 15, tzinfo=UTC)),
        ("2022/03/01 09:15:30", datetime(2022, 3, 1, 1, 15, 30, tzinfo=UTC)),
        ("2022-03-01T09:15:00+08:00", datetime(2022, 3, 1, 1, 15, tzinfo=UTC)),
        ("2022-03-01T09:15:00Z", datetime(2022, 3, 1, 9, 15, tzinfo=UTC)),
        (datetime(2022, 3, 1, 9, 15), datetime(2022, 3, 1, 1, 15, tzinfo=UTC)),
        ("3月1日上午", None),
        ("", None),
        (None, None),
    ],
)
def test_call_times_are_read_in_the_formats_offices_export(
    text: object, expected: datetime | None
) -> None:
    assert parse_received_at(text) == expected


@pytest.mark.parametrize(
    "phone",
    [
        "13812341234",
        "+86 138 1234 1234",
        "138-1234-1234",
        "138****1234",
        "021-58581234",
        "58581234",
        "(021)58581234",
        "0571-8765432",
        "021-58581234-801",
        "13812341234/021-58581234",
    ],
)
def test_chinese_phone_numbers_are_accepted(phone: str) -> None:
    assert is_valid_phone(phone)


@pytest.mark.parametrize(
    "phone", ["12345", "23812341234", "1381234123", "138123412345", "abc", "021-0581234", "/"]
)
def test_things_that_are_not_chinese_phone_numbers_are_refused(phone: str) -> None:
    assert not is_valid_phone(phone)


# --------------------------------------------------------------------------- #
# The command line
# --------------------------------------------------------------------------- #


def test_the_cli_refuses_a_bad_file_with_every_row_error_and_imports_a_good_one(
    tmp_path: Path,
) -> None:
    runner = CliRunner()
    url = f"sqlite:///{tmp_path / 'town.db'}"
    loaded = runner.invoke(cli_app, ["town", "load", "--demo-users", "--database-url", url])
    assert loaded.exit_code == 0, loaded.output

    bad = runner.invoke(
        cli_app, ["import", "hotline", str(FIXTURES / "orders_bad.csv"), "--database-url", url]
    )
    assert bad.exit_code == 1, bad.output
    for text in (
        "外星人入侵",
        "未知诉求类别",
        "来电时间在未来",
        "电话号码格式不对",
        "工单编号重复",
    ):
        assert text in bad.output
    assert "3 行有错误，未导入任何工单" in bad.output

    good = runner.invoke(
        cli_app, ["import", "hotline", str(FIXTURES / "orders_en.csv"), "--database-url", url]
    )
    assert good.exit_code == 0, good.output
    assert "导入 3 条 (imported), 跳过 0 条已存在 (already present)" in good.output

    again = runner.invoke(
        cli_app, ["import", "hotline", str(FIXTURES / "orders_en.csv"), "--database-url", url]
    )
    assert again.exit_code == 0, again.output
    assert "导入 0 条 (imported), 跳过 3 条已存在 (already present)" in again.output


def test_the_cli_with_skip_bad_imports_the_good_rows_and_warns(tmp_path: Path) -> None:
    runner = CliRunner()
    url = f"sqlite:///{tmp_path / 'town.db'}"
    assert runner.invoke(cli_app, ["town", "load", "--database-url", url]).exit_code == 0

    dry = runner.invoke(
        cli_app,
        ["import", "hotline", str(FIXTURES / "orders_bad.csv"), "--dry-run", "--database-url", url],
    )
    assert dry.exit_code == 1 and "可导入 2 条" in dry.output
    skipped = runner.invoke(
        cli_app,
        [
            "import",
            "hotline",
            str(FIXTURES / "orders_bad.csv"),
            "--skip-bad",
            "--database-url",
            url,
        ],
    )
    assert skipped.exit_code == 0, skipped.output
    assert "导入 2 条 (imported)" in skipped.output and "skipped 3 bad rows" in skipped.output
