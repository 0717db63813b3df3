"""KPI reports as Excel workbooks (.xlsx), the format town offices exchange.

Sheet 1 "指标 KPI": one row per group, header in Chinese with English in brackets, frozen
header and name columns, percentage / hour number formats. Sheet 2 "说明 Definitions":
the period, the grouping and the definition of every figure.
"""

from __future__ import annotations

from pathlib import Path
from typing import IO
from zoneinfo import ZoneInfo

from townops.kpi.figures import GROUPING_NAMES, Figure, Unit
from townops.kpi.service import KpiReport
from townops.workbook import WRAP, XLSX_MEDIA_TYPE, Book, Sheet

__all__ = ["XLSX_MEDIA_TYPE", "build_workbook", "default_filename", "write_xlsx", "xlsx_bytes"]

DATA_SHEET = "指标 KPI"
DEFINITIONS_SHEET = "说明 Definitions"
NAME_HEADERS = ("代码 (code)", "名称 (name)", "英文名称 (English name)")

_NUMBER_FORMATS: dict[Unit, str] = {"count": "0", "rate": "0.0%", "hours": "0.0", "minutes": "0.0"}


def default_filename(report: KpiReport) -> str:
    return f"kpi-{report.period.label}-{report.by.value}.xlsx"


def build_workbook(report: KpiReport) -> Book:
    book = Book()
    _fill_data_sheet(book.sheet(DATA_SHEET), report)
    _fill_definitions_sheet(book.sheet(DEFINITIONS_SHEET), report)
    return book


def write_xlsx(report: KpiReport, target: Path | IO[bytes]) -> None:
    build_workbook(report).save(target)


def xlsx_bytes(report: KpiReport) -> bytes:
    return build_workbook(report).to_bytes()


def _fill_data_sheet(sheet: Sheet, report: KpiReport) -> None:
    figures = report.definitions
    headers = [*NAME_HEADERS, *(f.header for f in figures)]
    sheet.append(headers)
    formats = [None] * len(NAME_HEADERS) + [_NUMBER_FORMATS[f.unit] for f in figures]
    for row in report.rows:
        values = [row.code, row.name_zh, row.name_en, *(getattr(row, f.key) for f in figures)]
        sheet.append(values, formats=formats)
    sheet.style_header()
    names = [*(r.name_zh for r in report.rows), *(r.name_en for r in report.rows)]
    sheet.set_widths(headers, wide={2: names, 3: names}, header_cap=28)
    sheet.ws.freeze_panes = "C2"  # header row and the code / name columns stay in view


def _fill_definitions_sheet(sheet: Sheet, report: KpiReport) -> None:
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
    sheet.append_facts(facts)
    sheet.append([])
    header = ["指标 (figure)", "字段 (field)", "单位 (unit)", "定义", "Definition"]
    sheet.style_row(sheet.append(header), alignment=None)
    for figure in report.definitions:
        sheet.append(_definition_row(figure), alignment=WRAP)
    sheet.set_column_widths([30, 24, 10, 60, 70])


def _definition_row(figure: Figure) -> list[str]:
    return [figure.header, figure.key, figure.unit, figure.definition_zh, figure.definition_en]
