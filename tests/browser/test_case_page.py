"""A case's page (/cases/{id}) in a real browser: the timeline from the audit trail."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import NANXIN, OpenPage
from tests.browser.live import DESKTOP, LiveServer
from tests.browser.pages import LANGS, SIZES, log_in, shoot


def worked_case(server: LiveServer) -> dict[str, Any]:
    """A case received, dispatched to the housing office, accepted and resolved."""
    case = server.create_case(
        "dispatcher",
        category="illegal_construction",
        content="南新小区楼顶违章加盖，请核查",
        jurisdiction=NANXIN,
        auto_dispatch=False,
    )
    case = server.act("dispatcher", case, "dispatch", department="housing_office")
    case = server.act("housing", case, "accept")
    return server.act("housing", case, "resolve", reply="已到现场核查并拆除。")


def history(server: LiveServer, case_id: int) -> list[dict[str, Any]]:
    r = server.api.get(f"/api/v1/cases/{case_id}/history", headers=server.headers("duty"))
    r.raise_for_status()
    events: list[dict[str, Any]] = r.json()
    return events


def test_case_page_shows_the_timeline_from_the_audit_trail(
    open_page: OpenPage, server: LiveServer
) -> None:
    case = worked_case(server)
    events = history(server, case["id"])
    actions = [e["action"] for e in events]
    assert {"create", "dispatch", "accept", "resolve"} <= set(actions)

    page = open_page(viewport=DESKTOP)
    log_in(page, "duty", then=f"/cases/{case['id']}")
    timeline = page.get_by_test_id("timeline")
    timeline.locator("li.event").first.wait_for()

    shown = timeline.locator("li.event").evaluate_all("els => els.map(e => e.dataset.action)")
    assert shown == actions
    expect(page.get_by_test_id("case-content")).to_have_text(case["content"])
    expect(page.get_by_test_id("case-token")).to_have_text(case["token"])
    expect(timeline).to_contain_text("已到现场核查并拆除。")  # the reply, in the resolve event


def test_case_page_screenshots(
    open_page: OpenPage, server: LiveServer, screenshot_dir: Path
) -> None:
    case = worked_case(server)
    for size, viewport in SIZES.items():
        page = open_page(viewport=viewport)
        log_in(page, "duty")
        for lang in LANGS:
            page.goto(f"/cases/{case['id']}?lang={lang}")
            page.get_by_test_id("timeline").locator("li.event").first.wait_for()
            shoot(page, screenshot_dir, f"case-{lang}-{size}")


def test_handler_case_list_shows_the_case_and_opens_its_page(
    open_page: OpenPage, server: LiveServer, screenshot_dir: Path
) -> None:
    case = worked_case(server)
    page = open_page(viewport=DESKTOP)
    log_in(page, "housing", then="/cases")
    assert page.url.endswith("/cases")
    row = page.locator(f"[data-testid=case-list] li[data-case-id='{case['id']}']")
    expect(row).to_contain_text(f"#{case['id']}")

    row.locator("a").click()

    page.wait_for_url(f"**/cases/{case['id']}")
    expect(page.get_by_test_id("case-content")).to_have_text(case["content"])
    for size, viewport in SIZES.items():
        page.set_viewport_size(viewport)
        for lang in LANGS:
            page.goto(f"/cases?lang={lang}")
            page.locator("[data-testid=case-list] li").first.wait_for()
            shoot(page, screenshot_dir, f"cases-handler-{lang}-{size}")
