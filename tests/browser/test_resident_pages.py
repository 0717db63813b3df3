"""The resident's pages in a real browser: 我要反映 (/submit) with a pin on the map and a
photo, the tracking code followed on the public /track page, 我的诉求 (/requests) with the
answer and the rating; the map pin's exact inverse projection; screenshots."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

from playwright.sync_api import FilePayload, Locator, Page, expect
from shapely.geometry import shape

from tests.browser.conftest import NANXIN, OpenPage
from tests.browser.live import PHONE, WALL, LiveServer
from tests.browser.pages import LANGS, SIZES, log_in, ready, shoot
from tests.factories import marker
from tests.media.images import plain_jpeg

NANXIN_G2 = f"{NANXIN}-G02"  # 南新第2微网格
HANDLERS = {"urban_management": "urban"}
REPLY = "已联系城管中队清理，摊点已撤除。"


def jpeg() -> bytes:
    return plain_jpeg(64, 48, (200, 120, 40), quality=80)


def get(server: LiveServer, path: str, user: str | None = None, **params: Any) -> Any:
    headers = server.headers(user) if user else {}
    r = server.api.get(path, params=params, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


# --- the map's projection, independently of the page's code ---------------------------------


def coordinates(geometry: dict[str, Any]) -> list[list[float]]:
    if geometry["type"] == "Polygon":
        return [c for ring in geometry["coordinates"] for c in ring]
    if geometry["type"] == "MultiPolygon":
        return [c for poly in geometry["coordinates"] for ring in poly for c in ring]
    return [geometry["coordinates"]]


class Projection:
    """core/map.js fitProjection, in Python: longitude × cos(mid latitude), fitted to 1000."""

    def __init__(self, geometries: list[dict[str, Any]], width: float = 1000, pad: float = 12):
        coords = [c for g in geometries for c in coordinates(g)]
        lons, lats = [c[0] for c in coords], [c[1] for c in coords]
        self.min_lon, self.max_lat, self.pad = min(lons), max(lats), pad
        self.k = math.cos(math.radians((min(lats) + max(lats)) / 2))
        self.scale = (width - 2 * pad) / max((max(lons) - self.min_lon) * self.k, 1e-4)

    def project(self, lon: float, lat: float) -> tuple[float, float]:
        x = self.pad + (lon - self.min_lon) * self.k * self.scale
        return x, self.pad + (self.max_lat - lat) * self.scale

    def invert(self, x: float, y: float) -> tuple[float, float]:
        lon = self.min_lon + (x - self.pad) / (self.k * self.scale)
        return lon, self.max_lat - (y - self.pad) / self.scale


class Screen:
    """Where the SVG's user units land on the page (viewBox, xMidYMid meet)."""

    def __init__(self, svg: Locator):
        box = svg.bounding_box()
        assert box is not None
        vx, vy, vw, vh = (float(v) for v in (svg.get_attribute("viewBox") or "").split())
        self.s = min(box["width"] / vw, box["height"] / vh)
        self.tx = box["x"] + (box["width"] - vw * self.s) / 2 - vx * self.s
        self.ty = box["y"] + (box["height"] - vh * self.s) / 2 - vy * self.s

    def to_page(self, x: float, y: float) -> tuple[float, float]:
        return self.tx + x * self.s, self.ty + y * self.s

    def to_svg(self, px: float, py: float) -> tuple[float, float]:
        return (px - self.tx) / self.s, (py - self.ty) / self.s


def features(server: LiveServer, level: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = get(server, "/api/v1/jurisdictions", "resident_a", level=level)[
        "features"
    ]
    return found


def centre(feature: dict[str, Any]) -> tuple[float, float]:
    """A point well inside the area (its box's centre may lie outside a Voronoi cell)."""
    inner = shape(feature["geometry"]).representative_point()
    return inner.x, inner.y


def picked(page: Page) -> tuple[float, float]:
    picker = page.get_by_test_id("pin-picker")
    expect(picker).to_have_attribute("data-lat", re.compile(r"\d"))
    return float(picker.get_attribute("data-lon") or "nan"), float(
        picker.get_attribute("data-lat") or "nan"
    )


def click_at(page: Page, projection: Projection, lon: float, lat: float) -> tuple[float, float]:
    """Click the map where (lon, lat) is drawn, at whole pixels; the point clicked, as lon/lat."""
    svg = page.get_by_test_id("pin-map")
    screen = Screen(svg)
    px, py = (round(v) for v in screen.to_page(*projection.project(lon, lat)))
    page.mouse.click(px, py)
    return projection.invert(*screen.to_svg(px, py))


def click_community(page: Page, server: LiveServer, code: str) -> tuple[float, float]:
    town = features(server, "town")[0]["geometry"]
    communities = features(server, "community")
    projection = Projection([town, *(c["geometry"] for c in communities)])
    target = next(c for c in communities if c["id"] == code)
    return click_at(page, projection, *centre(target))


# --- the resident's loop ---------------------------------------------------------------------


def resolve_through_the_api(server: LiveServer, case_id: int) -> None:
    case = get(server, f"/api/v1/cases/{case_id}", "dispatcher")
    if case["state"] in ("received", "dispatched") and case["department"] != "urban_management":
        case = server.act("dispatcher", case, "dispatch", department="urban_management")
    handler = HANDLERS["urban_management"]
    case = server.act(handler, case, "accept")
    server.act(handler, case, "resolve", reply=REPLY)


def test_a_resident_reports_with_a_pin_and_a_photo_tracks_and_rates_it(
    open_page: OpenPage, server: LiveServer, screenshot_dir: Path
) -> None:
    text = f"小区门口有人占道摆摊，早上堵住人行道 {marker()}"
    page = open_page(viewport=PHONE)
    log_in(page, "resident_a", then="/submit")
    ready(page)
    options = (
        page.get_by_test_id("category")
        .locator("option")
        .evaluate_all("els => els.map(e => e.value)")
    )
    assert options[0] == "" and "street_vending" in options
    assert not [o for o in options if o.startswith(("iot_", "vital_sign"))]

    page.get_by_test_id("category").select_option("street_vending")
    page.get_by_test_id("content").fill(text)
    expect(page.get_by_test_id("pin-place")).to_contain_text("点击地图")
    shoot(page, screenshot_dir, "submit-town-phone-zh")
    clicked = click_community(page, server, NANXIN)
    lon, lat = picked(page)
    # The page inverted the projection exactly: the clicked point, to well under a metre.
    assert abs(lon - clicked[0]) < 1e-6 and abs(lat - clicked[1]) < 1e-6
    expect(page.get_by_test_id("pin-picker")).to_have_attribute("data-community", NANXIN)
    expect(page.get_by_test_id("pin-place")).to_contain_text("南新居委会")
    expect(page.get_by_test_id("pin")).to_be_visible()
    # The first tap zoomed into 南新: its micro-grids are drawn; a second tap refines the pin.
    expect(page.locator(f"[data-testid=pin-map] g.area[data-area='{NANXIN_G2}']")).to_be_visible()
    grids = [g for g in features(server, "micro_grid") if g["properties"]["parent"] == NANXIN]
    zoomed = Projection(
        [next(c for c in features(server, "community") if c["id"] == NANXIN)["geometry"]]
        + [g["geometry"] for g in grids]
        + [b["geometry"] for b in features(server, "building") if b["id"].startswith(NANXIN)]
    )
    g2 = next(g for g in grids if g["id"] == NANXIN_G2)
    refined = click_at(page, zoomed, *centre(g2))
    expect(page.get_by_test_id("pin-place")).to_contain_text("南新第2微网格")
    lon, lat = picked(page)
    assert abs(lon - refined[0]) < 1e-6 and abs(lat - refined[1]) < 1e-6

    page.get_by_test_id("address").fill("南新小区东门")
    photo: FilePayload = {"name": "stall.jpg", "mimeType": "image/jpeg", "buffer": jpeg()}
    page.get_by_test_id("photo-input").set_input_files(files=[photo])
    expect(page.locator("[data-testid=photo-thumb][data-state=done]")).to_have_count(1)
    shoot(page, screenshot_dir, "submit-filled-phone-zh")
    page.get_by_test_id("submit").click()

    done = page.get_by_test_id("submit-done")
    expect(done).to_be_visible()
    code = page.get_by_test_id("tracking-code").inner_text().strip()
    assert re.fullmatch(r"[A-HJ-NP-Z2-9]{10}", code)
    expect(page.get_by_test_id("promise")).to_contain_text(re.compile(r"\d{4}/\d{2}/\d{2}"))
    shoot(page, screenshot_dir, "submit-done-phone-zh")
    case_id = int(done.get_attribute("data-case-id") or 0)
    case = get(server, f"/api/v1/cases/{case_id}", "resident_a")
    assert (case["token"], case["kind"], case["source"]) == (code, "request", "web")
    assert (case["category"], case["content"], case["address"]) == (
        "street_vending",
        text,
        "南新小区东门",
    )
    assert (case["lon"], case["lat"]) == (lon, lat)
    assert case["jurisdiction"] == NANXIN_G2 and case["community"] == NANXIN
    assert len(case["photos"]) == 1 and case["photos"][0]["stage"] == "report"

    # Anyone with the code, not logged in, in another browser.
    stranger = open_page(viewport=PHONE)
    stranger.goto(f"/track?code={code}")
    ready(stranger)
    result = stranger.get_by_test_id("track-result")
    expect(result).to_have_attribute("data-state", case["state"])
    expect(result).to_contain_text("占道经营")
    assert text not in stranger.content() and "南新小区东门" not in stranger.content()
    expect(stranger.get_by_test_id("user")).to_have_count(0)

    # The resident's own list has it; another resident's does not.
    page.get_by_test_id("to-requests").click()
    ready(page)
    mine = page.locator(f"[data-testid=request-list] li[data-case-id='{case_id}']")
    expect(mine.get_by_test_id("request-code")).to_have_text(code)
    other = open_page(viewport=PHONE)
    log_in(other, "resident_b", then="/requests")
    ready(other)
    expect(other.locator(f"li[data-case-id='{case_id}']")).to_have_count(0)
    theirs = get(server, "/api/v1/cases", "resident_b", page_size=100)["items"]
    assert case_id not in [c["id"] for c in theirs]

    # Photos on opening the details.
    mine.get_by_test_id("details-toggle").click()
    expect(mine.locator("[data-testid=photo-strip] img")).to_have_count(1)

    resolve_through_the_api(server, case_id)
    page.reload()
    ready(page)
    expect(mine.get_by_test_id("reply")).to_contain_text(REPLY)
    expect(mine.get_by_test_id("plain-state")).to_have_text("已答复，等待您的评价")
    mine.get_by_text("基本满意").click()
    mine.get_by_test_id("rating-form").locator("textarea").fill("处理得还算及时")
    shoot(page, screenshot_dir, "requests-rating-phone-zh")
    mine.get_by_test_id("rating-submit").click()

    rated = page.locator(f"[data-testid=request-list] li[data-case-id='{case_id}']")
    expect(rated.get_by_test_id("your-rating")).to_have_attribute(
        "data-rating", "basically_satisfied"
    )
    expect(rated.get_by_test_id("rating-form")).to_have_count(0)
    final = get(server, f"/api/v1/cases/{case_id}", "resident_a")
    assert final["state"] in ("callback", "closed") and final["rating"] == "basically_satisfied"
    history = get(server, f"/api/v1/cases/{case_id}/history", "resident_a")
    callback = next(e for e in history if e["action"] == "callback")
    assert callback["comment"] == "处理得还算及时"

    stranger.reload()
    ready(stranger)
    expect(stranger.get_by_test_id("rated")).to_have_attribute("data-rated", "true")


def test_not_sure_of_the_category_an_address_is_enough_and_errors_sit_by_their_fields(
    open_page: OpenPage, server: LiveServer
) -> None:
    page = open_page(viewport=PHONE)
    log_in(page, "resident_a", then="/submit")
    ready(page)
    page.get_by_test_id("submit").click()
    expect(page.get_by_test_id("error-content")).to_have_text("请描述问题。")
    expect(page.get_by_test_id("error-place")).to_contain_text("地图")
    expect(page.get_by_test_id("content")).to_have_attribute("aria-invalid", "true")
    assert page.get_by_test_id("submit-done").count() == 0

    page.get_by_test_id("content").fill(f"夜里有人在小区里大声唱歌，吵得睡不着 {marker()}")
    page.get_by_test_id("address").fill("华高庭园3号楼")
    page.get_by_test_id("phone").fill("12")
    page.get_by_test_id("submit").click()
    expect(page.get_by_test_id("error-phone")).not_to_be_empty()
    page.get_by_test_id("phone").fill("13900000001")
    page.get_by_test_id("submit").click()

    done = page.get_by_test_id("submit-done")
    expect(done).to_be_visible()
    case = get(server, f"/api/v1/cases/{done.get_attribute('data-case-id')}", "resident_a")
    assert case["lat"] is None and case["address"] == "华高庭园3号楼"
    assert not case["category"].startswith(("iot_", "vital_sign"))  # read by the classifier
    staff_view = get(server, f"/api/v1/cases/{case['id']}", "dispatcher")
    assert staff_view["requester"]["phone"] == "13900000001"


def test_my_location_and_the_arrow_keys_place_the_pin(
    open_page: OpenPage, server: LiveServer
) -> None:
    lon, lat = centre(next(c for c in features(server, "community") if c["id"] == NANXIN))
    page = open_page(viewport=PHONE)
    page.context.grant_permissions(["geolocation"])
    page.context.set_geolocation({"latitude": lat, "longitude": lon})
    log_in(page, "resident_a", then="/submit")
    ready(page)

    page.get_by_test_id("pin-my-location").click()
    expect(page.get_by_test_id("pin-picker")).to_have_attribute("data-community", NANXIN)
    assert picked(page) == (lon, lat)

    page.get_by_test_id("pin-map").focus()
    page.keyboard.press("ArrowRight")
    moved_lon, moved_lat = picked(page)
    assert moved_lon > lon and abs(moved_lat - lat) < 1e-9
    page.get_by_test_id("pin-clear").click()
    expect(page.get_by_test_id("pin-picker")).not_to_have_attribute("data-lat", re.compile("."))
    page.get_by_test_id("pin-zoom-out").click()
    expect(page.locator(f"[data-testid=pin-map] g.area[data-area='{NANXIN}']")).to_be_visible()


def test_the_inverse_projection_undoes_the_projection(open_page: OpenPage) -> None:
    page = open_page(viewport=PHONE)
    page.goto("/track")
    ready(page)
    worst = page.evaluate(
        """async () => {
          const app = document.querySelector("script[type=module]").src;
          const map = await import(new URL("./map.js", app).href);
          const square = {type: "Polygon", coordinates: [[[121.556, 31.282], [121.628, 31.282],
            [121.628, 31.333], [121.556, 31.333], [121.556, 31.282]]]};
          const projection = map.fitProjection([square]);
          const invert = map.invertProjection(projection);
          let worst = 0;
          for (let i = 0; i <= 50; i++) {
            const lon = 121.55 + i * 0.0016, lat = 31.34 - i * 0.0012;
            const [back_lon, back_lat] = invert(projection.project([lon, lat]));
            worst = Math.max(worst, Math.abs(back_lon - lon), Math.abs(back_lat - lat));
          }
          return worst;
        }"""
    )
    assert worst < 1e-9


def test_tracking_tells_a_wrong_code_from_an_unknown_one(open_page: OpenPage) -> None:
    page = open_page(viewport=PHONE)
    page.goto("/track")
    ready(page)
    page.get_by_test_id("track-code").fill("ABCDEFGHJK")
    page.get_by_test_id("track-submit").click()
    expect(page.get_by_test_id("track-error")).to_have_text("没有找到这个查询码，请核对后再试。")
    page.get_by_test_id("track-code").fill("123")
    page.get_by_test_id("track-submit").click()
    expect(page.get_by_test_id("track-error")).to_contain_text("10位字母和数字")
    expect(page.get_by_test_id("track-result")).to_have_count(0)
    assert "code=123" in page.url


def test_resident_pages_screenshots(
    open_page: OpenPage, server: LiveServer, screenshot_dir: Path
) -> None:
    case = server.create_case(
        "resident_a",
        category="street_vending",
        content=f"菜场门口流动摊贩占道 {marker()}",
        jurisdiction=NANXIN,
        auto_dispatch=False,
    )
    resolve_through_the_api(server, case["id"])
    for size, viewport in SIZES.items():
        page = open_page(viewport=viewport)
        log_in(page, "resident_a", then="/requests")
        for lang in LANGS:
            page.goto(f"/requests?lang={lang}")
            ready(page)
            item = page.locator(f"li[data-case-id='{case['id']}']")
            expect(item.get_by_test_id("rating-form")).to_be_visible()
            shoot(page, screenshot_dir, f"requests-{size}-{lang}")
            page.goto(f"/submit?lang={lang}")
            ready(page)
            click_community(page, server, NANXIN)
            expect(page.get_by_test_id("pin")).to_be_visible()
            shoot(page, screenshot_dir, f"submit-{size}-{lang}")
            page.get_by_test_id("content").fill(f"路灯不亮 {marker()}")
            page.get_by_test_id("submit").click()
            expect(page.get_by_test_id("tracking-code")).to_be_visible()
            shoot(page, screenshot_dir, f"submit-done-{size}-{lang}")
            public = open_page(viewport=viewport)
            public.goto(f"/track?code={case['token']}&lang={lang}")
            ready(public)
            expect(public.get_by_test_id("track-result")).to_be_visible()
            shoot(public, screenshot_dir, f"track-{size}-{lang}")
    assert WALL in SIZES.values()
