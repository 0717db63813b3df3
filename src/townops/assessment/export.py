"""The monthly assessment as the Excel workbook the offices exchange (.xlsx).

Sheet "部门考核 Departments" and sheet "居村考核 Communities": one row per unit, ranked units
first; for every component the figure (a percentage) and its points, then the total, the
rank and the change from the previous month. Headers in Chinese with English in brackets,
frozen header row and name columns. Sheet "评分规则 Scoring rules": the month, who is
ranked, and each component's weight and rule.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any
from zoneinfo import ZoneInfo

from townops.assessment.service import AssessmentOf, AssessmentReport
from townops.workbook import HEADER_FONT, WRAP, XLSX_MEDIA_TYPE, Book, Sheet

__all__ = ["XLSX_MEDIA_TYPE", "build_workbook", "default_filename", "write_xlsx", "xlsx_bytes"]

SHEET_TITLES = {
    AssessmentOf.departments: "部门考核 Departments",
    AssessmentOf.communities: "居村考核 Communities",
}
RULES_SHEET = "评分规则 Scoring rules"
LEAD_HEADERS = (
    "排名 (rank)",
    "代码 (code)",
    "名称 (name)",
    "英文名称 (English name)",
    "受理量 (received)",
    "办结量 (closed)",
)
TAIL_HEADERS = (
    "总分 (total)",
    "上月排名 (previous rank)",
    "排名变化 (rank change)",
    "上月总分 (previous total)",
    "总分变化 (total change)",
    "备注 (note)",
)
RATE, POINTS, COUNT, CHANGE = "0.0%", "0.00", "0", "+0;-0;0"
POINTS_CHANGE = "+0.00;-0.00;0.00"


def default_filename(month: str) -> str:
    return f"assessment-{month}.xlsx"


def build_workbook(reports: Sequence[AssessmentReport]) -> Book:
    """One sheet per report (departments, communities), then the scoring rules."""
    book = Book()
    for report in reports:
        _fill_ranking_sheet(book.sheet(SHEET_TITLES[report.of]), report)
    _fill_rules_sheet(book.sheet(RULES_SHEET), reports[0])
    return book


def write_xlsx(reports: Sequence[AssessmentReport], target: Path | IO[bytes]) -> None:
    build_workbook(reports).save(target)


def xlsx_bytes(reports: Sequence[AssessmentReport]) -> bytes:
    return build_workbook(reports).to_bytes()


def ranking_headers(report: AssessmentReport) -> list[str]:
    component_headers = []
    for rule in report.rules:
        component_headers += [
            f"{rule.name_zh} ({rule.name_en})",
            f"{rule.name_zh}得分 (points, max {rule.weight:g})",
        ]
    return [*LEAD_HEADERS, *component_headers, *TAIL_HEADERS]


def _fill_ranking_sheet(sheet: Sheet, report: AssessmentReport) -> None:
    headers = ranking_headers(report)
    sheet.append(headers)
    formats: list[str | None] = [None, None, None, None, COUNT, COUNT]
    formats += [RATE, POINTS] * len(report.rules)
    formats += [POINTS, COUNT, CHANGE, POINTS, POINTS_CHANGE, None]
    for row in report.rows:
        values: list[Any] = [row.rank, row.code, row.name_zh, row.name_en, row.received]
        values.append(row.closed)
        for score in row.components:
            values += [score.value, score.points]
        values += [row.total if row.ranked else None, row.previous_rank, row.rank_change]
        values += [row.previous_total, row.total_change, row.note]
        sheet.append(values, formats=formats)
    sheet.style_header()
    names = [*(r.name_zh for r in report.rows), *(r.name_en for r in report.rows)]
    sheet.set_widths(headers, wide={3: names, 4: names}, fixed={len(headers): 40})
    sheet.ws.freeze_panes = "D2"  # header row and rank / code / name stay in view


def _fill_rules_sheet(sheet: Sheet, report: AssessmentReport) -> None:
    period, tz = report.period, ZoneInfo(report.period.timezone)
    count_zh = "办结量" if report.count_basis == "closed" else "受理量"
    missing = {
        "redistribute": "该项权重按比例分配给其余指标 / its weight is shared by the others",
        "zero": "该项得 0 分 / it earns 0 points",
        "full": "该项得满分 / it earns full points",
    }[report.missing_figure]
    facts = [
        ("考核期 (period)", report.label),
        ("起止日期 (local days)", f"{period.first_day} – {period.last_day} ({period.timezone})"),
        ("对比期 (compared with)", report.previous_label),
        ("统计时点 (report time)", report.now.astimezone(tz).strftime("%Y-%m-%d %H:%M %Z")),
        (
            "参与排名条件 (ranked when)",
            f"当月{count_zh} ≥ {report.min_cases} 件 / {report.count_basis} ≥ {report.min_cases}",
        ),
        ("指标无数据时 (figure with no data)", missing),
        (
            "退单率口径 (return-rate basis)",
            "部门：退单事件/派单事件；居村：退单工单/已派单工单 "
            "(departments: events; communities: cases)",
        ),
        (
            "总分 (total)",
            "各项得分之和，满分 100；同分同名次 / sum of the points, out of 100; ties share a rank",
        ),
        ("数据来源 (source)", "与 KPI 报表同口径 (the same figures as the KPI report)"),
    ]
    sheet.append_facts(facts)
    sheet.append([])
    header = ["指标 (figure)", "字段 (field)", "权重 (weight)", "评分规则", "Scoring rule"]
    sheet.style_header(sheet.append(header))
    for rule in report.rules:
        sheet.append(
            [f"{rule.name_zh} ({rule.name_en})", rule.key, rule.weight, rule.rule_zh, rule.rule_en],
            alignment=WRAP,
        )
    row = sheet.append(["合计 (total)", "", sum(r.weight for r in report.rules), "", ""])
    sheet.ws.cell(row=row, column=1).font = HEADER_FONT
    sheet.set_column_widths([34, 22, 12, 50, 60])
