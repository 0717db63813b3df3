"""The one screen (一屏总览) in a real browser, as the duty officer: tiles, the map, zooming
to a community, the live feed, the English switch, and screenshots."""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import NANXIN, OpenPage
from tests.browser.live import WALL, LiveServer
from tests.browser.pages import LANGS, SIZES, log_in, shoot, wait_for_overview

TILES = ["today_intake", "open", "overdue", "on_time_rate", "satisfaction_rate", "devices_online"]


def overview_json(server: LiveServer, jurisdiction: str | None = None) -> dict[str, Any]:
    params = {"as_of": "auto"} | ({"jurisdiction": jurisdiction} if jurisdiction else {})
    r = server.api.get("/api/v1/overview", params=params, headers=server.headers("duty"))
    r.raise_for_status()
    data: dict[str, Any] = r.json()
    return data


def test_one_screen_shows_the_tiles_and_the_map(open_page: OpenPage, server: LiveServer) -> None:
    page = open_page(viewport=WALL)
    log_in(page, "duty")
    page.wait_for_url("**/overview")  # the duty officer's home is the one screen
    wait_for_overview(page)
    town = overview_json(server)

    assert page.locator("[data-tile]").evaluate_all("els => els.map(e => e.dataset.tile)") == TILES
    expect(page.get_by_test_id("tile-open")).to_have_text(str(town["tiles"]["open"]))
    areas = page.locator("[data-testid=map] g.area")
    assert areas.count() == len(town["areas"]) >= 30  # every community of Gaohang
    assert page.locator("[data-testid=map] g.area path").count() == areas.count()
    nanxin = page.locator(f"[data-testid=map] g.area[data-area='{NANXIN}']")
    expect(nanxin.locator("path")).to_have_attribute("d", re.compile(r"^M[\d.]+ [\d.]+L"))
    expect(page.get_by_test_id("node-name")).to_have_text("高行镇")


def test_clicking_a_community_zooms_to_it(open_page: OpenPage, server: LiveServer) -> None:
    page = open_page(viewport=WALL)
    log_in(page, "duty", then="/overview")
    wait_for_overview(page)
    town, nanxin = overview_json(server), overview_json(server, NANXIN)
    assert nanxin["tiles"]["open"] != town["tiles"]["open"]  # the seed cases are spread out

    page.locator(f"[data-testid=map] g.area[data-area='{NANXIN}']").click()

    expect(page.get_by_test_id("node-name")).to_have_text("南新居委会")
    expect(page.get_by_test_id("tile-open")).to_have_text(str(nanxin["tiles"]["open"]))
    expect(page.get_by_test_id("trail")).to_contain_text("高行镇")
    assert f"j={NANXIN}" in page.url
    page.get_by_test_id("back-to-town").click()
    expect(page.get_by_test_id("node-name")).to_have_text("高行镇")


def test_a_new_case_appears_in_the_live_feed_without_reload(
    open_page: OpenPage, server: LiveServer
) -> None:
    page = open_page(viewport=WALL)
    log_in(page, "duty", then="/overview")
    wait_for_overview(page)
    expect(page.get_by_test_id("live-state")).to_have_attribute("data-state", "open")
    page.evaluate("window.__sameDocument = true")

    # Letters only: a run of digits in the text reads as a phone number and is masked.
    marker = "".join(chr(ord("a") + int(c, 16)) for c in uuid.uuid4().hex[:8])
    case = server.create_case(
        "dispatcher",
        category="street_vending",
        content=f"实时动态测试 {marker}",
        jurisdiction=NANXIN,
    )

    item = page.locator(f"[data-testid=feed] li[data-case-id='{case['id']}']").first
    expect(item).to_be_visible(timeout=15_000)
    expect(item).to_contain_text(marker)
    assert page.evaluate("window.__sameDocument") is True  # pushed, not reloaded


def test_english_switch_on_the_one_screen(open_page: OpenPage) -> None:
    page = open_page(viewport=WALL)
    log_in(page, "duty", then="/overview")
    wait_for_overview(page)
    expect(page.locator("[data-tile=open] .label")).to_have_text("在办工单")

    page.get_by_test_id("lang-switch").click()

    wait_for_overview(page)
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("[data-tile=open] .label")).to_have_text("Open cases")
    expect(page.get_by_test_id("node-name")).to_have_text("Gaohang Town")


def test_one_screen_screenshots(open_page: OpenPage, screenshot_dir: Path) -> None:
    for size, viewport in SIZES.items():
        page = open_page(viewport=viewport)
        log_in(page, "duty", then="/overview")
        for lang in LANGS:
            page.goto(f"/overview?lang={lang}")
            wait_for_overview(page)
            expect(page.get_by_test_id("live-state")).to_have_attribute("data-state", "open")
            shoot(page, screenshot_dir, f"overview-{lang}-{size}")
        page.goto(f"/overview?lang=zh&j={NANXIN}")
        wait_for_overview(page)
        shoot(page, screenshot_dir, f"overview-nanxin-zh-{size}")
