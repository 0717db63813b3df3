"""How fast the web app's pages are usable in Chromium, with the full demo year loaded.

    python bench/web_browser.py [--db /tmp/demo.db] [--repeat 5]

Copies the demo database (built by ``townops demo --no-serve --year 2022 --db PATH`` when the
file does not exist; the given file is never modified), serves the copy with a real
``townops serve`` process (one worker) and drives Debian's Chromium (/usr/bin/chromium,
scripts/browser.sh) with Playwright. Each page is timed from the start of its navigation
(the browser's ``performance.now()`` origin) until it is usable: the page sets
``document.body.dataset.ready = "1"`` once its figures, map or list are drawn. "Cold" is a
new browser context (empty cache, logged in); "warm" is a reload in the same context.
Targets (issue 5): the one screen usable within 1.5 s, each work page within 0.5 s.
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from playwright.sync_api import Browser, Page, sync_playwright

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.browser.live import (  # noqa: E402
    CHROMIUM_FLAGS,
    WALL,
    LiveServer,
    find_chromium,
    live_server,
)
from tests.factories import DEMO_PASSWORD  # noqa: E402

# Usable: the page says so (core/app.js sets document.body.dataset.ready = "1" once the page
# has drawn its first data), or its main content is drawn, whichever comes first. The
# expression's value is the time it first held.
MARKER = "document.body && document.body.dataset.ready === '1'"
OVERVIEW_DRAWN = (
    "(document.querySelector('[data-testid=tile-open]')?.textContent || '') !== '' && "
    "document.querySelectorAll('[data-testid=map] g.area path').length > 0 && "
    "document.querySelectorAll('[data-testid=feed] li').length > 0"
)
CASE_DRAWN = "document.querySelectorAll('[data-testid=timeline] li').length > 0"
LIST_DRAWN = "document.querySelectorAll('[data-testid=case-list] li').length > 0"


@dataclass(frozen=True)
class PageSpec:
    name: str
    path: Callable[[LiveServer], str]
    user: str
    drawn: str
    target_s: float

    @property
    def ready(self) -> str:
        return f"() => (({MARKER}) || ({self.drawn})) && performance.now()"


def first_case_id(server: LiveServer) -> int:
    """The busiest kind of case page: the newest closed case, with its whole history."""
    r = server.api.get(
        "/api/v1/cases",
        params={"page_size": 1, "state": "closed", "order": "-received_at"},
        headers=server.headers("duty"),
    )
    r.raise_for_status()
    case_id: int = r.json()["items"][0]["id"]
    return case_id


PAGES = [
    PageSpec(
        "一屏总览 /overview (duty officer)", lambda s: "/overview", "duty", OVERVIEW_DRAWN, 1.5
    ),
    PageSpec("一屏总览 /overview (leader)", lambda s: "/overview", "leader", OVERVIEW_DRAWN, 1.5),
    PageSpec(
        "一屏总览 /overview?j=南新",
        lambda s: "/overview?j=310115121020",
        "duty",
        OVERVIEW_DRAWN,
        1.5,
    ),
    PageSpec("案件页 /cases/{id}", lambda s: f"/cases/{first_case_id(s)}", "duty", CASE_DRAWN, 0.5),
    PageSpec("工单列表 /cases (handler: housing)", lambda s: "/cases", "housing", LIST_DRAWN, 0.5),
    PageSpec("派单台 /dispatch (dispatcher)", lambda s: "/dispatch", "dispatcher", "false", 0.5),
    PageSpec("待办 /inbox (handler: housing)", lambda s: "/inbox", "housing", "false", 0.5),
    PageSpec("待办 /inbox (community: nanxin)", lambda s: "/inbox", "nanxin", "false", 0.5),
    PageSpec("上报 /report (grid worker)", lambda s: "/report", "grid_nanxin", "false", 0.5),
    PageSpec("我的诉求 /requests (resident)", lambda s: "/requests", "resident_a", "false", 0.5),
    PageSpec("我要反映 /submit (resident)", lambda s: "/submit", "resident_a", "false", 0.5),
    PageSpec("考核排名 /rankings (leader)", lambda s: "/rankings", "leader", "false", 0.5),
]


def copy_database(source: Path, target: Path) -> None:
    """A consistent copy through SQLite's backup API; the source is opened read-only."""
    with (
        closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True)) as src,
        closing(sqlite3.connect(target)) as dst,
    ):
        src.backup(dst)


def build_demo(path: Path) -> None:
    townops = Path(sys.executable).with_name("townops")
    subprocess.run(
        [str(townops), "demo", "--no-serve", "--year", "2022", "--db", str(path)], check=True
    )


def login_page_ready(browser: Browser, server: LiveServer) -> float:
    """The log-in page in a new context (empty cache): until its form is shown."""
    context = browser.new_context(base_url=server.base_url, viewport=WALL, locale="zh-CN")
    page = context.new_page()
    page.goto("/login", wait_until="commit")
    at_ms: float = page.wait_for_function(
        "() => document.querySelector('[data-testid=login-form]') && performance.now()"
    ).json_value()
    context.close()
    return at_ms / 1000


def ready_after(page: Page, spec: PageSpec) -> float:
    at_ms: float = page.wait_for_function(spec.ready, timeout=30_000).json_value()
    return at_ms / 1000


def time_page(
    browser: Browser, server: LiveServer, spec: PageSpec, repeat: int
) -> tuple[list[float], list[float]]:
    """Seconds until usable: right after logging in (new context), and on a reload."""
    path = spec.path(server)
    after_login, reloaded = [], []
    for _ in range(repeat):
        context = browser.new_context(base_url=server.base_url, viewport=WALL, locale="zh-CN")
        page = context.new_page()
        page.goto("/login?next=" + quote(path, safe=""))
        page.locator("#username").fill(spec.user)
        page.locator("#password").fill(DEMO_PASSWORD)
        page.get_by_test_id("login-submit").click()
        page.wait_for_url(lambda url: "/login" not in url, wait_until="commit")
        after_login.append(ready_after(page, spec))
        page.reload(wait_until="commit")
        reloaded.append(ready_after(page, spec))
        context.close()
    return after_login, reloaded


def verdict(seconds: float, target: float) -> str:
    return "met" if seconds <= target else "NOT met"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, default=Path("/tmp/demo.db"))
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    chromium = find_chromium()
    if chromium is None:
        sys.exit("Chromium not found: run scripts/browser.sh")
    tmp = Path(tempfile.mkdtemp(prefix="townops-web-bench-"))
    if not args.db.exists():
        print(f"building the demo year into {args.db} (townops demo --no-serve --year 2022)")
        build_demo(args.db)
    copy = tmp / "demo.db"
    copy_database(args.db, copy)
    with (
        live_server(f"sqlite:///{copy}", tmp / "server.log") as server,
        sync_playwright() as p,
    ):
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
        print(f"Chromium {browser.version}, demo database {args.db} ({count_cases(copy)} cases)")
        login = [login_page_ready(browser, server) for _ in range(args.repeat)]
        print(f"log-in page, empty cache: median {statistics.median(login) * 1000:.0f} ms")
        print(f"{'after log-in':>12} {'reload':>9} {'target':>7}  page")
        for spec in PAGES:
            first, again = time_page(browser, server, spec, args.repeat)
            f, w = statistics.median(first), statistics.median(again)
            print(
                f"{f * 1000:>9.0f} ms {w * 1000:>6.0f} ms {spec.target_s:>5.1f} s  {spec.name}: "
                f"{verdict(max(f, w), spec.target_s)}"
            )
        browser.close()


def count_cases(path: Path) -> int:
    with closing(sqlite3.connect(path)) as conn:
        n: int = conn.execute("SELECT count(*) FROM cases").fetchone()[0]
        return n


if __name__ == "__main__":
    main()
