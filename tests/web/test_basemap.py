"""The town's base map: a small OpenStreetMap extract shipped in the package, attributed,
served by townops itself; a town without one gets plain maps."""

from __future__ import annotations

import json
import runpy
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from shapely.geometry import box, shape

from townops.townfiles.loader import default_town_dir

BASEMAP = default_town_dir() / "basemap.geojson"
OSM_DATA = Path(__file__).resolve().parents[3] / "shared/data/gaohang-osm"
TINY = Path(__file__).resolve().parents[1] / "fixtures/towns/tiny"
ATTRIBUTION = "© OpenStreetMap contributors"


def coordinates(geometry: dict[str, Any]) -> list[list[float]]:
    if geometry["type"] == "Point":
        return [geometry["coordinates"]]
    if geometry["type"] == "LineString":
        return list(geometry["coordinates"])
    return [c for line in geometry["coordinates"] for c in line]


def test_the_shipped_base_map_is_small_attributed_and_around_the_town() -> None:
    assert BASEMAP.stat().st_size < 120_000
    data = json.loads(BASEMAP.read_text(encoding="utf-8"))
    assert data["type"] == "FeatureCollection"
    assert data["attribution"] == ATTRIBUTION and "ODbL" in data["license"]
    kinds = {f["properties"]["kind"] for f in data["features"]}
    assert kinds == {"town", "road", "metro_line", "metro_station"}
    around = box(121.54, 31.27, 121.645, 31.345)
    for feature in data["features"]:
        assert shape(feature["geometry"]).is_valid
        for lon, lat in coordinates(feature["geometry"]):
            assert around.contains(shape({"type": "Point", "coordinates": [lon, lat]}))
            assert round(lon, 5) == lon and round(lat, 5) == lat
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for feature in data["features"]:
        by_kind.setdefault(feature["properties"]["kind"], []).append(feature["properties"])
    lines = {p["ref"]: p for p in by_kind["metro_line"]}
    assert {"6", "12"} <= set(lines) and all(p["colour"] for p in lines.values())
    assert {"巨峰路", "东陆路", "金京路", "申江路"} <= {p["name"] for p in by_kind["metro_station"]}
    roads = {p["name"] for p in by_kind["road"]}
    assert {"杨高北路", "东靖路", "五洲大道", "洲海路"} <= roads


@pytest.mark.skipif(not OSM_DATA.is_dir(), reason="gaohang-osm data not available")
def test_the_committed_base_map_is_what_its_generator_makes() -> None:
    generator = runpy.run_path(str(default_town_dir() / "_generate_basemap.py"))
    assert generator["render"](generator["build"](OSM_DATA)) == BASEMAP.read_text("utf-8")


def test_the_base_map_is_served_publicly_and_named_in_the_config(client: TestClient) -> None:
    config = client.get("/api/v1/web/config").json()
    assert config["basemap"] == "/api/v1/web/basemap"
    r = client.get(config["basemap"])
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    assert r.json()["attribution"] == ATTRIBUTION
    assert r.content == BASEMAP.read_bytes()


def test_a_town_without_a_base_map_has_plain_maps(app: Any, client: TestClient) -> None:
    assert not (TINY / "basemap.geojson").exists()
    app.state.settings = app.state.settings.model_copy(update={"town_dir": TINY})
    assert client.get("/api/v1/web/config").json()["basemap"] is None
    r = client.get("/api/v1/web/basemap")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
