"""待办 /inbox: a unit's cases by deadline, worked from the rows without opening each case.

The housing office's handler accepts a case in one click (it moves from 待签收 to 办理中),
resolves it with a reply and a photo, returns another with a reason and asks for an
extension on a third; the API shows each new state. The community's staff see the cases
sent to their community (phones masked, so no dial link) and the read-only area section.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from playwright.sync_api import FilePayload, Locator, Page, expect

from tests.browser.conftest import NANXIN, OpenPage
from tests.browser.live import DESKTOP, PHONE, LiveServer
from tests.browser.pages import LANGS, SIZES, log_in, shoot
from tests.media.images import plain_jpeg

PHONE_NUMBER = "13912345678"


def dispatched(
    server: LiveServer, content: str, received_at: str | None = None, **target: str
) -> dict[str, Any]:
    """A resident's house-leak case, sent by the dispatcher to ``target`` (department=…)."""
    case = server.create_case(
        "dispatcher",
        category="house_leak",
        content=content,
        jurisdiction=NANXIN,
        requester_name="王建国",
        requester_phone=PHONE_NUMBER,
        auto_dispatch=False,
        received_at=received_at,
    )
    return server.act("dispatcher", case, "dispatch", **target)


def api_case(server: LiveServer, case: dict[str, Any]) -> dict[str, Any]:
    r = server.api.get(f"/api/v1/cases/{case['id']}", headers=server.headers("duty"))
    assert r.status_code == 200, r.text
    found: dict[str, Any] = r.json()
    return found


def row(page: Page, section: str, case: dict[str, Any]) -> Locator:
    return page.locator(f"[data-testid=section-{section}] li[data-case-id='{case['id']}']")


def open_inbox(page: Page, user: str, lang: str = "zh") -> None:
    log_in(page, user, then=f"/inbox?lang={lang}")
    page.wait_for_selector("body[data-ready='1']")


def small_jpeg() -> FilePayload:
    data = plain_jpeg(64, 48, (40, 120, 200))
    return FilePayload(name="done.jpg", mimeType="image/jpeg", buffer=data)


def submit_form(page: Page, line: Locator, action: str, fill: dict[str, str]) -> None:
    line.locator(f".row-actions [data-action='{action}']").click()
    form = line.get_by_test_id(f"form-{action}")
    for name, value in fill.items():
        form.locator(f"[name='{name}']").fill(value)
    form.get_by_test_id("action-submit").click()


def test_handler_accepts_resolves_with_a_photo_and_returns_from_the_rows(
    open_page: OpenPage, server: LiveServer
) -> None:
    leak = dispatched(server, "顶楼屋面渗水，下雨天客厅漏水", department="housing_office")
    wrong = dispatched(server, "小区门口共享单车乱停放", department="housing_office")
    page = open_page(viewport=DESKTOP)
    open_inbox(page, "housing")

    waiting = row(page, "accept", leak)
    expect(waiting).to_be_visible()
    expect(waiting).to_contain_text("房屋渗漏")
    expect(waiting.get_by_test_id("countdown")).to_contain_text("剩余")
    # A handler may see the full number: it can be dialled.
    expect(waiting.locator("a.tel")).to_have_attribute("href", f"tel:{PHONE_NUMBER}")
    expect(page.get_by_test_id("count-accept")).not_to_have_text("0")

    # 签收 in one click: no form, the row moves to 办理中.
    waiting.locator("[data-action=accept]").click()
    in_hand = row(page, "hand", leak)
    expect(in_hand).to_be_visible()
    expect(row(page, "accept", leak)).to_have_count(0)
    expect(page.get_by_test_id("flash")).to_contain_text(f"#{leak['id']}")
    assert api_case(server, leak)["state"] == "accepted"

    # 办结 with a reply and a photo.
    in_hand.locator(".row-actions [data-action=resolve]").click()
    form = in_hand.get_by_test_id("form-resolve")
    form.locator("[name=reply]").fill("已修补屋面防水层，雨天复查无渗漏。")
    photo_input = form.locator("input[type=file]")
    photo_input.set_input_files(files=[small_jpeg()])
    expect(form.locator("img")).to_have_count(1)
    form.get_by_test_id("action-submit").click()
    expect(row(page, "hand", leak)).to_have_count(0)
    resolved = api_case(server, leak)
    assert resolved["state"] == "resolved"
    assert resolved["reply"] == "已修补屋面防水层，雨天复查无渗漏。"
    assert [p["stage"] for p in resolved["photos"]] == ["resolve"]

    # 退单 with a reason: back to the dispatcher, out of the inbox.
    submit_form(page, row(page, "accept", wrong), "return", {"reason": "单车乱停归城管中队管理"})
    expect(row(page, "accept", wrong)).to_have_count(0)
    assert api_case(server, wrong)["state"] == "returned"
    history = server.api.get(
        f"/api/v1/cases/{wrong['id']}/history", headers=server.headers("duty")
    ).json()
    assert history[-1]["action"] == "return"
    assert history[-1]["data"].get("reason") == "单车乱停归城管中队管理"


def test_extension_request_shows_as_pending_on_the_row(
    open_page: OpenPage, server: LiveServer
) -> None:
    case = dispatched(server, "楼道墙面大面积渗水发霉", department="housing_office")
    server.act("housing", case, "accept")
    page = open_page(viewport=PHONE)
    open_inbox(page, "housing")
    page.locator("[data-testid=inbox-tabs] [data-section=hand]").click()
    line = row(page, "hand", case)
    expect(line).to_be_visible()
    expect(line.get_by_test_id("extension-pending")).to_have_count(0)
    submit_form(
        page, line, "request_extension", {"working_days": "5", "reason": "需等待维修基金审批"}
    )
    expect(row(page, "hand", case).get_by_test_id("extension-pending")).to_be_visible()
    extensions = api_case(server, case)["extensions"]
    assert [(x["status"], x["working_days"]) for x in extensions] == [("pending", 5)]


def test_community_staff_see_their_community_cases_masked_and_their_area(
    open_page: OpenPage, server: LiveServer, screenshot_dir: Path
) -> None:
    case = dispatched(server, "南新小区7号楼地下室积水渗入", community=NANXIN)
    page = open_page(viewport=DESKTOP)
    open_inbox(page, "nanxin")
    line = row(page, "accept", case)
    expect(line).to_be_visible()
    # Community staff do not see full numbers: shown masked, and not as a link to dial.
    expect(line.locator(".requester")).to_contain_text("139****5678")
    expect(line.locator("a.tel")).to_have_count(0)
    area = page.get_by_test_id("section-area")
    expect(area).to_be_visible()
    expect(area.locator("li[data-case-id]").first).to_be_visible()
    # The area list is for reading: no action buttons there.
    expect(area.locator(".row-actions")).to_have_count(0)

    line.locator("[data-action=accept]").click()
    expect(row(page, "hand", case)).to_be_visible()
    assert api_case(server, case)["state"] == "accepted"

    for lang in LANGS:  # four tabs on a phone: each must still read
        phone = open_page(viewport=PHONE)
        open_inbox(phone, "nanxin", lang)
        phone.locator("[data-testid=inbox-tabs] [data-section=area]").click()
        expect(phone.get_by_test_id("section-area")).to_be_visible()
        expect(phone.get_by_test_id("section-hand")).to_be_hidden()
        shoot(phone, screenshot_dir, f"inbox-community-phone-{lang}")


def test_inbox_screenshots_phone_and_wall_in_both_languages(
    open_page: OpenPage, server: LiveServer, screenshot_dir: Path
) -> None:
    held = dispatched(server, "屋顶水箱漏水流到楼道", department="housing_office")
    server.act("housing", held, "accept")
    dispatched(server, "3号楼外墙瓷砖空鼓渗水", department="housing_office")
    # Received a month ago: its deadline has passed, so 已超期 has a row too.
    month_ago = (datetime.now(UTC) - timedelta(days=30)).isoformat()
    late = dispatched(server, "地下车库顶板渗漏滴水", month_ago, department="housing_office")
    for size, viewport in SIZES.items():
        for lang in LANGS:
            page = open_page(viewport=viewport)
            open_inbox(page, "housing", lang)
            expect(page.get_by_test_id("inbox")).to_be_visible()
            expect(page.locator("[data-testid=inbox] li[data-case-id]").first).to_be_visible()
            overdue = row(page, "overdue", late).get_by_test_id("countdown")
            expect(overdue).to_have_count(1)
            # One card per case: the late case is in 已超期 only (with its state), not also
            # in 待签收, which holds the cases still on time.
            expect(row(page, "accept", late)).to_have_count(0)
            expect(row(page, "overdue", late).locator("[data-state=dispatched]")).to_have_count(1)
            ids = page.locator("[data-testid=inbox] li[data-case-id]").evaluate_all(
                "els => els.filter(e => !e.closest('[data-section=area]'))"
                ".map(e => e.dataset.caseId)"
            )
            assert len(ids) == len(set(ids)), f"a case shown twice: {ids}"
            if size == "wall":
                expect(overdue).to_have_class(re.compile(r"\blate\b"))
            heading = "我的待办" if lang == "zh" else "My inbox"
            expect(page.locator("h1")).to_have_text(heading)
            # Nothing may stick out sideways on a phone.
            overflow = page.evaluate("document.documentElement.scrollWidth - innerWidth")
            assert overflow <= 0, f"{size} {lang}: {overflow}px too wide"
            shoot(page, screenshot_dir, f"inbox-{size}-{lang}")
