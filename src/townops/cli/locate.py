"""``townops locate TEXT``: what the gazetteer finds for an address, and how sure it is."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy.engine import make_url

from townops.cli.common import DbOpt, console, engine_for, err_console, settings_with, transaction
from townops.cli.kpi import print_wide
from townops.gazetteer.service import LocateResult, PlaceMatch, has_town, locate


def register(app: typer.Typer) -> None:
    """Add this module's commands to the main townops app."""
    app.command("locate")(locate_command)


def locate_command(
    text: Annotated[
        str | None, typer.Argument(help="An address as a caller says it, e.g. 东靖路1200弄3号.")
    ] = None,
    lat: Annotated[float | None, typer.Option(help="Latitude of the place (WGS 84).")] = None,
    lon: Annotated[float | None, typer.Option(help="Longitude of the place (WGS 84).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    database_url: DbOpt = None,
) -> None:
    """Find the community / micro-grid / estate of an address (exit 1 if none is usable)."""
    settings = settings_with(database_url)
    missing = _missing_sqlite_file(settings.database_url)
    if missing is not None:
        _no_town(f"there is no database at {missing}")
    engine = engine_for(settings)
    with transaction(engine) as session:
        if not has_town(session):
            _no_town("no town is loaded in this database")
        result = locate(session, text=text, lat=lat, lon=lon)
    if as_json:
        typer.echo(result.model_dump_json(indent=2))
    else:
        print_wide(result_table(result))
        console.print(_verdict(result), highlight=False)
    if not result.usable:
        raise typer.Exit(code=1)


def _missing_sqlite_file(url: str) -> Path | None:
    # Opening a missing SQLite file would create an empty database as a side effect.
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    path = Path(parsed.database or "")
    return None if path.is_file() else path


def _no_town(reason: str) -> None:
    err_console.print(
        f"[red]{reason}[/red]: load one with `townops town load` "
        "(or build the demo with `townops demo --no-serve`), or give --database-url",
        highlight=False,
    )
    raise typer.Exit(code=1)


def result_table(result: LocateResult) -> Table:
    """The best place first, then the runners-up; Chinese headers with English."""
    asked = " · ".join(
        part
        for part in (
            result.text,
            f"({result.lat}, {result.lon})" if result.lat is not None else None,
        )
        if part
    )
    table = Table(title=f"定位 (locate): {asked}", caption=result.note)
    table.add_column("", no_wrap=True)
    table.add_column("名称\n(name)")
    table.add_column("类型\n(kind)")
    table.add_column("居委\n(community)")
    table.add_column("微网格\n(micro-grid)")
    table.add_column("置信度\n(confidence)", justify="right")
    table.add_column("匹配文本\n(matched text)")
    for position, match in enumerate(result.candidates):
        table.add_row("best" if position == 0 else str(position + 1), *_cells(match))
    return table


def _cells(match: PlaceMatch) -> list[str]:
    community = f"{match.community_name} ({match.community_code})" if match.community_code else "—"
    micro_grid = f"{match.jurisdiction_name} ({match.code})" if match.level == "micro_grid" else "—"
    name = match.name if match.house_number is None else f"{match.name} {match.house_number}号"
    return [
        name,
        match.kind,
        community,
        micro_grid,
        f"{match.confidence:.2f}",
        match.matched_text or "—",
    ]


def _verdict(result: LocateResult) -> str:
    if result.best is None:
        return "nothing found: a case here goes to the dispatcher"
    if result.usable:
        return (
            f"usable for dispatch (confidence {result.best.confidence:.2f} ≥ "
            f"{result.min_confidence:.2f})"
        )
    return (
        f"NOT usable for dispatch (confidence {result.best.confidence:.2f} < "
        f"{result.min_confidence:.2f}): a case here goes to the dispatcher"
    )
