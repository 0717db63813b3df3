"""``townops ingest mqtt``: the MQTT ingester; ``townops ingest retire``: scale it down."""

from __future__ import annotations

from typing import Annotated

import typer
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from townops import domains
from townops.cli.common import DbOpt, console, engine_for, err_console, settings_with
from townops.errors import DomainError
from townops.sensing.ingest.mqtt.broker import DEFAULT_BROKER
from townops.sensing.ingest.mqtt.options import SHARE_GROUP, IngestOptions
from townops.sensing.ingest.mqtt.workers import configure_logging, retire_worker, run_workers
from townops.towns.profile import get_profile

ingest_app = typer.Typer(help="Take in device readings (一网感知).", no_args_is_help=True)

BrokerOpt = Annotated[
    str,
    typer.Option(
        envvar="TOWNOPS_MQTT_URL", help="mqtt://[user:password@]host[:port] (mqtts:// for TLS)."
    ),
]
GroupOpt = Annotated[str, typer.Option(help="Shared-subscription group of the ingesters.")]
ClientIdOpt = Annotated[
    str | None,
    typer.Option(
        "--client-id", help="Client id prefix; worker n is PREFIX-n. Default townops-ingest-TOWN."
    ),
]


def register(app: typer.Typer) -> None:
    app.add_typer(ingest_app, name="ingest")


def _town_code(database_url: str | None) -> tuple[str, str]:
    """(database URL, town code); exits with a message when no town is loaded."""
    settings = settings_with(database_url)
    engine = engine_for(settings)
    try:
        with Session(engine) as session:
            return settings.database_url, get_profile(session).code
    except DomainError as exc:
        err_console.print(f"[red]error:[/red] {exc.message}", highlight=False)
        raise typer.Exit(code=1) from exc
    except DBAPIError as exc:
        err_console.print(
            f"[red]error:[/red] cannot read the town from {settings.database_url}: "
            f"{str(exc.orig).strip()} (run `townops town load` first)",
            highlight=False,
        )
        raise typer.Exit(code=1) from exc
    finally:
        engine.dispose()


@ingest_app.command("mqtt")
def ingest_mqtt(
    broker: BrokerOpt = DEFAULT_BROKER,
    workers: Annotated[int, typer.Option(min=1, help="Ingester processes (one client each).")] = 1,
    first_index: Annotated[
        int, typer.Option(min=1, help="Number of the first worker (another host: 3, 5 …).")
    ] = 1,
    batch_size: Annotated[
        int, typer.Option(min=1, help="Readings per transaction, at most.")
    ] = 2000,
    batch_ms: Annotated[
        float, typer.Option(min=1, help="Commit a batch this long after its first reading.")
    ] = 50.0,
    group: GroupOpt = SHARE_GROUP,
    client_id: ClientIdOpt = None,
    sweep_seconds: Annotated[
        float, typer.Option(help="Heartbeat-lost sweep interval (worker 1); 0 = never.")
    ] = 60.0,
    stats_seconds: Annotated[float, typer.Option(help="Log the counters this often.")] = 30.0,
    stats_file: Annotated[
        str | None, typer.Option(help="Also write the counters as JSON here ({n} = worker).")
    ] = None,
    log_level: Annotated[str, typer.Option(help="DEBUG, INFO, WARNING …")] = "INFO",
    database_url: DbOpt = None,
) -> None:
    """Take in device readings over MQTT v5 until SIGTERM / Ctrl-C.

    Each worker is a persistent MQTT session on the shared subscription
    $share/GROUP/townops/TOWN/devices/+/readings; a reading is acknowledged to the broker
    only once it, and the alarms and cases it caused, are committed.
    """
    url, town = _town_code(database_url)
    configure_logging(log_level)
    options = IngestOptions(
        database_url=url,
        broker=broker,
        town=town,
        group=group,
        client_id_prefix=client_id,
        batch_size=batch_size,
        batch_ms=batch_ms,
        sweep_seconds=sweep_seconds,
        stats_seconds=stats_seconds,
        stats_file=stats_file,
        log_level=log_level,
    )
    ids = ", ".join(options.client_id(town, first_index + i) for i in range(workers))
    console.print(f"ingesting {broker} → {url} as {ids}; Ctrl-C to stop", highlight=False)
    run_workers(options, workers, first_index=first_index, initializer=domains.install)


@ingest_app.command("retire")
def ingest_retire(
    index: Annotated[int, typer.Argument(min=1, help="The worker number to retire.")],
    broker: BrokerOpt = DEFAULT_BROKER,
    group: GroupOpt = SHARE_GROUP,
    client_id: ClientIdOpt = None,
    database_url: DbOpt = None,
) -> None:
    """Scale down: store what the broker queued for worker INDEX, then end its session.

    A worker that is simply not started again keeps its session, and the broker goes on
    queueing its share of the readings for it. Stop the worker first.
    """
    url, town = _town_code(database_url)
    configure_logging("INFO")
    options = IngestOptions(
        database_url=url,
        broker=broker,
        town=town,
        group=group,
        client_id_prefix=client_id,
        sweep_seconds=0,
        stats_seconds=0,
    )
    stats = retire_worker(options, index)
    console.print(
        f"retired {options.client_id(town, index)}: stored {stats.stored:,} queued reading(s), "
        f"set aside {sum(stats.set_aside.values()):,}; its session is gone",
        highlight=False,
    )
