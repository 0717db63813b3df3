"""考核排名 (/rankings) in a real browser: the leader sees the month's ranking as the API
computes it, the units not ranked and why, and downloads the month's workbook.

The test database holds this month's cases and one of last month, so the page opens on
last month (the last complete one) and this month is picked by its period; five cases
closed by the urban management squad make it a ranked unit this month.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from playwright.sync_api import Page, expect

from tests.browser.conftest import OpenPage
from tests.browser.live import DESKTOP, PHONE, LiveServer
from tests.browser.pages import LANGS, SIZES, log_in, shoot

# Five communities, so that no case repeats another (repeats are linked, not closed).
COMMUNITIES = ("310115121001", "310115121002", "310115121004", "310115121020", "310115121003")


@pytest.fixture(scope="module")
def closed_by_urban_management(server: LiveServer) -> list[dict[str, Any]]:
    """Five cases the urban management squad closed this month: enough to be ranked."""
    closed = []
    for n, community in enumerate(COMMUNITIES):
        case = server.create_case(
            "dispatcher",
            category="street_vending",
            content=f"第{n + 1}个路口有流动摊贩占道经营，早晚高峰影响通行",
            jurisdiction=community,
            auto_dispatch=False,
        )
        case = server.act("dispatcher", case, "dispatch", department="urban_management")
        case = server.act("urban", case, "accept")
        case = server.act("urban", case, "resolve", reply="已劝离摊贩并加强巡查。")
        case = server.act("dispatcher", case, "callback", rating="satisfied")
        if case["state"] != "closed":
            case = server.act("dispatcher", case, "close")
        closed.append(case)
    # One case of last month, so the picker has a month before this one.
    server.create_case(
        "dispatcher",
        category="street_light",
        content="上个月反映的路灯不亮",
        jurisdiction=COMMUNITIES[0],
        received_at=(datetime.now(UTC) - timedelta(days=40)).isoformat(timespec="seconds"),
    )
    return closed


def assessment(server: LiveServer, month: str, of: str) -> dict[str, Any]:
    r = server.api.get(
        "/api/v1/assessment", params={"month": month, "of": of}, headers=server.headers("leader")
    )
    r.raise_for_status()
    report: dict[str, Any] = r.json()
    return report


def open_rankings(page: Page, user: str = "leader", then: str = "/rankings") -> str:
    log_in(page, user, then=then)
    page.wait_for_selector("body[data-ready='1']")
    month = page.get_by_test_id("rankings").get_attribute("data-month")
    assert month
    return month


def test_leader_sees_the_months_ranking_as_the_api_computes_it(
    open_page: OpenPage, server: LiveServer, closed_by_urban_management: list[dict[str, Any]]
) -> None:
    page = open_page(viewport=DESKTOP)
    first = open_rankings(page)
    newest = closed_by_urban_management[-1]["received_at"][:7]
    # This month is still running: the page opens on the last complete month.
    assert first < newest
    expect(page.get_by_test_id("month")).to_have_value(first)
    month = newest
    page.goto(f"/rankings?period={month}")
    page.wait_for_selector("body[data-ready='1']")
    expect(page.get_by_test_id("rankings")).to_have_attribute("data-month", month)

    report = assessment(server, month, "departments")
    urban = next(r for r in report["rows"] if r["code"] == "urban_management")
    assert urban["ranked"] and urban["closed"] >= 5
    row = page.locator(
        "[data-testid=rankings-departments] tr[data-testid=rank-row][data-code=urban_management]"
    )
    expect(row.locator("td.rk-rank")).to_have_text(str(urban["rank"]))
    expect(row.get_by_test_id("total")).to_have_text(f"{urban['total']:.2f}")
    satisfaction = next(c for c in urban["components"] if c["key"] == "satisfaction_rate")
    cell = row.locator("td[data-key=satisfaction_rate]")
    expect(cell).to_contain_text(f"{satisfaction['points']:.2f} 分")
    expect(cell).to_contain_text("100.0%")
    ranked = [r["code"] for r in report["rows"] if r["ranked"]]
    shown = page.locator("[data-testid=rankings-departments] tr[data-testid=rank-row]")
    assert shown.evaluate_all("rows => rows.map(r => r.dataset.code)") == ranked

    # The units with too few cases are listed apart, with why.
    housing = next(r for r in report["rows"] if r["code"] == "housing_office")
    assert not housing["ranked"]
    unranked = page.locator(
        "[data-testid=rankings-departments] [data-testid=unranked] li[data-code=housing_office]"
    )
    expect(unranked).to_contain_text(
        f"办结量 {housing['closed']} 件，不足 {report['min_cases']} 件"
    )
    communities = assessment(server, month, "communities")
    expect(
        page.locator("[data-testid=rankings-communities] [data-testid=unranked] li")
    ).to_have_count(sum(1 for r in communities["rows"] if not r["ranked"]))

    # The month before: picked with the arrow; the URL keeps it, the back button returns.
    page.get_by_test_id("month-previous").click()
    expect(page.get_by_test_id("rankings")).not_to_have_attribute("data-month", month)
    earlier = page.get_by_test_id("month").input_value()
    assert earlier < month and page.url.endswith(f"period={earlier}")
    expect(
        page.locator("[data-testid=rankings-departments] li[data-code=urban_management]")
    ).to_be_visible()
    page.go_back()
    expect(page.get_by_test_id("rankings")).to_have_attribute("data-month", month)

    # The quarter the month falls in: the same page, scored over the whole quarter.
    quarter = f"{month[:4]}-Q{(int(month[5:7]) + 2) // 3}"
    page.get_by_test_id("month").select_option(quarter)
    expect(page.get_by_test_id("rankings")).to_have_attribute("data-month", quarter)
    r = server.api.get(
        "/api/v1/assessment",
        params={"period": quarter, "of": "departments"},
        headers=server.headers("leader"),
    )
    r.raise_for_status()
    by_quarter = r.json()
    assert by_quarter["kind"] == "quarter" and by_quarter["label"] == quarter
    expect(page.get_by_test_id("rankings-note")).to_contain_text(quarter)
    shown = page.locator("[data-testid=rankings-departments] tr[data-testid=rank-row]")
    expect(shown).to_have_count(sum(1 for row in by_quarter["rows"] if row["ranked"]))


def test_leader_downloads_the_months_workbook(
    open_page: OpenPage,
    server: LiveServer,
    closed_by_urban_management: list[dict[str, Any]],
    tmp_path: Path,
) -> None:
    page = open_page(viewport=DESKTOP)
    this_month = closed_by_urban_management[-1]["received_at"][:7]
    month = open_rankings(page, then=f"/rankings?period={this_month}")
    assert month == this_month
    with page.expect_download() as info:
        page.get_by_test_id("export").click()
    download = info.value
    assert download.suggested_filename == f"高行镇-月度考核-{month}.xlsx"
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    expect(page.get_by_test_id("export-state")).to_contain_text(download.suggested_filename)

    sheet = load_workbook(saved)["部门考核 Departments"]
    rows = list(sheet.iter_rows(values_only=True))
    headers = list(rows[0])
    urban = next(r for r in rows[1:] if r[headers.index("代码 (code)")] == "urban_management")
    report = assessment(server, month, "departments")
    expected = next(r for r in report["rows"] if r["code"] == "urban_management")
    assert urban[headers.index("总分 (total)")] == expected["total"]
    assert urban[headers.index("排名 (rank)")] == expected["rank"]


def test_rankings_screenshots_and_who_may_see_them(
    open_page: OpenPage,
    server: LiveServer,
    closed_by_urban_management: list[dict[str, Any]],
    screenshot_dir: Path,
) -> None:
    this_month = closed_by_urban_management[-1]["received_at"][:7]
    for size, viewport in SIZES.items():
        page = open_page(viewport=viewport)
        log_in(page, "leader")
        for lang in LANGS:
            page.goto(f"/rankings?period={this_month}&lang={lang}")
            page.wait_for_selector("body[data-ready='1']")
            expect(page.locator("tr[data-testid=rank-row]").first).to_be_visible()
            shoot(page, screenshot_dir, f"rankings-{size}-{lang}")
    # The duty officer has the page; the API keeps the ranking to town-wide leadership roles,
    # so a dispatcher has no menu entry, and the address typed in shows the refusal.
    duty = open_page(viewport=PHONE)
    open_rankings(duty, "duty", then=f"/rankings?period={this_month}")
    expect(duty.locator("tr[data-testid=rank-row]").first).to_be_visible()
    dispatcher = open_page(viewport=PHONE)
    log_in(dispatcher, "dispatcher", then="/rankings")
    expect(dispatcher.get_by_test_id("error")).to_contain_text("无权")
    expect(dispatcher.locator("nav [data-nav=rankings]")).to_have_count(0)
