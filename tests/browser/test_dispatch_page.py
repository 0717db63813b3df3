"""派单台 (/dispatch) in a real browser: the dispatcher sends a queued case where the system
suggests with one click, the duty officer approves an extension and whistles on an overdue
case, and a department handler is refused the page.

Every case the tests need is made here through the API (the queue, an extension request,
an overdue case, a resolved case); the outcome of each click is checked through the API.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.browser.conftest import NANXIN, OpenPage
from tests.browser.live import DESKTOP, PHONE, WALL, LiveServer
from tests.browser.pages import LANGS, SIZES, log_in, shoot

GAOHANG_JIAYUAN = "310115121004-G02"  # 高行家园, a micro-grid of 高行居委会
DONGGOU_1 = "310115121001"  # 东沟一居委会


def get_case(server: LiveServer, case_id: int) -> dict[str, Any]:
    r = server.api.get(f"/api/v1/cases/{case_id}", headers=server.headers("duty"))
    r.raise_for_status()
    found: dict[str, Any] = r.json()
    return found


def queue_ids(server: LiveServer) -> list[int]:
    r = server.api.get("/api/v1/dispatch/queue", headers=server.headers("dispatcher"))
    r.raise_for_status()
    return [c["id"] for c in r.json()]


@pytest.fixture(scope="module")
def board(server: LiveServer) -> dict[str, Any]:
    """One case for each queue of the page."""
    queued = [
        server.create_case(
            "dispatcher",
            category="illegal_construction",
            content=f"南新小区{n}号楼底层住户在绿地上违章搭建棚屋，影响通行",
            jurisdiction=NANXIN,
            auto_dispatch=False,
        )
        for n in (3, 8)
    ]
    # The classifier reads this one (no category given): suggestions of several categories.
    unclear = server.create_case(
        "dispatcher", content="我想反映一个情况，希望有关部门重视一下，谢谢"
    )
    # A repeat the system noticed but was asked not to link by itself.
    original = server.create_case(
        "dispatcher",
        category="lift_failure",
        content="高行家园5号楼电梯坏了，老人下不了楼",
        jurisdiction=GAOHANG_JIAYUAN,
    )
    repeat = server.create_case(
        "dispatcher",
        category="lift_failure",
        content="高行家园5号楼电梯坏了，老人下不了楼！",
        jurisdiction=GAOHANG_JIAYUAN,
        auto_dispatch=False,
    )
    assert repeat["routing"]["duplicate_of"] == original["id"]

    extended = server.create_case(
        "dispatcher",
        category="illegal_construction",
        content="东沟一居委会旁边商铺擅自扩建门面",
        jurisdiction=DONGGOU_1,
    )
    extended = server.act("dispatcher", extended, "dispatch", department="housing_office")
    extended = server.act("housing", extended, "accept")
    extended = server.act(
        "housing", extended, "request_extension", working_days=5, reason="需要协调产权单位到场"
    )

    # Received three weeks ago and never finished: overdue by now.
    late = server.create_case(
        "dispatcher",
        category="street_vending",
        content="南新路菜场门口长期占道摆摊，多次反映未解决",
        jurisdiction=NANXIN,
        received_at=(datetime.now(UTC) - timedelta(days=21)).isoformat(timespec="seconds"),
    )
    assert get_case(server, late["id"])["overdue"], late

    resolved = server.create_case(
        "resident_a",
        category="street_light",
        content="南新路上两盏路灯不亮，晚上走路看不清",
        jurisdiction=NANXIN,
    )
    department = resolved["department"]
    handler = {"construction_office": "construction", "urban_management": "urban"}[department]
    resolved = server.act(handler, resolved, "accept")
    resolved = server.act(handler, resolved, "resolve", reply="路灯已更换灯泡，恢复照明。")
    return {
        "queued": queued,
        "unclear": unclear,
        "repeat": repeat,
        "original": original,
        "extended": extended,
        "late": late,
        "resolved": resolved,
    }


def open_board(page: Page, user: str, then: str = "/dispatch") -> None:
    log_in(page, user, then=then)
    page.wait_for_selector("body[data-ready='1']")


def row_in(page: Page, section: str, case_id: int) -> Locator:
    return page.locator(f"[data-testid=list-{section}] li[data-case-id='{case_id}']")


def count_of(page: Page, section: str) -> int:
    return int(page.get_by_test_id(f"count-{section}").inner_text().replace(",", ""))


def test_dispatch_board_screenshots(
    open_page: OpenPage, server: LiveServer, board: dict[str, Any], screenshot_dir: Path
) -> None:
    for size, viewport in SIZES.items():
        page = open_page(viewport=viewport)
        log_in(page, "dispatcher")
        for lang in LANGS:
            page.goto(f"/dispatch?lang={lang}")
            page.wait_for_selector("body[data-ready='1']")
            expect(row_in(page, "queue", board["unclear"]["id"])).to_be_visible()
            if size == "wall":  # every queue side by side, the extension request loaded
                expect(
                    row_in(page, "extensions", board["extended"]["id"]).get_by_test_id(
                        "extension-request"
                    )
                ).to_contain_text("5")
            shoot(page, screenshot_dir, f"dispatch-{size}-{lang}")
            # No code of the engine is shown as it is: reasons and outcomes are worded.
            text = page.get_by_test_id("section-queue").inner_text()
            for code in ("queued", "low_confidence", "person_requested", "category-default"):
                assert code not in text
    # The phone shows one queue at a time: the overdue tab.
    page = open_page(viewport=PHONE)
    log_in(page, "duty", then="/dispatch?s=overdue")
    page.wait_for_selector("body[data-ready='1']")
    expect(page.get_by_test_id("section-queue")).to_be_hidden()
    expect(row_in(page, "overdue", board["late"]["id"])).to_be_visible()
    shoot(page, screenshot_dir, "dispatch-phone-zh-overdue")


def test_dispatcher_sends_a_case_where_the_system_suggests_with_one_click(
    open_page: OpenPage, server: LiveServer, board: dict[str, Any]
) -> None:
    case = board["queued"][0]
    suggestion = case["routing"]["suggestions"][0]
    page = open_page(viewport=DESKTOP)
    open_board(page, "dispatcher", then="/")  # the dispatcher's home is the board
    assert page.url.endswith("/dispatch")
    row = row_in(page, "queue", case["id"])
    expect(row.get_by_test_id("case-link")).to_have_attribute("href", f"/cases/{case['id']}")
    before = count_of(page, "queue")
    assert before == len(queue_ids(server))

    button = row.get_by_test_id("suggest").first
    expect(button).to_have_attribute("data-department", suggestion["department"])
    button.click()

    done = page.locator(f"[data-testid=list-queue] [data-testid=done][data-case-id='{case['id']}']")
    expect(done).to_contain_text("已派往")
    expect(page.get_by_test_id("count-queue")).to_have_text(str(before - 1))
    after = get_case(server, case["id"])
    assert after["state"] == "dispatched"
    assert after["department"] == suggestion["department"]
    assert case["id"] not in queue_ids(server)


def test_dispatcher_dispatches_elsewhere_links_a_repeat_and_calls_back(
    open_page: OpenPage, server: LiveServer, board: dict[str, Any]
) -> None:
    page = open_page(viewport=DESKTOP)
    open_board(page, "dispatcher")

    # 其他…: the form opens with the first suggestion chosen; the dispatcher picks another.
    other = board["queued"][1]
    row = row_in(page, "queue", other["id"])
    row.get_by_test_id("dispatch-other").click()
    form = row.get_by_test_id("form-dispatch")
    expect(form.locator("[name=department]")).to_have_value(
        other["routing"]["suggestions"][0]["department"]
    )
    form.locator("[name=department]").select_option("urban_management")
    form.get_by_test_id("action-submit").click()
    expect(row_in(page, "queue", other["id"])).to_contain_text("已派往")
    assert get_case(server, other["id"])["department"] == "urban_management"

    # The repeat the system noticed: linked with one click.
    repeat = board["repeat"]
    row = row_in(page, "queue", repeat["id"])
    expect(row).to_contain_text(f"#{board['original']['id']}")
    row.get_by_test_id("link-repeat").click()
    # The row is replaced by its confirmation (the button's own words also say 重复件).
    done = page.locator(
        f"[data-testid=list-queue] [data-testid=done][data-case-id='{repeat['id']}']"
    )
    expect(done).to_contain_text("重复件")
    linked = get_case(server, repeat["id"])
    assert linked["state"] == "linked" and linked["duplicate_of"] == board["original"]["id"]

    # A dispatcher sees the extension request but may not decide it (roles.yaml).
    request = row_in(page, "extensions", board["extended"]["id"]).get_by_test_id(
        "extension-request"
    )
    expect(request).to_contain_text("需要协调产权单位到场")
    expect(request).to_contain_text("您的角色不能审批延期")

    # 待回访: the requester's rating.
    resolved = board["resolved"]
    row = row_in(page, "callbacks", resolved["id"])
    expect(row).to_contain_text("路灯已更换灯泡")
    row.locator("button[data-action=callback]").click()
    row.get_by_test_id("form-callback").locator("[name=rating][value=satisfied]").check()
    row.get_by_test_id("action-submit").click()
    expect(row_in(page, "callbacks", resolved["id"])).to_contain_text("已回访：满意")
    assert get_case(server, resolved["id"])["rating"] == "satisfied"


def test_duty_officer_approves_an_extension_and_whistles_on_an_overdue_case(
    open_page: OpenPage, server: LiveServer, board: dict[str, Any], screenshot_dir: Path
) -> None:
    extended, late = board["extended"], board["late"]
    page = open_page(viewport=WALL)
    open_board(page, "duty")

    row = row_in(page, "extensions", extended["id"])
    expect(row.get_by_test_id("extension-request")).to_contain_text("5 个工作日")
    expect(row.get_by_test_id("extension-request")).to_contain_text("housing")
    row.locator("button[data-action=approve_extension]").click()
    expect(row_in(page, "extensions", extended["id"])).to_contain_text("已批准延期")
    after = get_case(server, extended["id"])
    assert [x["status"] for x in after["extensions"]] == ["approved"]
    assert after["due_at"] > extended["due_at"]

    row = row_in(page, "overdue", late["id"])
    expect(row).to_contain_text("超期")
    row.locator("button[data-action=whistle]").click()
    form = row.get_by_test_id("form-whistle")
    form.locator("[name=departments][value=urban_management]").check()
    form.locator("[name=departments][value=market_regulation]").check()
    form.locator("[name=report_in_hours]").fill("4")
    shoot(page, screenshot_dir, "dispatch-wall-zh-whistle")
    form.get_by_test_id("action-submit").click()
    expect(row_in(page, "overdue", late["id"])).to_contain_text("已完成：吹哨")
    summoned = get_case(server, late["id"])["summonses"]
    assert {s["department"] for s in summoned} == {"urban_management", "market_regulation"}
    hours = [
        (datetime.fromisoformat(s["report_in_due_at"]) - datetime.fromisoformat(s["summoned_at"]))
        for s in summoned
    ]
    assert hours == [timedelta(hours=4)] * 2

    row = row_in(page, "overdue", late["id"])
    row.locator("button[data-action=supervise]").click()
    row.get_by_test_id("form-supervise").get_by_test_id("action-submit").click()
    expect(row_in(page, "overdue", late["id"])).to_contain_text("已督办 1 次")
    assert get_case(server, late["id"])["supervision_count"] == 1


def test_handler_is_refused_the_board_and_has_no_link_to_it(
    open_page: OpenPage, server: LiveServer
) -> None:
    page = open_page(viewport=PHONE)
    log_in(page, "housing", then="/dispatch")
    expect(page.get_by_test_id("error")).to_contain_text("无权")
    expect(page.locator("header [data-nav=dispatch]")).to_have_count(0)
    duty = open_page(viewport=PHONE)
    log_in(duty, "duty", then="/overview")
    expect(duty.locator("header [data-nav=dispatch]")).to_have_count(1)


def test_case_page_words_the_routing_in_the_users_language(
    open_page: OpenPage, server: LiveServer, board: dict[str, Any]
) -> None:
    case = board["unclear"]
    assert case["routing"]["reason_code"] == "low_confidence"
    page = open_page(viewport=DESKTOP)
    log_in(page, "dispatcher", then=f"/cases/{case['id']}")
    routing = page.get_by_test_id("routing")
    expect(routing).to_contain_text("待人工派单")
    expect(routing).to_contain_text("低于阈值")
    for code in ("queued", "classifier", "confidence"):
        expect(routing).not_to_contain_text(code)
    page.goto(f"/cases/{case['id']}?lang=en")
    expect(page.get_by_test_id("routing")).to_contain_text("below the threshold")
