"""The health-check report as an Excel workbook, styled like the KPI export.

Sheets: "总览 Summary" (status counts per dimension), "指标 Indicators" (every sign: this
year, last year, change, target, status), "体征图 Map" (the share of yellow and red signs
per area, the figures behind the map, each linked to its sheet), one sheet per area (a
community of the town), and "说明 Notes". Headers in Chinese with English in brackets;
frozen header rows; status cells coloured.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Literal

from openpyxl.styles import Font, PatternFill
from openpyxl.worksheet.hyperlink import Hyperlink

from townops.reports.formatting import is_rate, unit_label
from townops.reports.health_check import (
    LEVEL_NAMES,
    STATUS_NAMES,
    STATUSES,
    TREND_NAMES,
    Area,
    HealthCheckReport,
    IndicatorRow,
)
from townops.signs import Status
from townops.workbook import HEADER_FONT, WRAP, Book, Sheet

SUMMARY_SHEET = "总览 Summary"
INDICATORS_SHEET = "指标 Indicators"
MAP_SHEET = "体征图 Map"
NOTES_SHEET = "说明 Notes"

# Excel's own "good / neutral / bad" cell styles, so the colours read as they do elsewhere.
_STATUS_FILLS: dict[Status, PatternFill] = {
    "green": PatternFill("solid", fgColor="C6EFCE"),
    "yellow": PatternFill("solid", fgColor="FFEB9C"),
    "red": PatternFill("solid", fgColor="FFC7CE"),
    "none": PatternFill("solid", fgColor="F2F2F2"),
}
_STATUS_FONTS: dict[Status, Font] = {
    "green": Font(color="006100"),
    "yellow": Font(color="9C5700"),
    "red": Font(color="9C0006"),
    "none": Font(color="595959"),
}
_CHANGE_FORMAT = "+#,##0.0#;-#,##0.0#;0"
_RATE_CHANGE_FORMAT = "+0.0%;-0.0%;0.0%"  # percentage points
_SHEET_NAME_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")


def default_filename(report: HealthCheckReport, suffix: str = "xlsx") -> str:
    return f"health-check-{report.year}.{suffix}"


def build_workbook(report: HealthCheckReport) -> Book:
    book = Book()
    _fill_summary(book.sheet(SUMMARY_SHEET), report)
    _fill_indicators(book.sheet(INDICATORS_SHEET), report)
    area_sheets = _area_sheet_names(report.areas)
    if report.areas:
        _fill_map(book.sheet(MAP_SHEET), report, area_sheets)
    for area in report.areas:
        _fill_area(book.sheet(area_sheets[area.code]), report, area)
    _fill_notes(book.sheet(NOTES_SHEET), report)
    return book


def write_xlsx(report: HealthCheckReport, target: Path | IO[bytes]) -> None:
    build_workbook(report).save(target)


def xlsx_bytes(report: HealthCheckReport) -> bytes:
    return build_workbook(report).to_bytes()


def status_label(status: Status) -> str:
    zh, en = STATUS_NAMES[status]
    return f"{zh} ({en})"


Kind = Literal["text", "number", "change", "status", "wrap"]


@dataclass(frozen=True)
class Column:
    header: str
    value: Callable[[IndicatorRow], object]
    kind: Kind = "text"
    on_area_sheets: bool = True


def indicator_columns(report: HealthCheckReport) -> list[Column]:
    names = {s.dimension.code: s.dimension.name_zh for s in report.sections}
    return [
        Column("维度 (dimension)", lambda r: names.get(r.dimension, r.dimension)),
        Column("指标代码 (code)", lambda r: r.id),
        Column("指标名称 (name)", lambda r: r.name_zh),
        Column("英文名称 (English name)", lambda r: r.name_en, on_area_sheets=False),
        Column("单位 (unit)", lambda r: unit_label(r.unit)),
        Column(f"{report.year} 年值 (value)", lambda r: r.value, "number"),
        Column(f"{report.previous_year} 年值 (previous)", lambda r: r.previous, "number"),
        Column("变化 (change)", lambda r: r.change, "change"),
        Column("目标 (target)", lambda r: r.target, "number"),
        Column("状态 (status)", lambda r: status_label(r.status), "status"),
        Column("趋势 (trend)", _trend_label),
        Column("方向 (direction)", _direction_label, on_area_sheets=False),
        # For ratios: the parts, so a reader can add the communities up to the town.
        Column("分子 (numerator)", lambda r: r.numerator, "number"),
        Column("分母 (denominator)", lambda r: r.denominator, "number"),
        Column("来源 (source)", lambda r: r.source, "wrap", on_area_sheets=False),
        # Last, so the columns before keep their places for readers of earlier reports.
        Column("评价依据 (judged against)", lambda r: r.judgement, "wrap"),
    ]


def indicator_headers(report: HealthCheckReport, *, area: bool = False) -> list[str]:
    return [c.header for c in indicator_columns(report) if c.on_area_sheets or not area]


def _fill_summary(sheet: Sheet, report: HealthCheckReport) -> None:
    headers = [
        "维度代码 (code)",
        "维度 (dimension)",
        "英文名称 (English name)",
        "指标数 (signs)",
        *(status_label(s) for s in STATUSES),
    ]
    sheet.append(headers)
    for section in report.sections:
        dimension, counts = section.dimension, section.counts
        sheet.append(
            [dimension.code, dimension.name_zh, dimension.name_en, len(section.rows)]
            + [counts[s] for s in STATUSES]
        )
    total = report.counts
    total_row = ["", "合计", "Total", len(report.rows), *(total[s] for s in STATUSES)]
    sheet.append(total_row, font=HEADER_FONT)
    sheet.style_header()
    for offset, status in enumerate(STATUSES):
        header = sheet.ws.cell(row=1, column=5 + offset)
        header.fill, header.font = _STATUS_FILLS[status], Font(bold=True)
    _set_widths(sheet, headers, wide={2: _names(s.dimension.name_zh for s in report.sections)})
    sheet.ws.freeze_panes = "B2"


def _fill_indicators(sheet: Sheet, report: HealthCheckReport) -> None:
    _fill_rows(sheet, report, report.rows, area=False)
    rows = report.rows
    _set_widths(
        sheet,
        indicator_headers(report),
        wide={
            1: _names(s.dimension.name_zh for s in report.sections),
            3: _names(r.name_zh for r in rows),
            4: _names(r.name_en for r in rows),
        },
    )
    sheet.set_column_widths([60], first=sheet.ws.max_column)
    sheet.ws.freeze_panes = "D2"  # header row and the dimension / code / name columns


def _fill_rows(
    sheet: Sheet, report: HealthCheckReport, rows: Sequence[IndicatorRow], *, area: bool
) -> None:
    columns = [c for c in indicator_columns(report) if c.on_area_sheets or not area]
    sheet.append([c.header for c in columns])
    sheet.style_header()
    for row in rows:
        number = sheet.append([c.value(row) for c in columns])
        for index, column in enumerate(columns, start=1):
            _style_cell(sheet.ws.cell(row=number, column=index), column.kind, row)


def _style_cell(cell: Any, kind: Kind, row: IndicatorRow) -> None:
    rate = is_rate(row.unit)
    if kind == "number":
        cell.number_format = "0.0%" if rate else _number_format(cell.value)
    elif kind == "change":
        cell.number_format = _RATE_CHANGE_FORMAT if rate else _CHANGE_FORMAT
    elif kind == "status":
        cell.fill, cell.font = _STATUS_FILLS[row.status], _STATUS_FONTS[row.status]
    elif kind == "wrap":
        cell.alignment = WRAP


def _fill_map(sheet: Sheet, report: HealthCheckReport, sheet_names: dict[str, str]) -> None:
    level_zh, level_en = LEVEL_NAMES.get(report.area_level or "", ("区域", "area"))
    headers = [
        f"{level_zh}代码 (code)",
        f"{level_zh} ({level_en})",
        "英文名称 (English name)",
        *(status_label(s) for s in STATUSES),
        "黄红占比 (yellow + red share)",
    ]
    sheet.append(headers)
    for area in report.areas:
        counts = area.counts
        statuses = [counts[s] for s in STATUSES]
        row = sheet.append([area.code, area.name_zh, area.name_en, *statuses, area.alert_share])
        link = sheet.ws.cell(row=row, column=2)
        # An internal link: a location, not a target (a target would be a file or URL).
        link.hyperlink = Hyperlink(ref=link.coordinate, location=f"'{sheet_names[area.code]}'!A1")
        link.font = Font(color="0563C1", underline="single")
        sheet.ws.cell(row=row, column=8).number_format = "0.0%"
    sheet.style_header()
    for offset, status in enumerate(STATUSES):
        sheet.ws.cell(row=1, column=4 + offset).fill = _STATUS_FILLS[status]
    areas = report.areas
    _set_widths(
        sheet,
        headers,
        wide={2: _names(a.name_zh for a in areas), 3: _names(a.name_en for a in areas)},
    )
    sheet.ws.freeze_panes = "C2"


def _fill_area(sheet: Sheet, report: HealthCheckReport, area: Area) -> None:
    _fill_rows(sheet, report, area.rows, area=True)
    names = [s.dimension.name_zh for s in report.sections]
    _set_widths(
        sheet,
        indicator_headers(report, area=True),
        wide={1: names, 3: _names(r.name_zh for r in area.rows)},
    )
    sheet.ws.freeze_panes = "D2"


def _fill_notes(sheet: Sheet, report: HealthCheckReport) -> None:
    level_zh, level_en = LEVEL_NAMES.get(report.area_level or "", ("区域", "area"))
    facts = [
        ("报告 (report)", f"{report.title_zh} / {report.title_en}"),
        ("范围 (scope)", f"{report.scope.name_zh} ({report.scope.name_en}, {report.scope.code})"),
        ("年度 (year)", _year_note(report)),
        ("生成时间 (generated)", report.generated_at.strftime("%Y-%m-%d %H:%M %Z")),
        (
            "指标体系 (system)",
            "按国家城市体检指标体系的维度分组 / grouped by the dimensions "
            "of the national city health-check indicator system",
        ),
        *((status_label(s), _status_meaning(s)) for s in STATUSES),
        (
            "趋势 (trend)",
            "按指标方向判断较上年向好、变差或持平 / better, worse or flat than "
            "the previous year, by the sign's direction",
        ),
        (
            f"体征图 (map, per {level_en})",
            f"各{level_zh}黄、红体征占已评价体征的比例 / the "
            "share of yellow and red signs among the rated signs of each area",
        ),
    ]
    sheet.append(["项目 (item)", "说明 (note)"])
    sheet.style_header()
    sheet.append_facts(facts, wrap=True)
    sheet.set_column_widths([28, 90])


def _year_note(report: HealthCheckReport) -> str:
    if report.has_previous_year:
        return f"{report.year}，对比 {report.previous_year} 年 (compared with)"
    return f"{report.year}；{report.previous_year} 年无数据，不作同比 (no data for the year before)"


def _status_meaning(status: Status) -> str:
    return {
        "green": "达到绿色阈值 / within the green threshold",
        "yellow": "越过黄色阈值，需关注 / crossed the yellow threshold",
        "red": "越过红色阈值，预警 / crossed the red threshold",
        "none": "未评价，评价依据列说明原因 / not judged: the judged-against column says why",
    }[status]


def _direction_label(row: IndicatorRow) -> str:
    return "越高越好" if row.direction == "higher_is_better" else "越低越好"


def _trend_label(row: IndicatorRow) -> str:
    trend = row.trend
    if trend is None:
        return ""
    zh, en = TREND_NAMES[trend]
    return f"{zh} ({en})"


def _number_format(value: object) -> str:
    whole = not isinstance(value, float) or value.is_integer()
    return "#,##0" if whole else "#,##0.0#"


def _names(values: Iterable[str]) -> list[str]:
    return list(values)


def _set_widths(sheet: Sheet, headers: list[str], *, wide: dict[int, list[str]]) -> None:
    sheet.set_widths(headers, wide=wide, value_cap=44)


def _area_sheet_names(areas: Sequence[Area]) -> dict[str, str]:
    """Area code → a sheet title: the Chinese name, made valid and unique (≤ 31 chars)."""
    taken = {SUMMARY_SHEET, INDICATORS_SHEET, MAP_SHEET, NOTES_SHEET}
    names: dict[str, str] = {}
    for area in areas:
        base = _SHEET_NAME_FORBIDDEN.sub("_", area.name_zh).strip("'")[:31] or area.code
        name = base if base not in taken else f"{base[: 31 - len(area.code) - 1]} {area.code}"
        taken.add(name)
        names[area.code] = name
    return names
