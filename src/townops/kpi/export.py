"""KPI reports as Excel workbooks (.xlsx), the format town offices exchange.

Sheet 1 "指标 KPI": one row per group, header in Chinese with English in brackets, frozen
header and name columns, percentage / hour number formats. Sheet 2 "说明 Definitions":
the period, the grouping and the definition of every figure.
"""

from __future__ import annotations

import io
import unicodedata
from pathlib import Path
from typing import IO, Any
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from townops.kpi.figures import GROUPING_NAMES, Figure, Unit
from townops.kpi.service import KpiReport

XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DATA_SHEET = "指标 KPI"
DEFINITIONS_SHEET = "说明 Definitions"
NAME_HEADERS = ("代码 (code)", "名称 (name)", "英文名称 (English name)")

_NUMBER_FORMATS: dict[Unit, str] = {"count": "0", "rate": "0.0%", "hours": "0.0", "minutes": "0.0"}
_HEADER_FONT = Font(bold=True)
_HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
_WRAP = Alignment(wrap_text=True, vertical="top")


def default_filename(report: KpiReport) -> str:
    return f"kpi-{report.period.label}-{report.by.value}.xlsx"


def build_workbook(report: KpiReport) -> Workbook:
    workbook = Workbook()
    _fill_data_sheet(workbook.active, report)
    _fill_definitions_sheet(workbook.create_sheet(DEFINITIONS_SHEET), report)
    return workbook


def write_xlsx(report: KpiReport, target: Path | IO[bytes]) -> None:
    build_workbook(report).save(target)


def xlsx_bytes(report: KpiReport) -> bytes:
    buffer = io.BytesIO()
    write_xlsx(report, buffer)
    return buffer.getvalue()


def _fill_data_sheet(sheet: Any, report: KpiReport) -> None:
    sheet.title = DATA_SHEET
    figures = report.definitions
    headers = [*NAME_HEADERS, *(f.header for f in figures)]
    sheet.append(headers)
    for row in report.rows:
        sheet.append([row.code, row.name_zh, row.name_en, *(getattr(row, f.key) for f in figures)])
    for cell in sheet[1]:
        cell.font, cell.fill, cell.alignment = _HEADER_FONT, _HEADER_FILL, _WRAP
    for index, figure in enumerate(figures, start=len(NAME_HEADERS) + 1):
        for (cell,) in sheet.iter_rows(min_row=2, min_col=index, max_col=index):
            cell.number_format = _NUMBER_FORMATS[figure.unit]
    _set_widths(
        sheet, headers, [*(r.name_zh for r in report.rows), *(r.name_en for r in report.rows)]
    )
    sheet.freeze_panes = "C2"  # header row and the code / name columns stay in view


def _set_widths(sheet: Any, headers: list[str], names: list[str]) -> None:
    for index, header in enumerate(headers, start=1):
        width = min(_display_width(header), 28) + 2
        if index in (2, 3):
            width = max(width, *(min(_display_width(n), 40) + 2 for n in names), 12)
        sheet.column_dimensions[get_column_letter(index)].width = width


def _display_width(text: str) -> int:
    # CJK characters take two columns in Excel's default fonts.
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _fill_definitions_sheet(sheet: Any, report: KpiReport) -> None:
    period, tz = report.period, ZoneInfo(report.period.timezone)
    by_zh, by_en = GROUPING_NAMES[report.by]
    facts = [
        ("统计周期 (period)", period.label),
        ("起止日期 (local days)", f"{period.first_day} – {period.last_day} ({period.timezone})"),
        ("UTC 区间 (UTC interval)", f"[{period.start.isoformat()}, {period.end.isoformat()})"),
        ("分组 (grouping)", f"{by_zh} ({by_en})"),
        ("退单率口径 (return-rate basis)", report.return_rate_basis),
        ("统计时点 (report time)", report.now.astimezone(tz).strftime("%Y-%m-%d %H:%M %Z")),
        ("比率 (rates)", "分母为 0 时留空 / empty when the denominator is 0"),
    ]
    for label, value in facts:
        sheet.append([label, value])
        sheet.cell(row=sheet.max_row, column=1).font = _HEADER_FONT
    sheet.append([])
    sheet.append(["指标 (figure)", "字段 (field)", "单位 (unit)", "定义", "Definition"])
    header_row = sheet.max_row
    for cell in sheet[header_row]:
        cell.font, cell.fill = _HEADER_FONT, _HEADER_FILL
    for figure in report.definitions:
        sheet.append(_definition_row(figure))
        for cell in sheet[sheet.max_row]:
            cell.alignment = _WRAP
    for letter, width in zip("ABCDE", (30, 24, 10, 60, 70), strict=True):
        sheet.column_dimensions[letter].width = width


def _definition_row(figure: Figure) -> list[str]:
    return [figure.header, figure.key, figure.unit, figure.definition_zh, figure.definition_en]
