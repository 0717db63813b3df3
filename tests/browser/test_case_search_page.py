"""工单查询 (/cases) in a real browser: the dispatcher finds a case by words of its text and by
its tracking code, in zh and en, at a desk and on a phone (filters folded away); the URL
keeps the search and the back button returns to the one before."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import expect

from tests.browser.conftest import OpenPage
from tests.browser.live import DESKTOP, PHONE, LiveServer
from tests.browser.pages import log_in, ready, shoot


def test_dispatcher_finds_a_case_by_text_and_by_tracking_code(
    open_page: OpenPage, server: LiveServer, screenshot_dir: Path
) -> None:
    words = "垃圾房门口的窨井盖松动，夜里踩上去晃动"
    case = server.create_case(
        "dispatcher",
        category="street_light",
        content=words,
        address="高行镇东靖路1500弄3号",
        jurisdiction="310115121020",
        auto_dispatch=False,
        requester_phone="13912345678",
    )
    for lang, viewport, size in (("zh", DESKTOP, "desk"), ("en", PHONE, "phone")):
        page = open_page(viewport=viewport)
        log_in(page, "dispatcher", then=f"/cases?lang={lang}")
        ready(page)
        # On a phone the filters fold away behind a button; at a desk they show.
        filters = page.get_by_test_id("search-filters")
        if size == "phone":
            expect(filters).to_be_hidden()
            page.get_by_test_id("filters-toggle").click()
        expect(filters).to_be_visible()
        expect(page.get_by_test_id("filter-phone")).to_be_visible()  # the dispatcher may

        page.get_by_test_id("search-q").fill("窨井盖松动")
        page.get_by_test_id("search-submit").click()
        rows = page.locator("[data-testid=case-list] li[data-case-id]")
        expect(rows).to_have_count(1)
        expect(rows.first).to_have_attribute("data-case-id", str(case["id"]))
        expect(page.get_by_test_id("case-total")).to_have_text(
            "共 1 件" if lang == "zh" else "1 in all"
        )
        assert "q=" in page.url
        shoot(page, screenshot_dir, f"case-search-text-{lang}-{size}")

        page.get_by_test_id("search-q").fill(case["token"].lower())
        page.get_by_test_id("search-submit").click()
        expect(page.get_by_test_id("case-token")).to_have_text(case["token"])
        expect(rows).to_have_count(1)
        shoot(page, screenshot_dir, f"case-search-code-{lang}-{size}")

        page.go_back()  # the search before: the words again
        expect(page.get_by_test_id("search-q")).to_have_value("窨井盖松动")
        expect(rows).to_have_count(1)

    # A leader is shown phones masked: no phone box; a phone in the text is refused in words.
    page = open_page(viewport=DESKTOP)
    log_in(page, "leader", then="/cases?q=13912345678")
    ready(page)
    expect(page.get_by_test_id("filter-phone")).to_have_count(0)
    expect(page.get_by_test_id("error")).to_contain_text("不能按电话号码")
