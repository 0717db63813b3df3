"""The health-check report as a PDF (A4, zh-CN), laid out with reportlab's platypus.

Cover; overview (status counts per dimension, as a table and a chart); the vital-signs map;
then one section per dimension: a small chart per sign and the table of its signs with
their status. Every string goes through ``printable`` so a character the shipped font
lacks prints as the fallback mark instead of failing or vanishing.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    CondPageBreak,
    Flowable,
    KeepTogether,
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from townops.reports.charts import (
    INK,
    MUTED,
    STATUS_COLOURS,
    chart_legend,
    indicator_chart,
    status_overview,
)
from townops.reports.font import printable, register_font
from townops.reports.formatting import format_change, format_value, unit_label
from townops.reports.health_check import (
    LEVEL_NAMES,
    STATUS_NAMES,
    STATUSES,
    TREND_NAMES,
    DimensionSection,
    HealthCheckReport,
    IndicatorRow,
)
from townops.reports.map import mapped_areas, vital_signs_map

MARGIN = 18 * mm
FRAME_WIDTH = A4[0] - 2 * MARGIN
ACCENT = colors.HexColor("#1F4E79")
RULE = colors.HexColor("#D9D9D9")
HEADER_FILL = colors.HexColor("#DDEBF7")
_STATUS_CELL_FILLS = {
    "green": colors.HexColor("#C6EFCE"),
    "yellow": colors.HexColor("#FFEB9C"),
    "red": colors.HexColor("#FFC7CE"),
    "none": colors.HexColor("#F2F2F2"),
}
CHARTS_PER_ROW = 3


def write_pdf(report: HealthCheckReport, target: Path | IO[bytes]) -> None:
    font = register_font()
    document = SimpleDocTemplate(
        str(target) if isinstance(target, Path) else target,
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN + 4 * mm,
        title=report.title_zh,
        author="townops",
        subject=report.title_en,
        lang="zh-CN",
    )
    styles = _styles(font)
    story = [
        *_cover(report, styles),
        PageBreak(),
        *_overview(report, styles),
        *_map_section(report, styles),
        *_dimension_sections(report, styles),
        *_notes(report, styles),
    ]
    footer = _footer(report, font)
    document.build(story, onLaterPages=footer)


def pdf_bytes(report: HealthCheckReport) -> bytes:
    buffer = io.BytesIO()
    write_pdf(report, buffer)
    return buffer.getvalue()


def _styles(font: str) -> dict[str, ParagraphStyle]:
    base = ParagraphStyle(
        "body", fontName=font, fontSize=9.5, leading=14, textColor=INK, wordWrap="CJK"
    )

    def style(name: str, **changes: Any) -> ParagraphStyle:
        return ParagraphStyle(name, parent=base, **changes)

    return {
        "body": base,
        "small": style("small", fontSize=8, leading=11, textColor=MUTED),
        "cell": style("cell", fontSize=8, leading=10.5),
        "cell_center": style("cell_center", fontSize=8, leading=10.5, alignment=TA_CENTER),
        "head": style("head", fontSize=8, leading=10.5, alignment=TA_CENTER),
        "h1": style("h1", fontSize=16, leading=22, textColor=ACCENT, spaceBefore=4, spaceAfter=8),
        "h2": style(
            "h2", fontSize=12.5, leading=18, textColor=ACCENT, spaceBefore=10, spaceAfter=4
        ),
        "title": style("title", fontSize=26, leading=36, textColor=ACCENT, alignment=TA_CENTER),
        "subtitle": style(
            "subtitle", fontSize=13, leading=20, alignment=TA_CENTER, textColor=MUTED
        ),
        "cover": style("cover", fontSize=11, leading=18, alignment=TA_CENTER),
    }


def _p(text: str, style: ParagraphStyle) -> Paragraph:
    return Paragraph(escape(printable(text)).replace("\n", "<br/>"), style)


def _cover(report: HealthCheckReport, styles: dict[str, ParagraphStyle]) -> list[Flowable]:
    counts = report.counts
    scope = report.scope
    subtitle = f"{report.town.name_zh} · {scope.name_zh}" if scope != report.town else ""
    facts = [
        f"范围 Scope：{scope.name_zh}（{scope.name_en}，{scope.code}）",
        (
            f"对比 Compared with：{report.previous_year} 年及目标值 (previous year and targets)"
            if report.has_previous_year
            else f"对比 Compared with：目标值；{report.previous_year} 年无数据 "
            f"(targets; no data for {report.previous_year})"
        ),
        f"生成 Generated：{report.generated_at:%Y-%m-%d %H:%M}（北京时间）",
    ]
    number_styles = [
        ParagraphStyle(f"figure_{s}", parent=styles["title"], textColor=STATUS_COLOURS[s])
        for s in STATUSES
    ]
    key_figures = Table(
        [
            [_p(str(len(report.rows)), styles["title"])]
            + [_p(str(counts[s]), style) for s, style in zip(STATUSES, number_styles, strict=True)],
            [_p("体征总数\nsigns", styles["cover"])]
            + [_p("\n".join(STATUS_NAMES[s]), styles["cover"]) for s in STATUSES],
        ],
        colWidths=[FRAME_WIDTH / 5] * 5,
    )
    commands: list[Any] = [
        ("LINEABOVE", (0, 0), (0, 0), 2, ACCENT),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("TOPPADDING", (0, 0), (-1, 0), 8),
    ]
    commands += [
        ("LINEABOVE", (i, 0), (i, 0), 2, STATUS_COLOURS[s]) for i, s in enumerate(STATUSES, 1)
    ]
    key_figures.setStyle(TableStyle(commands))
    return [
        Spacer(1, 50 * mm),
        _p(report.title_zh, styles["title"]),
        Spacer(1, 4 * mm),
        _p(report.title_en, styles["subtitle"]),
        _p(subtitle, styles["subtitle"]),
        Spacer(1, 20 * mm),
        key_figures,
        Spacer(1, 20 * mm),
        *(_p(line, styles["cover"]) for line in facts),
        Spacer(1, 30 * mm),
        _p(
            "指标按国家城市体检指标体系的维度分组；数值来自 townops 动态体征。"
            " Signs grouped by the dimensions of the national city health-check indicator "
            "system; values from the townops vital signs.",
            styles["small"],
        ),
    ]


def _overview(report: HealthCheckReport, styles: dict[str, ParagraphStyle]) -> list[Flowable]:
    counts = report.counts
    trends = [row.trend for row in report.rows]
    summary = (
        f"{report.year} 年共评估体征 {len(report.rows)} 项：正常 {counts['green']} 项，"
        f"关注 {counts['yellow']} 项，预警 {counts['red']} 项，未评价 {counts['none']} 项。"
        + (
            f"与 {report.previous_year} 年相比，向好 {trends.count('better')} 项，"
            f"变差 {trends.count('worse')} 项，持平 {trends.count('flat')} 项。"
            if report.has_previous_year
            else f"{report.previous_year} 年无数据，不作同比。"
        )
    )
    header = [
        "维度 Dimension",
        "体征数 Signs",
        *(f"{STATUS_NAMES[s][0]} {STATUS_NAMES[s][1]}" for s in STATUSES),
    ]
    rows: list[list[Any]] = [[_p(h, styles["head"]) for h in header]]
    for section in report.sections:
        dimension = section.dimension
        rows.append(
            [
                _p(f"{dimension.name_zh}\n{dimension.name_en}", styles["cell"]),
                _p(str(len(section.rows)), styles["cell_center"]),
            ]
            + [_p(str(section.counts[s]), styles["cell_center"]) for s in STATUSES]
        )
    rows.append(
        [_p("合计 Total", styles["cell"]), _p(str(len(report.rows)), styles["cell_center"])]
        + [_p(str(counts[s]), styles["cell_center"]) for s in STATUSES]
    )
    table = Table(rows, colWidths=[58 * mm] + [(FRAME_WIDTH - 58 * mm) / 5] * 5, repeatRows=1)
    table.setStyle(_grid_style(len(rows)))
    table.setStyle(TableStyle([("BACKGROUND", (0, len(rows) - 1), (-1, -1), HEADER_FILL)]))
    for index, status in enumerate(STATUSES):
        table.setStyle(
            TableStyle([("BACKGROUND", (index + 2, 0), (index + 2, 0), _STATUS_CELL_FILLS[status])])
        )
    return [
        _p("一、总体情况 Overview", styles["h1"]),
        _p(summary, styles["body"]),
        Spacer(1, 4 * mm),
        table,
        Spacer(1, 6 * mm),
        _p("各维度体征状态 Status of the signs by dimension", styles["h2"]),
        status_overview(report.sections, width=FRAME_WIDTH),
    ]


def _map_section(report: HealthCheckReport, styles: dict[str, ParagraphStyle]) -> list[Flowable]:
    if not mapped_areas(report.areas):
        return []
    level_zh, level_en = LEVEL_NAMES.get(report.area_level or "", ("区域", "area"))
    intro = (
        f"各{level_zh}按黄、红体征占已评价体征的比例着色，图中数字即该比例。"
        f" Each {level_en} is coloured by the share of its rated signs that are yellow or red."
    )
    watch = sorted(
        (a for a in report.areas if a.alert_share is not None),
        key=lambda a: (-(a.alert_share or 0.0), a.code),
    )[:10]
    rows: list[list[Any]] = [
        [
            _p(h, styles["head"])
            for h in (
                f"{level_zh} {level_en}",
                "黄红占比 Share",
                "预警 Red",
                "关注 Yellow",
                "正常 Green",
            )
        ]
    ]
    for area in watch:
        counts = area.counts
        rows.append(
            [
                _p(f"{area.name_zh}  {area.name_en}", styles["cell"]),
                _p(f"{area.alert_share or 0.0:.0%}", styles["cell_center"]),
                *(_p(str(counts[s]), styles["cell_center"]) for s in ("red", "yellow", "green")),
            ]
        )
    table = Table(rows, colWidths=[78 * mm] + [(FRAME_WIDTH - 78 * mm) / 4] * 4, repeatRows=1)
    table.setStyle(_grid_style(len(rows)))
    return [
        PageBreak(),
        _p(f"二、城市体征图 Vital-signs map ({report.year})", styles["h1"]),
        _p(intro, styles["body"]),
        Spacer(1, 3 * mm),
        vital_signs_map(report.areas, width=FRAME_WIDTH, height=150 * mm),
        CondPageBreak(70 * mm),
        _p(f"需关注的{level_zh} Areas to watch (top {len(watch)})", styles["h2"]),
        table,
    ]


def _dimension_sections(
    report: HealthCheckReport, styles: dict[str, ParagraphStyle]
) -> list[Flowable]:
    story: list[Flowable] = [PageBreak(), _p("三、分维度体检 By dimension", styles["h1"])]
    for number, section in enumerate(report.sections, start=1):
        story.extend(_dimension(report, section, number, styles))
    return story


def _dimension(
    report: HealthCheckReport,
    section: DimensionSection,
    number: int,
    styles: dict[str, ParagraphStyle],
) -> list[Flowable]:
    dimension, counts = section.dimension, section.counts
    line = (
        f"体征 {len(section.rows)} 项：正常 {counts['green']}，关注 {counts['yellow']}，"
        f"预警 {counts['red']}，未评价 {counts['none']}。"
    )
    heading = [
        _p(f"3.{number} {dimension.name_zh} {dimension.name_en}", styles["h2"]),
        _p(line, styles["body"]),
        Spacer(1, 2 * mm),
        chart_legend(year=report.year, width=FRAME_WIDTH),
        Spacer(1, 1 * mm),
    ]
    charts = _chart_grid(section.rows, year=report.year)
    first, rest = charts[:1], charts[1:]
    return [
        CondPageBreak(90 * mm),
        KeepTogether([*heading, *first]),
        *rest,
        Spacer(1, 3 * mm),
        _indicator_table(report, section.rows, styles),
        Spacer(1, 4 * mm),
    ]


def _chart_grid(rows: Sequence[IndicatorRow], *, year: int) -> list[Flowable]:
    width = FRAME_WIDTH / CHARTS_PER_ROW
    grid: list[Flowable] = []
    for start in range(0, len(rows), CHARTS_PER_ROW):
        cells: list[Any] = [
            indicator_chart(row, year=year, width=width - 6, height=118)
            for row in rows[start : start + CHARTS_PER_ROW]
        ]
        cells += [""] * (CHARTS_PER_ROW - len(cells))
        table = Table([cells], colWidths=[width] * CHARTS_PER_ROW)
        table.setStyle(
            TableStyle(
                [
                    ("LEFTPADDING", (0, 0), (-1, -1), 3),
                    ("RIGHTPADDING", (0, 0), (-1, -1), 3),
                    ("BOTTOMPADDING", (0, 0), (-1, -1), 6),
                    ("LINEBELOW", (0, 0), (-1, -1), 0.4, RULE),
                ]
            )
        )
        grid.append(table)
    return grid


def _indicator_table(
    report: HealthCheckReport, rows: Sequence[IndicatorRow], styles: dict[str, ParagraphStyle]
) -> Table:
    header = [
        "体征 Sign",
        "单位\nUnit",
        f"{report.year} 年",
        f"{report.previous_year} 年",
        "变化\nChange",
        "目标\nTarget",
        "状态\nStatus",
    ]
    data: list[list[Any]] = [[_p(h, styles["head"]) for h in header]]
    for row in rows:
        trend = TREND_NAMES[row.trend][0] if row.trend else ""
        data.append(
            [
                _p(f"{row.name_zh}\n{row.name_en}", styles["cell"]),
                _p(unit_label(row.unit), styles["cell_center"]),
                _p(format_value(row.value, row.unit), styles["cell_center"]),
                _p(format_value(row.previous, row.unit), styles["cell_center"]),
                _p(
                    f"{format_change(row.change, row.unit)}\n{trend}".strip(), styles["cell_center"]
                ),
                _p(format_value(row.target, row.unit), styles["cell_center"]),
                _p("\n".join(STATUS_NAMES[row.status]), styles["cell_center"]),
            ]
        )
    widths = [62 * mm, 14 * mm, 17 * mm, 17 * mm, 26 * mm, 17 * mm]
    table = Table(data, colWidths=[*widths, FRAME_WIDTH - sum(widths)], repeatRows=1)
    table.setStyle(_grid_style(len(data)))
    for index, row in enumerate(rows, start=1):
        table.setStyle(
            TableStyle([("BACKGROUND", (6, index), (6, index), _STATUS_CELL_FILLS[row.status])])
        )
    return table


def _notes(report: HealthCheckReport, styles: dict[str, ParagraphStyle]) -> list[Flowable]:
    lines = [
        "状态：正常＝在绿色阈值（或历史常态区间）内；关注＝越过黄色阈值（或常态区间）；"
        "预警＝越过红色阈值；未评价＝无数据、历史不足或基础数（原因见 XLSX 评价依据列）。"
        " Status: green within its threshold or usual range, yellow and red past them; not "
        "rated when there is no figure, too little history, or it is a base figure.",
        "趋势按指标方向判断（越高越好或越低越好）。 Trend follows each sign's direction.",
        "体征图按黄、红体征占比着色；边界为示意。 The map colours each area by the share of "
        "yellow and red signs; boundaries are schematic.",
        "各体征的来源与口径见同名 XLSX 文件的“指标 Indicators”表。 The source of each sign is "
        "in the “指标 Indicators” sheet of the XLSX of the same name.",
        "本报告内嵌 Noto Sans CJK SC 字体的子集（SIL Open Font License 1.1）。 This report "
        "embeds a subset of Noto Sans CJK SC (SIL Open Font License 1.1).",
    ]
    return [
        CondPageBreak(60 * mm),
        _p("说明 Notes", styles["h2"]),
        *(_p(line, styles["small"]) for line in lines),
    ]


def _grid_style(row_count: int) -> TableStyle:
    return TableStyle(
        [
            ("BACKGROUND", (0, 0), (-1, 0), HEADER_FILL),
            ("GRID", (0, 0), (-1, -1), 0.4, RULE),
            ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ("TOPPADDING", (0, 0), (-1, -1), 3),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
            *(
                ("BACKGROUND", (0, i), (-1, i), colors.HexColor("#FAFAFA"))
                for i in range(2, row_count, 2)
            ),
        ]
    )


def _footer(report: HealthCheckReport, font: str) -> Any:
    title = printable(f"{report.title_zh} · {report.title_en}")

    def draw(canvas: Canvas, document: Any) -> None:
        canvas.saveState()
        canvas.setFont(font, 7.5)
        canvas.setFillColor(MUTED)
        canvas.setStrokeColor(RULE)
        canvas.line(MARGIN, MARGIN, A4[0] - MARGIN, MARGIN)
        canvas.drawString(MARGIN, MARGIN - 10, title)
        canvas.drawRightString(A4[0] - MARGIN, MARGIN - 10, f"第 {document.page} 页")
        canvas.restoreState()

    return draw
