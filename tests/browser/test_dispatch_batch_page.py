"""批量派单 on 派单台 (/dispatch) in a real browser, in Chinese and in English: the dispatcher
picks queued cases and dispatches them at once, as suggested or to one department; a case
a colleague dispatched meanwhile is named in its row, the others go."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Page, expect

from tests.browser.conftest import OpenPage
from tests.browser.live import DESKTOP, LiveServer
from tests.browser.pages import log_in

# A community and a category no other browser test files cases in: an open case of this
# test must not be taken for the repeat of another test's case.
COMMUNITY = "310115121003"


def queued(server: LiveServer, n: int) -> dict[str, Any]:
    return server.create_case(
        "dispatcher",
        category="dog_nuisance",
        content=f"{n}号楼有人遛狗不牵绳，狗在草坪上随地便溺",
        jurisdiction=COMMUNITY,
        auto_dispatch=False,
    )


def state_of(server: LiveServer, case_id: int) -> dict[str, Any]:
    r = server.api.get(f"/api/v1/cases/{case_id}", headers=server.headers("duty"))
    r.raise_for_status()
    found: dict[str, Any] = r.json()
    return found


def pick(page: Page, case_id: int) -> None:
    row = page.locator(f"[data-testid=list-queue] li[data-case-id='{case_id}']")
    row.get_by_test_id("pick").check()


def done_row(page: Page, case_id: int) -> Any:
    return page.locator(f"[data-testid=list-queue] [data-testid=done][data-case-id='{case_id}']")


def test_dispatcher_dispatches_picked_cases_as_suggested_and_sees_a_conflict_named(
    open_page: OpenPage, server: LiveServer
) -> None:
    good, other, stale = (queued(server, n) for n in (11, 12, 13))
    page = open_page(viewport=DESKTOP)
    log_in(page, "dispatcher", then="/dispatch")
    page.wait_for_selector("body[data-ready='1']")
    for case in (good, other, stale):
        pick(page, case["id"])
    expect(page.get_by_test_id("batch-dispatch")).to_have_text("批量派单（3）")
    # A colleague dispatches one of them while the page is open.
    server.act("duty", stale, "dispatch", department="urban_management")
    expect(page.get_by_test_id("batch-target")).to_have_value("")  # 按建议
    page.get_by_test_id("batch-dispatch").click()

    expect(done_row(page, good["id"])).to_contain_text("已派往")
    expect(done_row(page, other["id"])).to_contain_text("已派往")
    error = page.locator(f"li[data-case-id='{stale['id']}'] [data-testid=batch-error]")
    expect(error).to_contain_text("工单已被他人更新")
    expect(page.get_by_test_id("batch-summary")).to_have_text("已派 2 件，1 件未派")
    suggested = good["routing"]["suggestions"][0]
    after = state_of(server, good["id"])
    assert after["state"] == "dispatched"
    assert after["department"] == suggested["department"]
    assert state_of(server, stale["id"])["department"] == "urban_management"


def test_in_english_all_picked_go_to_one_chosen_department(
    open_page: OpenPage, server: LiveServer
) -> None:
    first, second = (queued(server, n) for n in (21, 22))
    page = open_page(viewport=DESKTOP)
    log_in(page, "dispatcher", then="/dispatch?lang=en")
    page.wait_for_selector("body[data-ready='1']")
    pick(page, first["id"])
    pick(page, second["id"])
    expect(page.get_by_test_id("batch-dispatch")).to_have_text("Dispatch selected (2)")
    page.get_by_test_id("batch-target").select_option("housing_office")
    page.get_by_test_id("batch-dispatch").click()
    for case in (first, second):
        expect(done_row(page, case["id"])).to_contain_text("Sent to")
        assert state_of(server, case["id"])["department"] == "housing_office"
    expect(page.get_by_test_id("batch-summary")).to_have_text("2 dispatched, 0 not")
