"""``townops simulate devices``: the town's devices publishing readings to the broker."""

from __future__ import annotations

import asyncio
import signal
from typing import Annotated

import typer

from townops.cli.common import DbOpt, console, engine_for, err_console, settings_with
from townops.errors import DomainError
from townops.sensing.ingest.mqtt.broker import DEFAULT_BROKER
from townops.sensing.simulator import SimReport, Simulator, publish_readings, simulator_for

simulate_app = typer.Typer(help="Simulators.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(simulate_app, name="simulate")


@simulate_app.command("devices")
def simulate_devices(
    rate: Annotated[float, typer.Option(min=0.1, help="Messages per second, all devices.")] = 100.0,
    duration: Annotated[float, typer.Option(help="Seconds to run; 0 = until Ctrl-C.")] = 60.0,
    broker: Annotated[
        str, typer.Option(envvar="TOWNOPS_MQTT_URL", help="mqtt://host:port of the broker.")
    ] = DEFAULT_BROKER,
    faults: Annotated[
        float,
        typer.Option(
            min=0.0,
            max=1.0,
            help="Share of faulty messages (malformed, unknown device, resends) and of "
            "devices kept silent (they go offline).",
        ),
    ] = 0.0,
    alarms_per_minute: Annotated[
        float, typer.Option(min=0.0, help="Alarm episodes (gas, smoke, rain …) per minute.")
    ] = 2.0,
    devices_from_db: Annotated[
        bool,
        typer.Option(
            "--devices-from-db/--synthetic-devices",
            help="The registered devices (default), or made-up ones the ingester sets aside.",
        ),
    ] = True,
    synthetic_per_type: Annotated[
        int, typer.Option(min=1, help="With --synthetic-devices: devices per type.")
    ] = 100,
    limit: Annotated[int | None, typer.Option(min=1, help="Only the first N devices.")] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed, for a repeatable run.")] = None,
    database_url: DbOpt = None,
) -> None:
    """Publish realistic readings of the town's devices at QoS 1, with alarms and faults."""
    engine = engine_for(settings_with(database_url))
    try:
        simulator = simulator_for(
            engine,
            faults=faults,
            alarms_per_minute=alarms_per_minute,
            seed=seed,
            synthetic_per_type=0 if devices_from_db else synthetic_per_type,
            limit=limit,
        )
    except DomainError as exc:
        err_console.print(f"[red]error:[/red] {exc.message}", highlight=False)
        raise typer.Exit(code=1) from exc
    finally:
        engine.dispose()
    if not simulator.devices:
        err_console.print(
            "[red]no devices to simulate:[/red] import some with `townops device import FILE` "
            "or use --synthetic-devices"
        )
        raise typer.Exit(code=1)
    console.print(
        f"simulating {len(simulator.devices):,} devices of town {simulator.town} → {broker} at "
        f"{rate:,.0f} messages/s for {f'{duration:.0f} s' if duration else 'ever (Ctrl-C)'}",
        highlight=False,
    )
    try:
        report = asyncio.run(_publish(simulator, broker, rate, duration or None))
    except OSError as exc:
        err_console.print(f"[red]cannot reach the broker {broker}:[/red] {exc}", highlight=False)
        raise typer.Exit(code=1) from exc
    for line in report.lines():
        console.print(line, highlight=False)


async def _publish(
    simulator: Simulator, broker: str, rate: float, duration: float | None
) -> SimReport:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    return await publish_readings(simulator, broker, rate=rate, duration=duration, stop=stop.is_set)
