"""Gaohang's approximate geometry: committees and micro-grids tile the real town outline.

The committees are Voronoi cells inside the OpenStreetMap outline of 高行 + 森兰
(``_generate_geometry.py``); whatever else is approximate, they must cover the town with no
gap and no overlap, every micro-grid must lie in its committee, and every point the demo and
the gazetteer put somewhere must lie where they say.
"""

from __future__ import annotations

import json
import math
import runpy
from pathlib import Path
from typing import Any

import pytest
from shapely import set_precision
from shapely.geometry import Point, Polygon, box, shape
from shapely.geometry.base import BaseGeometry
from shapely.ops import unary_union

from townops.demo.scenario import Node, build_place_book
from townops.townfiles.loader import default_town_dir, load_town
from townops.townfiles.schema import Jurisdiction, Town

SECTORS = Path(__file__).resolve().parents[3] / "shared/data/gaohang-osm/gaohang_sectors.geojson"
BASEMAP = default_town_dir() / "basemap.geojson"
METRES_PER_DEGREE = 111_000  # of latitude; longitude is scaled by cos(latitude) where it matters


@pytest.fixture(scope="module")
def town() -> Town:
    return load_town(default_town_dir())


def _shape(j: Jurisdiction) -> BaseGeometry:
    return shape(j.geojson_geometry)


def _children(town: Town, code: str) -> list[Jurisdiction]:
    return [j for j in town.jurisdictions if j.parent == code]


def assert_tiles(whole: BaseGeometry, parts: list[BaseGeometry]) -> None:
    """``parts`` cover ``whole`` exactly: valid single polygons, areas adding up, union equal."""
    assert all(isinstance(p, Polygon) and p.is_valid for p in parts)
    assert sum(p.area for p in parts) == pytest.approx(whole.area, rel=1e-9)
    assert unary_union(parts).symmetric_difference(whole).area < whole.area * 1e-9


def test_the_committees_tile_the_town_and_the_micro_grids_their_committee(town: Town) -> None:
    communities = town.at_level("community")
    assert len(communities) == 37
    assert_tiles(_shape(town.root), [_shape(c) for c in communities])
    for community in communities:
        grids = _children(town, community.code)
        assert [g.code[-3:] for g in grids] == ["G01", "G02", "G03"]
        assert_tiles(_shape(community), [_shape(g) for g in grids])


def test_every_building_lies_in_its_micro_grid(town: Town) -> None:
    grids = {g.code: _shape(g) for g in town.at_level("micro_grid")}
    buildings = town.at_level("building")
    assert len(buildings) == 222
    for building in buildings:
        assert building.parent is not None
        assert grids[building.parent].contains(_shape(building)), building.code


def test_the_town_is_where_gaohang_really_is(town: Town) -> None:
    # 高行 + 森兰 in OpenStreetMap: about 121.556–121.628 E, 31.282–31.333 N (not the old
    # rectangle at 31.262–31.305, two thirds of which lay in 金桥镇).
    west, south, east, north = _shape(town.root).bounds
    assert (round(west, 3), round(east, 3)) == (121.556, 121.628)
    assert (round(south, 3), round(north, 3)) == (31.282, 31.333)
    assert (
        "approximate"
        in json.loads((default_town_dir() / "jurisdictions.geojson").read_text("utf-8"))[
            "note"
        ].lower()
    )


@pytest.mark.skipif(not SECTORS.is_file(), reason="OSM sectors not available")
def test_the_town_polygon_is_the_osm_outline_of_gaohang_and_senlan(town: Town) -> None:
    sectors = json.loads(SECTORS.read_text(encoding="utf-8"))["features"]
    outline = unary_union(
        [shape(f["geometry"]) for f in sectors if f["properties"]["name"] in ("高行", "森兰")]
    )
    # Snapped to the file's 6 decimals; committee edges add vertices within half a unit.
    assert _shape(town.root).hausdorff_distance(set_precision(outline, 1e-6)) < 2e-6


def test_the_committees_keep_the_rows_north_to_south(town: Town) -> None:
    generator = runpy.run_path(str(default_town_dir() / "_generate_geometry.py"))
    rows: list[list[str]] = generator["ROWS"]
    places = {c.code[-3:]: _shape(c).representative_point() for c in town.at_level("community")}
    middles = [sum(places[s].y for s in row) / len(row) for row in rows]
    assert middles == sorted(middles, reverse=True)
    for row in rows:  # and west to east within a row
        xs = [places[s].x for s in row]
        assert xs == sorted(xs)


def test_every_spot_the_demo_files_cases_at_lies_in_its_place(town: Town) -> None:
    """A demo case's point (the spot's jitter square) lies in the micro-grid or beside the
    building it is filed under, so it lies in its committee."""
    nodes = [
        Node(j.code, j.name_zh, j.level, j.parent, j.aliases, j.geojson_geometry)
        for j in town.jurisdictions
    ]
    book = build_place_book(nodes)
    shapes = {j.code: _shape(j) for j in town.jurisdictions}
    parents = {j.code: j.parent for j in town.jurisdictions}
    spots = [spot for spots in book.spots.values() for spot in spots]
    assert len(spots) == 111 + 222
    for spot in spots:
        square = box(
            spot.lon - spot.half_size,
            spot.lat - spot.half_size,
            spot.lon + spot.half_size,
            spot.lat + spot.half_size,
        )
        grid = spot.code if spot.building is None else parents[spot.code]
        assert grid is not None
        # A building's square (about 30 m) may reach over its micro-grid's edge, never
        # out of its committee's.
        assert shapes[spot.community_code].contains(square), spot.code
        if spot.building is None:
            assert shapes[grid].contains(square), spot.code


def _stations() -> dict[str, Point]:
    basemap = json.loads(BASEMAP.read_text(encoding="utf-8"))
    return {
        f["properties"]["name"]: shape(f["geometry"])
        for f in basemap["features"]
        if f["properties"]["kind"] == "metro_station"
    }


def test_a_metro_station_the_gazetteer_names_is_placed_by_the_real_station(town: Town) -> None:
    """A landmark 巨峰路站 is filed under the committee nearest the station on the base
    map (within a kilometre: stations on the town's edge stand just outside it)."""
    stations = _stations()
    shapes = {j.code: _shape(j) for j in town.jurisdictions}
    gazetteer = town.gazetteer
    assert gazetteer is not None
    named = [
        (landmark, stations[landmark.name.removesuffix("站")])
        for landmark in gazetteer.landmarks
        if landmark.name.removesuffix("站") in stations
    ]
    assert named, "no gazetteer landmark names a station of the base map"
    scale = math.cos(math.radians(31.31))
    for landmark, station in named:
        committee = landmark.jurisdiction.split("-")[0]
        distances: dict[str, Any] = {
            c.code: _shape(c).distance(station) for c in town.at_level("community")
        }
        assert committee == min(distances, key=distances.__getitem__), landmark.name
        assert shapes[committee].distance(station) * METRES_PER_DEGREE * scale < 1000
