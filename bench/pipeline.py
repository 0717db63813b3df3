"""process_readings + COMMIT: readings per second on SQLite and PostgreSQL.

    python bench/pipeline.py [--devices 5000] [--batch 1000] [--batches 40] [--runs 5]
                             [--backend sqlite|postgres|both] [--profile]
                             [--gc ingester|default] [--sort cumulative|tottime]

The part of ingestion that is townops' own: no broker, no MQTT client. ``--devices``
devices of the Gaohang types (a third in buildings of ten, some in homes), batches of
``--batch`` readings of random devices, each device's ``seq`` and ``ts`` increasing, values
in the normal range with an occasional alarm (about one reading in 2,000 crosses a line)
and a duplicate now and then. The first pass, which writes every device's first state, is
reported apart from the steady state, whose runs are reported one by one and as a median
(this machine is shared: the wall clock varies from run to run, CPU time much less).
``--gc ingester`` (the default) tunes the garbage collector as an ingester process does
(``tune_gc_for_ingestion``); ``--gc default`` leaves Python's settings, as before 2026-11-25.
PostgreSQL: database ``townops_bench_pipeline`` (dropped and created), or
``TOWNOPS_BENCH_PIPELINE_PG_URL``.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, func, insert, select
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import fresh_engine

from townops.jurisdiction.models import Jurisdiction
from townops.sensing.devices.facts import forget_devices
from townops.sensing.ingest.messages import IncomingReading
from townops.sensing.ingest.pipeline import process_readings, tune_gc_for_ingestion
from townops.sensing.models import Alarm, Device, Reading

PG_URL = os.environ.get(
    "TOWNOPS_BENCH_PIPELINE_PG_URL",
    "postgresql+psycopg://postgres@127.0.0.1:5432/townops_bench_pipeline",
)
START = datetime(2026, 11, 22, tzinfo=UTC)
# type → (quantity, normal low, normal high, alarm value)
TYPES: dict[str, list[tuple[str, float, float, float | None]]] = {
    "smoke_detector": [
        ("smoke", 0.0, 0.04, 0.3),
        ("temperature", 18, 26, None),
        ("battery", 60, 100, None),
    ],
    "gas_alarm": [("gas_lel", 0.0, 3.0, 15.0), ("battery", 60, 100, None)],
    "electrical_fire_monitor": [("residual_current", 20, 120, None), ("cable_temp", 25, 45, 80)],
    "water_level_sensor": [("water_level", 0.0, 0.03, None), ("battery", 60, 100, None)],
    "manhole_cover_sensor": [("tilt", 0, 2, 30), ("battery", 60, 100, None)],
    "fire_door_sensor": [("door_open", 0, 0, None), ("battery", 60, 100, None)],
}
WEIGHTS = [55, 15, 12, 6, 6, 6]


def add_devices(engine: Engine, count: int, rng: random.Random) -> list[tuple[str, str]]:
    with Session(engine) as session:
        places = session.execute(
            select(Jurisdiction.code, Jurisdiction.path).where(Jurisdiction.level == "community")
        ).all()
        devices = []
        rows = []
        for i in range(count):
            device_type = rng.choices(list(TYPES), WEIGHTS)[0]
            code, path = rng.choice(places)
            device_id = f"B-{i:06d}"
            in_home = device_type == "gas_alarm" and rng.random() < 0.5
            rows.append(
                {
                    "device_id": device_id,
                    "type": device_type,
                    "jurisdiction_code": code,
                    "jurisdiction_path": path,
                    "community_code": code,
                    "building": f"{code}-楼{i // 10}" if rng.random() < 0.33 else "",
                    "household_name": "住户" if in_home else "",
                    "household_phone": "13900000000" if in_home else "",
                    "created_at": START,
                    "updated_at": START,
                }
            )
            devices.append((device_id, device_type))
        session.execute(insert(Device), rows)
        session.commit()
    return devices


class Fleet:
    """The devices' readings: each hovers around its own level on its own 30 s clock."""

    def __init__(self, devices: list[tuple[str, str]], rng: random.Random) -> None:
        self.devices = devices
        self.rng = rng
        self.seqs = {d: 0 for d, _ in devices}
        self.clocks = {d: START for d, _ in devices}
        self.levels = {
            (d, q): rng.uniform(low, high) for d, t in devices for q, low, high, _ in TYPES[t]
        }
        self.arrival = START

    def reading(self) -> IncomingReading:
        rng = self.rng
        device_id, device_type = rng.choice(self.devices)
        self.seqs[device_id] += 1
        self.clocks[device_id] += timedelta(seconds=30)
        # Never before the device's own clock: a reading dated ahead of its arrival (by more
        # than sensing.yaml's ingest.max_future_skew_seconds) would be set aside.
        self.arrival = max(self.arrival + timedelta(milliseconds=5), self.clocks[device_id])
        values = {}
        for quantity, low, high, alarm in TYPES[device_type]:
            value = self.levels[device_id, quantity] + rng.uniform(-0.01, 0.01) * (high - low)
            if alarm is not None and rng.random() < 0.0005:
                value = alarm
            values[quantity] = round(value, 3)
        return IncomingReading(
            device_id, self.seqs[device_id], self.clocks[device_id], values, self.arrival
        )

    def batches(self, count: int, size: int) -> list[list[IncomingReading]]:
        out = []
        for _ in range(count):
            batch: list[IncomingReading] = []
            while len(batch) < size:
                if batch and self.rng.random() < 0.005:
                    batch.append(self.rng.choice(batch))  # a redelivery
                else:
                    batch.append(self.reading())
            out.append(batch)
        return out


def run(url: str, args: argparse.Namespace) -> None:
    rng = random.Random(7)
    engine = fresh_engine(url)
    devices = add_devices(engine, args.devices, rng)
    fleet = Fleet(devices, rng)
    warm = fleet.batches(max(1, 3 * args.devices // args.batch), args.batch)
    with Session(engine) as session:
        forget_devices(session)
    profiler = cProfile.Profile() if args.profile else None

    def pump(batches: list[list[IncomingReading]], profile: bool) -> tuple[float, float, int, int]:
        alarms = cases = 0
        t0, c0 = time.perf_counter(), time.process_time()
        for batch in batches:
            with Session(engine) as session:
                if profile and profiler:
                    profiler.enable()
                result = process_readings(session, batch, now=batch[-1].received_at)
                session.commit()
                if profile and profiler:
                    profiler.disable()
            alarms += len(result.alarms_raised)
            cases += len(result.cases_opened)
        return time.perf_counter() - t0, time.process_time() - c0, alarms, cases

    first, _, _, _ = pump(warm, False)
    n_warm = sum(len(b) for b in warm)
    name = engine.dialect.name
    print(
        f"{name:10s} warm-up (first states): {n_warm / first:9,.0f} readings/s ({n_warm} readings)"
    )
    walls, cpus = [], []
    for number in range(1, args.runs + 1):
        steady = fleet.batches(args.batches, args.batch)
        n = sum(len(b) for b in steady)
        elapsed, cpu, alarms, cases = pump(steady, number == 1)
        walls.append(n / elapsed)
        cpus.append(n / cpu)
        print(
            f"{name:10s} run {number}: {n / elapsed:9,.0f} readings/s, "
            f"{n / cpu:9,.0f} per CPU second of this process "
            f"({n} readings in {len(steady)} batches of {args.batch}, {elapsed:.2f} s; "
            f"{alarms} alarms, {cases} cases)"
        )
    # On a shared machine the wall clock includes other people's work; CPU time does not
    # (for PostgreSQL it leaves out the server's own work).
    print(
        f"{name:10s} STEADY: median {statistics.median(walls):,.0f} readings/s "
        f"(best {max(walls):,.0f}); median {statistics.median(cpus):,.0f} per CPU second"
    )
    with Session(engine) as session:
        stored = session.scalar(select(func.count()).select_from(Reading))
        total_alarms = session.scalar(select(func.count()).select_from(Alarm))
    print(f"{name:10s} stored {stored} readings, {total_alarms} alarms in all")
    if profiler:
        pstats.Stats(profiler).sort_stats(args.sort).print_stats(30)
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=5000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--batches", type=int, default=40, help="batches per timed run")
    parser.add_argument("--runs", type=int, default=5, help="timed runs; the median is reported")
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--sort", choices=["cumulative", "tottime"], default="cumulative")
    parser.add_argument(
        "--gc",
        choices=["ingester", "default"],
        default="ingester",
        help="the garbage collector as an ingester process tunes it, or Python's defaults",
    )
    args = parser.parse_args()
    if args.gc == "ingester":
        tune_gc_for_ingestion()
    tmp = Path(tempfile.mkdtemp(prefix="townops-bench-pipeline-"))
    urls = {"sqlite": f"sqlite:///{tmp / 'bench.db'}", "postgres": PG_URL}
    for backend, url in urls.items():
        if args.backend in (backend, "both"):
            run(url, args)


if __name__ == "__main__":
    main()
