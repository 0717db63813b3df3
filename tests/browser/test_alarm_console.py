"""The alarm console (告警台) and a device's page, in a real browser: alarms listed by
severity, acknowledged and marked false from the page (in Chinese), a new alarm arriving
live, the English words, the device's values and chart, and nothing cut off on a phone."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect
from sqlalchemy.orm import Session

from tests.browser.conftest import NANXIN, OpenPage
from tests.browser.live import PHONE, LiveServer
from tests.browser.pages import log_in, ready, shoot
from townops.db import make_engine
from townops.sensing.devices.keys import create_ingest_key
from townops.sensing.devices.registry import import_devices


def register_gas_alarms(server: LiveServer, count: int) -> tuple[list[str], str]:
    """``count`` gas alarms in 南新 and one ingestion key bound to them: (ids, key)."""
    tag = uuid.uuid4().hex[:6].upper()
    ids = [f"T-GAS-{tag}-{n}" for n in range(count)]
    rows = [
        {
            "device_id": device_id,
            "type": "gas_alarm",
            "model": "JT-BF",
            "jurisdiction": NANXIN,
            "building": f"南新小区{n + 8}号楼",
            "address": f"南新小区{n + 8}号楼1层",
        }
        for n, device_id in enumerate(ids)
    ]
    engine = make_engine(server.database_url)
    try:
        with Session(engine) as session:
            report = import_devices(session, rows)
            assert report.errors == [] and report.created == count
            key = create_ingest_key(session, name=f"console-{tag}", devices=ids)
            session.commit()
    finally:
        engine.dispose()
    return ids, key


def send(server: LiveServer, key: str, device_id: str, readings: list[dict[str, Any]]) -> Any:
    r = server.api.post(
        f"/api/v1/devices/{device_id}/readings", json=readings, headers={"X-API-Key": key}
    )
    assert r.status_code == 200, r.text
    return r.json()


def day_of_readings(last_gas: float) -> list[dict[str, Any]]:
    """A reading every 90 minutes over the last day, calm, then ``last_gas`` now."""
    now = datetime.now(UTC)
    readings = [
        {
            "seq": n,
            "ts": (now - timedelta(minutes=90 * (16 - n))).isoformat(),
            "values": {"gas_lel": 1.0 + (n % 4) * 0.5, "battery": 90.0 - n * 0.2},
        }
        for n in range(16)
    ]
    return [*readings, {"seq": 16, "ts": now.isoformat(), "values": {"gas_lel": last_gas}}]


def fits(page: Page) -> None:
    width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], f"wider than the phone: {width}"


def test_the_alarm_console_and_the_device_page(
    open_page: OpenPage, server: LiveServer, screenshot_dir: Path
) -> None:
    (first, second, third), key = register_gas_alarms(server, 3)
    [alarm_a] = send(server, key, first, day_of_readings(18.5))["alarms_raised"]
    [alarm_b] = send(server, key, second, day_of_readings(12.0))["alarms_raised"]

    page = open_page()
    log_in(page, "duty", then="/alarms")
    ready(page)
    expect(page.get_by_test_id("live-state")).to_have_attribute("data-state", "open")
    row_a = page.locator(f"[data-testid=alarm-list] li[data-alarm-id='{alarm_a}']")
    row_b = page.locator(f"[data-testid=alarm-list] li[data-alarm-id='{alarm_b}']")
    expect(row_a).to_contain_text("可燃气体浓度 18.5 %LEL 超过 10")
    expect(row_a).to_contain_text("南新居委会")
    expect(row_a.get_by_test_id("case-link")).to_be_visible()

    # 确认: the row redraws in place.
    row_a.locator("[data-action=acknowledge]").click()
    expect(row_a).to_have_attribute("data-state", "acknowledged")
    expect(row_a.get_by_test_id("alarm-state")).to_have_text("已确认")
    expect(row_a.locator("[data-action=verify]")).to_be_visible()
    # 误报 needs a note; with one, the alarm moves to the closed list.
    row_b.locator("[data-action=false_alarm]").click()
    row_b.get_by_test_id("alarm-submit").click()
    expect(row_b).to_contain_text("请填写说明")
    row_b.locator("textarea[name=note]").fill("现场无异味，设备受油烟干扰")
    row_b.get_by_test_id("alarm-submit").click()
    closed_b = page.locator(f"[data-testid=closed-list] li[data-alarm-id='{alarm_b}']")
    expect(closed_b).to_have_attribute("data-state", "false_alarm")
    expect(closed_b).to_contain_text("现场无异味")
    expect(row_b).to_have_count(0)

    # A new critical alarm arrives live and flashes.
    [alarm_c] = send(server, key, third, day_of_readings(25.0))["alarms_raised"]
    row_c = page.locator(f"[data-testid=alarm-list] li[data-alarm-id='{alarm_c}']")
    expect(row_c).to_have_class(
        "alarm-row sev-critical state-raised open flash-new", timeout=15_000
    )
    shoot(page, screenshot_dir, "alarms-desktop-zh")
    # Acknowledged meanwhile by someone else: the page says so, in words.
    r = server.api.post(
        f"/api/v1/alarms/{alarm_c}/acknowledge", headers=server.headers("dispatcher")
    )
    assert r.status_code == 200, r.text
    row_c.locator("[data-action=acknowledge]").click()
    expect(row_c.get_by_test_id("error")).to_contain_text("该告警当前为「已确认」，不能确认")

    english = open_page()
    log_in(english, "duty", then="/alarms?lang=en")
    ready(english)
    expect(english.locator("h1")).to_have_text("Alarm console")
    english_a = english.locator(f"li[data-alarm-id='{alarm_a}']")
    expect(english_a.locator("[data-action=verify]")).to_have_text("Verify on site")
    expect(english_a.get_by_test_id("alarm-summary")).to_have_text(
        "Combustible gas 18.5 %LEL above 10"
    )
    # The sound is off until switched on by a click, and the choice is remembered.
    english.get_by_test_id("sound-toggle").click()
    expect(english.get_by_test_id("sound-toggle")).to_have_attribute("aria-pressed", "true")
    assert english.evaluate("localStorage.getItem('townops.alarmSound')") == "on"
    shoot(english, screenshot_dir, "alarms-desktop-en")
    # The device's page: values with units and the last day's chart.
    english_a.get_by_test_id("device-link").click()
    ready(english)
    expect(
        english.get_by_test_id("device-values").locator("[data-quantity=gas_lel]")
    ).to_contain_text("%LEL")
    expect(english.get_by_test_id("device-chart")).to_have_attribute("data-points", "16")
    expect(english.locator("[data-testid=device-chart] path.series")).to_have_count(1)
    expect(
        english.get_by_test_id("device-alarms").locator(f"[data-alarm-id='{alarm_a}']")
    ).to_be_visible()
    english.locator("[data-range=week]").click()
    expect(english.get_by_test_id("device-chart")).to_have_attribute("data-range", "week")
    shoot(english, screenshot_dir, "device-desktop-en")

    # The leader reads the console: no buttons.
    leader = open_page()
    log_in(leader, "leader", then="/alarms")
    ready(leader)
    expect(leader.locator(f"li[data-alarm-id='{alarm_a}']")).to_be_visible()
    expect(leader.get_by_test_id("read-only")).to_be_visible()
    expect(leader.locator("[data-testid=alarm-list] [data-action]")).to_have_count(0)

    phone = open_page(viewport=PHONE)
    log_in(phone, "duty", then="/alarms")
    ready(phone)
    expect(phone.locator(f"li[data-alarm-id='{alarm_c}']")).to_be_visible()
    fits(phone)
    shoot(phone, screenshot_dir, "alarms-phone-zh")
    phone.goto(f"/devices/{first}")
    ready(phone)
    expect(phone.locator("[data-testid=device-chart] path.series")).to_have_count(1)
    fits(phone)
    shoot(phone, screenshot_dir, "device-phone-zh")
