"""A resident's request worked through the case page, each step by its own role in its own
browser: dispatched, accepted, resolved, then rated by the resident.

The resident's submission page is not built yet, so the request itself is submitted
through the API as the resident; every later step is a click on /cases/{id}.
"""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.browser.conftest import NANXIN, OpenPage
from tests.browser.live import PHONE, LiveServer
from tests.browser.pages import log_in


def act_on_page(page: Page, action: str, fill: dict[str, str] | None = None) -> None:
    """Open the action's form on the case page, fill it, submit, wait for the new version."""
    version = page.get_by_test_id("case").get_attribute("data-version")
    page.locator(f"[data-testid=actions] button[data-action='{action}']").click()
    form = page.get_by_test_id(f"form-{action}")
    for name, value in (fill or {}).items():
        control = form.locator(f"[name='{name}']")
        tag = control.first.evaluate("el => el.tagName + ':' + (el.type || '')")
        if tag.startswith("SELECT"):
            control.select_option(value)
        elif tag.endswith(":radio"):
            form.locator(f"[name='{name}'][value='{value}']").check()
        else:
            control.fill(value)
    form.get_by_test_id("action-submit").click()
    expect(page.get_by_test_id("case")).not_to_have_attribute("data-version", version or "")
    expect(page.get_by_test_id("flash")).not_to_be_empty()


def state_on_page(page: Page, state: str) -> None:
    expect(page.locator("[data-testid=case-state] [data-state]")).to_have_attribute(
        "data-state", state
    )


def test_request_dispatched_accepted_resolved_and_rated_on_the_pages(
    open_page: OpenPage, server: LiveServer
) -> None:
    case = server.create_case(
        "resident_a",
        category="illegal_construction",
        content="楼下有人在绿地上搭棚子",
        jurisdiction=NANXIN,
        auto_dispatch=False,
    )
    at = f"/cases/{case['id']}"

    dispatcher = open_page()
    log_in(dispatcher, "dispatcher", then=at)
    act_on_page(dispatcher, "dispatch", {"department": "housing_office"})
    state_on_page(dispatcher, "dispatched")

    handler = open_page()
    log_in(handler, "housing", then=at)
    act_on_page(handler, "accept")
    state_on_page(handler, "accepted")
    act_on_page(handler, "resolve", {"reply": "棚子已拆除，绿地已恢复。"})
    state_on_page(handler, "resolved")

    resident = open_page(viewport=PHONE)
    log_in(resident, "resident_a", then=at)
    expect(resident.get_by_test_id("case-fields")).to_contain_text("棚子已拆除，绿地已恢复。")
    act_on_page(resident, "callback", {"rating": "satisfied"})

    final = server.api.get(f"/api/v1/cases/{case['id']}", headers=server.headers("duty")).json()
    assert final["rating"] == "satisfied"
    assert final["department"] == "housing_office"
    actions = [
        e["action"]
        for e in server.api.get(
            f"/api/v1/cases/{case['id']}/history", headers=server.headers("duty")
        ).json()
    ]
    assert actions[:5] == ["create", "dispatch", "accept", "resolve", "callback"]
    timeline = resident.get_by_test_id("timeline").locator("li.event")
    expect(timeline).to_have_count(len(actions))
