"""``townops report health-check``: the yearly city health-check (城市体检) as XLSX and PDF.

The CLI reads the whole town (no actor): it is run by the town's IT staff.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.orm import Session

from townops.cli.common import DbOpt, console, engine_for, settings_with, transaction
from townops.reports.health_check import SignsProvider, build_health_check, engine_provider
from townops.reports.output import write_health_check

# Tests put a fake engine here; the real one is the vital-signs engine.
provider_for: Callable[[Session], SignsProvider] = engine_provider


def health_check(
    year: Annotated[int, typer.Option(help="The year checked, e.g. 2022.")],
    out: Annotated[
        Path, typer.Option(help="Directory to write health-check-<year>.xlsx and .pdf into.")
    ] = Path("."),
    jurisdiction: Annotated[
        str | None, typer.Option(help="A node's code; without it, the whole town.")
    ] = None,
    database_url: DbOpt = None,
) -> None:
    """Write the yearly city health-check report (城市体检) as XLSX and PDF."""
    engine = engine_for(settings_with(database_url))
    with transaction(engine) as session:
        report = build_health_check(
            session, provider_for(session), year=year, jurisdiction=jurisdiction
        )
    written = write_health_check(report, out)
    counts = report.counts
    console.print(
        f"{report.title_zh}: {len(report.rows)} signs — green {counts['green']}, "
        f"yellow {counts['yellow']}, red {counts['red']}, not rated {counts['none']}",
        highlight=False,
    )
    for path in written:
        console.print(f"wrote {path}", highlight=False)
