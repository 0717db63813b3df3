"""The device simulator: realistic readings from the town's registered devices, over MQTT.

``townops simulate devices --rate N --duration S`` publishes, at QoS 1, readings of the
devices in the registry as the real ones would send them: values in their normal ranges
with slow drifts and noise, batteries running down, and now and then an alarm episode (a
gas spike, smoke with the temperature rising, a cable overheating, water rising after
rain, a tilted manhole cover, a fire door left open, a camera sighting). ``--faults P``
makes a share P of messages faulty (malformed JSON, a bad schema, an unregistered device,
a bad topic, or a resend of an earlier reading) and keeps a share P of devices silent, so
their heartbeat-lost alarms come up.

Each device's ``seq`` goes on from the last one stored (``DeviceState.last_seq + 1``), so
a restarted simulator does not collide with itself; ``ts`` is the device clock, in Beijing
time (+08:00).

The publisher behaves like a careful MQTT v5 device: a persistent session, so what the
broker has not acknowledged is sent again after a reconnect; and a reading the broker
acknowledged with reason 0x10 ("no matching subscribers": no ingester was subscribed, e.g.
in the moment after a broker restart) is sent again a little later, so it is not lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import random
import threading
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from gmqtt.storage import PersistentStorage  # type: ignore[import-untyped]
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from townops.db import make_engine
from townops.sensing.config import SensingConfig
from townops.sensing.ingest.messages import readings_topic
from townops.sensing.ingest.mqtt.broker import BackoffClient, BrokerAddress, connect_client
from townops.sensing.models import Device, DeviceState
from townops.towns.profile import get_profile

logger = logging.getLogger("townops.simulate")

BEIJING = timedelta(hours=8)
#: MQTT v5 PUBACK reason: the broker took the message but no subscription matched it.
NO_MATCHING_SUBSCRIBERS = 0x10
RESEND_AFTER_SECONDS = 1.0
FAULT_KINDS = ("not_json", "bad_schema", "unknown_device", "bad_topic", "resend")


# --- devices and their values --------------------------------------------------------------


@dataclass
class Episode:
    """An alarm episode on one device: some quantities held abnormal for a few readings."""

    kind: str
    readings_left: int
    values: dict[str, float]
    # Added per reading (e.g. the temperature climbing while smoke is detected).
    step: dict[str, float] = field(default_factory=dict)


@dataclass
class SimDevice:
    device_id: str
    type: str
    seq: int
    battery: float
    base: dict[str, float]
    silent: bool = False
    episode: Episode | None = None
    water: float = 0.0
    last_clock: float | None = None
    last_payload: bytes | None = None


@dataclass
class Weather:
    """Rain raises every water-level sensor's water; it drains after the rain."""

    raining_until: float = 0.0
    rise_per_minute: float = 0.04

    def raining(self, clock: float) -> bool:
        return clock < self.raining_until


def _wave(clock: float, period: float, phase: float) -> float:
    return math.sin(2 * math.pi * (clock / period) + phase)


class DeviceModels:
    """Normal values, drifts and alarm episodes per device type (Gaohang's types)."""

    def __init__(self, config: SensingConfig, rng: random.Random) -> None:
        self.config = config
        self.rng = rng
        self.weather = Weather()

    def make(self, device_id: str, device_type: str, seq: int) -> SimDevice:
        rng = random.Random(device_id)  # the same device looks the same in every run
        battery = rng.uniform(22, 26) if rng.random() < 0.03 else rng.uniform(45, 100)
        base = {
            "temperature": rng.uniform(18, 27),
            "residual_current": rng.uniform(30, 140),
            "cable_temp": rng.uniform(28, 42),
            "tilt": rng.uniform(0, 2),
            "phase": rng.uniform(0, 2 * math.pi),
        }
        return SimDevice(device_id, device_type, seq, battery, base)

    def quantities(self, device_type: str) -> list[str]:
        spec = self.config.device_type(device_type)
        return [q.code for q in spec.quantities] if spec else []

    def values(self, device: SimDevice, clock: float) -> dict[str, float]:
        """The next reading. Rate-of-change rules see the change between two readings, so
        what they watch (temperature, water) moves with time, not with each reading:
        the simulator may run devices far faster than the real ones report."""
        rng, b = self.rng, device.base
        elapsed = 0.0 if device.last_clock is None else min(600.0, clock - device.last_clock)
        device.last_clock = clock
        device.battery = max(0.0, device.battery - rng.uniform(0.0, 0.004))
        day = _wave(clock, 86_400, b["phase"])
        normal: dict[str, float] = {
            "smoke": rng.uniform(0.0, 0.03),
            "temperature": b["temperature"] + 3 * day + rng.gauss(0, 0.02),
            "gas_lel": max(0.0, rng.gauss(0.8, 0.5)),
            "residual_current": max(0.0, b["residual_current"] * (1 + 0.15 * day)),
            "cable_temp": b["cable_temp"] + 4 * day + rng.gauss(0, 0.3),
            "water_level": self._water(device, clock, elapsed),
            "tilt": b["tilt"] + abs(rng.gauss(0, 0.2)),
            "door_open": 1.0 if rng.random() < 0.01 else 0.0,
            "illegal_parking": 0.0,
            "street_vending": 0.0,
            "garbage_overflow": 0.0,
            "battery": round(device.battery, 1),
        }
        values = {code: round(normal.get(code, 0.0), 3) for code in self.quantities(device.type)}
        episode = device.episode
        if episode is not None:
            for code, value in episode.values.items():
                if code in values:
                    values[code] = round(value, 3)
                    episode.values[code] = value + episode.step.get(code, 0.0)
            episode.readings_left -= 1
            if episode.readings_left <= 0:
                device.episode = None
        return values

    def _water(self, device: SimDevice, clock: float, elapsed: float) -> float:
        # 3–5 cm a minute while it rains heavily; drains at 2 cm a minute afterwards.
        if self.weather.raining(clock):
            rise = self.weather.rise_per_minute * (0.8 + 0.4 * device.base["phase"] / 6.3)
            device.water = min(0.45, device.water + rise * elapsed / 60)
        else:
            device.water = max(0.0, device.water - 0.02 * elapsed / 60)
        return device.water

    def start_episode(self, device: SimDevice, clock: float) -> str | None:
        """Something happens at this device; returns what, or None for its type."""
        rng = self.rng
        kind = device.type
        if kind == "gas_alarm":
            device.episode = Episode(
                "gas_spike", rng.randint(2, 5), {"gas_lel": rng.uniform(12, 40)}
            )
        elif kind == "smoke_detector":
            device.episode = Episode(
                "smoke",
                rng.randint(2, 4),
                {"smoke": rng.uniform(0.2, 0.6), "temperature": device.base["temperature"] + 8},
                {"temperature": rng.uniform(8, 15)},
            )
        elif kind == "electrical_fire_monitor":
            if rng.random() < 0.5:
                device.episode = Episode(
                    "residual_current",
                    rng.randint(4, 8),
                    {"residual_current": rng.uniform(320, 450)},
                )
            else:
                device.episode = Episode("cable_overheat", 3, {"cable_temp": rng.uniform(75, 90)})
        elif kind == "water_level_sensor":
            self.weather.raining_until = clock + rng.uniform(300, 900)
            self.weather.rise_per_minute = rng.uniform(0.03, 0.05)
            return "rain"
        elif kind == "manhole_cover_sensor":
            device.episode = Episode("manhole_tilted", 3, {"tilt": rng.uniform(20, 45)})
        elif kind == "fire_door_sensor":
            device.episode = Episode("door_held_open", rng.randint(6, 12), {"door_open": 1.0})
        elif kind == "camera_ai":
            sighting = rng.choice(["illegal_parking", "street_vending", "garbage_overflow"])
            device.episode = Episode(sighting, rng.randint(3, 8), {sighting: 1.0})
        else:
            return None
        return device.episode.kind if device.episode else None


# --- messages --------------------------------------------------------------------------------


def device_clock(moment: datetime) -> str:
    """ISO 8601 in Beijing time with its offset, as the devices send it."""
    local = moment.astimezone(UTC).replace(tzinfo=None) + BEIJING
    return local.isoformat(timespec="milliseconds") + "+08:00"


def reading_payload(seq: int, ts: datetime, values: dict[str, float]) -> bytes:
    return json.dumps({"seq": seq, "ts": device_clock(ts), "values": values}).encode()


@dataclass
class SimReport:
    sent: int = 0
    acknowledged: int = 0
    resent_no_subscriber: int = 0
    readings: int = 0
    episodes: Counter[str] = field(default_factory=Counter)
    faults: Counter[str] = field(default_factory=Counter)
    devices: int = 0
    silent_devices: int = 0
    seconds: float = 0.0
    reconnects: int = 0

    @property
    def rate(self) -> float:
        return self.sent / self.seconds if self.seconds else 0.0

    def lines(self) -> list[str]:
        episodes = ", ".join(f"{k} {v}" for k, v in sorted(self.episodes.items())) or "none"
        faults = ", ".join(f"{k} {v}" for k, v in sorted(self.faults.items())) or "none"
        return [
            f"发送 sent {self.sent:,} messages in {self.seconds:.1f} s = {self.rate:,.0f}/s "
            f"(readings {self.readings:,}); broker acknowledged {self.acknowledged:,}",
            f"设备 devices {self.devices:,} ({self.silent_devices:,} kept silent)",
            f"告警 alarm episodes: {episodes}",
            f"故障 faults: {faults}",
            f"re-sent after 'no matching subscribers' {self.resent_no_subscriber:,}; "
            f"reconnects {self.reconnects}",
        ]


class Simulator:
    """Chooses the next device and makes its message (topic, payload)."""

    def __init__(
        self,
        devices: Sequence[tuple[str, str, int]],
        *,
        town: str,
        config: SensingConfig,
        faults: float = 0.0,
        alarms_per_minute: float = 2.0,
        seed: int | None = None,
        clock_offset: timedelta = timedelta(0),
    ) -> None:
        self.rng = random.Random(seed)
        # Added to the wall clock for the devices' ts, e.g. to replay an hour ago.
        self.clock_offset = clock_offset
        self.models = DeviceModels(config, self.rng)
        self.town = town
        self.faults = faults
        self.alarms_per_minute = alarms_per_minute
        self.report = SimReport()
        self.devices = [
            self.models.make(device_id, device_type, seq)
            for device_id, device_type, seq in devices
            if self.models.quantities(device_type)
        ]
        for device in self.devices:
            device.silent = self.rng.random() < faults
        self.report.devices = len(self.devices)
        self.report.silent_devices = sum(d.silent for d in self.devices)
        self._speaking = [d for d in self.devices if not d.silent]
        self._by_id = {d.device_id: d for d in self._speaking}
        self._order: Iterator[SimDevice] = iter(())
        self._cycle: list[SimDevice] = []
        # Devices to report next, out of turn: incidents injected from another thread
        # (deque appends and pops are atomic).
        self._urgent: deque[SimDevice] = deque()

    def _next_device(self) -> SimDevice:
        """Every device in turn, in one fixed (shuffled) order: each reports at a steady
        interval, as real devices do; rate-of-change rules would misread readings of one
        device that came in back to back. An injected incident's device goes first."""
        if self._urgent:
            return self._urgent.popleft()
        device = next(self._order, None)
        if device is None:
            if not self._cycle:
                self._cycle = list(self._speaking)
                self.rng.shuffle(self._cycle)
            self._order = iter(self._cycle)
            device = next(self._order)
        return device

    def next_message(self, rate: float, now: datetime | None = None) -> tuple[str, bytes]:
        if not self._speaking:
            raise ValueError("no device to simulate (all silent or no known type)")
        now = now or datetime.now(UTC) + self.clock_offset
        clock = now.timestamp()
        if self.faults and self.rng.random() < self.faults:
            return self._fault(now)
        device = self._next_device()
        if self.rng.random() < self.alarms_per_minute / 60 / max(rate, 1e-9):
            kind = self.models.start_episode(device, clock)
            if kind:
                self.report.episodes[kind] += 1
        payload = reading_payload(device.seq, now, self.models.values(device, clock))
        device.seq += 1
        device.last_payload = payload
        self.report.readings += 1
        return readings_topic(self.town, device.device_id), payload

    def inject(self, device_id: str) -> str | None:
        """Start an alarm episode on this device now and make it report next (the living
        demo's announced incidents); the episode's kind, or None when the device is not
        simulated (unknown, silent) or its type has no episode of its own."""
        device = self._by_id.get(device_id)
        if device is None:
            return None
        kind = self.models.start_episode(
            device, (datetime.now(UTC) + self.clock_offset).timestamp()
        )
        if kind is None or device.episode is None:
            return None
        self.report.episodes[kind] += 1
        self._urgent.append(device)
        return kind

    def _fault(self, now: datetime) -> tuple[str, bytes]:
        kind = self.rng.choice(FAULT_KINDS)
        self.report.faults[kind] += 1
        device = self.rng.choice(self._speaking)
        topic = readings_topic(self.town, device.device_id)
        if kind == "not_json":
            return topic, b'{"seq": 1, "ts": "2026-11-22T08:00:00+08:00", "values": {'
        if kind == "bad_schema":
            return topic, json.dumps({"seq": "x", "ts": device_clock(now), "values": {}}).encode()
        if kind == "unknown_device":
            ghost = f"GHOST-{self.rng.randint(1, 999):03d}"
            return readings_topic(self.town, ghost), reading_payload(1, now, {"battery": 50.0})
        if kind == "bad_topic":
            return f"townops/{self.town}/devices/-/readings", reading_payload(1, now, {"x": 1.0})
        if device.last_payload is None:  # nothing to resend yet: a reading after all
            self.report.faults[kind] -= 1
            return self.next_message(1.0, now)
        return topic, device.last_payload


def load_devices(session: Session) -> list[tuple[str, str, int]]:
    """(device_id, type, next seq) of the active registered devices."""
    rows = session.execute(
        select(Device.device_id, Device.type, DeviceState.last_seq)
        .outerjoin(DeviceState, DeviceState.device_id == Device.device_id)
        .where(Device.active.is_(True))
        .order_by(Device.device_id)
    )
    return [(d, t, (last + 1) if last is not None else 0) for d, t, last in rows]


def synthetic_devices(config: SensingConfig, per_type: int) -> list[tuple[str, str, int]]:
    """Devices that are not in any registry (the ingester sets their readings aside)."""
    seq = int(time.time() * 1000)  # a later run's seq is higher
    return [
        (f"SIM-{t.code.upper()}-{i:04d}", t.code, seq)
        for t in config.device_types
        for i in range(per_type)
    ]


# --- publishing ------------------------------------------------------------------------------


class _InFlight(PersistentStorage):  # type: ignore[misc]
    """gmqtt's store of unacknowledged messages, remembering topic and payload of each."""

    def __init__(self) -> None:
        super().__init__()
        self.next_message: tuple[str, bytes] | None = None
        self.sent: dict[int, tuple[str, bytes]] = {}
        self.orphans: list[tuple[str, bytes]] = []

    def push_message(self, mid: int, raw_package: bytes) -> None:
        super().push_message(mid, raw_package)
        if self.next_message is not None:
            self.sent[mid] = self.next_message
            self.next_message = None

    def clear(self) -> None:
        # The broker lost our session (no persistence): gmqtt would drop what was in flight;
        # a device sends it again.
        self.orphans.extend(self.sent.values())
        self.sent.clear()
        super().clear()


class QoS1Publisher:
    """Publishes at QoS 1 like a careful device (see the module docstring)."""

    def __init__(self, broker: str, client_id: str | None = None) -> None:
        self.broker = BrokerAddress.parse(broker)
        self.store = _InFlight()
        self.client = BackoffClient(
            client_id or f"townops-sim-{uuid.uuid4().hex[:8]}",
            clean_session=False,
            session_expiry_interval=3600,
            persistent_storage=self.store,
        )
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.connected = asyncio.Event()
        self.window = 20
        self.acknowledged = 0
        self.no_subscribers = 0
        self.connects = 0
        self._again: deque[tuple[float, tuple[str, bytes]]] = deque()
        self._watch_puback_reasons()

    def _watch_puback_reasons(self) -> None:
        # gmqtt drops the PUBACK's reason code; a device must see 0x10 to send again.
        handler = self.client._package_handler
        original = handler._handle_puback_packet

        def on_puback(cmd: int, packet: bytes) -> None:
            mid = int.from_bytes(packet[:2], "big")
            reason = packet[2] if len(packet) > 2 else 0
            message = self.store.sent.pop(mid, None)
            if message is not None:
                if reason == NO_MATCHING_SUBSCRIBERS:
                    self.no_subscribers += 1
                    self._again.append((time.monotonic() + RESEND_AFTER_SECONDS, message))
                else:
                    self.acknowledged += 1
            original(cmd, packet)

        handler._handle_puback_packet = on_puback

    def _on_connect(self, _client: Any, _flags: int, _rc: int, properties: dict[str, Any]) -> None:
        self.connects += 1
        maximum = properties.get("receive_maximum")
        if isinstance(maximum, list) and maximum:
            self.window = max(1, int(maximum[0]) - 1)
        elif isinstance(maximum, int):
            self.window = max(1, maximum - 1)
        else:
            self.window = 65534
        self.connected.set()

    def _on_disconnect(self, _client: Any, _packet: Any, _exc: Any = None) -> None:
        self.connected.clear()

    async def connect(self) -> None:
        await connect_client(self.client, self.broker, keepalive=30)

    @property
    def in_flight(self) -> int:
        return len(self.store.sent)

    async def publish(self, topic: str, payload: bytes) -> None:
        """Send one message, waiting while the broker's window is full or it is away."""
        while not self.connected.is_set() or self.in_flight >= self.window:
            if not self.connected.is_set():
                await self.connected.wait()
            else:
                await asyncio.sleep(0.0005)
        self._send(topic, payload)
        if self._again or self.store.orphans:
            self._send_again()

    def _send(self, topic: str, payload: bytes) -> None:
        self.store.next_message = (topic, payload)
        self.client.publish(topic, payload, qos=1)

    def _send_again(self) -> None:
        while self.store.orphans and self.in_flight < self.window:
            self._send(*self.store.orphans.pop())
        clock = time.monotonic()
        while self._again and self._again[0][0] <= clock and self.in_flight < self.window:
            self._send(*self._again.popleft()[1])

    def unfinished(self) -> int:
        return self.in_flight + len(self._again) + len(self.store.orphans)

    async def settle(self, timeout: float = 10.0) -> int:
        """Wait until every message is acknowledged (re-sending as needed); what is left."""
        deadline = time.monotonic() + timeout
        while self.unfinished() and time.monotonic() < deadline:
            if self.connected.is_set():
                self._send_again()
            await asyncio.sleep(0.02)
        return self.unfinished()

    async def close(self, *, forget_session: bool = True) -> None:
        with contextlib.suppress(Exception):
            if forget_session:
                await self.client.disconnect(session_expiry_interval=0)
            else:
                await self.client.disconnect()


async def publish_readings(
    simulator: Simulator,
    broker: str,
    *,
    rate: float,
    duration: float | None,
    stop: Callable[[], bool] = lambda: False,
    client_id: str | None = None,
) -> SimReport:
    """Publish ``rate`` messages a second for ``duration`` seconds (None: until ``stop``)."""
    publisher = QoS1Publisher(broker, client_id)
    await publisher.connect()
    report = simulator.report
    started = time.monotonic()
    sent = 0
    try:
        while not stop() and (duration is None or time.monotonic() - started < duration):
            due = int((time.monotonic() - started) * rate) + 1
            while sent < due and not stop():
                topic, payload = simulator.next_message(rate)
                await publisher.publish(topic, payload)
                sent += 1
            await asyncio.sleep(min(0.01, max(0.0, (sent / rate) - (time.monotonic() - started))))
        report.seconds = time.monotonic() - started
        await publisher.settle()
    finally:
        report.sent = sent
        report.acknowledged = publisher.acknowledged
        report.resent_no_subscriber = publisher.no_subscribers
        report.reconnects = max(0, publisher.connects - 1)
        await publisher.close()
    return report


# --- entry points ----------------------------------------------------------------------------


def simulator_for(
    engine: Engine,
    *,
    faults: float = 0.0,
    alarms_per_minute: float = 2.0,
    seed: int | None = None,
    synthetic_per_type: int = 0,
    limit: int | None = None,
) -> Simulator:
    """A simulator of the devices registered in this database (or synthetic ones)."""
    with Session(engine) as session:
        profile = get_profile(session)
        devices = [] if synthetic_per_type else load_devices(session)
    if synthetic_per_type:
        devices = synthetic_devices(profile.config(SensingConfig), synthetic_per_type)
    if limit is not None:
        devices = devices[:limit]
    return Simulator(
        devices,
        town=profile.code,
        config=profile.config(SensingConfig),
        faults=faults,
        alarms_per_minute=alarms_per_minute,
        seed=seed,
    )


@dataclass
class SimulatorHandle:
    """A simulator publishing in a background thread; :meth:`stop` ends it."""

    simulator: Simulator
    thread: threading.Thread
    _stop: threading.Event
    error: BaseException | None = None

    @property
    def report(self) -> SimReport:
        return self.simulator.report

    @property
    def running(self) -> bool:
        return self.thread.is_alive()

    def inject(self, device_id: str) -> str | None:
        """:meth:`Simulator.inject` on the running simulator."""
        return self.simulator.inject(device_id)

    def stop(self, timeout: float = 30.0) -> SimReport:
        self._stop.set()
        self.thread.join(timeout)
        return self.simulator.report


def run_in_background(
    database_url: str | Engine,
    *,
    broker: str,
    rate: float = 50.0,
    duration: float | None = None,
    faults: float = 0.0,
    alarms_per_minute: float = 2.0,
    seed: int | None = None,
) -> SimulatorHandle:
    """Start publishing in a daemon thread (for the demo); returns a handle to stop it."""
    engine = make_engine(database_url) if isinstance(database_url, str) else database_url
    simulator = simulator_for(engine, faults=faults, alarms_per_minute=alarms_per_minute, seed=seed)
    if isinstance(database_url, str):
        engine.dispose()
    stop = threading.Event()
    handle = SimulatorHandle(simulator, threading.Thread(), stop)

    def run() -> None:
        try:
            asyncio.run(
                publish_readings(simulator, broker, rate=rate, duration=duration, stop=stop.is_set)
            )
        except Exception as exc:  # reported on the handle; the demo goes on without it
            handle.error = exc
            logger.exception("device simulator stopped")

    handle.thread = threading.Thread(target=run, name="townops-simulator", daemon=True)
    handle.thread.start()
    return handle
