"""Generate ``basemap.geojson`` for Gaohang Town (高行镇) — run by hand, not imported.

    python src/townops/townfiles/gaohang/_generate_basemap.py \\
        [--data ../shared/data/gaohang-osm] [-o src/townops/townfiles/gaohang/basemap.geojson]

The base map is what the web app draws under the town's jurisdictions so that a resident
can find a place: the town's outline, the metro lines with their stations' names and the
major road corridors with their names. It is shipped in the package and served by townops
itself (no tile server, no CDN). Every feature comes from OpenStreetMap through
``gaohang-osm`` (read its ``SOURCE.md``): © OpenStreetMap contributors, ODbL 1.0; the file
says so in its ``attribution`` member and the maps show it.

Only what a town map of a few kilometres needs is kept, so the file stays small (well
under 120 KB): features are clipped to a box around the town, each road and each metro
line is merged by name, simplified to about a metre and written with 5 decimals (about a
metre); OSM's generic names of unnamed elevated pieces (其他城市高架 …) are dropped.
The output is deterministic: the same inputs give the same file, byte for byte.

What the data lacks, and the map therefore lacks: the stations of Line 6 north of 巨峰路
(the source cut its station layer at about 31.29 N) and every ordinary street (the source
holds elevated and major corridors only).
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from shapely.geometry import LineString, MultiLineString, Point, box, shape
from shapely.geometry.base import BaseGeometry
from shapely.ops import linemerge, unary_union

ATTRIBUTION = "© OpenStreetMap contributors"
LICENCE = "ODbL 1.0"
TOWN_SECTORS = ("高行", "森兰")
# The town's box (121.556–121.628 E, 31.282–31.333 N) with about a kilometre around it.
CLIP = box(121.545, 31.272, 121.640, 31.343)
SIMPLIFY = 0.00001  # degrees: about a metre
DECIMALS = 5
# Names OSM gives to unnamed pieces of elevated road: drawn, not named.
GENERIC_NAMES = {"其他城市高架", "其他高架高速"}
# Shanghai Metro's line colours, so a resident recognises the line at a glance.
LINE_COLOURS = {"6": "#d6006f", "9": "#71c5e8", "12": "#007b63", "14": "#827a04"}


def _lines(geometry: BaseGeometry) -> list[LineString]:
    if isinstance(geometry, LineString):
        return [geometry] if not geometry.is_empty else []
    return [g for g in getattr(geometry, "geoms", []) if isinstance(g, LineString)]


def _clipped(parts: list[BaseGeometry]) -> BaseGeometry:
    """The parts merged into as few lines as they make, clipped, simplified."""
    inside = _lines(unary_union(parts).intersection(CLIP))
    if not inside:
        return MultiLineString()
    return linemerge(inside).simplify(SIMPLIFY, preserve_topology=False)


def _rounded(geometry: BaseGeometry) -> dict[str, Any] | None:
    """GeoJSON of a point or of lines, 5 decimals, degenerate pieces dropped."""
    if isinstance(geometry, Point):
        return {
            "type": "Point",
            "coordinates": [round(geometry.x, DECIMALS), round(geometry.y, DECIMALS)],
        }
    lines = []
    for line in _lines(geometry):
        coords: list[list[float]] = []
        for x, y in line.coords:
            point = [round(x, DECIMALS), round(y, DECIMALS)]
            if not coords or coords[-1] != point:
                coords.append(point)
        if len(coords) >= 2:
            lines.append(coords)
    lines.sort()
    if not lines:
        return None
    if len(lines) == 1:
        return {"type": "LineString", "coordinates": lines[0]}
    return {"type": "MultiLineString", "coordinates": lines}


def _feature(properties: dict[str, Any], geometry: dict[str, Any] | None) -> dict[str, Any] | None:
    if geometry is None:
        return None
    return {"type": "Feature", "properties": properties, "geometry": geometry}


def _read(path: Path) -> list[dict[str, Any]]:
    collection = json.loads(path.read_text(encoding="utf-8"))
    if "OpenStreetMap" not in collection.get("attribution", ""):
        raise SystemExit(f"{path} does not say it is OpenStreetMap data")
    features: list[dict[str, Any]] = collection["features"]
    return features


def outline(data: Path) -> list[dict[str, Any] | None]:
    sectors = [
        shape(f["geometry"])
        for f in _read(data / "gaohang_sectors.geojson")
        if f["properties"]["name"] in TOWN_SECTORS
    ]
    ring = unary_union(sectors).boundary.simplify(SIMPLIFY)
    return [_feature({"kind": "town", "name": "高行镇"}, _rounded(ring))]


def roads(data: Path) -> list[dict[str, Any] | None]:
    by_name: dict[str, list[BaseGeometry]] = defaultdict(list)
    for f in _read(data / "gaohang_roads.geojson"):
        name = f["properties"].get("name") or ""
        by_name["" if name in GENERIC_NAMES else name].append(shape(f["geometry"]))
    return [
        _feature({"kind": "road", "name": name or None}, _rounded(_clipped(parts)))
        for name, parts in sorted(by_name.items())
    ]


def metro(data: Path) -> list[dict[str, Any] | None]:
    by_route: dict[str, list[BaseGeometry]] = defaultdict(list)
    stations: list[dict[str, Any] | None] = []
    for f in _read(data / "gaohang_metro.geojson"):
        p = f["properties"]
        geometry = shape(f["geometry"])
        if p["kind"] == "metro_station" and CLIP.contains(geometry):
            stations.append(
                _feature({"kind": "metro_station", "name": p["name"]}, _rounded(geometry))
            )
        elif p["kind"] == "metro_line" and p.get("route") in LINE_COLOURS:
            by_route[p["route"]].append(geometry)
    lines = [
        _feature(
            {
                "kind": "metro_line",
                "name": f"{route}号线",
                "name_en": f"Line {route}",
                "ref": route,
                "colour": LINE_COLOURS[route],
            },
            _rounded(_clipped(parts)),
        )
        for route, parts in sorted(by_route.items(), key=lambda item: int(item[0]))
    ]
    stations.sort(key=lambda f: str(f["properties"]["name"]) if f else "")
    return lines + stations


def build(data: Path) -> dict[str, Any]:
    features = [f for f in outline(data) + roads(data) + metro(data) if f is not None]
    return {
        "type": "FeatureCollection",
        "attribution": ATTRIBUTION,
        "license": LICENCE,
        "source": "OpenStreetMap, through shared/data/gaohang-osm (see its SOURCE.md)",
        "note": (
            "Base map of Gaohang Town for the web app's maps: the town's outline (the 高行 and "
            "森兰 sectors), metro lines and stations, major road corridors. Not a street "
            "network. Generated by _generate_basemap.py."
        ),
        "features": features,
    }


def render(collection: dict[str, Any]) -> str:
    """One feature per line, no spaces: small, and a feature's line is easy to find."""

    def dumps(value: Any) -> str:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))

    head = {k: v for k, v in collection.items() if k != "features"}
    members = ",\n".join(f"{dumps(k)}:{dumps(v)}" for k, v in head.items())
    features = ",\n".join(dumps(feature) for feature in collection["features"])
    return "{\n" + members + ',\n"features":[\n' + features + "\n]}\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data/gaohang-osm"))
    parser.add_argument(
        "-o", "--output", type=Path, default=Path(__file__).with_name("basemap.geojson")
    )
    args = parser.parse_args()
    collection = build(args.data)
    text = render(collection)
    args.output.write_text(text, encoding="utf-8")
    size = len(text.encode("utf-8"))
    print(f"wrote {len(collection['features'])} features, {size:,} bytes, to {args.output}")


if __name__ == "__main__":
    main()
