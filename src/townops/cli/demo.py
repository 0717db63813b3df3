"""CLI command: ``townops demo`` — build the Gaohang demo database, serve it.

By default the demo simulates the year up to now, so every queue, deadline and figure shows
a working town today; ``--year 2022`` replays the seeds' year instead (the health-check and
the work report's figures). Needs nothing but this package: an embedded SQLite file, no
PostgreSQL, no MQTT.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from townops import notify
from townops.auth.service import create_api_key
from townops.auth.sessions import DEMO_MARK
from townops.cli.common import console, err_console, transaction
from townops.cli.serve import run_server
from townops.db import make_engine
from townops.demo.behaviour import OPEN311_CLIENT
from townops.demo.cast import DEMO_PASSWORD
from townops.demo.devices import (
    ELDERLY_GAS_ALARMS,
    FIRE_SAFETY_DEVICES,
    PUBLIC_SAFETY_DEVICES,
    register_demo_devices,
)
from townops.demo.incidents import IncidentThread
from townops.demo.simulate import DEFAULT_CASES, DEFAULT_SEED, DemoParams, simulate_year
from townops.demo.summary import YearFigures, year_figures
from townops.demo.year import DemoYear
from townops.sensing.ingest.mqtt.broker import DEFAULT_BROKER
from townops.sensing.ingest.mqtt.options import IngestOptions
from townops.sensing.ingest.mqtt.workers import IngesterThread
from townops.sensing.simulator import SimulatorHandle, run_in_background
from townops.settings import DEFAULT_DB_PATH, get_settings
from townops.signs.seed_figures import SEED_YEAR, load_seed_figures
from townops.systemic.service import refresh_systemic_issues
from townops.systemic.settings import SystemicSettings
from townops.timeutil import utcnow
from townops.townfiles.loader import default_town_dir, load_town
from townops.townfiles.schema import Town
from townops.townfiles.sync import install_town
from townops.towns.models import InstanceSetting
from townops.towns.profile import get_profile

_SQLITE_HEADER = b"SQLite format 3\x00"
# DEMO_MARK is written into the demo database, so a later `townops demo` knows it may replace
# it and `townops serve` may run on it with the signing key it generated.


def register(app: typer.Typer) -> None:
    """Add this module's commands to the main townops app."""
    app.command("demo")(demo)


def demo(
    serve: Annotated[
        bool, typer.Option("--serve/--no-serve", help="Serve the API once the year is built.")
    ] = True,
    seed: Annotated[int, typer.Option(help="Same seed, same year: cases, events, times.")] = (
        DEFAULT_SEED
    ),
    db: Annotated[
        Path | None,
        typer.Option(
            help="SQLite file to (re)create; default: the database every other command uses "
            "(TOWNOPS_DATABASE_URL if it is SQLite, else var/townops.db)."
        ),
    ] = None,
    host: str = "127.0.0.1",
    port: int = 8000,
    cases: Annotated[
        int, typer.Option(min=0, help="Hotline cases received over the year.")
    ] = DEFAULT_CASES,
    year: Annotated[
        int | None,
        typer.Option(
            min=2004,
            help=f"Replay this calendar year (e.g. {SEED_YEAR}, the year the town's documents "
            "report on) instead of the year up to now.",
        ),
    ] = None,
    live_devices: Annotated[
        bool,
        typer.Option(
            "--devices/--no-devices",
            help="While serving, simulate the devices and ingest their readings over MQTT "
            "(needs a broker; skipped with a note if none answers).",
        ),
    ] = True,
    broker: Annotated[str, typer.Option(help="MQTT broker for --devices.")] = DEFAULT_BROKER,
    device_rate: Annotated[
        float, typer.Option(min=0.1, help="Readings per second the simulator publishes.")
    ] = 25.0,
    alarms_per_hour: Annotated[
        float,
        typer.Option(
            min=0.0,
            help="Alarm episodes the simulated devices raise by themselves per hour, "
            "town-wide: a realistic rate, a few a day for a town of this size.",
        ),
    ] = 0.15,
    incident_minutes: Annotated[
        float,
        typer.Option(
            min=0.0,
            help="While serving, inject an incident (gas leak in a home, smoke, a tilted "
            "manhole cover, in turn) every this many minutes, the first after a minute, and "
            "print what and where; 0: none.",
        ),
    ] = 20.0,
) -> None:
    """Build the Gaohang demo: simulate a year of its 12345 hotline (by default the year up
    to now), then serve the API."""
    now = utcnow()
    if year is not None and year >= now.year:
        raise typer.BadParameter(f"{year} is not over yet: leave --year out", param_hint="--year")
    span = DemoYear.calendar_year(year) if year is not None else DemoYear.up_to(now)
    path = (db or _default_demo_path()).resolve()
    _remove_old_demo(path)
    database_url = f"sqlite:///{path}"
    engine = make_engine(database_url)
    town = load_town(default_town_dir())
    install_town(engine, town, with_demo_users=True)
    with transaction(engine) as session:
        session.add(InstanceSetting(key=DEMO_MARK, value=f"townops demo --seed {seed}"))
    console.print(f"{town.info.name_zh} ({town.info.name_en}) loaded into {path}")
    with transaction(engine) as session:
        devices = register_demo_devices(session, town)
    console.print(
        f"registered {devices.created} sensing devices ({PUBLIC_SAFETY_DEVICES} 中脑, "
        f"{FIRE_SAFETY_DEVICES:,} 社区小脑, {ELDERLY_GAS_ALARMS} gas alarms in elderly homes); "
        "`townops device list`"
    )
    with transaction(engine) as session, _day_progress() as progress:
        task = progress.add_task(f"simulating {span.label}", total=len(span.days))
        report = simulate_year(
            session,
            # The living demo gives every persona work; a replayed year is as it was.
            DemoParams(seed=seed, cases=cases, year=span, personas=year is None),
            on_day=lambda day: progress.update(task, advance=1, description=f"{day:%Y-%m-%d}"),
        )
    with transaction(engine) as session:
        figures = year_figures(session, year=span)
        # 举一反三 as the duty officer sees it at the end of the year simulated.
        window = get_profile(session).config(SystemicSettings)
        systemic = refresh_systemic_issues(session, now=span.end, settings=window)
        # The figures townops has no data for (人工填报), as the 2022 work report gives them:
        # for 2022 when it is replayed, else for the calendar year of the demo's last day.
        figures_year = span.last.year
        seed_figures = load_seed_figures(session, year=figures_year, now=span.end)
        # The replay told nobody: the holders of today's open cases get their messages.
        told = notify.backfill_open_cases(session, now=span.end) if year is None else 0
        # The key of the town's Open311 front end (FixMyStreet), for trying a client.
        open311_key = create_api_key(session, name=OPEN311_CLIENT, actor="demo")
    engine.dispose()
    console.print(_summary_table(figures, span))
    console.print(
        f"systemic issues (举一反三) in the last {window.window_weeks} weeks: "
        f"{systemic.found} (GET /api/v1/systemic-issues, `townops systemic list`)"
    )
    console.print(
        f"vital signs (动态体征): {seed_figures.created + seed_figures.updated} manual figures "
        f"for {figures_year} entered from the town's {SEED_YEAR} work report "
        f"(`townops signs show --period {figures_year}`)"
    )
    if told:
        console.print(
            f"notifications (通知): {told} in-app messages and reminders for the open cases "
            "(the bell in the web app; `townops worker notify` sends what falls due)"
        )
    console.print(
        f"Open311 (docs/open311.md): a client key for FixMyStreet and the like: {open311_key} "
        f"(jurisdiction_id {town.info.open311.jurisdiction_id}, endpoint /open311/v2/)"
    )
    if report.users_created:
        console.print(
            f"{len(report.users_created)} demo accounts were added for units without a demo "
            f"persona (h_<department>, cs_<community>; password {DEMO_PASSWORD})."
        )
    if not serve:
        return
    console.print(_logins_table(town))
    live = (
        _start_devices(database_url, broker, device_rate, alarms_per_hour, incident_minutes)
        if live_devices
        else None
    )
    try:
        run_server(database_url, host=host, port=port)
    finally:
        if live is not None:
            live.stop()


@dataclass
class _LiveDevices:
    """The demo's sensing network: an ingester and the simulator, each in a thread."""

    ingester: IngesterThread
    simulator: SimulatorHandle
    incidents: IncidentThread | None = None

    def stop(self) -> None:
        if self.incidents is not None:
            self.incidents.stop()
        self.simulator.stop()
        self.ingester.stop()


def _start_devices(
    database_url: str, broker: str, rate: float, alarms_per_hour: float, incident_minutes: float
) -> _LiveDevices | None:
    try:
        # Its own client id and a session that ends with the demo: a production ingester's
        # persistent session (townops-ingest-…) is never taken over or left queueing.
        options = IngestOptions(
            database_url=database_url,
            broker=broker,
            client_id_prefix="townops-demo-ingest",
            session_expiry_seconds=0,
        )
        ingester = IngesterThread(options)
        ingester.start()
    except Exception as exc:  # no broker: the demo still serves, without live devices
        console.print(f"[yellow]no live devices: cannot ingest from {broker} ({exc})[/yellow]")
        return None
    simulator = run_in_background(
        database_url, broker=broker, rate=rate, alarms_per_minute=alarms_per_hour / 60
    )
    console.print(
        f"live devices: the simulator publishes {rate:g} readings/s to {broker}, about "
        f"{alarms_per_hour * 24:.1f} alarm episodes a day by themselves; an ingester stores "
        "them, raises alarms and opens cases (the alarm console: /alarms)"
    )
    incidents = None
    if incident_minutes > 0:
        engine = make_engine(database_url)
        incidents = IncidentThread(
            lambda: Session(engine),
            simulator,
            every_seconds=incident_minutes * 60,
            announce=lambda line: console.print(f"[bold red]{line}[/bold red]"),
        )
        incidents.start()
        console.print(
            f"injected incidents: the first in a minute, then every {incident_minutes:g} "
            "minutes, each announced here (--incident-minutes 0: none)"
        )
    return _LiveDevices(ingester, simulator, incidents)


def _default_demo_path() -> Path:
    url = make_url(get_settings().database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        return Path(url.database)
    return DEFAULT_DB_PATH


def _holds_real_data(path: Path) -> bool:
    """True if the file is a townops database with cases that no demo run created."""
    with closing(sqlite3.connect(path)) as conn:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
        if "cases" not in tables or not conn.execute("SELECT 1 FROM cases LIMIT 1").fetchone():
            return False
        if "instance_settings" in tables:
            marked = conn.execute(
                "SELECT 1 FROM instance_settings WHERE key = ?", (DEMO_MARK,)
            ).fetchone()
            return marked is None
        return True


def _remove_old_demo(path: Path) -> None:
    if not path.exists():
        return
    with path.open("rb") as handle:
        is_sqlite = handle.read(len(_SQLITE_HEADER)) == _SQLITE_HEADER
    if not is_sqlite:
        err_console.print(
            f"[red]error:[/red] {path} exists and is not a SQLite database; not removed"
        )
        raise typer.Exit(code=1)
    if _holds_real_data(path):
        err_console.print(
            f"[red]error:[/red] {path} holds cases that `townops demo` did not create; "
            "not replaced. Give the demo another file with --db PATH."
        )
        raise typer.Exit(code=1)
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    console.print(f"removed the old demo database {path}")


def _day_progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("days"),
        TimeElapsedColumn(),
        console=console,
    )


def _percent(rate: float | None) -> str:
    return "–" if rate is None else f"{rate:.2%}"


def _summary_table(f: YearFigures, span: DemoYear) -> Table:
    table = Table(
        title=f"高行镇 12345 热线 {span.label} (simulated)",
        caption="满意率 (KPI): satisfied or basically satisfied share of every callback",
        show_header=False,
    )
    table.add_column("figure")
    table.add_column("value", justify="right")
    rows = [
        ("工单 / 事件 cases / events", f"{f.cases} / {f.events}"),
        ("受理 received", str(f.received)),
        ("办结 closed", str(f.closed)),
        ("按时办结率 on-time rate", f"{_percent(f.on_time_rate)} ({f.closed_on_time} on time)"),
        ("满意率 satisfaction rate", _percent(f.satisfaction_rate)),
        (
            "回访 callbacks",
            f"{f.callbacks}: {_percent(f.callback_satisfaction_rate)} satisfied, "
            f"{f.callbacks_dissatisfied} dissatisfied",
        ),
        ("退单 returns", str(f.returns)),
        ("重办 reopens", str(f.reopens)),
        (
            "延期 extensions",
            f"{f.extensions_requested} asked: {f.extensions_approved} approved, "
            f"{f.extensions_denied} denied",
        ),
        ("督办 supervisions", f"{f.supervisions} ({f.automatic_supervisions} automatic)"),
        ("吹哨 whistles", f"{f.whistles} ({f.report_ins} report-ins)"),
        ("在办 still open at the end", str(f.still_open)),
    ]
    for name, value in rows:
        table.add_row(name, value)
    return table


def _logins_table(town: Town) -> Table:
    table = Table(title="demo logins (演示账号)")
    for column in ("username", "password", "role", "department / scope"):
        table.add_column(column)
    for user in town.users:
        if user.department:
            where = town.department(user.department).name_zh
        elif user.scope:
            where = town.jurisdiction(user.scope).name_zh
        else:
            where = ""
        table.add_row(user.username, user.password, str(user.role), where)
    return table
