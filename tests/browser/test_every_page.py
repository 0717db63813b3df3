"""Every page of every role, in both languages, on a phone and on a wall: a sweep for the
faults a person notices at a glance.

For each role it opens the pages its header links to (and one case page), and checks that
the page drew its data (``body[data-ready]``) with no error box, that nothing is wider than
the window, that no "undefined", "null", "NaN" or "[object Object]" leaked into the text,
and, in Chinese, that no English words are left untranslated (names of people and codes
aside). Screenshots are the other tests' business: this one looks at every combination.

It has a server of its own, with the town's seed cases only: the other tests' cases carry
random letter markers, which would read as untranslated English.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page

from tests.browser.conftest import NANXIN, PG_DATABASE, SEED_CASES, OpenPage, pages_on
from tests.browser.live import (
    PHONE,
    WALL,
    LiveServer,
    gaohang_server,
)
from tests.browser.pages import log_in

ROLES = ["admin", "leader", "duty", "dispatcher", "housing", "nanxin", "grid_nanxin", "resident_a"]
# What English a Chinese page may show: who is logged in, product and format names, and the
# language switch (which names the other language).
ALLOWED_ENGLISH = {
    *ROLES,
    "townops",
    "English",
    "XLSX",
    "Open311",
    "API",
    "demo",
    "contributors",  # the maps' credit is worded "© OpenStreetMap contributors" (ODbL)
}
LEAKS = re.compile(r"\b(undefined|null|NaN)\b|\[object Object\]")
ENGLISH_WORD = re.compile(r"\b[a-z][a-z_]{3,}\b")  # lower-case words: codes are UPPER or mixed


@pytest.fixture(scope="module")
def own_server(
    chromium_path: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    tmp = tmp_path_factory.mktemp("every-page")
    with gaohang_server(tmp, PG_DATABASE + "_sweep", cases=SEED_CASES) as live:
        yield live


@pytest.fixture
def pages(browser: Browser, own_server: LiveServer) -> Iterator[OpenPage]:
    with pages_on(browser, own_server) as opened:
        yield opened


@pytest.fixture(scope="module")
def a_case(own_server: LiveServer) -> dict[str, Any]:
    """A resident's request, dispatched to housing, in 南新: every role above may see it."""
    case = own_server.create_case(
        "resident_a",
        category="illegal_construction",
        content="南新小区楼顶违章加盖，请核查",
        jurisdiction=NANXIN,
        auto_dispatch=False,
    )
    return own_server.act("dispatcher", case, "dispatch", department="housing_office")


def page_faults(page: Page, lang: str) -> list[str]:
    faults: list[str] = []
    if page.locator("[data-testid=error]").count():
        faults.append("error box: " + page.locator("[data-testid=error]").first.inner_text())
    width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    if width[0] > width[1] + 1:
        faults.append(f"wider than the window: {width[0]} > {width[1]}")
    text = page.locator("body").inner_text()
    faults += [f"leaked {m.group(0)!r}" for m in LEAKS.finditer(text)]
    if lang == "zh":
        words = {w for w in ENGLISH_WORD.findall(text) if w not in ALLOWED_ENGLISH}
        if words:
            faults.append(f"English in the Chinese page: {sorted(words)}")
    return faults


@pytest.mark.parametrize("username", ROLES)
def test_every_page_of_every_role_draws_cleanly(
    pages: OpenPage, own_server: LiveServer, a_case: dict[str, Any], username: str
) -> None:
    server = own_server
    faults: list[str] = []
    for size, viewport in {"phone": PHONE, "wall": WALL}.items():
        page = pages(viewport=viewport)
        log_in(page, username)
        page.wait_for_selector("body[data-ready='1']")
        links = page.locator("header nav a").evaluate_all("els => els.map(a => a.pathname)")
        paths = [*dict.fromkeys(links)]
        seen = server.api.get(f"/api/v1/cases/{a_case['id']}", headers=server.headers(username))
        if seen.status_code == 200:  # a grid worker's micro-grid, say, may not hold it
            paths.append(f"/cases/{a_case['id']}")
        assert len(paths) >= 2, links
        for path in paths:
            for lang in ("zh", "en"):
                page.goto(f"{path}?lang={lang}")
                page.wait_for_selector("body[data-ready='1']")
                page.wait_for_load_state("networkidle")
                faults += [f"{size} {lang} {path}: {f}" for f in page_faults(page, lang)]
    assert not faults, "\n".join(faults)
