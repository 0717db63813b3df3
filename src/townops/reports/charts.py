"""The report's charts, drawn with reportlab.graphics in the shipped CJK font.

Signs of one dimension have different units (a rate beside a count of cases), so each
sign gets its own small chart — last year, this year, target — rather than one axis
shared by numbers that cannot be compared.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from reportlab.graphics.charts.barcharts import HorizontalBarChart, VerticalBarChart
from reportlab.graphics.charts.textlabels import NA_Label
from reportlab.graphics.shapes import Drawing, Rect, String
from reportlab.lib import colors
from reportlab.pdfbase.pdfmetrics import stringWidth

from townops.reports.font import printable, register_font
from townops.reports.formatting import format_number, is_rate, scaled, unit_label
from townops.reports.health_check import STATUS_NAMES, STATUSES, DimensionSection, IndicatorRow
from townops.signs import Status

STATUS_COLOURS: dict[Status, colors.Color] = {
    "green": colors.HexColor("#2E9E4F"),
    "yellow": colors.HexColor("#E6A700"),
    "red": colors.HexColor("#D64541"),
    "none": colors.HexColor("#BFBFBF"),
}
PREVIOUS_COLOUR = colors.HexColor("#9DB2C8")
TARGET_COLOUR = colors.HexColor("#FFFFFF")
TARGET_EDGE = colors.HexColor("#404040")
INK = colors.HexColor("#262626")
MUTED = colors.HexColor("#737373")
_GLOSS = re.compile(r"[（(].*?[）)]")


def swatch(
    x: float,
    y: float,
    width: float,
    height: float,
    fill: colors.Color,
    *,
    edge: colors.Color | None = None,
    dashed: bool = False,
) -> Rect:
    """A coloured box for a legend."""
    rect = Rect(x, y, width, height)
    rect.fillColor, rect.strokeColor, rect.strokeWidth = fill, edge, 0.6
    if dashed:
        rect.strokeDashArray = (2, 1.5)
    return rect


def short_dimension(name_zh: str) -> str:
    """A dimension's name without its bracketed gloss: "基层治理（接诉即办…）" → "基层治理"."""
    return printable(_GLOSS.sub("", name_zh).strip() or name_zh)


def fit_lines(text: str, font_size: float, width: float, max_lines: int = 2) -> list[str]:
    """Break ``text`` into lines no wider than ``width``; the last one ends in … if cut."""
    font = register_font()
    lines: list[str] = []
    current = ""
    for ch in text:
        if stringWidth(current + ch, font, font_size) > width:
            lines.append(current)
            current = ch
        else:
            current += ch
    lines.append(current)
    if len(lines) > max_lines:
        last = lines[max_lines - 1]
        while last and stringWidth(last + "…", font, font_size) > width:
            last = last[:-1]
        lines = [*lines[: max_lines - 1], last + "…"]
    return lines


def indicator_chart(
    row: IndicatorRow, *, year: int, width: float = 164, height: float = 126
) -> Drawing:
    """Three bars: last year, this year (in its status colour) and the target (outlined)."""
    font = register_font()
    drawing = Drawing(width, height)
    badge = 24  # the status, top right, beside the title
    title = fit_lines(printable(row.name_zh), 8, width - badge - 6)
    for index, line in enumerate(title):
        drawing.add(
            String(2, height - 9 - index * 10, line, fontName=font, fontSize=8, fillColor=INK)
        )
    drawing.add(swatch(width - badge, height - 11, badge, 11, STATUS_COLOURS[row.status]))
    status_zh = STATUS_NAMES[row.status][0]
    drawing.add(
        String(width - badge / 2, height - 8.5, status_zh, fontName=font, fontSize=7,
               fillColor=colors.white, textAnchor="middle")
    )  # fmt: skip
    unit = printable(f"单位：{unit_label(row.unit)}") if row.unit else ""
    drawing.add(String(2, height - 31, unit, fontName=font, fontSize=6.5, fillColor=MUTED))
    if row.value is None and row.previous is None and row.target is None:
        _no_data(drawing, width=width, height=height - 40)
    else:
        drawing.add(_bars(row, year=year, width=width, plot_height=height - 56))
    return drawing


def _no_data(drawing: Drawing, *, width: float, height: float) -> None:
    # An empty axis would suggest zeros; say plainly that there is nothing to draw.
    drawing.add(swatch(30, 12, width - 38, height - 12, colors.HexColor("#F5F5F5"),
                       edge=colors.HexColor("#D9D9D9"), dashed=True))  # fmt: skip
    drawing.add(
        String(30 + (width - 38) / 2, 6 + height / 2, "无数据 no data", fontName=register_font(),
               fontSize=8, fillColor=MUTED, textAnchor="middle")
    )  # fmt: skip


def _bars(row: IndicatorRow, *, year: int, width: float, plot_height: float) -> VerticalBarChart:
    font = register_font()
    chart = VerticalBarChart()
    chart.x, chart.y, chart.width, chart.height = 30, 18, int(width - 38), int(plot_height)
    values = [scaled(v, row.unit) for v in (row.previous, row.value, row.target)]
    chart.data = [values]
    chart.categoryAxis.categoryNames = [f"{year - 1}年", f"{year}年", "目标"]
    chart.categoryAxis.labels.fontName = font
    chart.categoryAxis.labels.fontSize = 6.5
    chart.categoryAxis.labels.dy = -2
    chart.valueAxis.labels.fontName = font
    chart.valueAxis.labels.fontSize = 6
    suffix = "%" if is_rate(row.unit) else ""
    chart.valueAxis.labelTextFormat = lambda v: format_number(v) + suffix
    chart.valueAxis.forceZero = True
    chart.valueAxis.visibleGrid = True
    chart.valueAxis.gridStrokeColor = colors.HexColor("#E5E5E5")
    chart.valueAxis.maximumTicks = 5
    known = [v for v in values if v is not None]
    if not known or max(known) <= 0:
        chart.valueAxis.valueMin, chart.valueAxis.valueMax = 0, (100 if suffix else 1)
    chart.barWidth = 14
    chart.groupSpacing = 12
    chart.bars.strokeColor = None
    fills = (PREVIOUS_COLOUR, STATUS_COLOURS[row.status], TARGET_COLOUR)
    for index, fill in enumerate(fills):
        chart.bars[(0, index)].fillColor = fill
    chart.bars[(0, 2)].strokeColor = TARGET_EDGE
    chart.bars[(0, 2)].strokeWidth = 0.6
    chart.bars[(0, 2)].strokeDashArray = (2, 1.5)
    chart.barLabelFormat = lambda v: format_number(round(v, 1) if suffix else v) + suffix
    chart.barLabels.fontName = font
    chart.barLabels.fontSize = 6.5
    chart.barLabels.nudge = 5
    # A missing bar is no data, or no target: a dash says both; the table says which.
    chart.naLabel = NA_Label()
    chart.naLabel.text = "—"
    chart.naLabel.fontName = font
    chart.naLabel.fontSize = 8
    chart.naLabel.fillColor = MUTED
    chart.naLabel.dy = 6
    return chart


def status_overview(
    sections: Sequence[DimensionSection], *, width: float = 480, bar_height: int = 16
) -> Drawing:
    """One stacked bar per dimension: how many of its signs are green, yellow, red, unrated."""
    font = register_font()
    names = [short_dimension(s.dimension.name_zh) for s in sections] or ["—"]
    label_width = int(min(max(stringWidth(n, font, 9) for n in names) + 12, width * 0.35))
    height = max(len(sections), 1) * (bar_height + 8) + 56
    drawing = Drawing(width, height)
    chart = HorizontalBarChart()
    chart.x, chart.y = label_width, 40
    chart.width, chart.height = int(width - label_width - 20), int(height - 52)
    data = [[s.counts[status] for s in sections] or [0] for status in STATUSES]
    chart.data = data
    chart.categoryAxis.categoryNames = names
    chart.categoryAxis.reverseDirection = True  # first dimension on top
    chart.categoryAxis.style = "stacked"
    chart.categoryAxis.labels.fontName = font
    chart.categoryAxis.labels.fontSize = 9
    chart.categoryAxis.labels.dx = -4
    chart.valueAxis.labels.fontName = font
    chart.valueAxis.labels.fontSize = 8
    chart.valueAxis.valueMin = 0
    chart.valueAxis.forceZero = True
    chart.valueAxis.valueStep = _step(max((len(s.rows) for s in sections), default=1))
    chart.valueAxis.visibleGrid = True
    chart.valueAxis.gridStrokeColor = colors.HexColor("#E5E5E5")
    chart.barWidth = bar_height
    chart.bars.strokeColor = colors.white
    chart.bars.strokeWidth = 0.5
    for index, status in enumerate(STATUSES):
        chart.bars[index].fillColor = STATUS_COLOURS[status]
    chart.barLabelFormat = lambda v: f"{v:.0f}" if v else ""
    chart.barLabels.fontName = font
    chart.barLabels.fontSize = 7.5
    chart.barLabels.fillColor = colors.white
    chart.barLabels.boxTarget = "mid"
    drawing.add(chart)
    _status_legend(drawing, x=label_width, y=8)
    return drawing


def _step(largest: int) -> int:
    for step in (1, 2, 5, 10, 20, 50):
        if largest / step <= 8:
            return step
    return 100


def _status_legend(drawing: Drawing, *, x: float, y: float) -> None:
    font = register_font()
    for status in STATUSES:
        zh, en = STATUS_NAMES[status]
        drawing.add(swatch(x, y, 9, 9, STATUS_COLOURS[status]))
        label = f"{zh} {en}"
        drawing.add(String(x + 12, y + 1.5, label, fontName=font, fontSize=8, fillColor=INK))
        x += 24 + stringWidth(label, font, 8)


def chart_legend(*, year: int, width: float = 480) -> Drawing:
    """The key to the small charts: which bar is which."""
    font = register_font()
    drawing = Drawing(width, 14)
    x = 0.0
    keys = (
        (f"{year - 1} 年", PREVIOUS_COLOUR, None),
        (f"{year} 年（按状态着色）", STATUS_COLOURS["green"], None),
        ("目标", TARGET_COLOUR, TARGET_EDGE),
    )
    for label, fill, edge in keys:
        drawing.add(swatch(x, 2, 10, 9, fill, edge=edge, dashed=edge is not None))
        drawing.add(String(x + 13, 3.5, label, fontName=font, fontSize=8, fillColor=INK))
        x += 28 + stringWidth(label, font, 8)
    return drawing
