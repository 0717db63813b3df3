"""A device alarm on the one screen's live feed: a gas reading past its threshold, sent over
HTTP by a registered device, shows up as an alarm and as the case it opened, without a
reload."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

from playwright.sync_api import expect
from sqlalchemy.orm import Session

from tests.browser.conftest import NANXIN, OpenPage
from tests.browser.live import WALL, LiveServer
from tests.browser.pages import log_in, shoot, wait_for_overview
from townops.db import make_engine
from townops.sensing.devices.keys import create_ingest_key
from townops.sensing.devices.registry import import_devices


def register_gas_alarm(server: LiveServer) -> tuple[str, str]:
    """A gas alarm in 南新 and an ingestion key bound to it, written to the server's own
    database (as ``townops device import`` and ``townops api-key create --purpose ingest
    --device ID`` would): (device id, key)."""
    device_id = f"T-GAS-{uuid.uuid4().hex[:8].upper()}"
    engine = make_engine(server.database_url)
    try:
        with Session(engine) as session:
            report = import_devices(
                session,
                [
                    {
                        "device_id": device_id,
                        "type": "gas_alarm",
                        "jurisdiction": NANXIN,
                        "address": "南新小区8号楼102室",
                    }
                ],
            )
            assert report.errors == [] and report.created == 1
            key = create_ingest_key(session, name=f"browser-test-{device_id}", devices=[device_id])
            session.commit()
    finally:
        engine.dispose()
    return device_id, key


def test_a_device_alarm_and_its_case_appear_in_the_live_feed_without_reload(
    open_page: OpenPage, server: LiveServer, screenshot_dir: Path
) -> None:
    device_id, key = register_gas_alarm(server)
    page = open_page(viewport=WALL)
    log_in(page, "duty", then="/overview")
    wait_for_overview(page)
    expect(page.get_by_test_id("live-state")).to_have_attribute("data-state", "open")
    page.evaluate("window.__sameDocument = true")

    reading = {"seq": 1, "ts": datetime.now(UTC).isoformat(), "values": {"gas_lel": 18.5}}
    r = server.api.post(
        f"/api/v1/devices/{device_id}/readings", json=reading, headers={"X-API-Key": key}
    )
    assert r.status_code == 200, r.text
    ingested = r.json()
    assert ingested["stored"] == 1
    [alarm_id] = ingested["alarms_raised"]
    [case_id] = ingested["cases_opened"]

    feed = page.get_by_test_id("feed")
    alarm = feed.locator(f"li[data-kind='alarm'][data-key='alarm:{alarm_id}:raised']")
    expect(alarm).to_be_visible(timeout=15_000)
    expect(alarm).to_contain_text("可燃气体浓度 18.5 %LEL")
    expect(alarm).to_contain_text("南新居委会")
    expect(alarm).to_have_attribute("data-case-id", str(case_id))
    opened = feed.locator(f"li[data-kind='case'][data-case-id='{case_id}']")
    expect(opened.first).to_be_visible(timeout=15_000)
    expect(opened.first).to_contain_text("可燃气体")
    assert page.evaluate("window.__sameDocument") is True  # pushed, not reloaded

    # The case is the alarm's: an iot_alarm case the duty officer can open.
    case = server.api.get(f"/api/v1/cases/{case_id}", headers=server.headers("duty")).json()
    assert case["kind"] == "iot_alarm" and case["community"] == NANXIN
    shoot(page, screenshot_dir, "overview-alarm-wall-zh")
