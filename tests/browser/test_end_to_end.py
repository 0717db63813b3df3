"""The whole closed loop through the pages, as the people who do it would.

A resident files a request on a phone (with a photo) while the duty officer watches the one
screen; the case appears there live; the dispatcher sends it from the dispatch board; the
urban-management handler accepts and resolves it (with a photo) from the inbox on a phone;
the resident rates the answer on 我的诉求; the case page shows the whole history. The API
is used only to check what the pages did, never to do a step for them.
"""

from __future__ import annotations

from typing import Any

from playwright.sync_api import FilePayload, expect

from tests.browser.conftest import OpenPage
from tests.browser.live import DESKTOP, PHONE, WALL, LiveServer
from tests.browser.pages import log_in, ready, wait_for_overview
from tests.factories import marker
from tests.media.images import plain_jpeg


def jpeg(colour: tuple[int, int, int]) -> FilePayload:
    data = plain_jpeg(80, 60, colour, quality=85)
    return {"name": "photo.jpg", "mimeType": "image/jpeg", "buffer": data}


def case_as(server: LiveServer, user: str, case_id: int) -> dict[str, Any]:
    r = server.api.get(f"/api/v1/cases/{case_id}", headers=server.headers(user))
    assert r.status_code == 200, r.text
    found: dict[str, Any] = r.json()
    return found


def test_a_request_goes_round_the_closed_loop_through_the_pages(
    open_page: OpenPage, server: LiveServer
) -> None:
    # The duty officer watches the one screen.
    wall = open_page(viewport=WALL)
    log_in(wall, "duty", then="/overview")
    wait_for_overview(wall)
    expect(wall.get_by_test_id("live-state")).to_have_attribute("data-state", "open")

    # 1. A resident files it from a phone. Vague on purpose: the system is not sure, so it
    #    waits for a dispatcher.
    text = f"小区里有个问题一直没人管，麻烦派人来看看 {marker()}"
    resident = open_page(viewport=PHONE)
    log_in(resident, "resident_a", then="/submit")
    ready(resident)
    resident.get_by_test_id("content").fill(text)
    resident.get_by_test_id("address").fill("高行镇南新小区3号楼")
    resident.get_by_test_id("photo-input").set_input_files(files=[jpeg((90, 140, 200))])
    expect(resident.locator("[data-testid=photo-thumb][data-state=done]")).to_have_count(1)
    resident.get_by_test_id("submit").click()
    done = resident.get_by_test_id("submit-done")
    expect(done).to_be_visible()
    case_id = int(done.get_attribute("data-case-id") or 0)
    code = resident.get_by_test_id("tracking-code").inner_text().strip()
    case = case_as(server, "dispatcher", case_id)
    assert case["token"] == code and case["state"] == "received", case["routing"]

    # 2. The one screen shows it without a reload.
    expect(wall.locator(f"[data-testid=feed] li[data-case-id='{case_id}']").first).to_be_visible(
        timeout=15_000
    )

    # 3. The dispatcher sends it to urban management from the dispatch board.
    dispatcher = open_page(viewport=DESKTOP)
    log_in(dispatcher, "dispatcher", then="/dispatch")
    ready(dispatcher)
    row = dispatcher.locator(f"[data-testid=list-queue] li[data-case-id='{case_id}']")
    expect(row).to_contain_text(text)
    row.get_by_test_id("dispatch-other").click()
    form = row.get_by_test_id("form-dispatch")
    form.locator("[name=department]").select_option("urban_management")
    form.get_by_test_id("action-submit").click()
    expect(
        dispatcher.locator(f"[data-testid=list-queue] [data-testid=done][data-case-id='{case_id}']")
    ).to_be_visible()
    case = case_as(server, "dispatcher", case_id)
    assert (case["state"], case["department"]) == ("dispatched", "urban_management")

    # 4. The handler accepts and resolves it from the inbox, on a phone, with a photo.
    handler = open_page(viewport=PHONE)
    log_in(handler, "urban", then="/inbox")
    ready(handler)
    waiting = handler.locator(f"[data-testid=section-accept] li[data-case-id='{case_id}']")
    waiting.locator("[data-action=accept]").click()
    handler.locator("[data-testid=inbox-tabs] [data-section=hand]").click()
    in_hand = handler.locator(f"[data-testid=section-hand] li[data-case-id='{case_id}']")
    in_hand.locator(".row-actions [data-action=resolve]").click()
    form = in_hand.get_by_test_id("form-resolve")
    form.locator("[name=reply]").fill("已到现场处理完毕，并拍照留存。")
    form.locator("input[type=file]").set_input_files(files=[jpeg((60, 160, 90))])
    expect(form.locator("img")).to_have_count(1)
    form.get_by_test_id("action-submit").click()
    expect(in_hand).to_have_count(0)
    case = case_as(server, "urban", case_id)
    assert case["state"] == "resolved" and case["reply"] == "已到现场处理完毕，并拍照留存。"

    # 5. The resident reads the answer and rates it.
    resident.goto("/requests")
    ready(resident)
    mine = resident.locator(f"[data-testid=request-list] li[data-case-id='{case_id}']")
    expect(mine.get_by_test_id("reply")).to_contain_text("已到现场处理完毕")
    mine.get_by_text("满意", exact=True).click()
    mine.get_by_test_id("rating-submit").click()
    expect(mine.get_by_test_id("your-rating")).to_have_attribute("data-rating", "satisfied")
    case = case_as(server, "resident_a", case_id)
    assert case["state"] in ("callback", "closed") and case["rating"] == "satisfied"

    # 6. The case page tells the whole story, with both photos.
    page = open_page(viewport=DESKTOP)
    log_in(page, "duty", then=f"/cases/{case_id}")
    timeline = page.get_by_test_id("timeline")
    timeline.locator("li.event").first.wait_for()
    shown = timeline.locator("li.event").evaluate_all("els => els.map(e => e.dataset.action)")
    assert shown[:5] == ["create", "dispatch", "accept", "resolve", "callback"]
    for stage in ("report", "resolve"):
        strip = page.locator(f".case-photos[data-stage={stage}] [data-testid=photo-thumb] img")
        expect(strip).to_have_count(1)
        assert strip.evaluate("img => img.complete && img.naturalWidth > 0")
