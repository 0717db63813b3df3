"""MQTT ingestion: the broker's own rate, the MQTT client's ceiling, and townops storing readings.

    python bench/sensing.py [--messages 100000] [--backend sqlite|postgres|both]
                            [--workers 1,2] [--alarms 40] [--load-seconds 12]

Three figures in ONE run, through one private Mosquitto started from the shipped
deploy/mosquitto/townops.conf on a free port, so that their ratios hold on a noisy machine:

1. the limit: the broker passing QoS 1 messages between Mosquitto's own C clients
   (mosquitto_pub -l → mosquitto_sub -C), live, and draining a queued session;
2. the client ceiling: gmqtt (the library the ingester uses) subscribing at QoS 1 and doing
   nothing but acknowledging — at once (optimistic), when an async handler returns (the
   ack-after-processing mechanism), and townops' ingester with a store that does nothing
   (its batching and parsing, no database);
3. townops: readings stored with every rule evaluated, acknowledged after commit, on SQLite
   and PostgreSQL (database townops_bench_mqtt), with 1 and 2 ingester processes on the
   shared subscription; and the alarm-to-case latency under a live load.

Method. A publisher in Python costs CPU, and this machine has 2 cores. So figures 1b, 2 and 3
measure a DRAIN: the readings are published while the subscriber (or the ingesters) is
away, queued by the broker for its persistent session, and the rate is how fast the
subscriber empties the queue (first message received → last one acknowledged). Figure 1a
is live (C publisher and C subscriber at once). The latency is measured LIVE: a load
publisher (another process) sends the fleet's readings at a fixed rate (0.4 × the drain
rate measured just before: the publisher's own CPU comes off the 2 cores) while this
process publishes gas leaks in elderly people's homes with ts = now, and polls the database
for their cases: latency = case visible − publish. CPU: cores used during a drain by the
ingesters, by all of PostgreSQL (other users of the server included) and by Mosquitto.

The devices are the Gaohang demo fleet (5,463: smoke, gas, electrical-fire, water-level,
manhole, fire-door, cameras); readings come from townops' device simulator.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.mqtt_helpers

import gmqtt  # type: ignore[import-untyped]  # no stubs (as in src)
from _common import PG_URL, backend_urls, fresh_engine
from sqlalchemy import Engine, func, insert, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session
from tests.mqtt_helpers import PrivateBroker, forget_sessions

from townops import domains
from townops.demo.devices import demo_device_rows
from townops.sensing.devices.registry import import_devices
from townops.sensing.ingest.messages import IncomingReading, readings_filter, readings_topic
from townops.sensing.ingest.mqtt.ingester import Ingester
from townops.sensing.ingest.mqtt.options import IngestOptions
from townops.sensing.ingest.mqtt.workers import _worker_process
from townops.sensing.ingest.pipeline import BatchResult
from townops.sensing.models import Alarm, Device, Reading
from townops.sensing.simulator import (
    QoS1Publisher,
    Simulator,
    publish_readings,
    reading_payload,
)
from townops.townfiles.loader import default_town_dir, load_town

TOWN = load_town(default_town_dir())
BENCH_PG_URL = str(make_url(PG_URL).set(database="townops_bench_mqtt"))
GROUP = "townopsbench"
CLOCK_SHIFT = -timedelta(hours=2)
LOAD_SEQ = 10_000_000


@dataclass
class Row:
    figure: str
    method: str
    messages: int
    seconds: float
    note: str = ""

    @property
    def rate(self) -> float:
        return self.messages / self.seconds if self.seconds else 0.0


# --- messages --------------------------------------------------------------------------------


#: The demo fleet, or that many copies of it (``--fleet-copies``; ids suffixed -1, -2 …).
FLEET_COPIES = 1


def fleet() -> list[tuple[str, str, int]]:
    rows = [(r["device_id"], r["type"], 0) for r in demo_device_rows(TOWN)]
    return rows + [(f"{d}-{k}", t, 0) for k in range(1, FLEET_COPIES) for d, t, _ in rows]


class Readings:
    """The fleet's readings, seq and device clocks going on from one call to the next.

    The device clock advances 1 ms a reading (each device every 5.5 s), starting hours in
    the past, so a queued backlog looks like the readings of an outage, not like thousands of
    readings of one device within a second (which rate-of-change rules would rightly find
    alarming). The live load runs on the same clock, ``CLOCK_SHIFT`` behind the wall clock,
    and the next backlog starts after it: a reading older than its device's state would be
    stored but not evaluated (late), and cheaper.
    """

    RATE = 1000.0

    def __init__(self) -> None:
        self.simulator = Simulator(
            fleet(), town=TOWN.code, config=TOWN.sensing, alarms_per_minute=6, seed=7
        )
        self.clock = datetime.now(UTC) + CLOCK_SHIFT - timedelta(hours=1)

    def after_live_load(self, run: int) -> None:
        """Go on after the live load of ``run`` (its seq are ``LOAD_SEQ * run`` onwards)."""
        self.clock = max(self.clock, datetime.now(UTC) + CLOCK_SHIFT)
        for device in self.simulator.devices:
            device.seq = max(device.seq, LOAD_SEQ * run + LOAD_SEQ // 2)

    def take(self, n: int) -> list[tuple[str, bytes]]:
        messages = []
        for _ in range(n):
            self.clock += timedelta(seconds=1 / self.RATE)
            messages.append(self.simulator.next_message(self.RATE, self.clock))
        return messages


async def _preload(port: int, messages: Sequence[tuple[str, bytes]]) -> None:
    publisher = QoS1Publisher(f"mqtt://127.0.0.1:{port}", "bench-preload")
    await publisher.connect()
    for topic, payload in messages:
        await publisher.publish(topic, payload)
    left = await publisher.settle(120)
    await publisher.close()
    if left or publisher.no_subscribers:
        raise RuntimeError(f"preload: {left} unacknowledged, {publisher.no_subscribers} unrouted")


def preload(port: int, messages: Sequence[tuple[str, bytes]]) -> None:
    asyncio.run(_preload(port, messages))


# --- figure 1: Mosquitto's C clients ------------------------------------------------------------


#: mosquitto_pub -l (2.0.11) loses its connection ("out of memory" in the broker's log) when
#: fed ~100,000 lines at once; it is fed in runs of this many lines, one process each.
PUB_CHUNK = 25_000


def c_publish(common: list[str], topic: str, payload: bytes, n: int, tmp: Path) -> None:
    line = payload.replace(b"\n", b" ") + b"\n"
    for start in range(0, n, PUB_CHUNK):
        chunk = tmp / "payloads.txt"
        chunk.write_bytes(line * min(PUB_CHUNK, n - start))
        with chunk.open("rb") as stdin:
            subprocess.run(["mosquitto_pub", *common, "-t", topic, "-l"], stdin=stdin, check=True)


def c_tools(port: int, n: int, payload: bytes, tmp: Path) -> list[Row]:
    common = ["-h", "127.0.0.1", "-p", str(port), "-q", "1", "-V", "mqttv5"]
    rows = []

    sub = subprocess.Popen(
        ["mosquitto_sub", *common, "-t", "bench/live", "-C", str(n)], stdout=subprocess.DEVNULL
    )
    time.sleep(0.5)  # subscribed
    started = time.perf_counter()
    c_publish(common, "bench/live", payload, n, tmp)
    try:
        sub.wait(timeout=max(60, n / 1000))
    except subprocess.TimeoutExpired:
        sub.kill()
        raise RuntimeError("mosquitto_sub did not receive every message") from None
    rows.append(
        Row(
            "(1a) Mosquitto: mosquitto_pub → mosquitto_sub",
            "live",
            n,
            time.perf_counter() - started,
        )
    )

    session = ["-c", "-i", "bench-csub", "-x", "3600"]
    subprocess.run(["mosquitto_sub", *common, *session, "-t", "bench/drain", "-E"], check=True)
    c_publish(common, "bench/drain", payload, n, tmp)
    started = time.perf_counter()
    subprocess.run(
        ["mosquitto_sub", *common, *session, "-t", "bench/drain", "-C", str(n)],
        stdout=subprocess.DEVNULL,
        check=True,
    )
    rows.append(
        Row(
            "(1b) Mosquitto: mosquitto_sub drains its session",
            "drain",
            n,
            time.perf_counter() - started,
            "incl. connect",
        )
    )
    subprocess.run(
        ["mosquitto_sub", *common, "-i", "bench-csub", "-x", "0", "-t", "x", "-E"], check=True
    )
    return rows


# --- figure 2: the client ceiling ---------------------------------------------------------------


async def _join(port: int, client_id: str) -> None:
    client = gmqtt.Client(client_id, clean_session=False, session_expiry_interval=3600)
    subscribed = asyncio.Event()
    client.on_subscribe = lambda *_: subscribed.set()
    await client.connect("127.0.0.1", port)
    client.subscribe(f"$share/{GROUP}-raw/{readings_filter(TOWN.code)}", qos=1)
    await asyncio.wait_for(subscribed.wait(), 10)
    await client.disconnect()


async def _drain_gmqtt(port: int, client_id: str, n: int, *, optimistic: bool) -> float:
    done = asyncio.Event()
    count = 0
    first = 0.0

    def seen() -> None:
        nonlocal count, first
        if count == 0:
            first = time.perf_counter()
        count += 1
        if count >= n:
            done.set()

    client = gmqtt.Client(
        client_id,
        clean_session=False,
        optimistic_acknowledgement=optimistic,
        session_expiry_interval=3600,
        receive_maximum=4000,
    )
    if optimistic:
        client.on_message = lambda *_: seen()
    else:

        async def on_message(*_: Any) -> int:
            seen()
            return 0

        client.on_message = on_message
    await client.connect("127.0.0.1", port)
    await asyncio.wait_for(done.wait(), 600)
    elapsed = time.perf_counter() - first
    await asyncio.sleep(0.3)  # the last PUBACKs leave
    await client.disconnect()
    return elapsed


def _noop_store(
    session: Session, readings: Sequence[IncomingReading], *, now: datetime | None = None
) -> BatchResult:
    return BatchResult(stored=len(readings))


async def _drain_noop_ingester(port: int, n: int, tmp: Path) -> float:
    options = IngestOptions(
        database_url=f"sqlite:///{tmp / 'noop.db'}",
        broker=f"mqtt://127.0.0.1:{port}",
        town=TOWN.code,
        group=f"{GROUP}-noop",
        client_id_prefix="bench-noop",
        sweep_seconds=0,
        stats_seconds=0,
    )
    for attempt in range(2):  # the first run only joins the group
        stop = asyncio.Event()
        ingester = Ingester(options, process=_noop_store)
        task = asyncio.create_task(ingester.run(stop))
        await asyncio.wait_for(ingester.ready.wait(), 10)
        if attempt == 0:
            stop.set()
            await task
            await _preload(port, MESSAGES[:n])
            continue
        started = time.perf_counter()
        while ingester.stats.acknowledged < n:
            await asyncio.sleep(0.01)
        elapsed = time.perf_counter() - started
        stop.set()
        await task
    return elapsed


def client_ceiling(port: int, n: int, tmp: Path) -> list[Row]:
    rows = []
    for optimistic, label in (
        (True, "(2a) gmqtt: ack at once"),
        (False, "(2b) gmqtt: ack when the handler returns"),
    ):
        asyncio.run(_join(port, "bench-raw"))
        preload(port, MESSAGES[:n])
        seconds = asyncio.run(_drain_gmqtt(port, "bench-raw", n, optimistic=optimistic))
        rows.append(Row(label, "drain", n, seconds))
    asyncio.run(forget_sessions(port, ["bench-raw"]))
    seconds = asyncio.run(_drain_noop_ingester(port, n, tmp))
    rows.append(
        Row(
            "(2c) townops ingester, store does nothing",
            "drain",
            n,
            seconds,
            "parse + batch + ack, no DB",
        )
    )
    asyncio.run(forget_sessions(port, ["bench-noop-1"]))
    return rows


# --- figure 3: townops ----------------------------------------------------------------------


def alarm_rows(count: int) -> list[dict[str, str]]:
    """In-home gas alarms of their own (one building each: no storm control between them)."""
    template = next(r for r in demo_device_rows(TOWN) if r["household_name"])
    return [
        template
        | {
            "device_id": f"BENCH-ALM-{i:03d}",
            "building": f"bench-building-{i}",
            "address": f"bench {i}",
        }
        for i in range(count)
    ]


def prepare_database(url: str, alarms: int) -> Engine:
    engine = fresh_engine(url)
    demo = demo_device_rows(TOWN)
    with Session(engine) as session:
        report = import_devices(session, [*demo, *alarm_rows(alarms)])
        session.commit()
        assert not report.errors, report.errors[:3]
        if FLEET_COPIES > 1:
            ids = [r["device_id"] for r in demo]
            columns = [c.key for c in Device.__table__.columns]
            originals = [
                {c: getattr(d, c) for c in columns}
                for d in session.scalars(select(Device).where(Device.device_id.in_(ids)))
            ]
            copies = [
                o | {"device_id": f"{o['device_id']}-{k}"}
                for k in range(1, FLEET_COPIES)
                for o in originals
            ]
            session.execute(insert(Device), copies)
            session.commit()
    return engine


def _spawn(options: IngestOptions, index: int) -> Any:
    process = multiprocessing.get_context("spawn").Process(
        target=_worker_process, args=(options, index, domains.install), daemon=True
    )
    process.start()
    return process


def _stats(path: str, index: int) -> dict[str, Any] | None:
    try:
        data: dict[str, Any] = json.loads(Path(path.replace("{n}", str(index))).read_text())
        return data
    except (OSError, ValueError):
        return None


def start_workers(options: IngestOptions, workers: int) -> list[Any]:
    assert options.stats_file
    for i in range(1, workers + 1):
        Path(options.stats_file.replace("{n}", str(i))).unlink(missing_ok=True)
    processes = [_spawn(options, i) for i in range(1, workers + 1)]
    deadline = time.monotonic() + 60
    while any(_stats(options.stats_file, i) is None for i in range(1, workers + 1)):
        if time.monotonic() > deadline:
            raise RuntimeError("ingesters did not subscribe")
        time.sleep(0.05)
    return processes


def stop_workers(processes: list[Any]) -> None:
    for p in processes:
        p.terminate()
    for p in processes:
        p.join(60)


def acknowledged(options: IngestOptions, workers: int) -> int:
    assert options.stats_file
    return sum(
        (_stats(options.stats_file, i) or {}).get("acknowledged", 0) for i in range(1, workers + 1)
    )


def cpu_seconds(pids: Sequence[int]) -> float:
    """User + system CPU time of these processes so far (Linux /proc)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


def pids_named(name: str) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == name:
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


class CpuMeter:
    """Cores used by the ingesters, PostgreSQL (all of it) and the broker over a span."""

    def __init__(self, workers: list[Any], broker: PrivateBroker) -> None:
        assert broker.process is not None
        self.groups = {
            "ingesters": [p.pid for p in workers],
            "PostgreSQL": pids_named("postgres"),
            "Mosquitto": [broker.process.pid],
        }
        self.started = time.time()
        self.before = {k: cpu_seconds(v) for k, v in self.groups.items()}

    def cores(self) -> str:
        span = time.time() - self.started
        used = {k: (cpu_seconds(v) - self.before[k]) / span for k, v in self.groups.items()}
        return ", ".join(f"{k} {v:.2f}" for k, v in used.items() if v >= 0.01)


def drain_townops(
    engine: Engine, options: IngestOptions, workers: int, n: int, broker: PrivateBroker
) -> tuple[Row, dict[str, Any]]:
    stop_workers(start_workers(options, workers))  # their sessions join the group
    with Session(engine) as s:
        before = s.scalar(select(func.count()).select_from(Reading)) or 0
    preload(broker.port, READINGS.take(n))
    launched = datetime.now(UTC)
    processes = start_workers(options, workers)
    meter = CpuMeter(processes, broker)
    deadline = time.monotonic() + 900
    while acknowledged(options, workers) < n and time.monotonic() < deadline:
        time.sleep(0.02)
    finished = time.time()
    cores = meter.cores()
    totals: dict[str, Any] = {
        "commit_seconds": 0.0,
        "batches": 0,
        "alarms_raised": 0,
        "cases_opened": 0,
        "stored": 0,
        "late": 0,
    }
    for i in range(1, workers + 1):
        data = _stats(str(options.stats_file), i) or {}
        for key in totals:
            totals[key] += data.get(key, 0)
    stop_workers(processes)
    with Session(engine) as s:
        after = s.scalar(select(func.count()).select_from(Reading)) or 0
        first = s.scalar(
            select(func.min(Reading.received_at)).where(Reading.received_at >= launched)
        )
    assert first is not None
    if after - before != n:
        raise RuntimeError(f"stored {after - before:,} readings, published {n:,}")
    mean_ms = 1000 * totals["commit_seconds"] / max(1, totals["batches"])
    backend = make_url(str(engine.url)).get_backend_name()
    label = f"(3) townops, {'SQLite' if backend == 'sqlite' else 'PostgreSQL'}, {workers} proc."
    note = (
        f"batch {n / max(1, totals['batches']):,.0f}, commit {mean_ms:.0f} ms, "
        f"alarms {totals['alarms_raised']}, cases {totals['cases_opened']}, "
        f"late {totals['late']:,}; CPU cores: {cores}"
    )
    return Row(label, "drain", n, finished - first.timestamp(), note), totals


def _load_publisher(
    port: int, devices: list[tuple[str, str, int]], rate: float, seconds: float
) -> None:
    simulator = Simulator(
        devices,
        town=TOWN.code,
        config=TOWN.sensing,
        alarms_per_minute=0,
        seed=11,
        clock_offset=CLOCK_SHIFT,
    )
    asyncio.run(
        publish_readings(
            simulator,
            f"mqtt://127.0.0.1:{port}",
            rate=rate,
            duration=seconds,
            client_id="bench-load",
        )
    )


def latency_under_load(
    engine: Engine,
    options: IngestOptions,
    workers: int,
    port: int,
    rate: float,
    alarm_ids: list[str],
    seconds: float,
    run: int,
) -> list[float]:
    """Gas leaks published during a live load; seconds until each one's case is visible."""
    devices = [(d, t, seq + LOAD_SEQ * run) for d, t, seq in fleet()]
    processes = start_workers(options, workers)
    load = multiprocessing.get_context("spawn").Process(
        target=_load_publisher, args=(port, devices, rate, seconds), daemon=True
    )
    load.start()
    time.sleep(min(2.0, seconds / 4))  # the load is on
    ids, alarms = alarm_ids, len(alarm_ids)
    published: dict[str, float] = {}
    seen: dict[str, float] = {}

    async def publish_alarms() -> None:
        publisher = QoS1Publisher(f"mqtt://127.0.0.1:{port}", "bench-alarms")
        await publisher.connect()
        gap = (seconds * 0.6) / max(1, alarms)
        for device_id in ids:
            seq = 1_000_000 + run
            now = datetime.now(UTC)
            topic = readings_topic(TOWN.code, device_id)
            await publisher.publish(topic, reading_payload(seq, now, {"gas_lel": 30.0}))
            published[device_id] = time.time()
            await poll_cases(gap)
        await publisher.settle()
        await poll_cases(10.0, until_all=True)
        await publisher.close()

    async def poll_cases(duration: float, until_all: bool = False) -> None:
        end = time.monotonic() + duration
        while time.monotonic() < end:
            with Session(engine) as s:
                rows = (
                    s.execute(
                        select(Alarm.device_id).where(
                            Alarm.device_id.in_([d for d in published if d not in seen]),
                            Alarm.case_id.is_not(None),
                            Alarm.state == "raised",
                        )
                    )
                    .scalars()
                    .all()
                )
            stamp = time.time()
            for device_id in rows:
                seen.setdefault(device_id, stamp)
            if until_all and len(seen) == len(published):
                return
            await asyncio.sleep(0.01)

    asyncio.run(publish_alarms())
    load.join(seconds + 60)
    time.sleep(1.0)
    stop_workers(processes)
    missing = [d for d in ids if d not in seen]
    if missing:
        raise RuntimeError(f"no case for {len(missing)} alarm(s), e.g. {missing[:3]}")
    return [seen[d] - published[d] for d in ids]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


# --- the run -------------------------------------------------------------------------------------


def progress(row: Row) -> None:
    print(f"  {row.figure}: {row.rate:,.0f}/s  {row.note}", flush=True)


def print_table(rows: list[Row]) -> None:
    broker = max((r.rate for r in rows if r.figure.startswith("(1")), default=0.0)
    ceiling = next((r.rate for r in rows if r.figure.startswith("(2a")), 0.0)
    print()
    print(
        f"{'figure':58} {'method':6} {'messages':>9} {'per second':>11} {'÷(1)':>6} "
        f"{'÷(2a)':>6}  note"
    )
    for r in rows:
        vs_broker = f"{r.rate / broker:.2f}" if broker else "-"
        vs_client = f"{r.rate / ceiling:.2f}" if ceiling else "-"
        print(
            f"{r.figure:58} {r.method:6} {r.messages:9,} {r.rate:11,.0f} {vs_broker:>6} "
            f"{vs_client:>6}  {r.note}"
        )


MESSAGES: list[tuple[str, bytes]] = []
READINGS: Readings


def main() -> None:
    global MESSAGES, READINGS, FLEET_COPIES
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--workers", default="1,2", help="ingester process counts, e.g. 1,2")
    parser.add_argument("--alarms", type=int, default=40, help="gas leaks for the latency")
    parser.add_argument("--load-seconds", type=float, default=12.0)
    parser.add_argument(
        "--load-share",
        type=float,
        default=0.4,
        help="live load for the latency, as a share of the drain rate just measured",
    )
    parser.add_argument("--skip", default="", help="figures to skip: 1,2,3,latency")
    parser.add_argument("--batch-size", type=int, default=IngestOptions.batch_size)
    parser.add_argument(
        "--fleet-copies",
        type=int,
        default=1,
        help="register this many copies of the 5,463 demo devices (a bigger town)",
    )
    args = parser.parse_args()
    skip = set(args.skip.split(",")) - {""}
    if shutil.which("mosquitto_pub") is None:
        sys.exit("needs mosquitto and mosquitto-clients (scripts/services.sh installs them)")

    n = args.messages
    FLEET_COPIES = args.fleet_copies
    READINGS = Readings()
    MESSAGES = READINGS.take(n)
    tmp = Path(tempfile.mkdtemp(prefix="bench-sensing-"))
    rows: list[Row] = []
    latency: list[str] = []
    print(
        f"{n:,} messages, payload ~{sum(len(p) for _, p in MESSAGES[:1000]) // 1000} bytes, "
        f"{len(fleet()):,} devices, {os.cpu_count()} CPUs; "
        "broker: deploy/mosquitto/townops.conf"
    )
    with PrivateBroker(tmp / "mosquitto") as broker:
        if "1" not in skip:
            for row in c_tools(broker.port, n, MESSAGES[0][1], tmp):
                rows.append(row)
                progress(row)
        if "2" not in skip:
            for row in client_ceiling(broker.port, n, tmp):
                rows.append(row)
                progress(row)
        urls = backend_urls(args.backend, "bench-sensing-")
        if "postgres" in urls:
            urls["postgres"] = BENCH_PG_URL
        run = 0
        for backend, url in [] if "3" in skip else urls.items():
            counts = [int(w) for w in args.workers.split(",")]
            engine = prepare_database(url, args.alarms * len(counts))
            for k, workers in enumerate(counts):
                run += 1
                alarm_ids = [
                    f"BENCH-ALM-{i:03d}" for i in range(k * args.alarms, (k + 1) * args.alarms)
                ]
                options = IngestOptions(
                    database_url=url,
                    broker=broker.url,
                    town=TOWN.code,
                    group=f"{GROUP}{run}",
                    client_id_prefix=f"bench-ingest-{run}",
                    sweep_seconds=0,
                    stats_seconds=0.1,
                    batch_size=args.batch_size,
                    stats_file=str(tmp / f"stats-{run}-{{n}}.json"),
                    log_level="WARNING",
                )
                row, _ = drain_townops(engine, options, workers, n, broker)
                rows.append(row)
                progress(row)
                if "latency" not in skip:
                    rate = round(row.rate * args.load_share, -2)
                    values = latency_under_load(
                        engine,
                        options,
                        workers,
                        broker.port,
                        rate,
                        alarm_ids,
                        args.load_seconds,
                        run,
                    )
                    latency.append(
                        f"{backend:10} {workers} proc.  load {rate:,.0f} readings/s  "
                        f"alarm → case: p50 {1000 * percentile(values, 0.5):.0f} ms, "
                        f"p99 {1000 * percentile(values, 0.99):.0f} ms, "
                        f"max {1000 * max(values):.0f} ms ({len(values)} alarms)"
                    )
                    print(latency[-1])
                    READINGS.after_live_load(run)
                asyncio.run(
                    forget_sessions(broker.port, [options.client_id(TOWN.code, i) for i in (1, 2)])
                )
            engine.dispose()
    print("\n== MQTT ingestion (bench/sensing.py)")
    print_table(rows)
    if latency:
        print("\nalarm → case under live load (case visible in the database − publish time):")
        for line in latency:
            print("  " + line)
    singles = {r.figure.split(",")[1]: r.rate for r in rows if r.figure.endswith("1 proc.")}
    for r in rows:
        if r.figure.endswith("2 proc.") and r.figure.split(",")[1] in singles:
            print(
                f"  2 processes ÷ 1 on{r.figure.split(',')[1]}: "
                f"{r.rate / singles[r.figure.split(',')[1]]:.2f}"
            )
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
