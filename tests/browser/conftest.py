"""Fixtures of the real-browser tests: a townops server process, Debian's Chromium, pages.

The server (``server``) is a real ``townops serve`` process on a free port with a database
of its own: a SQLite file, or ``townops_test_browser`` on the PostgreSQL pass (created and
dropped here), holding the Gaohang town, its demo users and a handful of cases. Chromium is
``/usr/bin/chromium`` (scripts/browser.sh installs it); without it every test here is
skipped. Every page a test opens records each request it makes; the test fails if any went
anywhere but the server (the web app must work with no internet).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Page,
    Playwright,
    ViewportSize,
    sync_playwright,
)

from tests.browser.live import (
    CHROMIUM_FLAGS,
    DESKTOP,
    SCREENSHOTS,
    LiveServer,
    RequestLog,
    find_chromium,
    gaohang_server,
)

# Parallel runs (e.g. two people on one machine) may each name their own database.
PG_DATABASE = os.environ.get("TOWNOPS_TEST_BROWSER_DB", "townops_test_browser")

# On the PostgreSQL pass only the closed loop runs in the browser: the pages read and write
# through the same API, whose storage tests run on both databases, and the page sweeps and
# screenshots would double CI's browser time for nothing the API tests miss.
# TOWNOPS_BROWSER_ALL_BACKENDS=1 runs every browser test on PostgreSQL too.
BOTH_BACKENDS = frozenset({"test_end_to_end.py", "test_case_flow.py"})


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not os.environ.get("TOWNOPS_TEST_DATABASE_URL"):
        return
    if os.environ.get("TOWNOPS_BROWSER_ALL_BACKENDS"):
        return
    once = pytest.mark.skip(reason="browser test: run in the SQLite pass (BOTH_BACKENDS)")
    for item in items:
        path = item.path
        if path.parent.name == "browser" and path.name not in BOTH_BACKENDS:
            item.add_marker(once)


NANXIN = "310115121020"  # 南新居委会

# A few cases in different communities, so the overview has figures to show.
SEED_CASES: list[dict[str, Any]] = [
    {
        "category": "illegal_construction",
        "content": "南新小区违章搭建阳光房",
        "jurisdiction": NANXIN,
    },
    {
        "category": "street_vending",
        "content": "东沟一居委会门口占道经营",
        "jurisdiction": "310115121001",
    },
    {
        "category": "street_vending",
        "content": "高行居委会菜场门口流动摊贩",
        "jurisdiction": "310115121004",
    },
    {
        "category": "illegal_construction",
        "content": "东沟二居委会楼顶加盖",
        "jurisdiction": "310115121002",
    },
    {"category": "street_vending", "content": "南新路夜间烧烤摊油烟扰民", "jurisdiction": NANXIN},
]


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = find_chromium()
    if path is None:
        pytest.skip(
            "Chromium not found (/usr/bin/chromium): run scripts/browser.sh, which installs "
            "Debian's chromium, chromium-driver and fonts-noto-cjk"
        )
    return path


@pytest.fixture(scope="session")
def backend() -> str:
    url = os.environ.get("TOWNOPS_TEST_DATABASE_URL") or ""
    return "postgresql" if url.startswith("postgresql") else "sqlite"


@pytest.fixture(scope="package")
def server(chromium_path: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    tmp = tmp_path_factory.mktemp("browser")
    with gaohang_server(tmp, PG_DATABASE, cases=SEED_CASES) as live:
        yield live


# Package scope, not session: while Playwright's sync API is started its event loop counts as
# running in this thread, and asyncio.run() in the tests collected after this folder would fail.
@pytest.fixture(scope="package")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="package")
def browser(playwright: Playwright, chromium_path: str) -> Iterator[Browser]:
    launched = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_FLAGS)
    yield launched
    launched.close()


class OpenPage:
    """``open_page(viewport=PHONE, locale="zh-CN")``: a page in a fresh browser context.

    Each context records every request its pages make; ``outside()`` lists those that went
    anywhere but the test server.
    """

    def __init__(self, browser: Browser, server: LiveServer) -> None:
        self._browser = browser
        self._server = server
        self._contexts: list[tuple[BrowserContext, RequestLog]] = []

    def __call__(self, viewport: ViewportSize | None = None, locale: str = "zh-CN") -> Page:
        context = self._browser.new_context(
            base_url=self._server.base_url,
            viewport=viewport or DESKTOP,
            locale=locale,
            timezone_id="Asia/Shanghai",
        )
        context.set_default_timeout(10_000)
        log = RequestLog()
        context.on("request", lambda request: log.record(request.url))
        self._contexts.append((context, log))
        return context.new_page()

    def outside(self) -> list[str]:
        return [url for _, log in self._contexts for url in log.outside(self._server.netloc)]

    def close(self) -> None:
        for context, _ in self._contexts:
            context.close()


@contextmanager
def pages_on(browser: Browser, server: LiveServer) -> Iterator[OpenPage]:
    """Pages on ``server``, closed on the way out; fails if any fetched from elsewhere."""
    pages = OpenPage(browser, server)
    yield pages
    outside = pages.outside()
    pages.close()
    assert not outside, f"the pages fetched from outside the server: {outside}"


@pytest.fixture
def open_page(browser: Browser, server: LiveServer) -> Iterator[OpenPage]:
    """Pages for one test on the shared server (see ``pages_on``)."""
    with pages_on(browser, server) as pages:
        yield pages


@pytest.fixture(scope="session")
def screenshot_dir(backend: str) -> Any:
    directory = SCREENSHOTS / backend
    directory.mkdir(parents=True, exist_ok=True)
    return directory
