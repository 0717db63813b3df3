"""What the browser tests do on the pages: log in, wait until drawn, take screenshots."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, ViewportSize, expect

from tests.browser.live import PHONE, WALL
from tests.factories import DEMO_PASSWORD

SIZES: dict[str, ViewportSize] = {"phone": PHONE, "wall": WALL}
LANGS = ("zh", "en")


def fill_login(page: Page, username: str, password: str) -> None:
    page.get_by_test_id("login-form").wait_for()
    page.locator("#username").fill(username)
    page.locator("#password").fill(password)
    page.get_by_test_id("login-submit").click()


def log_in(page: Page, username: str, then: str = "/") -> None:
    """Log in through the log-in page, then open ``then``."""
    page.goto("/login?next=" + then)
    fill_login(page, username, DEMO_PASSWORD)
    page.wait_for_url(lambda url: "/login" not in url)
    expect(page.get_by_test_id("user")).to_contain_text(username)


def ready(page: Page) -> None:
    """Until the page has drawn its first data (core/app.js sets body's data-ready)."""
    page.wait_for_selector("body[data-ready='1']")


def wait_for_overview(page: Page) -> None:
    """Until the tiles and the map are drawn."""
    expect(page.get_by_test_id("tile-open")).not_to_be_empty()
    page.locator("[data-testid=map] g.area path").first.wait_for()


def shoot(page: Page, directory: Path, name: str) -> None:
    """A full-page PNG once the web font is in (so Chinese is drawn, not fallback boxes)."""
    page.evaluate("document.fonts.ready.then(() => true)")
    page.screenshot(path=directory / f"{name}.png", full_page=True)
