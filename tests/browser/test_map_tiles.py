"""Map tiles under the one screen's map, from a folder townops serves itself.

A town on an isolated network may cut tiles of its area into a folder
(``TOWNOPS_MAP_TILE_DIR``); the map draws them under the coloured areas. The test makes a
small pyramid over Gaohang (zoom 0 to 13, one colour per zoom), serves it and checks that
the page draws and loads the tiles of one zoom, all from the server.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import Browser, Response, expect

from tests.browser.conftest import PG_DATABASE, pages_on
from tests.browser.live import (
    WALL,
    LiveServer,
    gaohang_server,
)
from tests.browser.pages import log_in, shoot, wait_for_overview

# Gaohang's bounding box (jurisdictions.geojson), with a margin for the map's padding.
WEST, EAST, SOUTH, NORTH = 121.55, 121.635, 31.275, 31.34
MAX_ZOOM = 13


def tile_range(z: int) -> tuple[range, range]:
    def tx(lon: float) -> int:
        return int((lon + 180) / 360 * 2**z)

    def ty(lat: float) -> int:
        phi = math.radians(lat)
        return int((1 - math.log(math.tan(phi) + 1 / math.cos(phi)) / math.pi) / 2 * 2**z)

    return range(tx(WEST), tx(EAST) + 1), range(ty(NORTH), ty(SOUTH) + 1)


def make_pyramid(folder: Path) -> int:
    count = 0
    for z in range(MAX_ZOOM + 1):
        xs, ys = tile_range(z)
        tile = Image.new("RGB", (256, 256), (200, 220 - 10 * z % 200, 180))
        for x in xs:
            for y in ys:
                path = folder / str(z) / str(x) / f"{y}.png"
                path.parent.mkdir(parents=True, exist_ok=True)
                tile.save(path)
                count += 1
    return count


@pytest.fixture(scope="module")
def tiled_server(
    chromium_path: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    tmp = tmp_path_factory.mktemp("tiles")
    assert make_pyramid(tmp / "tiles") > MAX_ZOOM
    env = {
        "TOWNOPS_MAP_TILE_DIR": str(tmp / "tiles"),
        "TOWNOPS_MAP_TILE_MAX_ZOOM": str(MAX_ZOOM),
        "TOWNOPS_MAP_TILE_ATTRIBUTION": "© 高行镇测绘（测试）",
    }
    with gaohang_server(tmp, PG_DATABASE + "_tiles", env=env) as live:
        yield live


def test_the_map_draws_the_towns_own_tiles_underneath(
    browser: Browser, tiled_server: LiveServer, screenshot_dir: Path
) -> None:
    with pages_on(browser, tiled_server) as pages:
        page = pages(viewport=WALL)
        tiles: list[Response] = []
        page.on("response", lambda r: tiles.append(r) if "/map-tiles/" in r.url else None)
        log_in(page, "duty", then="/overview")
        wait_for_overview(page)
        images = page.locator("[data-testid=map] g.tiles image")
        expect(images.first).to_be_attached()
        hrefs = images.evaluate_all("els => els.map(e => e.getAttribute('href'))")
        zooms = {h.split("/")[2] for h in hrefs}
        assert len(zooms) == 1 and int(zooms.pop()) <= MAX_ZOOM
        page.wait_for_function(
            "n => performance.getEntriesByType('resource')"
            ".filter(e => e.name.includes('/map-tiles/')).length >= n",
            arg=len(hrefs),
        )
        assert tiles and all(r.status == 200 for r in tiles), [(r.url, r.status) for r in tiles]
        # The tiles' credit, then the base map's (drawn over the tiles, under the areas).
        expect(page.locator("[data-testid=map] text.attribution")).to_have_text(
            "© 高行镇测绘（测试） · © OpenStreetMap contributors"
        )
        shoot(page, screenshot_dir, "overview-tiles-zh-wall")
