"""The living demo's injected incidents (注入事件): the simulator raises an episode on the
named device and makes it report next; the demo picks devices in turn and says where."""

from __future__ import annotations

import json
import random
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection
from sqlalchemy.orm import Session

from tests.factories import add_device
from townops.demo.incidents import INCIDENTS, IncidentThread, inject_next
from townops.sensing.simulator import Simulator
from townops.townfiles.loader import default_town_dir, load_town

NANXIN = "310115121020"  # 南新居委会
TOWN = "310115121"


def _simulator() -> Simulator:
    town = load_town(default_town_dir())
    devices = [(f"SIM-{t.code}", t.code, 1) for t in town.sensing.device_types]
    return Simulator(devices, town=TOWN, config=town.sensing, alarms_per_minute=0.0, seed=5)


def test_an_injected_device_reports_next_with_its_episode() -> None:
    simulator = _simulator()
    now = datetime(2026, 12, 1, tzinfo=UTC)
    assert simulator.inject("SIM-gas_alarm") == "gas_spike"
    topic, body = simulator.next_message(10.0, now)
    assert topic.endswith("/devices/SIM-gas_alarm/readings")
    assert json.loads(body)["values"]["gas_lel"] > 10  # past the gas_leak line
    assert simulator.report.episodes["gas_spike"] == 1
    # Unknown devices and types without an episode of their own inject nothing.
    assert simulator.inject("NOPE") is None
    assert simulator.inject("SIM-water_level_sensor") is None  # rain is town-wide, not injected
    # Then the devices go on in their turn.
    topic, _ = simulator.next_message(10.0, now + timedelta(seconds=1))
    assert topic.endswith("/readings")


class Recorder:
    def __init__(self, refuse: frozenset[str] = frozenset()) -> None:
        self.injected: list[str] = []
        self.refuse = refuse

    def inject(self, device_id: str) -> str | None:
        if device_id in self.refuse:
            return None
        self.injected.append(device_id)
        return "episode"


def test_incidents_go_round_the_kinds_and_name_the_place(
    session: Session, connection: Connection
) -> None:
    add_device(session, "DEMO-GAS-H", "gas_alarm", NANXIN, household=True, building="高行家园5号楼")
    add_device(session, "DEMO-GAS-SHOP", "gas_alarm", NANXIN)  # no household: not a home
    add_device(session, "DEMO-SMOKE", "smoke_detector", NANXIN, building="南新新村3号楼")
    session.commit()

    def sessions() -> Session:
        return Session(bind=connection)

    recorder = Recorder()
    rng = random.Random(1)
    first = inject_next(sessions, recorder, rng, turn=0)
    assert first is not None and first.device_id == "DEMO-GAS-H"
    assert first.announcement() == (
        "注入事件 injected: 燃气泄漏 gas leak at 南新居委会 · 高行家园5号楼 — device DEMO-GAS-H"
    )
    second = inject_next(sessions, recorder, rng, turn=1)
    assert second is not None and second.device_id == "DEMO-SMOKE"
    # No manhole sensor in this town: its turn goes to the next kind that has a device.
    third = inject_next(sessions, recorder, rng, turn=2)
    assert third is not None and third.kind == INCIDENTS[0]
    assert recorder.injected == ["DEMO-GAS-H", "DEMO-SMOKE", "DEMO-GAS-H"]
    # A simulator that cannot inject (a silent device): nothing is announced.
    assert (
        inject_next(sessions, Recorder(refuse=frozenset({"DEMO-GAS-H", "DEMO-SMOKE"})), rng, turn=0)
        is None
    )


def test_the_incident_thread_announces_and_stops(session: Session, connection: Connection) -> None:
    add_device(session, "DEMO-GAS-T", "gas_alarm", NANXIN, household=True)
    session.commit()
    lines: list[str] = []
    thread = IncidentThread(
        lambda: Session(bind=connection),
        Recorder(),
        every_seconds=0.05,
        first_after=0.0,
        announce=lines.append,
        seed=2,
    )
    thread.start()
    deadline = time.monotonic() + 10
    while len(lines) < 2 and time.monotonic() < deadline:
        thread.join(0.01)
    thread.stop()
    assert len(lines) >= 2
    assert not thread.is_alive()
    assert all("DEMO-GAS-T" in line for line in lines)
