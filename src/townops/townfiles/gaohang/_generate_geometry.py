"""Generate ``jurisdictions.geojson`` for Gaohang Town (高行镇) — run by hand, not imported.

    python src/townops/townfiles/gaohang/_generate_geometry.py \\
        ../shared/data/shanghai-admin-divisions/gaohang_town_juweihui_nbs2021.csv \\
        --sectors ../shared/data/gaohang-osm/gaohang_sectors.geojson

The output is deterministic: the same inputs give the same file, byte for byte.

What is real and what is not:

* Real: the town code 310115121 and the 37 residents' / villagers' committees with their
  official 12-digit codes and names (NBS 统计用区划代码 2021, read from the CSV); the estate
  names used for some micro-grids (they appear in the town's newsletters and its 2022
  government work report, ``/work/shared/seeds``); the town's outline, which is the union of
  the 高行 and 森兰 sectors of ``gaohang_sectors.geojson`` (OpenStreetMap, admin relation
  14179185 cut along road and waterway centrelines: © OpenStreetMap contributors, ODbL 1.0;
  close to, but not, the legal boundary).
* Approximate: no public boundary exists for the town's committees. Inside the real outline
  they are Voronoi cells of 37 seeds laid out by ``ROWS``: the outline is cut into 7
  horizontal bands of equal area per committee (row 1 the northernmost), each band into
  equal-area columns west to east, and each piece's inner point is a seed. So a committee
  lies roughly where its cluster lies (森兰 north, 东沟 south), nothing more.
* Invented: micro-grids (3 per committee: Voronoi cells of three seeds spread along the
  committee's longer side) and buildings (2 per micro-grid, as points); which committee an
  estate belongs to is a plausible guess except for 迎亭公寓 (高行居民区, stated in seed 000).

The committees tile the outline and the micro-grids tile their committee, with no gap or
overlap: every cell is a union of faces polygonized from one noded set of lines, so
neighbours share their edges vertex for vertex (``tests/townfiles/test_geometry.py``).
"""

from __future__ import annotations

import argparse
import csv
import json
import math
from itertools import pairwise
from pathlib import Path
from typing import Any

from shapely import set_precision, transform, voronoi_polygons
from shapely.geometry import LineString, MultiPoint, Point, Polygon, box, mapping, shape
from shapely.geometry.base import BaseGeometry
from shapely.ops import polygonize, unary_union

TOWN_CODE = "310115121"
# Committee codes (last three digits), row by row from north to south, west to east.
ROWS: list[list[str]] = [
    ["022", "027", "028", "030", "032", "033"],  # 森兰 cluster
    ["034", "029", "031", "035", "206"],
    ["021", "023", "024", "025", "026"],  # 绿洲 cluster
    ["014", "015", "016", "017", "018"],
    ["004", "009", "012", "036", "020"],  # 高行, 南行, 南新
    ["006", "007", "008", "011", "019"],  # 华高 cluster
    ["001", "002", "003", "005", "010", "013"],  # 东沟 cluster
]

NAME_EN: dict[str, str] = {
    "001": "Donggou No.1",
    "002": "Donggou No.2",
    "003": "Donggou No.4",
    "004": "Gaohang",
    "005": "Donggou",
    "006": "Huagao",
    "007": "Huagao Xincun No.3",
    "008": "Huagao Xincun No.2",
    "009": "Gaohang Xincun No.2",
    "010": "Donggou Xincun No.3",
    "011": "Huagao Xincun No.4",
    "012": "Nanhang",
    "013": "Dongli Xincun",
    "014": "Zicui",
    "015": "Yinxing",
    "016": "Pujiang",
    "017": "Lüdi",
    "018": "Xingfu Xiaozhen",
    "019": "Huating",
    "020": "Nanxin",
    "021": "Lüzhou No.1",
    "022": "Senlan Jindi",
    "023": "Lüzhou No.2",
    "024": "Lüzhou No.3",
    "025": "Lüzhou No.4",
    "026": "Dongxu",
    "027": "Senlan Haihong",
    "028": "Senlan Shangcheng",
    "029": "Haiyun",
    "030": "Senlan Lücheng",
    "031": "Huijun",
    "032": "Senlan Xincheng",
    "033": "Senlan Renheng",
    "034": "Senlan Mingxuan",
    "035": "Gaoshen",
    "036": "Nanhang No.2",
    "206": "Zhouqiao",
}

# How the seeds (or residents) also write some committees' names.
EXTRA_ALIASES: dict[str, list[str]] = {
    "004": ["高行居民区"],
    "007": ["华高第三居民区", "华高三居"],
    "008": ["华高第二居民区", "华高二居"],  # seed 000: 华高第二居民区
    "009": ["高行第二居民区", "高行二居"],
    "010": ["东沟三居"],  # seed 004: 东沟三居文化体育公园
    "011": ["华高第四居民区", "华高四居"],
    "036": ["南行第二居民委员会"],  # seed 004: 新建南行第二居民委员会
}

# Estates named in the seeds, given to micro-grids G01, G02 … of a committee.
ESTATES: dict[str, list[tuple[str, str]]] = {
    "004": [("迎亭公寓", "Yingting Apartments"), ("高行家园", "Gaohang Jiayuan")],
    "006": [("华高一村", "Huagao Yicun")],
    "008": [("华高二村", "Huagao Ercun")],
    "013": [("东靖苑", "Dongjing Garden")],
    "016": [("浦煤新村", "Pumei Xincun")],
    "019": [("华高庭园", "Huagao Tingyuan")],
    "021": [("和欣小区", "Hexin Estate")],
    "023": [("和韵小区", "Heyun Estate")],
    "026": [("浦江东旭公寓", "Pujiang Dongxu Apartments")],
    "035": [("高弘家园", "Gaohong Jiayuan"), ("高海家园", "Gaohai Jiayuan")],
    "036": [("高宜家园", "Gaoyi Jiayuan")],
}

NOTE = (
    "Approximate geometry for a demo. The town polygon is the real outline of Gaohang "
    "(the union of the 高行 and 森兰 sectors derived from OpenStreetMap admin relation "
    "14179185; © OpenStreetMap contributors, ODbL 1.0; close to, not, the legal boundary). "
    "No public boundaries exist for the residents' committees: they are Voronoi cells of "
    "seeds laid out row by row (森兰 north, 东沟 south), clipped to the outline; where each "
    "committee lies is only indicative. Town and committee codes and names are official "
    "(NBS 2021); micro-grids and buildings are invented. Generated by _generate_geometry.py."
)

# The two sectors of the OSM-derived partition whose union is the town.
TOWN_SECTORS = ("高行", "森兰")
# Coordinates are written with 6 decimals (about 0.1 m).
DECIMALS = 6
# Voronoi needs equal units on both axes: longitude is scaled by cos(latitude) of the town.
K = math.cos(math.radians(31.31))


def read_outline(sectors_path: Path) -> Polygon:
    """The town: the union of its OSM sectors, its coordinates rounded as they are written."""
    sectors = json.loads(sectors_path.read_text(encoding="utf-8"))
    parts = [
        shape(f["geometry"]) for f in sectors["features"] if f["properties"]["name"] in TOWN_SECTORS
    ]
    if len(parts) != len(TOWN_SECTORS):
        raise SystemExit(f"{sectors_path} does not hold the sectors {TOWN_SECTORS}")
    town = unary_union(parts)
    if not isinstance(town, Polygon) or len(town.interiors):
        raise SystemExit("the union of the town's sectors is not one polygon without holes")
    # Snapped to the written precision by GEOS, which keeps it valid (plain rounding would
    # cross a thin spike where the two sectors meet).
    outline = set_precision(town, 10**-DECIMALS).normalize()
    if not isinstance(outline, Polygon) or not outline.is_valid:
        raise SystemExit("the rounded outline is not a valid polygon")
    return outline


# ------------------------------------------------------------------ equal-area cuts


def _cut(area: BaseGeometry, lower: float, upper: float, axis: int, share: float) -> float:
    """The coordinate (x for axis 0, y for 1) below which ``share`` of ``area`` lies."""
    west, south, east, north = area.bounds
    for _ in range(60):
        middle = (lower + upper) / 2
        part = box(west, south, middle, north) if axis == 0 else box(west, south, east, middle)
        if area.intersection(part).area < share * area.area:
            lower = middle
        else:
            upper = middle
    return (lower + upper) / 2


def _strips(area: BaseGeometry, weights: list[int], axis: int) -> list[BaseGeometry]:
    """``area`` cut across ``axis`` into strips whose areas follow ``weights``, from the low
    end (west, or south) up."""
    west, south, east, north = area.bounds
    low, high = (west, east) if axis == 0 else (south, north)
    edges, total, running = [low], sum(weights), 0
    for weight in weights[:-1]:
        running += weight
        edges.append(_cut(area, low, high, axis, running / total))
    edges.append(high)
    strips = []
    for a, b in pairwise(edges):
        piece = box(a, south, b, north) if axis == 0 else box(west, a, east, b)
        strips.append(area.intersection(piece))
    return strips


def _inner_point(area: BaseGeometry) -> Point:
    """A point well inside ``area`` (its largest part when it comes in pieces)."""
    parts = list(getattr(area, "geoms", [area]))
    largest = max(parts, key=lambda p: p.area)
    centroid = largest.centroid
    return centroid if largest.contains(centroid) else largest.representative_point()


# ------------------------------------------------------------------ partitions
#
# Every polygon written is a union of faces of ONE planar graph: the outline, the
# committees' Voronoi edges and the micro-grids' Voronoi edges, noded together and
# snap-rounded to the written precision. So the committees tile the town and the
# micro-grids tile their committee exactly, vertex for vertex, and writing rounds nothing.


def _to_plane(geometry: BaseGeometry) -> BaseGeometry:
    return transform(geometry, lambda xy: xy * [K, 1.0])


def _to_degrees(geometry: BaseGeometry) -> BaseGeometry:
    return transform(geometry, lambda xy: xy / [K, 1.0])


def _voronoi_edges(seeds: list[Point], around: BaseGeometry) -> BaseGeometry:
    """The seeds' Voronoi edges in degrees, each once, reaching well beyond ``around``."""
    plane = MultiPoint([_to_plane(p) for p in seeds])
    extent = _to_plane(around).buffer(0.05)
    return _to_degrees(voronoi_polygons(plane, extend_to=extent, only_edges=True))


def _faces(lines: list[BaseGeometry], area: Polygon) -> list[Polygon]:
    """The faces inside ``area`` of the lines noded together on the written grid."""
    noded = set_precision(unary_union(lines), 10**-DECIMALS)
    return [f for f in polygonize(noded) if area.contains(f.representative_point())]


def _nearest(face: Polygon, seeds: list[Point]) -> int:
    # A face lies in the cell of the seed nearest to it: that is what a Voronoi cell is.
    here = _to_plane(face.representative_point())
    return min(range(len(seeds)), key=lambda i: here.distance(_to_plane(seeds[i])))


def _assign(faces: list[Polygon], seeds: list[Point]) -> list[list[Polygon]]:
    owned: list[list[Polygon]] = [[] for _ in seeds]
    for face in faces:
        owned[_nearest(face, seeds)].append(face)
    return _without_strays(owned, seeds)


def _without_strays(owned: list[list[Polygon]], seeds: list[Point]) -> list[list[Polygon]]:
    """A cell's piece cut off from its seed (where a cell reaches round a bend of the
    outline) goes to the neighbour it shares most border with."""
    while True:
        merged = [unary_union(faces) for faces in owned]
        stray = next(
            (
                (i, face)
                for i, faces in enumerate(owned)
                if merged[i].geom_type != "Polygon"
                for face in faces
                if not _piece_holding(merged[i], seeds[i]).covers(face)
            ),
            None,
        )
        if stray is None:
            return owned
        i, face = stray
        border = [
            face.boundary.intersection(m.boundary).length if j != i else -1.0
            for j, m in enumerate(merged)
        ]
        owned[i].remove(face)
        owned[border.index(max(border))].append(face)


def _piece_holding(cell: BaseGeometry, seed: Point) -> BaseGeometry:
    parts = list(getattr(cell, "geoms", [cell]))
    holding = [p for p in parts if p.distance(seed) < 1e-9]
    return holding[0] if holding else max(parts, key=lambda p: p.area)


def committee_seeds(outline: Polygon) -> dict[str, Point]:
    """One seed per committee (by code suffix), laid out by ``ROWS``: the outline cut into
    bands of equal area per committee, north to south, each band into equal-area columns."""
    sizes = [len(row) for row in ROWS]
    # Strips are cut from the south up; ROWS lists the rows north to south.
    bands = list(reversed(_strips(outline, list(reversed(sizes)), axis=1)))
    seeds: dict[str, Point] = {}
    for row, band in zip(ROWS, bands, strict=True):
        for suffix, piece in zip(row, _strips(band, [1] * len(row), axis=0), strict=True):
            seeds[suffix] = _inner_point(piece)
    return seeds


def grid_seeds(committee: BaseGeometry) -> list[Point]:
    """Three seeds spread along a committee's longer side (west to east, or south to north)."""
    west, south, east, north = committee.bounds
    axis = 0 if (east - west) * K >= north - south else 1
    return [_inner_point(s) for s in _strips(committee, [1, 1, 1], axis=axis)]


def tessellate(outline: Polygon) -> dict[str, list[Polygon]]:
    """The three micro-grids of every committee (by code suffix); a committee is the union
    of its micro-grids, the town the union of the committees."""
    seeds = committee_seeds(outline)
    suffixes, points = list(seeds), list(seeds.values())
    edges = _voronoi_edges(points, outline)
    cells = [unary_union(f) for f in _assign(_faces([edges, outline.boundary], outline), points)]
    inner = [grid_seeds(cell) for cell in cells]
    # A micro-grid edge is clipped a little beyond its committee: the overshoot is a dangle
    # that polygonizing drops, and the edge's end is noded onto the committee's border.
    grid_edges = [
        _voronoi_edges(g, cell).intersection(cell.buffer(1e-5))
        for g, cell in zip(inner, cells, strict=True)
    ]
    faces = _faces([edges, outline.boundary, *grid_edges], outline)
    per_committee: list[list[Polygon]] = [[] for _ in cells]
    for face in faces:
        inside = face.representative_point()
        per_committee[min(range(len(cells)), key=lambda i: cells[i].distance(inside))].append(face)
    return {
        suffix: [_as_polygon(unary_union(f)) for f in _assign(per_committee[i], inner[i])]
        for i, suffix in enumerate(suffixes)
    }


def _as_polygon(geometry: BaseGeometry) -> Polygon:
    if not isinstance(geometry, Polygon):
        raise SystemExit(f"a cell came out as a {geometry.geom_type}, not one polygon")
    return geometry


def building_points(grid: Polygon) -> list[Point]:
    """Two points inside a micro-grid, on a diagonal (so their names do not collide on the
    map): a third of the way across its crossing a third of the way up, and two thirds of
    the way across its crossing two thirds of the way up."""
    west, south, east, north = grid.bounds
    points = []
    for fraction in (1 / 3, 2 / 3):
        y = south + (north - south) * fraction
        crossing = LineString([(west - 1, y), (east + 1, y)]).intersection(grid)
        longest = max(getattr(crossing, "geoms", [crossing]), key=lambda c: c.length)
        p = longest.interpolate(fraction, normalized=True)
        rounded = Point(round(p.x, DECIMALS), round(p.y, DECIMALS))
        if not grid.contains(rounded):
            raise SystemExit("a building point fell outside its micro-grid")
        points.append(rounded)
    return points


# ------------------------------------------------------------------ GeoJSON


def _rounded(geometry: BaseGeometry) -> dict[str, Any]:
    def walk(value: Any) -> Any:
        if isinstance(value, float):
            return round(value, DECIMALS)
        return [walk(v) for v in value]

    plain = mapping(geometry.normalize())
    return {"type": plain["type"], "coordinates": walk(plain["coordinates"])}


def _feature(properties: dict[str, Any], geometry: dict[str, Any]) -> dict[str, Any]:
    return {"type": "Feature", "properties": properties, "geometry": geometry}


def read_committees(csv_path: Path) -> dict[str, str]:
    """Official names by the last three digits of the code, from the NBS CSV."""
    committees: dict[str, str] = {}
    with csv_path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            code = row["village_code"]
            if not code.startswith(TOWN_CODE):
                raise SystemExit(f"{code} is not in town {TOWN_CODE}")
            committees[code[len(TOWN_CODE) :]] = row["village_name"]
    placed = sorted(suffix for row in ROWS for suffix in row)
    if sorted(committees) != placed:
        raise SystemExit(f"the CSV does not list the 37 expected committees: {sorted(committees)}")
    return committees


def short_name(official: str) -> str:
    """东沟一居委会 -> 东沟一, 周桥村村委会 -> 周桥村."""
    for suffix in ("村委会", "居委会"):
        if official.endswith(suffix):
            base = official[: -len(suffix)]
            return base + "村" if suffix == "村委会" and not base.endswith("村") else base
    return official


def build(committees: dict[str, str], outline: Polygon) -> dict[str, Any]:
    tiles = tessellate(outline)
    # The town is the union of its committees: the OSM outline, plus the few vertices where
    # a committee's edge meets it (each within half a unit of the last decimal of it).
    town = _as_polygon(unary_union([g for grids in tiles.values() for g in grids]))
    features = [
        _feature(
            {
                "code": TOWN_CODE,
                "name_zh": "高行镇",
                "name_en": "Gaohang Town",
                "level": "town",
                "parent": None,
                "aliases": ["高行"],
                "official_code": True,
            },
            _rounded(town),
        )
    ]
    committee_features: list[dict[str, Any]] = []
    lower: list[dict[str, Any]] = []
    for suffix, grids in tiles.items():
        cell = _as_polygon(unary_union(grids))
        code = TOWN_CODE + suffix
        official = committees[suffix]
        base = short_name(official)
        is_village = official.endswith("村委会")
        aliases = [base] if is_village else [base + "居民区", base]
        aliases += EXTRA_ALIASES.get(suffix, [])
        kind = "Village" if is_village else "Community"
        committee_features.append(
            _feature(
                {
                    "code": code,
                    "name_zh": official,
                    "name_en": f"{NAME_EN[suffix]} {kind}",
                    "level": "community",
                    "parent": TOWN_CODE,
                    "aliases": aliases,
                    "official_code": True,
                },
                _rounded(cell),
            )
        )
        lower += _micro_grids(suffix, code, base, grids)
    # Committees in code order, then each micro-grid followed by its buildings.
    committee_features.sort(key=lambda f: str(f["properties"]["code"]))
    lower.sort(key=lambda f: str(f["properties"]["code"]))
    features += committee_features + lower
    return {"type": "FeatureCollection", "note": NOTE, "features": features}


def _micro_grids(suffix: str, code: str, base: str, cells: list[Polygon]) -> list[dict[str, Any]]:
    estates = ESTATES.get(suffix, [])
    grids: list[dict[str, Any]] = []
    buildings: list[dict[str, Any]] = []
    for g, grid in enumerate(cells, start=1):
        g_code = f"{code}-G{g:02d}"
        if g <= len(estates):
            place_zh, place_en = estates[g - 1]
            aliases = [place_zh, f"{base}第{g}微网格"]
        else:
            place_zh, place_en = base, NAME_EN[suffix]
            aliases = [f"{base}居民区第{g}微网格"] if not base.endswith("村") else []
        grids.append(
            _feature(
                {
                    "code": g_code,
                    "name_zh": f"{place_zh}第{g}微网格",
                    "name_en": f"{place_en} Micro-grid {g}",
                    "level": "micro_grid",
                    "parent": code,
                    "aliases": aliases,
                },
                _rounded(grid),
            )
        )
        for b, point in enumerate(building_points(grid), start=1):
            number = 10 * (g - 1) + 4 * b + int(suffix) % 3 + 1
            buildings.append(
                _feature(
                    {
                        "code": f"{g_code}-B{b:02d}",
                        "name_zh": f"{number}号楼",
                        "name_en": f"Building {number}",
                        "level": "building",
                        "parent": g_code,
                        "aliases": [f"{place_zh}{number}号楼", f"{place_zh}{number}号"],
                    },
                    {"type": "Point", "coordinates": [point.x, point.y]},
                )
            )
    return grids + buildings


def render(collection: dict[str, Any]) -> str:
    """One feature per line: readable diffs, and a feature's line is easy to find."""

    def dumps(value: Any) -> str:
        return json.dumps(value, ensure_ascii=False)

    features = ",\n".join(dumps(feature) for feature in collection["features"])
    return (
        "{\n"
        f'"type": {dumps(collection["type"])},\n'
        f'"note": {dumps(collection["note"])},\n'
        f'"features": [\n{features}\n]\n'
        "}\n"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("csv", type=Path, help="gaohang_town_juweihui_nbs2021.csv")
    parser.add_argument(
        "--sectors",
        type=Path,
        default=Path("../shared/data/gaohang-osm/gaohang_sectors.geojson"),
        help="the OSM-derived sectors; the town is the union of 高行 and 森兰",
    )
    parser.add_argument(
        "-o",
        "--output",
        type=Path,
        default=Path(__file__).with_name("jurisdictions.geojson"),
    )
    args = parser.parse_args()
    collection = build(read_committees(args.csv), read_outline(args.sectors))
    args.output.write_text(render(collection), encoding="utf-8")
    print(f"wrote {len(collection['features'])} features to {args.output}")


if __name__ == "__main__":
    main()
