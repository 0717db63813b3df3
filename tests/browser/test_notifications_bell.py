"""The bell (通知) and /notifications: a case dispatched to the housing office is news there.

The dispatcher sends a new case to housing_office; the housing handler's bell counts it,
its panel lists "新工单 #<id>", clicking that opens the case and the count drops by one;
in English /notifications lists it as "New case #<id>". On a phone the panel fits the
screen's width.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from playwright.sync_api import Page, expect
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from tests.browser.conftest import NANXIN, OpenPage
from tests.browser.live import DESKTOP, PHONE, LiveServer
from tests.browser.pages import log_in, ready, shoot
from tests.factories import file_case
from townops.duty import chain_at
from townops.timeutil import utcnow


def unread(page: Page) -> int:
    return int(page.get_by_test_id("bell").get_attribute("data-unread") or "0")


def test_bell_counts_lists_and_leads_to_the_case_in_both_languages(
    open_page: OpenPage, server: LiveServer, screenshot_dir: Path
) -> None:
    case = server.create_case(
        "dispatcher",
        category="house_leak",
        content="5号楼顶层卫生间渗水到楼下",
        jurisdiction=NANXIN,
        auto_dispatch=False,
    )
    case = server.act("dispatcher", case, "dispatch", department="housing_office")
    item = f"[data-testid=bell-item][data-case-id='{case['id']}']"

    page = open_page(viewport=DESKTOP)
    log_in(page, "housing", then="/inbox")
    ready(page)
    bell = page.get_by_test_id("bell")
    expect(page.get_by_test_id("bell-count")).to_be_visible()
    expect(bell).to_have_attribute("aria-label", f"通知，{unread(page)} 条未读")
    before = unread(page)
    assert before >= 1

    bell.click()
    expect(bell).to_have_attribute("aria-expanded", "true")
    panel = page.get_by_role("region", name="通知")
    expect(panel.locator(item)).to_contain_text(f"新工单 #{case['id']}")
    expect(panel.locator(item)).to_have_class("bell-item unread")
    shoot(page, screenshot_dir, "notifications-bell-zh")
    page.keyboard.press("Escape")  # closes, and the focus is back on the bell
    expect(panel).to_be_hidden()
    expect(bell).to_be_focused()

    bell.click()
    panel.locator(item).click()
    page.wait_for_url(f"**/cases/{case['id']}")
    ready(page)
    expect(page.get_by_test_id("bell")).to_have_attribute("data-unread", str(before - 1))

    page.goto("/notifications?lang=en")
    ready(page)
    row = page.locator(f"[data-testid=notification][data-case-id='{case['id']}']")
    expect(row).to_contain_text(f"New case #{case['id']}")
    expect(row).to_have_attribute("data-read", "1")
    expect(page.locator("h1")).to_have_text("Notifications")
    # The settings: in-app cannot be turned off; the language of what is sent is saved.
    settings = page.get_by_test_id("notification-settings")
    settings.locator("summary").click()
    expect(settings.locator("input[name=inapp]")).to_be_disabled()
    settings.locator("select[name=locale]").select_option("en")
    page.get_by_test_id("save-settings").click()
    expect(settings).to_contain_text("Settings saved.")
    shoot(page, screenshot_dir, "notifications-en")

    phone = open_page(viewport=PHONE)
    log_in(phone, "housing", then="/inbox")
    ready(phone)
    phone.get_by_test_id("bell").click()
    box = phone.get_by_test_id("bell-panel").bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], box


def test_the_officer_on_duty_acknowledges_an_alarm_call_and_finds_the_roster(
    open_page: OpenPage, server: LiveServer, screenshot_dir: Path
) -> None:
    """An urgent gas alarm came in 12 minutes ago and nobody signed for it: the officer on
    duty by the roster has the 10-minute call in /notifications with 确认收到; one click
    acknowledges the case. /duty then shows that officer on duty now (en, and on a phone)."""
    received = utcnow() - timedelta(minutes=12)
    engine = create_engine(server.database_url)
    try:
        with Session(engine) as session:
            case = file_case(
                session,
                now=received,
                category="iot_gas_alarm",
                content="可燃气体浓度 18.5 %LEL 超过 10",
                jurisdiction=NANXIN,
                kind="iot_alarm",
                source="iot",
                received_at=received,
            )
            session.commit()
            chain = chain_at(session, received)
            assert chain is not None
            officer, case_id = chain[0][1], case.id
            on_duty_now = chain_at(session, utcnow())
            assert on_duty_now is not None
            now_officer = on_duty_now[0][1].display_name
    finally:
        engine.dispose()

    page = open_page(viewport=DESKTOP)
    log_in(page, officer.username, then="/notifications")
    ready(page)
    row = page.locator(f"[data-testid=notification][data-case-id='{case_id}']")
    expect(row).to_contain_text(f"告警工单 #{case_id} 10 分钟无人确认")
    row.get_by_test_id("acknowledge").click()
    expect(row.get_by_test_id("acknowledged")).to_contain_text("已确认收到")
    expect(row.get_by_test_id("acknowledge")).to_have_count(0)
    shoot(page, screenshot_dir, "notifications-acknowledged-zh")

    page.goto("/duty?lang=en")
    ready(page)
    now = page.get_by_test_id("duty-now")
    expect(now).to_contain_text("On duty now")
    expect(now).to_contain_text(now_officer)
    expect(page.get_by_test_id("duty-week").locator("tbody tr")).to_have_count(7)
    shoot(page, screenshot_dir, "duty-en")

    phone = open_page(viewport=PHONE)
    log_in(phone, "duty", then="/duty")
    ready(phone)
    expect(phone.get_by_test_id("duty-now")).to_contain_text("正在值班")
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], width
    shoot(phone, screenshot_dir, "duty-phone-zh")
