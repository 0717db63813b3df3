"""Finished edges (issue 14): every word on the pages in the page's language, no codes.

1. The case page's timeline and fields, in zh and en: an automatic close after the
   callback, a dispatch that corrected the category, an IoT alarm's case dispatched by its
   route and its source; the dispatch form's departments by name only; the one screen's
   live feed naming an alarm in English; an unknown address answered with the HTML 404 page.
2. Refusals explained, and the classifier's guess not told as fact: a grid worker reporting
   from outside their micro-grid is told why in either language; the refusal words of the
   case actions; a resident's request read by an unsure classifier shows 待分类 / "Being
   routed" until a dispatcher dispatches it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from playwright.sync_api import Geolocation, Page, expect

from tests.browser.conftest import NANXIN, OpenPage
from tests.browser.live import DESKTOP, PHONE, LiveServer
from tests.browser.pages import LANGS, log_in, ready, shoot
from tests.browser.test_live_alarm import register_gas_alarm
from tests.browser.test_resident_pages import centre, features

SIZES = {"phone": PHONE, "desk": DESKTOP}
# Codes that must never show on a page (the API's, the engine's, the sensing routes').
CODES = re.compile(
    r"auto: |by route|alarm-\d|\b(road_damage|street_vending|illegal_construction|"
    r"urban_management|housing_office|safety_office|construction_office|gas_elsewhere|"
    r"gas_leak|gas_lel)\b"
)


def case_page(page: Page, case_id: int, lang: str) -> None:
    page.goto(f"/cases/{case_id}?lang={lang}")
    ready(page)


def no_codes(text: str, where: str) -> None:
    found = [m.group(0) for m in CODES.finditer(text)]
    assert not found, f"{where}: a code on the page: {found!r}\n{text}"


def closed_after_a_corrected_dispatch(server: LiveServer) -> dict[str, Any]:
    """Filed as street vending, dispatched as road damage to urban management, resolved,
    rated satisfied: the callback closes it by itself."""
    case = server.create_case(
        "dispatcher",
        category="street_vending",
        content="南新路人行道地砖松动，行人容易绊倒",
        jurisdiction=NANXIN,
        auto_dispatch=False,
    )
    case = server.act(
        "dispatcher", case, "dispatch", department="urban_management", category="road_damage"
    )
    case = server.act("urban", case, "accept")
    case = server.act("urban", case, "resolve", reply="已重新铺设地砖。")
    return server.act("dispatcher", case, "callback", rating="satisfied")


def an_alarm_case(server: LiveServer) -> tuple[int, int]:
    """A gas reading past its line from a registered device: (alarm id, case id)."""
    from datetime import UTC, datetime

    device_id, key = register_gas_alarm(server)
    reading = {"seq": 1, "ts": datetime.now(UTC).isoformat(), "values": {"gas_lel": 18.5}}
    r = server.api.post(
        f"/api/v1/devices/{device_id}/readings", json=reading, headers={"X-API-Key": key}
    )
    assert r.status_code == 200, r.text
    [alarm_id] = r.json()["alarms_raised"]
    [case_id] = r.json()["cases_opened"]
    return alarm_id, case_id


def test_timeline_fields_forms_feed_and_404_speak_the_page_language(
    open_page: OpenPage, server: LiveServer, screenshot_dir: Path
) -> None:
    closed = closed_after_a_corrected_dispatch(server)
    assert closed["state"] == "closed"
    alarm_id, alarm_case = an_alarm_case(server)
    waiting = server.create_case(
        "dispatcher",
        category="house_leak",
        content="楼上卫生间漏水到我家",
        jurisdiction=NANXIN,
        auto_dispatch=False,
    )
    words = {
        "zh": {
            "close": "回访后自动结案",
            "category": "道路破损",
            "alarm_dispatch": "物联告警按本镇告警分派规则自动派单",
            "source": f"物联感知 · 告警 #{alarm_id}",
            "summary": "可燃气体浓度 18.5 %LEL 超过 10",
            "feed": "严重告警",
            "construction_office": "规划建设管理办公室（建管办）",
            "not_found": "找不到这个页面",
        },
        "en": {
            "close": "Closed automatically after the callback",
            "category": "Damaged road or manhole cover",
            "alarm_dispatch": "IoT alarm dispatched automatically by the town's alarm routing",
            "source": f"sensing network · alarm #{alarm_id}",
            "summary": "Combustible gas 18.5 %LEL above 10",
            "feed": "Critical alarm raised",
            "construction_office": "Planning and Construction Office",
            "not_found": "Page not found",
        },
    }
    for lang in LANGS:
        w = words[lang]
        for size, viewport in SIZES.items():
            page = open_page(viewport=viewport)
            log_in(page, "duty", then=f"/cases/{closed['id']}?lang={lang}")
            ready(page)
            timeline = page.get_by_test_id("timeline")
            expect(timeline.locator("li[data-action=close]")).to_contain_text(w["close"])
            # The dispatch's category correction by the category's name.
            expect(timeline.locator("li[data-action=dispatch]")).to_contain_text(w["category"])
            no_codes(page.locator("main").inner_text(), f"{lang} case {closed['id']}")
            shoot(page, screenshot_dir, f"edges-case-timeline-{size}-{lang}")

        page = open_page(viewport=DESKTOP)
        log_in(page, "duty", then=f"/cases/{alarm_case}?lang={lang}")
        ready(page)
        expect(page.locator("[data-field=source]")).to_have_text(w["source"])
        dispatch = page.get_by_test_id("timeline").locator("li[data-action=dispatch]")
        expect(dispatch).to_contain_text(w["alarm_dispatch"])
        expect(page.get_by_test_id("alarms").locator(".alarm-summary")).to_have_text(w["summary"])
        no_codes(page.locator("main").inner_text(), f"{lang} alarm case {alarm_case}")
        shoot(page, screenshot_dir, f"edges-alarm-case-desk-{lang}")

        # The dispatch form names each department, in the page's language, without its code.
        case_page(page, waiting["id"], lang)
        page.get_by_test_id("actions").locator("[data-action=dispatch]").click()
        options = page.get_by_test_id("form-dispatch").locator("[name=department] option")
        expect(options.filter(has_text=w["construction_office"])).to_have_count(1)
        texts = options.all_inner_texts()
        assert not [t for t in texts[1:] if re.search(r"\(\w+\)$|_", t)], texts
        assert w["construction_office"] in texts
        shoot(page, screenshot_dir, f"edges-dispatch-form-desk-{lang}")

        # The one screen's feed: the alarm by severity and what happened, its summary worded.
        page.goto(f"/overview?lang={lang}")
        ready(page)
        item = page.get_by_test_id("feed").locator(f"li[data-key='alarm:{alarm_id}:raised']")
        expect(item).to_contain_text(w["feed"])
        expect(item).to_contain_text(w["summary"])
        assert "Alarm ·" not in item.inner_text() and "告警告警" not in item.inner_text()
        # The alarm's case, in the system's words: its rule, in English too.
        opened = page.get_by_test_id("feed").locator(
            f"li[data-kind='case'][data-case-id='{alarm_case}']"
        )
        expect(opened.first).to_contain_text(
            "可燃气体泄漏" if lang == "zh" else "IoT alarm: Gas leak"
        )
        shoot(page, screenshot_dir, f"edges-overview-feed-desk-{lang}")

        # An unknown address: the HTML 404 page (status 404), in the page's language.
        for size, viewport in SIZES.items():
            visitor = open_page(viewport=viewport)
            response = visitor.goto(f"/no-such-page?lang={lang}")
            assert response is not None and response.status == 404
            ready(visitor)
            expect(visitor.get_by_test_id("not-found")).to_contain_text(w["not_found"])
            expect(visitor.get_by_test_id("home-link")).to_have_attribute("href", "/")
            expect(visitor.get_by_test_id("lang-switch")).to_be_visible()
            shoot(visitor, screenshot_dir, f"edges-404-{size}-{lang}")
        # Logged in, the header stays the user's.
        page.goto(f"/no/such/page?lang={lang}")
        ready(page)
        expect(page.get_by_test_id("user")).to_contain_text("duty")
        page.get_by_test_id("home-link").click()
        page.wait_for_url(re.compile(r"/overview"))


OUTSIDE_GRID = f"{NANXIN}-G02"  # 南新第2微网格: not grid_nanxin's own


# Some of the API's refusals, as it sends them (status, code, English message, details).
REFUSALS: dict[str, list[Any]] = {
    "unit": [403, "forbidden", "only the unit in charge of case 7 may 'accept'", {}],
    "role": [403, "forbidden", "role 'grid_worker' may not 'supervise'", {}],
    "pending": [409, "conflict", "an extension request is already waiting for a decision", {}],
    "state": [
        409,
        "illegal_transition",
        "action 'accept' is not allowed in state 'closed'",
        {"action": "accept", "state": "closed", "allowed_actions": []},
    ],
    "needs": [422, "invalid_input", "'resolve' needs 'reply'", {"field": "reply"}],
}


def refusal_words(page: Page) -> dict[str, str]:
    """The words core/shell.js gives those refusals, in the page's language."""
    return dict(
        page.evaluate(
            """async (refusals) => {
              const v = document.getElementById("app").dataset.assetVersion;
              const { refusalText } = await import(`/static/${v}/js/core/shell.js`);
              return Object.fromEntries(Object.entries(refusals).map(
                ([key, [status, code, message, details]]) =>
                  [key, refusalText({ status, code, message, details })]));
            }""",
            REFUSALS,
        )
    )


def test_refusals_are_explained_and_a_guess_is_not_told_as_fact(
    open_page: OpenPage, server: LiveServer, screenshot_dir: Path
) -> None:
    # --- a grid worker reports from the next micro-grid: refused (403), and told why
    grid = next(f for f in features(server, "micro_grid") if f["id"] == OUTSIDE_GRID)
    lon, lat = centre(grid)
    located = server.api.get(
        "/api/v1/locate", params={"lat": lat, "lon": lon}, headers=server.headers("duty")
    ).json()
    assert located["best"]["code"] == OUTSIDE_GRID, located
    expected = {
        "zh": ("不在您的辖区（南新第1微网格）内", "南新第2微网格"),
        "en": ("outside your area", "Nanxin"),
    }
    for lang in LANGS:
        page = open_page(viewport=PHONE)
        page.context.grant_permissions(["geolocation"], origin=server.base_url)
        page.context.set_geolocation(Geolocation(latitude=lat, longitude=lon, accuracy=10))
        log_in(page, "grid_nanxin", then=f"/report?lang={lang}")
        ready(page)
        page.get_by_test_id("locate").click()
        expect(page.get_by_test_id("place")).to_have_attribute("data-code", OUTSIDE_GRID)
        page.get_by_test_id("content").fill(f"隔壁网格路灯不亮 {lang}")
        page.get_by_test_id("report-submit").click()
        why, place = expected[lang]
        expect(page.get_by_test_id("error-lat")).to_contain_text(why)
        expect(page.get_by_test_id("error-lat")).to_contain_text(place)
        # Also by the submit button, where the worker's eyes are.
        box = page.get_by_test_id("form-problem").get_by_test_id("error")
        expect(box).to_be_visible()
        expect(box).to_contain_text(why)
        expect(page.get_by_test_id("report-result")).to_be_hidden()
        shoot(page, screenshot_dir, f"edges-report-refused-phone-{lang}")

        words = refusal_words(page)
        if lang == "zh":
            assert words == {
                "unit": "只有承办单位可以签收此工单。",
                "role": "您的角色（网格员）不能督办。",
                "pending": "已有一份延期申请在等待审批。",
                "state": "工单当前为「已结案」，不能签收。请刷新查看最新状态。",
                "needs": "办结需要填写：答复内容",
            }
        else:
            assert words == {
                "unit": "Only the unit in charge may accept this case.",
                "role": "Your role (Grid worker) may not supervise.",
                "pending": "An extension request is already waiting for a decision.",
                "state": "“Accept” is not possible now: the case is closed. "
                "Reload to see where it stands.",
                "needs": "To resolve, fill in: reply",
            }

    # --- a resident's request read by an unsure classifier: 待分类 until dispatched
    request = server.create_case(
        "resident_a",
        kind="request",
        source="web",
        content="门口那块东西又坏了，好几天没人管",
        jurisdiction=NANXIN,
    )
    routing = server.api.get(
        f"/api/v1/cases/{request['id']}", headers=server.headers("dispatcher")
    ).json()["routing"]
    assert routing["category_source"] == "classifier", routing
    assert routing["confidence"] < routing["threshold"], routing
    reference = server.api.get("/api/v1/web/reference", headers=server.headers("resident_a"))
    named = next(c for c in reference.json()["categories"] if c["code"] == routing["category"])
    guess = {"zh": named["name_zh"], "en": named["name_en"]}
    pending_words = {"zh": "待分类", "en": "Being routed"}
    for lang in LANGS:
        page = open_page(viewport=PHONE)
        log_in(page, "resident_a", then=f"/requests?lang={lang}")
        ready(page)
        title = page.locator(f"li[data-case-id='{request['id']}'] [data-testid=request-category]")
        expect(title).to_have_text(pending_words[lang])
        expect(title).to_have_attribute("data-pending", "1")
        shoot(page, screenshot_dir, f"edges-requests-pending-phone-{lang}")
        case_page(page, request["id"], lang)
        expect(page.get_by_test_id("case-category")).to_have_text(pending_words[lang])
        assert guess[lang] not in page.locator("main").inner_text()

    server.act("dispatcher", request, "dispatch", department="housing_office")
    page = open_page(viewport=PHONE)
    log_in(page, "resident_a", then="/requests?lang=zh")
    ready(page)
    title = page.locator(f"li[data-case-id='{request['id']}'] [data-testid=request-category]")
    expect(title).not_to_have_text(pending_words["zh"])
    expect(title).not_to_have_attribute("data-pending", "1")
