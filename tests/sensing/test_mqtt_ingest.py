"""The MQTT ingester against a real Mosquitto: stored once, set aside, acknowledged after commit.

Each test runs the ingester (in a thread, or as worker processes) on its OWN database — a
SQLite file, or ``townops_test_mqtt`` on the PostgreSQL pass — with the Gaohang town and a
few registered devices, and a private Mosquitto started from the shipped configuration on a
free port (so the broker may be restarted mid-stream). Without a mosquitto binary the tests
use the broker on 127.0.0.1:1883, and the broker-restart test is skipped. Every test uses
its own share group and client ids and ends their sessions, so nothing keeps queueing.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import multiprocessing
import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import typer
from sqlalchemy import Engine, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from tests.mqtt_helpers import (
    PrivateBroker,
    forget_sessions,
    mosquitto_binary,
    port_answers,
)
from townops import domains
from townops.cases.models import Case
from townops.cli import simulate as cli_simulate
from townops.db import make_engine
from townops.jurisdiction.models import Jurisdiction
from townops.sensing.ingest.messages import (
    IncomingReading,
    MalformedMessage,
    parse_message,
    readings_topic,
)
from townops.sensing.ingest.mqtt.broker import BrokerAddress
from townops.sensing.ingest.mqtt.ingester import Ingester
from townops.sensing.ingest.mqtt.options import IngestOptions
from townops.sensing.ingest.mqtt.store import FAILING_READINGS_LIMIT
from townops.sensing.ingest.mqtt.workers import IngesterThread, _worker_process
from townops.sensing.ingest.pipeline import BatchResult, process_readings
from townops.sensing.models import Alarm, Device, DeviceState, QuarantinedMessage, Reading
from townops.sensing.simulator import (
    QoS1Publisher,
    Simulator,
    load_devices,
    run_in_background,
)
from townops.townfiles.loader import default_town_dir, load_town
from townops.townfiles.sync import install_town

TOWN = "310115121"
NANXIN = "310115121020"  # 南新居委会
PG_DATABASE = "townops_test_mqtt"
SH = timedelta(hours=8)


# --- the broker and the database ------------------------------------------------------------


@dataclass
class Broker:
    port: int
    private: PrivateBroker | None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    if mosquitto_binary() is not None:
        with PrivateBroker(tmp_path_factory.mktemp("mosquitto")) as private:
            yield Broker(private.port, private)
        return
    if port_answers("127.0.0.1", 1883):
        yield Broker(1883, None)
        return
    pytest.skip(
        "no mosquitto binary and no MQTT broker on 127.0.0.1:1883 (run scripts/services.sh)"
    )


def _own_database_url(tmp: Path) -> str:
    url = os.environ.get("TOWNOPS_TEST_DATABASE_URL")
    if not url or not url.startswith("postgresql"):
        return f"sqlite:///{tmp / 'ingest.db'}"
    parsed = make_url(url)
    admin = make_engine(str(parsed.set(database="postgres")), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{PG_DATABASE}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{PG_DATABASE}"'))
    admin.dispose()
    return parsed.set(database=PG_DATABASE).render_as_string(hide_password=False)


def _drop_own_database(url: str) -> None:
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        return
    admin = make_engine(str(parsed.set(database="postgres")), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{PG_DATABASE}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Engine]]:
    url = _own_database_url(tmp_path_factory.mktemp("ingest"))
    engine = make_engine(url)
    install_town(engine, load_town(default_town_dir()), with_demo_users=True)
    yield url, engine
    engine.dispose()
    _drop_own_database(url)


def register(engine: Engine, prefix: str, count: int, **fields: Any) -> list[str]:
    """``count`` devices ``{prefix}-{i}`` in 南新 (gas alarms unless told otherwise)."""
    with Session(engine) as s:
        path = s.scalars(select(Jurisdiction.path).where(Jurisdiction.code == NANXIN)).one()
        ids = [f"{prefix}-{i}" for i in range(count)]
        for device_id in ids:
            values = {"type": "gas_alarm", "building": f"{device_id}-bldg"} | fields
            s.add(
                Device(
                    device_id=device_id,
                    jurisdiction_code=NANXIN,
                    jurisdiction_path=path,
                    community_code=NANXIN,
                    address="南新居委会某小区",
                    **values,
                )
            )
        s.commit()
    return ids


def stored(engine: Engine, prefix: str) -> list[tuple[str, int]]:
    with Session(engine) as s:
        rows = s.execute(
            select(Reading.device_id, Reading.seq).where(Reading.device_id.like(f"{prefix}-%"))
        )
        return sorted((d, q) for d, q in rows)


def wait_until(condition: Callable[[], bool], timeout: float = 30) -> None:
    """Polls (the assertions come after, on counts, not on time)."""
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.05)


# --- running ingesters -------------------------------------------------------------------------


class RunningIngester(IngesterThread):
    """``with RunningIngester(options) as ingester:`` — subscribed inside, drained after."""

    def __enter__(self) -> Ingester:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()


@pytest.fixture
def options(db: tuple[str, Engine], broker: Broker) -> Iterator[IngestOptions]:
    """Options with a share group and client ids of this test only; their sessions end after."""
    tag = uuid.uuid4().hex[:8]
    opts = IngestOptions(
        database_url=db[0],
        broker=broker.url,
        group=f"test{tag}",
        client_id_prefix=f"test-ingest-{tag}",
        batch_size=200,
        batch_ms=20,
        sweep_seconds=0,
        stats_seconds=0,
    )
    yield opts
    ids = [opts.client_id(TOWN, i) for i in (1, 2)] + [f"test-pub-{tag}"]
    asyncio.run(forget_sessions(broker.port, ids))


def payload(seq: int, values: dict[str, float], ts: datetime | None = None) -> bytes:
    moment = (ts or datetime.now(UTC)).astimezone(UTC) + SH
    stamp = moment.replace(tzinfo=None).isoformat(timespec="milliseconds") + "+08:00"
    return json.dumps({"seq": seq, "ts": stamp, "values": values}).encode()


def publish(
    port: int, messages: Sequence[tuple[str, bytes]], *, client_id: str | None = None
) -> None:
    """Publish at QoS 1 and wait until the broker has acknowledged every message."""

    async def run() -> None:
        pub = QoS1Publisher(f"mqtt://127.0.0.1:{port}", client_id)
        await pub.connect()
        for topic, body in messages:
            await pub.publish(topic, body)
        assert await pub.settle(30) == 0
        assert pub.no_subscribers == 0
        await pub.close()

    asyncio.run(run())


#: Readings of the tests are a minute apart on the device clock, in seq order.
EPOCH = datetime.now(UTC) - timedelta(days=30)


def readings_of(ids: Sequence[str], per_device: int, start_seq: int = 0) -> list[tuple[str, bytes]]:
    return [
        (
            readings_topic(TOWN, d),
            payload(seq, {"gas_lel": 1.0 + seq % 3, "battery": 90}, EPOCH + timedelta(minutes=seq)),
        )
        for seq in range(start_seq, start_seq + per_device)
        for d in ids
    ]


# --- pure parts ----------------------------------------------------------------------------


def test_broker_urls_are_read_with_defaults_and_credentials() -> None:
    assert BrokerAddress.parse("mqtt://127.0.0.1:1884") == BrokerAddress("127.0.0.1", 1884)
    assert BrokerAddress.parse("broker.local") == BrokerAddress("broker.local", 1883)
    tls = BrokerAddress.parse("mqtts://ingest:s%40cret@mq.example:8884")
    assert (tls.tls, tls.port, tls.username, tls.password) == (True, 8884, "ingest", "s@cret")
    assert "s@cret" not in str(tls)
    with pytest.raises(ValueError, match="mqtt://"):
        BrokerAddress.parse("http://x")


# --- against the broker ---------------------------------------------------------------------


def test_every_reading_is_stored_once_and_garbage_is_set_aside(
    db: tuple[str, Engine], broker: Broker, options: IngestOptions
) -> None:
    _, engine = db
    ids = register(engine, "once", 4)
    good = readings_of(ids, 50)  # 200 readings
    again = good[:30]  # delivered twice: the device resent them
    garbage = [
        (readings_topic(TOWN, ids[0]), b"{not json"),
        (readings_topic(TOWN, ids[0]), b"[" * 50_000),  # nested past Python's recursion limit
        (readings_topic(TOWN, ids[1]), b'{"seq": -1, "ts": "2026-11-22T08:00:00+08:00"}'),
        (readings_topic(TOWN, ids[1]), json.dumps({"seq": 1, "values": {"x": 1}}).encode()),
        (readings_topic(TOWN, "nobody-1"), payload(1, {"gas_lel": 1.0})),
        (f"townops/{TOWN}/devices/-bad/readings", payload(1, {"gas_lel": 1.0})),
    ]
    with RunningIngester(options) as ingester:
        publish(broker.port, good[:100] + garbage + again + good[100:])
        expected = len(good) + len(again) + len(garbage)
        wait_until(lambda: ingester.stats.acknowledged >= expected)
        stats = ingester.stats
    assert stored(engine, "once") == sorted({(d, s) for d in ids for s in range(50)})
    assert stats.received == stats.acknowledged == expected
    assert (stats.stored, stats.duplicates) == (200, 30)
    with Session(engine) as s:
        kept = s.execute(
            select(
                QuarantinedMessage.reason, QuarantinedMessage.topic, QuarantinedMessage.payload
            ).where(
                QuarantinedMessage.topic.in_(
                    [readings_topic(TOWN, i) for i in [*ids, "nobody-1"]]
                    + [f"townops/{TOWN}/devices/-bad/readings"]
                )
            )
        ).all()
    reasons = sorted(r for r, _, _ in kept)
    assert reasons == sorted(
        ["not_json", "not_json", "bad_schema", "bad_schema", "unknown_device", "bad_topic"]
    )
    assert (readings_topic(TOWN, ids[0]), b"{not json") in {(t, p) for _, t, p in kept}
    assert stats.set_aside == {"not_json": 2, "bad_schema": 2, "unknown_device": 1, "bad_topic": 1}


def test_a_gas_leak_in_an_elderly_home_raises_an_alarm_and_opens_a_routed_case(
    db: tuple[str, Engine], broker: Broker, options: IngestOptions
) -> None:
    _, engine = db
    (device,) = register(engine, "leak", 1, household_name="王阿婆", household_phone="13800001111")
    t0 = datetime.now(UTC) - timedelta(minutes=5)
    topic = readings_topic(TOWN, device)
    with RunningIngester(options) as ingester:
        publish(broker.port, [(topic, payload(1, {"gas_lel": 2.0}, t0))])
        wait_until(lambda: ingester.stats.acknowledged >= 1)
        publish(broker.port, [(topic, payload(2, {"gas_lel": 25.0}, t0 + timedelta(minutes=1)))])
        wait_until(lambda: ingester.stats.acknowledged >= 2)
        with Session(engine) as s:
            alarm = s.scalars(select(Alarm).where(Alarm.device_id == device)).one()
            case = s.get(Case, alarm.case_id)
            assert (alarm.rule_id, alarm.state, alarm.reading_seq) == ("gas_leak", "raised", 2)
            assert case is not None and case.category_code == "iot_gas_alarm_home"
        publish(broker.port, [(topic, payload(3, {"gas_lel": 1.0}, t0 + timedelta(minutes=2)))])
        wait_until(lambda: ingester.stats.acknowledged >= 3)
        stats = ingester.stats
    with Session(engine) as s:
        assert s.scalars(select(Alarm.state).where(Alarm.device_id == device)).one() == "cleared"
    assert (stats.alarms_raised, stats.cases_opened, stats.alarms_cleared) == (1, 1, 1)


def test_a_reading_dated_2099_is_set_aside_and_counted_not_applied(
    db: tuple[str, Engine], broker: Broker, options: IngestOptions
) -> None:
    """Issue 12, finding 6, over MQTT: the reading from the future never reaches the state,
    and the device's real readings after it are not late."""
    _, engine = db
    (device,) = register(engine, "future", 1)
    topic = readings_topic(TOWN, device)
    now = datetime.now(UTC) - timedelta(minutes=1)
    messages = [
        (topic, payload(1, {"gas_lel": 1.0}, now)),
        (topic, payload(2, {"gas_lel": 60.0}, datetime(2099, 1, 1, tzinfo=UTC))),
        (topic, payload(3, {"gas_lel": 2.0}, now + timedelta(seconds=30))),
    ]
    with RunningIngester(options) as ingester:
        publish(broker.port, messages)
        wait_until(lambda: ingester.stats.acknowledged >= 3)
        stats = ingester.stats
    assert (stats.stored, stats.late, stats.alarms_raised) == (2, 0, 0)
    assert stats.set_aside == {"future_timestamp": 1}
    assert stored(engine, "future") == [(device, 1), (device, 3)]
    with Session(engine) as s:
        state = s.get(DeviceState, device)
        assert state is not None and (state.last_seq, state.values) == (3, {"gas_lel": 2.0})
        [kept] = s.scalars(select(QuarantinedMessage).where(QuarantinedMessage.topic == topic))
        assert (kept.reason, kept.device_id, kept.payload) == (
            "future_timestamp",
            device,
            messages[1][1],
        )
        assert "ahead of the server clock" in kept.detail


def test_readings_sent_while_the_ingester_is_down_are_stored_when_it_returns(
    db: tuple[str, Engine], broker: Broker, options: IngestOptions
) -> None:
    _, engine = db
    ids = register(engine, "away", 5)
    with RunningIngester(options) as ingester:  # first start: the session and subscription
        publish(broker.port, readings_of(ids, 20))
        wait_until(lambda: ingester.stats.acknowledged >= 100)
    publish(broker.port, readings_of(ids, 40, start_seq=20))  # nobody is listening
    assert len(stored(engine, "away")) == 100
    with RunningIngester(options) as ingester:
        wait_until(lambda: len(stored(engine, "away")) >= 300)
        stats = ingester.stats
    assert stored(engine, "away") == sorted((d, s) for d in ids for s in range(60))
    # Nothing was delivered twice: the first run acknowledged everything it committed.
    assert (stats.stored, stats.duplicates) == (200, 0)


def test_worker_1_sweeps_for_devices_that_went_silent(
    db: tuple[str, Engine], options: IngestOptions
) -> None:
    _, engine = db
    (device,) = register(engine, "silent", 1, created_at=datetime.now(UTC) - timedelta(days=1))
    with RunningIngester(replace(options, sweep_seconds=0.2)) as ingester:
        wait_until(lambda: ingester.stats.sweeps >= 1)
    with Session(engine) as s:
        rule = s.scalars(select(Alarm.rule_id).where(Alarm.device_id == device)).one()
    assert rule == "gas_alarm_offline"


def test_nothing_is_acknowledged_until_committed_and_a_poison_reading_is_set_aside(
    db: tuple[str, Engine], broker: Broker, options: IngestOptions
) -> None:
    """The database is down for two commits, then one reading breaks every commit it is in."""
    _, engine = db
    ids = register(engine, "flaky", 3)
    poison = ("flaky-1", 7)
    outages = itertools.count()

    def flaky(
        session: Session, readings: Sequence[IncomingReading], *, now: datetime | None = None
    ) -> BatchResult:
        if next(outages) < 2:
            raise OperationalError("COMMIT", {}, Exception("database is restarting"))
        if any((r.device_id, r.seq) == poison for r in readings):
            raise ValueError("a bug this reading triggers")
        return process_readings(session, readings, now=now)

    with RunningIngester(options, process=flaky) as ingester:
        publish(broker.port, readings_of(ids, 20))
        wait_until(lambda: ingester.stats.acknowledged >= 60)
        stats = ingester.stats
    expected = sorted((d, s) for d in ids for s in range(20) if (d, s) != poison)
    assert stored(engine, "flaky") == expected
    assert stats.acknowledged == 60 and stats.set_aside == {"ingest_error": 1}
    assert stats.commit_failures >= 2
    with Session(engine) as s:
        kept = s.scalars(
            select(QuarantinedMessage).where(QuarantinedMessage.device_id == "flaky-1")
        ).one()
    assert kept.reason == "ingest_error" and json.loads(kept.payload)["seq"] == 7
    assert "a bug this reading triggers" in kept.detail


def test_a_fault_in_every_reading_holds_the_stream_instead_of_setting_it_aside(
    db: tuple[str, Engine], broker: Broker, options: IngestOptions
) -> None:
    """E.g. a database whose schema is behind the code: nothing is lost while it is fixed."""
    _, engine = db
    ids = register(engine, "broken", 4)
    broken = threading.Event()
    broken.set()

    def process(
        session: Session, readings: Sequence[IncomingReading], *, now: datetime | None = None
    ) -> BatchResult:
        if broken.is_set():
            raise ValueError("no such column: readings.something_new")
        return process_readings(session, readings, now=now)

    with RunningIngester(options, process=process) as ingester:
        publish(broker.port, readings_of(ids, 25))
        # Halving a batch of up to 100 readings down to single ones takes ~16 failures
        # before the first is set aside, so a bare failure count (20 here before) can be
        # reached before the stream is held: wait for the limit of readings set aside, then
        # for two more failures, which are held (backed-off) attempts.
        wait_until(lambda: ingester.stats.set_aside["ingest_error"] >= FAILING_READINGS_LIMIT)
        held_from = ingester.stats.commit_failures
        wait_until(lambda: ingester.stats.commit_failures >= held_from + 2)
        assert ingester.stats.acknowledged <= FAILING_READINGS_LIMIT
        broken.clear()  # the schema is fixed
        wait_until(lambda: ingester.stats.acknowledged >= 100)
        stats = ingester.stats
    assert stats.set_aside == {"ingest_error": FAILING_READINGS_LIMIT}
    assert len(stored(engine, "broken")) == 100 - FAILING_READINGS_LIMIT


def test_a_broker_restart_mid_stream_loses_and_repeats_nothing(
    db: tuple[str, Engine], broker: Broker, options: IngestOptions
) -> None:
    if broker.private is None:
        pytest.skip("needs a private broker to restart (no mosquitto binary)")
    private = broker.private
    _, engine = db
    ids = register(engine, "restart", 10)
    messages = readings_of(ids, 100)  # 1,000 readings
    pub_id = f"test-pub-{options.group[4:]}"

    async def stream() -> int:
        pub = QoS1Publisher(broker.url, pub_id)
        await pub.connect()
        for i, (topic, body) in enumerate(messages):
            await pub.publish(topic, body)
            if i == len(messages) // 2:
                # Mosquitto saves its sessions and queues on the way down.
                await asyncio.to_thread(private.restart)
            if i % 50 == 49:
                await asyncio.sleep(0.01)
        left = await pub.settle(60)
        await pub.close()
        return left

    with RunningIngester(options) as ingester:
        assert asyncio.run(stream()) == 0
        wait_until(lambda: len(stored(engine, "restart")) >= len(messages), timeout=40)
        stats = ingester.stats
    assert stored(engine, "restart") == sorted((d, s) for d in ids for s in range(100))
    assert stats.connects >= 2  # it did lose the broker, and came back by itself
    assert stats.stored == len(messages)


def test_a_retired_worker_hands_over_its_queued_share_and_leaves_the_group(
    db: tuple[str, Engine], broker: Broker, options: IngestOptions
) -> None:
    _, engine = db
    ids = register(engine, "retire", 5)
    with RunningIngester(options, index=1), RunningIngester(options, index=2):
        pass  # both join the group; their sessions stay
    publish(broker.port, readings_of(ids, 40))  # split between the two absent sessions
    retiring = RunningIngester(options, index=2, retire=True)
    retired = retiring.start()
    retiring.join()  # returns by itself once its queue is empty
    share = retired.stats.stored
    assert 0 < share < 200 and len(stored(engine, "retire")) == share
    with RunningIngester(options, index=1) as ingester:
        publish(broker.port, readings_of(ids, 20, start_seq=40))
        wait_until(lambda: len(stored(engine, "retire")) >= 300)
        stats = ingester.stats
    # Worker 1 got its own queued share and ALL the new readings: no session 2 left in the group.
    assert stored(engine, "retire") == sorted((d, s) for d in ids for s in range(60))
    assert stats.stored == 300 - share


def test_two_worker_processes_split_the_stream_and_store_everything_once(
    db: tuple[str, Engine], broker: Broker, options: IngestOptions, tmp_path: Path
) -> None:
    """Two ingester processes on one shared subscription; one is stopped (SIGTERM) mid-stream,
    stays away a while, and comes back to the share the broker kept for it."""
    _, engine = db
    ids = register(engine, "pair", 20)
    options = replace(options, stats_file=str(tmp_path / "worker-{n}.json"))
    context = multiprocessing.get_context("spawn")

    def start(index: int) -> Any:
        process = context.Process(
            target=_worker_process, args=(options, index, domains.install), daemon=True
        )
        process.start()
        return process

    def counters(index: int) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((tmp_path / f"worker-{index}.json").read_text())
        return data

    def subscribed(index: int) -> bool:
        return (tmp_path / f"worker-{index}.json").exists()

    workers = [start(1), start(2)]
    try:
        wait_until(lambda: subscribed(1) and subscribed(2), timeout=60)
        streaming = threading.Thread(target=publish, args=(broker.port, readings_of(ids, 110)))
        streaming.start()
        time.sleep(0.2)
        workers[0].terminate()  # SIGTERM mid-stream: it commits, acknowledges and leaves
        workers[0].join(30)
        streaming.join(60)
        before = counters(1)
        publish(broker.port, readings_of(ids, 90, start_seq=110))  # worker 1 is away
        (tmp_path / "worker-1.json").unlink()
        workers[0] = start(1)
        wait_until(lambda: len(stored(engine, "pair")) >= 4000, timeout=60)
    finally:
        for w in workers:
            w.terminate()
        for w in workers:
            w.join(30)
    assert [w.exitcode for w in workers] == [0, 0]
    assert stored(engine, "pair") == sorted((d, s) for d in ids for s in range(200))
    after, other = counters(1), counters(2)
    # Both took a share; the share kept for worker 1 while it was away reached it later.
    assert before["stored"] > 0 and other["stored"] > 0 and after["stored"] > 0
    assert before["stored"] + after["stored"] + other["stored"] == 4000


# --- the simulator ---------------------------------------------------------------------------


def _simulator(faults: float = 0.0, alarms_per_minute: float = 0.0) -> Simulator:
    town = load_town(default_town_dir())
    devices = [
        (f"SIM-{t.code}-{i}", t.code, 100 * i) for t in town.sensing.device_types for i in range(3)
    ]
    return Simulator(
        devices,
        town=TOWN,
        config=town.sensing,
        faults=faults,
        alarms_per_minute=alarms_per_minute,
        seed=3,
    )


def test_simulated_readings_are_well_formed_with_each_devices_seq_going_up() -> None:
    simulator = _simulator()
    start = datetime(2026, 11, 22, 0, 0, tzinfo=UTC)
    seqs: dict[str, list[int]] = {}
    for i in range(210):  # ten readings of each of the 21 devices
        topic, body = simulator.next_message(10.0, start + timedelta(seconds=i / 10))
        reading = parse_message(topic, body, received_at=start, town=TOWN)
        assert body.decode().count("+08:00") == 1
        seqs.setdefault(reading.device_id, []).append(reading.seq)
        device_type = simulator.models.config.device_type(
            next(d.type for d in simulator.devices if d.device_id == reading.device_id)
        )
        assert device_type is not None  # narrows: the simulator's devices are of known types
        quantities = {q.code for q in device_type.quantities}
        assert set(reading.values) == quantities
    assert len(seqs) == 21
    assert all(s == list(range(s[0], s[0] + 10)) for s in seqs.values())


def test_simulated_faults_and_alarm_episodes_come_out() -> None:
    simulator = _simulator(faults=0.3, alarms_per_minute=6000.0)  # an episode in 1 of 10
    start = datetime(2026, 11, 22, 0, 0, tzinfo=UTC)
    reasons: list[str] = []
    gas_peak = 0.0
    for i in range(600):
        topic, body = simulator.next_message(10.0, start + timedelta(seconds=i / 10))
        try:
            reading = parse_message(topic, body, received_at=start, town=TOWN)
            gas_peak = max(gas_peak, reading.values.get("gas_lel", 0.0))
        except MalformedMessage as exc:
            reasons.append(exc.reason)
    assert {"not_json", "bad_schema", "bad_topic"} <= set(reasons)
    assert simulator.report.faults["unknown_device"] > 0 and simulator.report.faults["resend"] > 0
    assert gas_peak > 10  # the gas_leak line
    assert simulator.report.silent_devices > 0
    assert simulator.report.episodes["gas_spike"] > 0


def test_the_simulator_resumes_each_devices_seq_after_the_last_one_stored(
    db: tuple[str, Engine],
) -> None:
    _, engine = db
    (device,) = register(engine, "resume", 1)
    with Session(engine) as s:
        now = datetime.now(UTC)
        s.add(DeviceState(device_id=device, last_seq=41, last_ts=now, last_seen=now))
        s.commit()
        seqs = {d: seq for d, _, seq in load_devices(s)}
    assert seqs[device] == 42


def test_simulate_devices_publishes_what_the_ingester_stores(
    db: tuple[str, Engine], broker: Broker, options: IngestOptions
) -> None:
    """`townops simulate devices` against the registry, with the ingester running."""
    url, engine = db
    register(engine, "simcli", 30)
    app = typer.Typer()
    cli_simulate.register(app)
    with RunningIngester(options) as ingester:
        result = CliRunner().invoke(
            app,
            [
                "simulate",
                "devices",
                "--rate",
                "300",
                "--duration",
                "1",
                "--faults",
                "0.05",
                "--broker",
                broker.url,
                "--database-url",
                url,
                "--seed",
                "5",
            ],
        )
        assert result.exit_code == 0, result.output
        sent = int(result.output.split("sent ")[1].split(" ")[0].replace(",", ""))
        wait_until(lambda: ingester.stats.acknowledged >= sent)
        stats = ingester.stats
    assert sent >= 250 and stats.received == stats.acknowledged == sent
    assert "broker acknowledged" in result.output
    counted = re.search(r"\(readings ([\d,]+)\)", result.output)
    assert counted is not None, result.output
    readings = int(counted[1].replace(",", ""))
    resent = re.search(r"resend (\d+)", result.output)
    # Each reading stored once; the devices' resends are duplicates; the rest set aside.
    assert stats.stored == readings
    assert stats.duplicates == (int(resent[1]) if resent else 0)
    assert stats.stored + stats.duplicates + sum(stats.set_aside.values()) == sent


def test_townops_ingest_mqtt_runs_its_workers_until_sigterm(
    db: tuple[str, Engine], broker: Broker, options: IngestOptions, tmp_path: Path
) -> None:
    """The command as an operator runs it: two worker processes under one parent."""
    url, engine = db
    ids = register(engine, "command", 5)
    script = (
        "import typer; from townops.cli import ingest; app = typer.Typer(); "
        "ingest.register(app); app()"
    )
    stats = tmp_path / "w-{n}.json"
    command = [
        sys.executable,
        "-c",
        script,
        "ingest",
        "mqtt",
        "--workers",
        "2",
        "--broker",
        broker.url,
        "--database-url",
        url,
        "--group",
        options.group,
        "--client-id",
        str(options.client_id_prefix),
        "--stats-file",
        str(stats),
        "--sweep-seconds",
        "0",
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: all((tmp_path / f"w-{i}.json").exists() for i in (1, 2)), 60)
        publish(broker.port, readings_of(ids, 40))
        wait_until(lambda: len(stored(engine, "command")) >= 200)
    finally:
        process.send_signal(signal.SIGTERM)
        output = process.communicate(timeout=60)[0].decode()
    assert process.returncode == 0, output
    assert len(stored(engine, "command")) == 200
    assert "ingest[1] stopped" in output and "ingest[2] stopped" in output


def test_the_demo_can_run_the_simulator_in_the_background(
    db: tuple[str, Engine], broker: Broker, options: IngestOptions
) -> None:
    url, engine = db
    register(engine, "background", 10)
    with RunningIngester(options) as ingester:
        handle = run_in_background(url, broker=broker.url, rate=200, seed=1)
        wait_until(lambda: handle.report.readings >= 50)
        report = handle.stop()
        assert not handle.running and handle.error is None
        wait_until(lambda: ingester.stats.acknowledged >= report.sent)
        stats = ingester.stats
    assert report.sent >= 50 and report.acknowledged == report.sent
    assert stats.stored == report.readings == report.sent
