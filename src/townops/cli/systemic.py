"""``townops systemic``: find problems that keep coming back at one place (举一反三).

``refresh`` and ``list`` work on the town's database as the system (the CLI is run by the
town's IT staff); ``scan-csv`` runs the same detection on a CSV of citizen messages
without any database.
"""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from townops.access.actor import SYSTEM
from townops.cli.common import DbOpt, console, engine_for, err_console, settings_with, transaction
from townops.cli.kpi import print_wide
from townops.errors import InvalidInput
from townops.systemic.detect import DetectedIssue
from townops.systemic.messages import (
    MESSAGE_SIMILARITY,
    ScanReport,
    message_settings,
    scan_messages,
)
from townops.systemic.schemas import IssueStatus, SystemicIssueOut
from townops.systemic.service import list_systemic_issues, refresh_systemic_issues
from townops.systemic.settings import SystemicSettings
from townops.timeutil import SHANGHAI, as_utc, utcnow
from townops.towns.profile import get_profile

systemic_app = typer.Typer(
    help="Systemic issues (举一反三): repeated cases on one topic at one place.",
    no_args_is_help=True,
)


class OutputFormat(StrEnum):
    table = "table"
    json = "json"


def register(app: typer.Typer) -> None:
    """Add ``townops systemic …`` to the main townops app."""
    app.add_typer(systemic_app, name="systemic")


def parse_moment(value: str, *, end_of_day: bool) -> datetime:
    """An ISO date or date-time, read in town time; a bare date is the start or the end of
    that day."""
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            moment = datetime.combine(day, time.max if end_of_day else time.min, tzinfo=SHANGHAI)
        else:
            moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise typer.BadParameter(f"not an ISO date or date-time: {value!r}") from exc
    return as_utc(moment)


@systemic_app.command("refresh")
def refresh(
    now: Annotated[
        str | None,
        typer.Option(help="End of the look-back window (ISO date = end of that day); default now."),
    ] = None,
    window_weeks: Annotated[int | None, typer.Option(help="Look-back window in weeks.")] = None,
    database_url: DbOpt = None,
) -> None:
    """Recompute the systemic issues and upsert them (status and root cases are kept)."""
    moment = parse_moment(now, end_of_day=True) if now else utcnow()
    engine = engine_for(settings_with(database_url))
    with transaction(engine) as session:
        settings = _settings(
            get_profile(session).config(SystemicSettings), window_weeks=window_weeks
        )
        report = refresh_systemic_issues(session, now=moment, settings=settings)
    console.print(
        f"{report.found} systemic issue(s) found: {report.new} new, {report.updated} updated, "
        f"{report.lapsed} lapsed, {report.removed} removed "
        f"({report.cases_considered} cases in the {settings.window_weeks}-week window "
        f"ending {moment.astimezone(SHANGHAI):%Y-%m-%d %H:%M}; {report.seconds:.2f} s)",
        highlight=False,
    )


@systemic_app.command("list")
def list_issues(
    status: Annotated[IssueStatus | None, typer.Option(help="Only this status.")] = None,
    place: Annotated[str | None, typer.Option(help="Jurisdiction code (and below).")] = None,
    min_cases: Annotated[int | None, typer.Option(help="At least this many cases.")] = None,
    output_format: Annotated[OutputFormat, typer.Option("--format")] = OutputFormat.table,
    database_url: DbOpt = None,
) -> None:
    """The systemic issues stored by the last refresh, largest first."""
    engine = engine_for(settings_with(database_url))
    with transaction(engine) as session:
        issues = list_systemic_issues(
            session, actor=SYSTEM, status=status, place=place, min_cases=min_cases
        )
    if output_format == OutputFormat.json:
        typer.echo(json.dumps([i.model_dump(mode="json") for i in issues], ensure_ascii=False))
        return
    print_wide(_issue_table(issues))


def _issue_table(issues: list[SystemicIssueOut]) -> Table:
    table = Table(title=f"{len(issues)} systemic issue(s) 举一反三")
    for header in ("id", "place", "topic", "cases", "weeks", "trend", "last seen", "status"):
        table.add_column(header)
    for issue in issues:
        table.add_row(
            str(issue.id),
            issue.place_label,
            issue.topic_label,
            str(issue.case_count),
            str(issue.weeks_active),
            f"{issue.trend.value} ({issue.slope:+.2f})",
            f"{issue.last_seen.astimezone(SHANGHAI):%Y-%m-%d}",
            issue.status.value + (f" #{issue.root_case_id}" if issue.root_case_id else ""),
        )
    return table


@systemic_app.command("scan-csv")
def scan_csv(
    files: Annotated[list[Path], typer.Argument(help="CSV file(s) of citizen messages (留言).")],
    since: Annotated[
        str | None, typer.Option(help="First day (ISO); default the first message.")
    ] = None,
    until: Annotated[
        str | None, typer.Option(help="Last day, included (ISO); default the last message.")
    ] = None,
    top: Annotated[int, typer.Option(help="Clusters to print.")] = 10,
    min_cases: Annotated[int, typer.Option(help="Messages a cluster needs.")] = 4,
    min_weeks: Annotated[int, typer.Option(help="Distinct ISO weeks a cluster needs.")] = 3,
    min_users: Annotated[
        int, typer.Option(help="Different users a cluster needs (one user repeating is not one).")
    ] = 2,
    similarity: Annotated[
        float, typer.Option(help="Similarity threshold (cosine of TF-IDF over all words).")
    ] = MESSAGE_SIMILARITY,
    output_format: Annotated[OutputFormat, typer.Option("--format")] = OutputFormat.table,
) -> None:
    """Run the detection on a CSV of citizen messages, without a database.

    Columns 留言编号, 留言用户, 留言主题, 留言时间, 留言详情. The place is read from the
    text; the topic is the text cluster itself.
    """
    for path in files:
        if not path.is_file():
            raise typer.BadParameter(f"no such file: {path}")
    try:
        settings = message_settings(
            min_cases=min_cases,
            min_weeks=min_weeks,
            min_reporters=min_users,
            similarity_threshold=similarity,
        )
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    try:
        report = scan_messages(
            files,
            settings=settings,
            since=parse_moment(since, end_of_day=False) if since else None,
            until=parse_moment(until, end_of_day=True) if until else None,
        )
    except InvalidInput as exc:
        err_console.print(f"[red]error:[/red] {exc.message}", highlight=False)
        raise typer.Exit(code=1) from exc
    if output_format == OutputFormat.json:
        typer.echo(json.dumps(_scan_json(report, top), ensure_ascii=False, indent=2))
        return
    console.print(
        f"{report.messages} messages {report.since.astimezone(SHANGHAI):%Y-%m-%d} – "
        f"{report.until.astimezone(SHANGHAI):%Y-%m-%d}, {report.located} with a place; "
        f"{len(report.issues)} cluster(s) with >= {settings.min_cases} messages from "
        f">= {settings.min_reporters} users over >= {settings.min_weeks} weeks "
        f"({report.seconds:.1f} s)",
        highlight=False,
    )
    print_wide(_scan_table(report, top))


def _settings(town: SystemicSettings, *, window_weeks: int | None = None) -> SystemicSettings:
    """The town's settings (dispatch.yaml ``systemic:``), with the command line's window."""
    if window_weeks is None:
        return town
    try:
        return SystemicSettings.model_validate(town.model_dump() | {"window_weeks": window_weeks})
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc


def _scan_table(report: ScanReport, top: int) -> Table:
    table = Table()
    for header in ("#", "place", "topic (shared words)", "msgs", "users", "weeks", "trend"):
        table.add_column(header)
    table.add_column("seen")
    table.add_column("sample title")
    for rank, issue in enumerate(report.issues[:top], start=1):
        table.add_row(
            str(rank),
            issue.place_label,
            issue.topic_label,
            str(issue.case_count),
            str(report.users(issue)),
            str(issue.weeks_active),
            f"{issue.trend.value} ({issue.slope:+.2f})",
            _span(issue),
            report.sample_title(issue),
        )
    return table


def _span(issue: DetectedIssue) -> str:
    first, last = (d.astimezone(SHANGHAI).date() for d in (issue.first_seen, issue.last_seen))
    return f"{first:%Y-%m-%d}…{last:%Y-%m-%d}" if last - first > timedelta(0) else f"{first}"


def _scan_json(report: ScanReport, top: int) -> dict[str, object]:
    return {
        "messages": report.messages,
        "located": report.located,
        "seconds": round(report.seconds, 2),
        "clusters": [
            {
                "key": issue.key,
                "place": issue.place_label,
                "topic_label": issue.topic_label,
                "messages": issue.case_count,
                "users": report.users(issue),
                "weeks_active": issue.weeks_active,
                "trend": issue.trend.value,
                "slope": issue.slope,
                "first_seen": issue.first_seen.isoformat(),
                "last_seen": issue.last_seen.isoformat(),
                "member_ids": list(issue.member_ids),
                "titles": [report.by_id[i].title for i in issue.member_ids],
            }
            for issue in report.issues[:top]
        ],
    }
