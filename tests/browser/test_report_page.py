"""上报 /report: a grid worker reports a problem from a phone.

With the phone's position (inside 南新第1微网格, the worker's own micro-grid) and a photo:
the page names the area, a double click makes one case, and the API shows a patrol case
with the point, the photo and the place. With location denied: the page says so and an
address-only report still works. The API's validation errors appear next to their field.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.sync_api import BrowserContext, FilePayload, Geolocation, Page, expect

from tests.browser.conftest import NANXIN, OpenPage
from tests.browser.live import PHONE, LiveServer
from tests.browser.pages import LANGS, SIZES, log_in, shoot
from tests.media.images import plain_jpeg

GRID = f"{NANXIN}-G01"  # 南新第1微网格, grid_nanxin's own
INSIDE_GRID = Geolocation(latitude=31.3015, longitude=121.6045, accuracy=8)
WORKER = "grid_nanxin"


def small_jpeg() -> FilePayload:
    data = plain_jpeg(80, 60, (200, 90, 40))
    return FilePayload(name="found.jpg", mimeType="image/jpeg", buffer=data)


def locate_at(context: BrowserContext, server: LiveServer, where: Geolocation) -> None:
    context.grant_permissions(["geolocation"], origin=server.base_url)
    context.set_geolocation(where)


def open_report(page: Page, lang: str = "zh") -> None:
    log_in(page, WORKER, then=f"/report?lang={lang}")
    page.wait_for_selector("body[data-ready='1']")


def patrol_cases_with(server: LiveServer, content: str) -> list[dict[str, Any]]:
    r = server.api.get(
        "/api/v1/cases",
        params={"kind": "patrol", "page_size": 50},
        headers=server.headers("duty"),
    )
    assert r.status_code == 200, r.text
    return [c for c in r.json()["items"] if c["content"] == content]


def full_case(server: LiveServer, case_id: int) -> dict[str, Any]:
    r = server.api.get(f"/api/v1/cases/{case_id}", headers=server.headers("duty"))
    assert r.status_code == 200, r.text
    found: dict[str, Any] = r.json()
    return found


def test_grid_worker_reports_with_position_and_photo_once(
    open_page: OpenPage, server: LiveServer, screenshot_dir: Path
) -> None:
    page = open_page(viewport=PHONE)
    locate_at(page.context, server, INSIDE_GRID)
    open_report(page)

    page.get_by_test_id("locate").click()
    status = page.get_by_test_id("location-status")
    expect(status).to_have_attribute("data-state", "ok")
    expect(page.get_by_test_id("place")).to_have_text("南新居委会 · 南新第1微网格")
    expect(page.get_by_test_id("place")).to_have_attribute("data-code", GRID)
    expect(page.get_by_test_id("coords")).to_contain_text("31.30150, 121.60450")

    content = "南新路垃圾箱旁大件垃圾堆放三天未清运"
    page.get_by_test_id("content").fill(content)
    page.get_by_test_id("photos").locator("input[type=file]").set_input_files(files=[small_jpeg()])
    expect(page.get_by_test_id("photos").locator("img")).to_have_count(1)
    shoot(page, screenshot_dir, "report-filled-phone-zh")

    # A double click must not file the report twice.
    page.get_by_test_id("report-submit").dblclick()
    result = page.get_by_test_id("report-result")
    expect(result).to_be_visible()
    expect(page.get_by_test_id("report-form")).to_be_hidden()
    found = patrol_cases_with(server, content)
    assert len(found) == 1, found
    case = full_case(server, found[0]["id"])
    assert case["kind"] == "patrol"
    assert case["source"] == "web"
    assert case["lat"] == INSIDE_GRID["latitude"]
    assert case["lon"] == INSIDE_GRID["longitude"]
    assert case["jurisdiction"] == GRID
    assert case["community"] == NANXIN
    assert [p["stage"] for p in case["photos"]] == ["report"]

    expect(result).to_have_attribute("data-case-id", str(case["id"]))
    expect(page.get_by_test_id("result-token")).to_have_text(case["token"])
    expect(page.get_by_test_id("result-category")).not_to_be_empty()
    expect(page.get_by_test_id("result-routed")).not_to_be_empty()
    expect(page.get_by_test_id("view-case")).to_have_attribute("href", f"/cases/{case['id']}")
    expect(
        page.locator(f"[data-testid=recent-list] li[data-case-id='{case['id']}']")
    ).to_be_visible()
    shoot(page, screenshot_dir, "report-done-phone-zh")

    # 继续上报: an empty form again.
    page.get_by_test_id("report-again").click()
    expect(page.get_by_test_id("report-form")).to_be_visible()
    expect(page.get_by_test_id("content")).to_have_value("")
    expect(result).to_be_hidden()
    expect(status).to_be_empty()


def test_location_denied_then_an_address_only_report(
    open_page: OpenPage, server: LiveServer
) -> None:
    page = open_page(viewport=PHONE)
    page.context.clear_permissions()  # no grant: Chromium refuses the position
    open_report(page)

    page.get_by_test_id("locate").click()
    status = page.get_by_test_id("location-status")
    expect(status).to_have_attribute("data-state", "denied")
    expect(status).to_contain_text("定位权限被拒绝")
    expect(page.get_by_test_id("address")).to_be_focused()

    # Nothing described yet: the page says so next to the description, nothing is sent.
    page.get_by_test_id("report-submit").click()
    expect(page.get_by_test_id("error-content")).to_have_text("请描述发现的问题。")

    content = "南新路55号门前窨井盖缺失"
    page.get_by_test_id("content").fill(content)
    page.get_by_test_id("address").fill("南新路55号")
    page.get_by_test_id("report-submit").click()
    expect(page.get_by_test_id("report-result")).to_be_visible()
    expect(page.get_by_test_id("error-content")).to_be_empty()
    found = patrol_cases_with(server, content)
    assert len(found) == 1
    assert found[0]["lat"] is None and found[0]["lon"] is None
    assert found[0]["address"] == "南新路55号"
    # No point: the case is placed in the worker's own area.
    assert found[0]["community"] == NANXIN


def test_the_api_refusal_of_a_field_shows_next_to_it(
    open_page: OpenPage, server: LiveServer
) -> None:
    page = open_page(viewport=PHONE)
    open_report(page)
    # A category only townops itself opens (device alarms) — as a stale list might offer.
    page.get_by_test_id("category").evaluate(
        "select => { select.append(new Option('消防物联告警', 'iot_fire_alarm')); }"
    )
    page.get_by_test_id("category").select_option("iot_fire_alarm")
    content = "巡查发现烟感报警器一直在响"
    page.get_by_test_id("content").fill(content)
    page.get_by_test_id("report-submit").click()
    # Why, in the page's words: the category by its name, not the API's English sentence.
    expect(page.get_by_test_id("error-category")).to_contain_text("消防物联告警")
    expect(page.get_by_test_id("error-category")).to_contain_text("不能人工提交")
    expect(page.get_by_test_id("category")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_test_id("report-form")).to_be_visible()
    expect(page.get_by_test_id("report-submit")).to_be_enabled()
    assert patrol_cases_with(server, content) == []


def test_report_screenshots_phone_and_wall_in_both_languages(
    open_page: OpenPage, server: LiveServer, screenshot_dir: Path
) -> None:
    server.create_case(
        WORKER, kind="patrol", source="web", content="南新路人行道地砖松动", address="南新路20号"
    )
    for size, viewport in SIZES.items():
        for lang in LANGS:
            page = open_page(viewport=viewport)
            locate_at(page.context, server, INSIDE_GRID)
            open_report(page, lang)
            page.get_by_test_id("locate").click()
            expect(page.get_by_test_id("location-status")).to_have_attribute("data-state", "ok")
            expect(page.locator("[data-testid=recent-list] li[data-case-id]").first).to_be_visible()
            heading = "巡查上报" if lang == "zh" else "Report from patrol"
            expect(page.locator("h1")).to_have_text(heading)
            overflow = page.evaluate("document.documentElement.scrollWidth - innerWidth")
            assert overflow <= 0, f"{size} {lang}: {overflow}px too wide"
            shoot(page, screenshot_dir, f"report-{size}-{lang}")
