"""The one ``townops`` command. Each worker and tool is a subcommand."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from townops import domains
from townops.access.actor import Role
from townops.auth.service import create_api_key, create_user
from townops.auth.users import activate_user, deactivate_user, update_user
from townops.cli import alarms as cli_alarms
from townops.cli import classifier as cli_classifier
from townops.cli import demo as cli_demo
from townops.cli import device as cli_device
from townops.cli import duty as cli_duty
from townops.cli import forecast as cli_forecast
from townops.cli import import_cmd as cli_import
from townops.cli import ingest as cli_ingest
from townops.cli import kpi as cli_kpi
from townops.cli import locate as cli_locate
from townops.cli import report as cli_report
from townops.cli import signs as cli_signs
from townops.cli import simulate as cli_simulate
from townops.cli import systemic as cli_systemic
from townops.cli import worker as cli_worker
from townops.cli.common import (
    DbOpt,
    console,
    engine_for,
    err_console,
    require_valid_town,
    settings_with,
    town_dir,
    transaction,
)
from townops.cli.serve import require_secret_key, run_server
from townops.migrate import upgrade
from townops.townfiles.loader import load_town, validate_town
from townops.townfiles.sync import install_town

app = typer.Typer(help="townops: one case engine for a town (一网统管).", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
config_app = typer.Typer(help="Town configuration.", no_args_is_help=True)
town_app = typer.Typer(help="Load a town into the database.", no_args_is_help=True)
user_app = typer.Typer(help="User accounts.", no_args_is_help=True)
key_app = typer.Typer(help="API keys: Open311 clients, device ingestion.", no_args_is_help=True)


@app.callback()
def _compose() -> None:
    # Every command that touches cases (the workers, imports, the demo) needs the domains
    # subscribed to the case engine's events.
    domains.install()


app.add_typer(db_app, name="db")
app.add_typer(config_app, name="config")
app.add_typer(town_app, name="town")
app.add_typer(user_app, name="user")
app.add_typer(key_app, name="api-key")

cli_kpi.register(app)
cli_import.register(app)
cli_device.register(app)
cli_alarms.register(app)
cli_ingest.register(app)
cli_simulate.register(app)
cli_demo.register(app)
cli_worker.register(app)
cli_locate.register(app)
cli_systemic.register(app)
cli_duty.register(app)
cli_report.register(app)
cli_signs.register(app)
cli_forecast.register(app)
cli_classifier.register(app)


@db_app.command("upgrade")
def db_upgrade(database_url: DbOpt = None) -> None:
    """Apply the Alembic migrations to the database."""
    settings = settings_with(database_url)
    upgrade(engine_for(settings))
    console.print(f"database is at the newest schema: {settings.database_url}")


@config_app.command("validate")
def config_validate(directory: Path) -> None:
    """Check a town directory; print every problem as FILE:LINE: message."""
    issues = validate_town(directory)
    for issue in issues:
        console.print(str(issue), markup=False, highlight=False)
    if issues:
        err_console.print(f"[red]{len(issues)} problem(s)[/red]")
        raise typer.Exit(code=1)
    town = load_town(directory)
    console.print(
        f"[green]ok[/green] {town.info.name_zh} ({town.info.name_en}): "
        f"{len(town.jurisdictions)} jurisdictions, {len(town.departments)} departments, "
        f"{len(town.categories)} categories, {len(town.users)} demo users"
    )


@town_app.command("load")
def town_load(
    directory: Annotated[Path | None, typer.Argument()] = None,
    demo_users: Annotated[bool, typer.Option(help="Also create the demo users.")] = False,
    database_url: DbOpt = None,
) -> None:
    """Validate a town directory and load it into the database (upsert)."""
    settings = settings_with(database_url)
    path = town_dir(settings, directory)
    require_valid_town(path)
    report = install_town(engine_for(settings), load_town(path), with_demo_users=demo_users)
    console.print(f"loaded {path}: {report}")


@app.command()
def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: int = 1,
    database_url: DbOpt = None,
) -> None:
    """Serve the API (refuses to start on an invalid town)."""
    settings = settings_with(database_url)
    path = town_dir(settings)
    require_valid_town(path)
    engine = engine_for(settings)
    require_secret_key(settings, engine)
    install_town(engine, load_town(path), with_demo_users=False)
    run_server(settings.database_url, host=host, port=port, workers=workers)


@user_app.command("create")
def user_create(
    username: str,
    role: Annotated[Role, typer.Option(help="One of the glossary's roles.")],
    scope: Annotated[str | None, typer.Option(help="Jurisdiction code.")] = None,
    department: Annotated[str | None, typer.Option(help="Department code.")] = None,
    display_name: str = "",
    password_stdin: Annotated[bool, typer.Option("--password-stdin")] = False,
    database_url: DbOpt = None,
) -> None:
    """Create a user; the password is read from standard input."""
    if not password_stdin:
        err_console.print("give the password on standard input with --password-stdin")
        raise typer.Exit(code=2)
    password = sys.stdin.readline().rstrip("\n")
    engine = engine_for(settings_with(database_url))
    with transaction(engine) as session:
        user = create_user(
            session,
            username=username,
            password=password,
            role=role,
            scope_code=scope,
            department_code=department,
            display_name=display_name,
        )
    console.print(f"created user {user.username} ({user.role})")


@user_app.command("deactivate")
def user_deactivate(username: str, database_url: DbOpt = None) -> None:
    """Deactivate a user: no more log-ins, and its tokens are refused at once."""
    with transaction(engine_for(settings_with(database_url))) as session:
        deactivate_user(session, username=username)
    console.print(f"deactivated user {username}; its tokens are revoked")


@user_app.command("activate")
def user_activate(username: str, database_url: DbOpt = None) -> None:
    """Let a deactivated user log in again."""
    with transaction(engine_for(settings_with(database_url))) as session:
        activate_user(session, username=username)
    console.print(f"activated user {username}")


@user_app.command("set")
def user_set(
    username: str,
    role: Annotated[Role | None, typer.Option(help="The new role.")] = None,
    scope: Annotated[
        str | None, typer.Option(help='The new jurisdiction code; "" removes it.')
    ] = None,
    department: Annotated[
        str | None, typer.Option(help='The new department code; "" removes it.')
    ] = None,
    database_url: DbOpt = None,
) -> None:
    """Change a user's role, scope or department; its tokens are revoked at once."""
    with transaction(engine_for(settings_with(database_url))) as session:
        changes = update_user(
            session, username=username, role=role, scope_code=scope, department_code=department
        )
    if not changes:
        console.print(f"user {username}: nothing changed")
        return
    summary = ", ".join(
        f"{name} {old or '-'} → {new or '-'}" for name, (old, new) in changes.items()
    )
    console.print(f"user {username}: {summary}; its tokens are revoked", highlight=False)


@key_app.command("create")
def api_key_create(
    name: str,
    purpose: Annotated[
        str,
        typer.Option(
            help="open311: file Open311 requests; ingest: post readings for the bound devices."
        ),
    ] = "open311",
    device: Annotated[
        list[str] | None,
        typer.Option("--device", help="A device an ingestion key may post for (repeatable)."),
    ] = None,
    devices_file: Annotated[
        Path | None,
        typer.Option(
            "--devices-file",
            exists=True,
            dir_okay=False,
            help="Device ids, one a line, or a CSV with a device_id (设备编号) column.",
        ),
    ] = None,
    database_url: DbOpt = None,
) -> None:
    """Create an API key and print it (it is shown only once): an Open311 key, or with
    ``--purpose ingest`` a key bound to the devices it may post readings for."""
    from townops.sensing.devices.keys import (
        PURPOSES,
        create_ingest_key,
        read_device_ids,
        unregistered,
    )

    if purpose not in PURPOSES:
        err_console.print(f"--purpose must be one of {', '.join(PURPOSES)}")
        raise typer.Exit(code=2)
    devices = list(device or []) + (read_device_ids(devices_file) if devices_file else [])
    if purpose == "open311" and devices:
        err_console.print("--device and --devices-file are for --purpose ingest")
        raise typer.Exit(code=2)
    engine = engine_for(settings_with(database_url))
    with transaction(engine) as session:
        missing: list[str] = []
        if purpose == "ingest":
            key = create_ingest_key(session, name=name, devices=devices)
            missing = unregistered(session, devices)
        else:
            key = create_api_key(session, name=name)
    if purpose == "ingest":
        err_console.print(f"ingestion key bound to {len(set(devices))} device(s)", highlight=False)
        if missing:
            shown = ", ".join(missing[:5]) + (" …" if len(missing) > 5 else "")
            err_console.print(
                f"note: {len(missing)} of them not registered yet: {shown}",
                markup=False,
                highlight=False,
            )
    print(key)


if __name__ == "__main__":
    app()
