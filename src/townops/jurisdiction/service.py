"""Finding places in the jurisdiction tree: by code, subtree, and by point (Shapely)."""

from __future__ import annotations

from dataclasses import dataclass

from shapely import STRtree
from shapely.geometry import Point, shape
from shapely.geometry.base import BaseGeometry
from sqlalchemy import select
from sqlalchemy.orm import Session

from townops.db import database_key
from townops.errors import InvalidInput
from townops.jurisdiction.models import Jurisdiction


@dataclass(frozen=True)
class PlaceInfo:
    code: str
    level: str
    path: str
    community_code: str | None


@dataclass
class _Index:
    places: dict[str, PlaceInfo]
    tree: STRtree | None
    tree_codes: list[str]
    geometries: list[BaseGeometry]


_indexes: dict[str, _Index] = {}


def _build_index(session: Session) -> _Index:
    rows = list(session.scalars(select(Jurisdiction)))
    levels = {row.code: row.level for row in rows}
    places: dict[str, PlaceInfo] = {}
    for row in rows:
        community = next(
            (c for c in row.path.strip("/").split("/") if levels.get(c) == "community"), None
        )
        places[row.code] = PlaceInfo(row.code, row.level, row.path, community)
    # Point lookup uses the deepest polygon level so a point lands in the smallest unit.
    polygons = [
        r for r in rows if r.geometry and r.geometry.get("type") in ("Polygon", "MultiPolygon")
    ]
    depth = max((r.path.count("/") for r in polygons), default=0)
    deepest = [r for r in polygons if r.path.count("/") == depth]
    geometries = [shape(r.geometry) for r in deepest]
    tree = STRtree(geometries) if geometries else None
    return _Index(places, tree, [r.code for r in deepest], geometries)


def _index(session: Session) -> _Index:
    key = database_key(session)
    if key not in _indexes:
        _indexes[key] = _build_index(session)
    return _indexes[key]


def forget_index(session: Session) -> None:
    _indexes.pop(database_key(session), None)


def place(session: Session, code: str) -> PlaceInfo:
    info = _index(session).places.get(code)
    if info is None:
        raise InvalidInput(f"unknown jurisdiction '{code}'", field="jurisdiction")
    return info


def find_place(session: Session, code: str) -> PlaceInfo | None:
    return _index(session).places.get(code)


def locate_point(session: Session, *, lat: float, lon: float) -> PlaceInfo | None:
    """The smallest configured unit whose polygon contains the point, or None."""
    idx = _index(session)
    if idx.tree is None:
        return None
    point = Point(lon, lat)
    for i in idx.tree.query(point, predicate="intersects"):
        return idx.places[idx.tree_codes[int(i)]]
    return None
