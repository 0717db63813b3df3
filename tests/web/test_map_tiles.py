"""The optional tile background of the maps: never needed, served from a folder when set."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32  # only served back, never decoded


def configure(app: Any, **changes: Any) -> None:
    app.state.settings = app.state.settings.model_copy(update=changes)


@pytest.fixture
def tile_dir(tmp_path: Path) -> Path:
    (tmp_path / "15" / "27441").mkdir(parents=True)
    (tmp_path / "15" / "27441" / "13382.png").write_bytes(PNG)
    (tmp_path / "15" / "27441" / "13383.jpg").write_bytes(b"\xff\xd8\xff\xe0jpeg")
    return tmp_path


def test_without_tiles_the_config_says_none_and_images_stay_on_the_server(
    client: TestClient,
) -> None:
    assert client.get("/api/v1/web/config").json()["map_tiles"] is None
    csp = client.get("/overview").headers["content-security-policy"]
    assert "img-src 'self' data: blob:;" in csp
    assert client.get("/map-tiles/15/27441/13382.png").status_code == 404


def test_a_tile_folder_is_served_by_townops_itself(
    app: Any, client: TestClient, tile_dir: Path
) -> None:
    configure(app, map_tile_dir=tile_dir, map_tile_attribution="© 高行镇测绘")
    tiles = client.get("/api/v1/web/config").json()["map_tiles"]
    assert tiles == {
        "url": "/map-tiles/{z}/{x}/{y}.png",
        "max_zoom": 18,
        "attribution": "© 高行镇测绘",
    }
    r = client.get("/map-tiles/15/27441/13382.png")
    assert r.status_code == 200 and r.content == PNG
    assert r.headers["content-type"] == "image/png"
    # Asked for as .png, cut as .jpg: still found, with its own type.
    jpg = client.get("/map-tiles/15/27441/13383.png")
    assert jpg.status_code == 200 and jpg.headers["content-type"] == "image/jpeg"
    # Nothing outside the folder and nothing that is not a tile.
    for path in (
        "/map-tiles/15/27441/99999.png",
        "/map-tiles/15/99999999/13382.png",
        "/map-tiles/15/27441/..%2F..%2Fsecret.png",
        "/map-tiles/15/27441/13382.txt",
        "/map-tiles/15/27441/abc.png",
    ):
        assert client.get(path).status_code == 404, path
    assert client.get("/map-tiles/99/1/1.png").status_code == 422
    # Same origin: the pages' CSP needs nothing more.
    assert "img-src 'self' data: blob:;" in client.get("/").headers["content-security-policy"]


def test_a_tile_server_on_the_towns_network_is_allowed_by_the_pages_csp(
    app: Any, client: TestClient
) -> None:
    configure(app, map_tile_url="http://tiles.gaohang.lan:8080/{z}/{x}/{y}.png")
    assert (
        client.get("/api/v1/web/config")
        .json()["map_tiles"]["url"]
        .startswith("http://tiles.gaohang.lan:8080/")
    )
    csp = client.get("/overview").headers["content-security-policy"]
    assert "img-src 'self' http://tiles.gaohang.lan:8080 data: blob:;" in csp
    assert "connect-src 'self';" in csp  # images only: scripts and data stay on the server
