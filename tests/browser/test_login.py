"""The log-in page in a real browser: Chinese by default, the English switch, a wrong
password, then each role's home (the duty officer lands on the one screen)."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import expect

from tests.browser.conftest import OpenPage
from tests.browser.live import PHONE
from tests.browser.pages import LANGS, SIZES, fill_login, shoot
from tests.factories import DEMO_PASSWORD


def test_login_page_is_chinese_and_switches_to_english(open_page: OpenPage) -> None:
    page = open_page(viewport=PHONE)
    page.goto("/login")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.locator("label[for=username]")).to_have_text("用户名")
    expect(page.get_by_test_id("login-submit")).to_have_text("登录")
    # Chinese is drawn with the font the server ships, not one the user's computer may lack.
    loaded = page.evaluate(
        "document.fonts.ready.then(() => [...document.fonts]"
        ".filter(f => f.status === 'loaded').map(f => f.family))"
    )
    assert loaded, "no web font loaded: Chinese would depend on the computer's fonts"

    page.get_by_test_id("lang-switch").click()

    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("label[for=username]")).to_have_text("Username")
    expect(page.get_by_test_id("login-submit")).to_have_text("Log in")
    page.reload()  # the choice is remembered
    expect(page.get_by_test_id("login-submit")).to_have_text("Log in")


def test_wrong_password_is_refused_on_the_page(open_page: OpenPage) -> None:
    page = open_page()
    page.goto("/login")
    fill_login(page, "duty", "not-the-password")
    expect(page.get_by_test_id("login-message")).to_have_text("用户名或密码不对。")
    assert page.url.endswith("/login")


def test_duty_officer_lands_on_the_one_screen(open_page: OpenPage) -> None:
    page = open_page()
    page.goto("/")  # not logged in: sent to the log-in page
    page.wait_for_url("**/login**")
    fill_login(page, "duty", DEMO_PASSWORD)
    page.wait_for_url("**/overview")
    expect(page.get_by_test_id("user")).to_contain_text("duty")


def test_login_page_screenshots(open_page: OpenPage, screenshot_dir: Path) -> None:
    for lang in LANGS:
        for size, viewport in SIZES.items():
            page = open_page(viewport=viewport)
            page.goto(f"/login?lang={lang}")
            page.get_by_test_id("login-form").wait_for()
            shoot(page, screenshot_dir, f"login-{lang}-{size}")
