"""``townops report assessment``: the assessment workbook (月度考核) for a month, a quarter
or a year.

The CLI reads the whole town (no actor): it is run by the town's IT staff.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from townops.assessment.export import default_filename, write_xlsx
from townops.assessment.service import UNIT_NAMES, AssessmentOf, AssessmentReport, assess
from townops.cli.common import DbOpt, console, engine_for, settings_with, transaction
from townops.timeutil import utcnow


def assessment_command(
    month: Annotated[str | None, typer.Option(help="The month assessed, e.g. 2022-06.")] = None,
    period: Annotated[
        str | None, typer.Option(help="Instead of --month: 2022-06, a quarter 2022-Q2 or 2022.")
    ] = None,
    out: Annotated[
        Path, typer.Option(help="Directory to write assessment-<period>.xlsx into.")
    ] = Path("."),
    database_url: DbOpt = None,
) -> None:
    """Rank departments and communities for a month (月度考核), a quarter or a year, and write
    the XLSX."""
    engine = engine_for(settings_with(database_url))
    now = utcnow()
    with transaction(engine) as session:
        reports = [
            assess(session, month=month, period=period, of=of, now=now) for of in AssessmentOf
        ]
    out.mkdir(parents=True, exist_ok=True)
    target = out / default_filename(reports[0].label)
    write_xlsx(reports, target)
    for report in reports:
        console.print(ranking_table(report))
    console.print(f"wrote {target}", highlight=False)


def ranking_table(report: AssessmentReport) -> Table:
    """Rank, unit, total and the change from last month; unranked units are left out."""
    of_zh, of_en = UNIT_NAMES[report.of]
    ranked = [row for row in report.rows if row.ranked]
    table = Table(
        title=f"考核 {report.label} · {of_zh} ({of_en})",
        caption=(
            f"{len(ranked)} ranked of {len(report.rows)}; change against {report.previous_label}"
        ),
    )
    for header, justify in (
        ("排名\n(rank)", "right"),
        ("名称\n(name)", "left"),
        ("总分\n(total)", "right"),
        ("排名变化\n(rank change)", "right"),
    ):
        table.add_column(header, justify=justify)  # type: ignore[arg-type]
    for row in ranked:
        change = "—" if row.rank_change is None else f"{row.rank_change:+d}"
        table.add_row(str(row.rank), row.name_zh, f"{row.total:.2f}", change)
    return table
