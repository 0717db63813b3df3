"""The vital-signs map (城市体征图): each area drawn from its GeoJSON geometry, coloured by
the share of its signs that are yellow or red, with a legend.

Longitude and latitude are projected equirectangularly around the middle latitude: at the
scale of a town (a few kilometres) the distortion is far below what the eye sees.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from reportlab.graphics.shapes import Drawing, Group, Polygon, String
from reportlab.lib import colors
from reportlab.pdfbase.pdfmetrics import stringWidth
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from townops.reports.charts import INK, MUTED, swatch
from townops.reports.font import printable, register_font
from townops.reports.health_check import Area


@dataclass(frozen=True)
class ShareClass:
    upper: float  # the class holds shares below this
    colour: colors.Color
    label: str
    dark: bool = False  # white labels on it


SHARE_CLASSES = (
    ShareClass(0.10, colors.HexColor("#CDE9C6"), "< 10%"),
    ShareClass(0.25, colors.HexColor("#FEE08B"), "10% – 25%"),
    ShareClass(0.40, colors.HexColor("#FC8D59"), "25% – 40%"),
    ShareClass(math.inf, colors.HexColor("#D73027"), "≥ 40%", dark=True),
)
NO_DATA = colors.HexColor("#E0E0E0")
_SUFFIXES = re.compile(r"(居民委员会|居委会|村民委员会|村委会|居民区|社区)$")


def share_class(share: float | None) -> ShareClass | None:
    if share is None:
        return None
    return next(c for c in SHARE_CLASSES if share < c.upper)


def short_name(name_zh: str) -> str:
    """The name as a map label: "东沟一居委会" → "东沟一"."""
    return _SUFFIXES.sub("", name_zh) or name_zh


def mapped_areas(areas: Sequence[Area]) -> list[tuple[Area, BaseGeometry]]:
    """The areas that have a polygon to draw, with their shapes."""
    drawn = []
    for area in areas:
        geometry = area.geometry or {}
        if geometry.get("type") in ("Polygon", "MultiPolygon"):
            drawn.append((area, shape(geometry)))
    return drawn


def vital_signs_map(areas: Sequence[Area], *, width: float = 480, height: float = 520) -> Drawing:
    drawing = Drawing(width, height)
    shapes = mapped_areas(areas)
    legend_height = 46
    if not shapes:
        drawing.add(_text(width / 2, height / 2, "无可绘制的边界 / no boundaries to draw", 10))
        return drawing
    project = _projection(shapes, width - 28, height, bottom=legend_height)  # room: north arrow
    for area, geometry in shapes:
        drawing.add(_area_group(area, geometry, project))
    for area, geometry in shapes:
        _label(drawing, area, geometry, project)
    _legend(drawing, width=width)
    _north_arrow(drawing, x=width - 14, y=height - 30)
    return drawing


Projector = Any  # (lon, lat) -> (x, y)


def _projection(
    shapes: list[tuple[Area, BaseGeometry]], width: float, height: float, *, bottom: float
) -> Projector:
    height -= bottom
    bounds = [g.bounds for _, g in shapes]
    min_lon, min_lat = min(b[0] for b in bounds), min(b[1] for b in bounds)
    max_lon, max_lat = max(b[2] for b in bounds), max(b[3] for b in bounds)
    shrink = math.cos(math.radians((min_lat + max_lat) / 2))
    span_x = max((max_lon - min_lon) * shrink, 1e-9)
    span_y = max(max_lat - min_lat, 1e-9)
    scale = min((width - 8) / span_x, (height - 8) / span_y)
    offset_x = (width - span_x * scale) / 2
    offset_y = bottom + (height - span_y * scale) / 2

    def project(lon: float, lat: float) -> tuple[float, float]:
        return offset_x + (lon - min_lon) * shrink * scale, offset_y + (lat - min_lat) * scale

    return project


def _rings(geometry: BaseGeometry) -> Iterator[tuple[list[tuple[float, float]], bool]]:
    polygons = getattr(geometry, "geoms", [geometry])
    for polygon in polygons:
        yield list(polygon.exterior.coords), True
        for interior in polygon.interiors:
            yield list(interior.coords), False


def _area_group(area: Area, geometry: BaseGeometry, project: Projector) -> Group:
    found = share_class(area.alert_share)
    fill = found.colour if found else NO_DATA
    group = Group()
    for ring, outer in _rings(geometry):
        points = [coordinate for lon, lat in ring for coordinate in project(lon, lat)]
        group.add(
            Polygon(
                points,
                fillColor=fill if outer else colors.white,
                strokeColor=colors.white,
                strokeWidth=1.2,
            )
        )
    return group


def _label(drawing: Drawing, area: Area, geometry: BaseGeometry, project: Projector) -> None:
    min_x, _ = project(geometry.bounds[0], geometry.bounds[1])
    max_x, _ = project(geometry.bounds[2], geometry.bounds[3])
    anchor = geometry.representative_point()
    x, y = project(anchor.x, anchor.y)
    found = share_class(area.alert_share)
    ink = colors.white if found and found.dark else INK
    name = printable(short_name(area.name_zh))
    size = 7.5
    while size > 5 and stringWidth(name, register_font(), size) > (max_x - min_x) - 4:
        size -= 0.5
    share = area.alert_share
    figure = "—" if share is None else f"{share:.0%}"
    drawing.add(_text(x, y + 1, name, size, ink))
    drawing.add(_text(x, y - size, figure, size - 1, ink))


def _legend(drawing: Drawing, *, width: float) -> None:
    font = register_font()
    title = "黄、红体征占比（已评价体征中）/ share of yellow and red signs"
    drawing.add(String(0, 30, title, fontName=font, fontSize=8, fillColor=INK))
    x = 0.0
    keys = [(c.colour, c.label) for c in SHARE_CLASSES] + [(NO_DATA, "无数据 no data")]
    for fill, label in keys:
        drawing.add(swatch(x, 12, 16, 10, fill, edge=colors.white))
        drawing.add(String(x + 20, 14, label, fontName=font, fontSize=8, fillColor=INK))
        x += 34 + stringWidth(label, font, 8)
    note = "示意图：边界为近似 / schematic, approximate boundaries"
    drawing.add(
        String(width, 0, note, fontName=font, fontSize=6.5, fillColor=MUTED, textAnchor="end")
    )


def _north_arrow(drawing: Drawing, *, x: float, y: float) -> None:
    drawing.add(Polygon([x - 5, y, x, y + 14, x + 5, y], fillColor=INK, strokeColor=None))
    drawing.add(_text(x, y - 10, "北 N", 7))


def _text(x: float, y: float, text: str, size: float, ink: colors.Color = INK) -> String:
    return String(
        x, y, text, fontName=register_font(), fontSize=size, fillColor=ink, textAnchor="middle"
    )
