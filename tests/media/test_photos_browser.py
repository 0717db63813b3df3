"""js/core/photos.js in Debian's Chromium against a real server: the picker uploads what is
chosen, shows thumbnails through signed URLs, reports a bad file in the page's language,
and the strip shows a case's photos. The test mounts them on their own (in place of the
resident's home page, once that page has drawn); nothing may be fetched from outside the
server."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, FilePayload, Page, expect, sync_playwright

from tests.browser.conftest import pages_on
from tests.browser.live import (
    CHROMIUM_FLAGS,
    PHONE,
    SCREENSHOTS,
    WALL,
    LiveServer,
    find_chromium,
    gaohang_server,
)
from tests.browser.pages import log_in, ready, shoot
from tests.media.images import camera_jpeg, png

PG_DATABASE = os.environ.get("TOWNOPS_TEST_MEDIA_BROWSER_DB", "townops_test_media_browser")
NANXIN = "310115121020"


def settled(page: Page) -> None:
    # The home page draws after log-in: mounting before it has drawn would be undone by it.
    ready(page)


# Mounts the picker and, when a case id is given, the strip of that case, into <main>.
MOUNT = """async (caseId) => {
  const app = document.querySelector('script[src*="/js/core/app.js"]').src;
  const photos = await import(app.replace("/js/core/app.js", "/js/core/photos.js"));
  const api = await import(app.replace("/js/core/app.js", "/js/core/api.js"));
  await photos.photoStyles();
  const main = document.querySelector("main");
  main.replaceChildren();
  const picker = photos.photoPicker({ max: 3 });
  window.__picker = picker;
  main.append(picker.element);
  if (caseId) {
    const kase = await api.api(`/api/v1/cases/${caseId}`);
    main.append(photos.photoStrip(kase.photos));
    window.__noStrip = photos.photoStrip([]) === null;
  }
  return true;
}"""


@pytest.fixture(scope="module")
def backend() -> str:
    url = os.environ.get("TOWNOPS_TEST_DATABASE_URL", "")
    return "postgresql" if url.startswith("postgresql") else "sqlite"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    if find_chromium() is None:
        pytest.skip("no Chromium (scripts/browser.sh installs it)")
    tmp = tmp_path_factory.mktemp("media-browser")
    with gaohang_server(tmp, PG_DATABASE) as live:
        yield live


# Module scope: Playwright's sync API must be stopped before later tests use asyncio.
@pytest.fixture(scope="module")
def browser(server: LiveServer) -> Iterator[Browser]:
    chromium = find_chromium()
    assert chromium is not None
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


@pytest.fixture
def pages(browser: Browser, server: LiveServer) -> Iterator[Any]:
    with pages_on(browser, server) as opened:

        def open_page(lang: str, viewport: Any = PHONE) -> Page:
            page = opened(viewport=viewport)
            page.set_default_timeout(15_000)
            page.goto(f"/login?lang={lang}")
            return page

        yield open_page


@pytest.fixture(scope="module")
def shots(backend: str) -> Path:
    directory = SCREENSHOTS / backend
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def _choose(page: Page, *files: tuple[str, str, bytes]) -> None:
    payloads: list[FilePayload] = [{"name": n, "mimeType": m, "buffer": b} for n, m, b in files]
    page.get_by_test_id("photo-input").set_input_files(payloads)


def _loaded(page: Page, selector: str) -> int:
    count: int = page.evaluate(
        "(s) => [...document.querySelectorAll(s)]"
        ".filter((i) => i.complete && i.naturalWidth > 0).length",
        selector,
    )
    return count


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_picker_uploads_shows_thumbnails_and_reports_a_bad_file(
    pages: Any, server: LiveServer, shots: Path, lang: str
) -> None:
    page = pages(lang)
    log_in(page, "resident_a")
    settled(page)
    page.evaluate(MOUNT, None)
    picker = page.get_by_test_id("photo-picker")
    add = "+添加照片" if lang == "zh" else "+Add photos"
    expect(picker.get_by_test_id("photo-add")).to_have_text(add)

    _choose(
        page,
        ("IMG_0001.jpg", "image/jpeg", camera_jpeg(1600, 1200)),
        ("plan.png", "image/png", png(600, 400)),
        ("notes.jpg", "image/jpeg", b"not a photo at all"),
    )
    done = picker.locator("[data-testid=photo-thumb][data-state=done]")
    expect(done).to_have_count(2)
    error = picker.get_by_test_id("photo-error")
    expect(error).to_have_count(1)
    expect(error).to_contain_text("无法识别的图片" if lang == "zh" else "Not an image we can read")
    page.wait_for_function("() => !window.__picker.busy()")
    ids = page.evaluate("() => window.__picker.ids()")
    assert len(ids) == 2 and all(isinstance(i, int) for i in ids)
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-testid=photo-thumb] img')]"
        ".every((i) => i.complete && i.naturalWidth > 0)"
    )
    assert _loaded(page, "[data-testid=photo-thumb] img") == 2
    shoot(page, shots, f"photo-picker-{lang}-phone")

    # At most three (max here): the error does not count, a fourth photo is refused.
    _choose(
        page,
        ("a.jpg", "image/jpeg", camera_jpeg(300, 200)),
        ("b.jpg", "image/jpeg", camera_jpeg(300, 200)),
    )
    expect(done).to_have_count(3)
    expect(picker.locator(".photo-notice")).not_to_be_empty()
    assert page.get_by_test_id("photo-input").is_disabled()

    # × removes a photo (and dismisses the error); reset() empties the picker.
    picker.locator("[data-state=error] .photo-remove").click()
    done.first.locator(".photo-remove").click()
    expect(done).to_have_count(2)
    expect(error).to_have_count(0)
    assert len(page.evaluate("() => window.__picker.ids()")) == 2
    page.evaluate("() => window.__picker.reset()")
    expect(picker.get_by_test_id("photo-thumb")).to_have_count(0)


def test_the_strip_shows_a_cases_photos_linking_to_the_full_image(
    pages: Any, server: LiveServer, shots: Path
) -> None:
    ids = []
    for _ in range(2):
        r = server.api.post(
            "/api/v1/media/photos",
            files={"file": ("p.jpg", camera_jpeg(1200, 900), "image/jpeg")},
            headers=server.headers("resident_a"),
        )
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    case = server.create_case(
        "resident_a",
        category="illegal_construction",
        content="楼下违章搭建，见照片",
        jurisdiction=NANXIN,
        photos=ids,
    )
    for lang, size, viewport in [("zh", "phone", PHONE), ("en", "wall", WALL)]:
        page = pages(lang, viewport)
        log_in(page, "resident_a")
        settled(page)
        page.evaluate(MOUNT, case["id"])
        strip = page.get_by_test_id("photo-strip")
        expect(strip.get_by_test_id("photo-thumb")).to_have_count(2)
        assert page.evaluate("() => window.__noStrip") is True
        links = strip.locator("a")
        href = links.first.get_attribute("href") or ""
        assert href.startswith(f"/api/v1/media/photos/{ids[0]}/full?exp=")
        assert links.first.get_attribute("target") == "_blank"
        alt = strip.locator("img").first.get_attribute("alt") or ""
        assert alt == ("上报照片 1" if lang == "zh" else "Reported photo 1")
        page.wait_for_function(
            "() => [...document.querySelectorAll('[data-testid=photo-strip] img')]"
            ".every((i) => i.complete && i.naturalWidth > 0)"
        )
        # The full image opens from the link without any bearer header (a new tab would).
        full = page.request.get(href)
        assert full.status == 200 and full.headers["content-type"] == "image/jpeg"
        shoot(page, shots, f"photo-strip-{lang}-{size}")
