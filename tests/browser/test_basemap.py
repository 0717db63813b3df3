"""The base map under the maps: metro stations by name and the OpenStreetMap credit, on the
one screen and on the resident's pin picker, in Chinese and in English; and no community
loses its name on the English map of a phone."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import OpenPage
from tests.browser.live import PHONE
from tests.browser.pages import log_in, shoot, wait_for_overview

CREDIT = "© OpenStreetMap contributors"
# 巨峰路 (Lines 6 and 12) stands at the town's southern edge; the data has no English name,
# so the English map shows the Chinese one rather than nothing.
STATION = {"zh": "巨峰路站", "en": "巨峰路"}


def names_of_areas(page: Page) -> list[str]:
    """Each area label's name (its lines without the figure), as the map shows it."""
    names: list[str] = page.locator("[data-testid=map] .labels text").evaluate_all(
        "els => els.map(e => [...e.querySelectorAll('tspan:not(.value)')]"
        ".map(t => t.textContent).join(' ').trim())"
    )
    return names


def assert_base_map(page: Page, svg: str, lang: str) -> None:
    stations = page.locator(f"{svg} .basemap-stations text")
    expect(stations.filter(has_text=STATION[lang])).to_have_count(1)
    assert page.locator(f"{svg} .basemap .bm-metro-line").count() >= 2
    assert page.locator(f"{svg} .basemap .bm-road").count() >= 5
    expect(page.locator(f"{svg} text.attribution")).to_have_text(CREDIT)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_maps_draw_metro_stations_and_the_credit(
    open_page: OpenPage, lang: str, screenshot_dir: Path
) -> None:
    page = open_page(viewport=PHONE)
    log_in(page, "duty", then=f"/overview?lang={lang}")
    wait_for_overview(page)
    assert_base_map(page, "[data-testid=map]", lang)
    names = names_of_areas(page)
    assert len(names) == page.locator("[data-testid=map] g.area").count() >= 30
    # Every community keeps its name (once, long English ones lost theirs on a phone).
    assert all(name and not name.isdigit() for name in names), names
    shoot(page, screenshot_dir, f"basemap-overview-{lang}-phone")

    resident = open_page(viewport=PHONE)
    log_in(resident, "resident_a", then=f"/submit?lang={lang}")
    resident.get_by_test_id("pin-map").locator("g.area").first.wait_for()
    assert_base_map(resident, "[data-testid=pin-map]", lang)
