"""``townops device …``: the device registry, its history and the sensing KPIs.

Run by the town's IT staff on the whole town (no actor), like ``townops kpi``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from townops.access.actor import SYSTEM
from townops.cli.common import (
    DbOpt,
    DryRunOpt,
    SkipBadOpt,
    console,
    engine_for,
    err_console,
    settings_with,
    transaction,
)
from townops.cli.import_cmd import error_table, progress_bar
from townops.cli.kpi import print_wide
from townops.demo.devices import (
    DEMO_DEVICE_SEED,
    counts_by_network,
    demo_device_rows,
    write_demo_file,
)
from townops.errors import InvalidInput
from townops.sensing.config import SensingConfig
from townops.sensing.devices.registry import (
    DeviceFilters,
    get_device_for,
    import_devices,
    is_online,
    list_devices,
    open_alarm_count,
)
from townops.sensing.kpi.service import (
    COLUMNS,
    GROUPING_NAMES,
    SensingGrouping,
    SensingKpiReport,
    period_from,
    sensing_kpis,
    write_kpi_xlsx,
)
from townops.sensing.models import Device
from townops.tabular import ImportReport
from townops.timeutil import utcnow
from townops.townfiles.loader import default_town_dir, load_town
from townops.towns.profile import get_profile

device_app = typer.Typer(help="Sensing devices (一网感知): registry, history, KPIs.")

# Exit code of an import refused for bad rows (1 is any other error).
EXIT_BAD_ROWS = 2


def register(app: typer.Typer) -> None:
    """Add this module's commands to the main townops app."""
    app.add_typer(device_app, name="device", no_args_is_help=True)


@device_app.command("import")
def import_file(
    file: Annotated[
        Path,
        typer.Argument(exists=True, dir_okay=False, readable=True, help="device list .csv/.xlsx"),
    ],
    skip_bad: SkipBadOpt = False,
    dry_run: DryRunOpt = False,
    database_url: DbOpt = None,
) -> None:
    """Register devices from a CSV/XLSX list: all rows or, if any is bad, none (upsert)."""
    engine = engine_for(settings_with(database_url))
    with transaction(engine) as session:
        try:
            with progress_bar() as progress:
                report = import_devices(
                    session, file, skip_bad=skip_bad, dry_run=dry_run, progress=progress
                )
        except InvalidInput as exc:  # the file as a whole: unreadable, or a column missing
            err_console.print(f"[red]error:[/red] {exc.message}", highlight=False)
            raise typer.Exit(code=EXIT_BAD_ROWS) from exc
        _print_import(report, skip_bad=skip_bad)
        if report.errors and not skip_bad:
            # Leaving through an exception rolls the transaction back.
            raise typer.Exit(code=EXIT_BAD_ROWS)


def _print_import(report: ImportReport, *, skip_bad: bool) -> None:
    if report.errors:
        console.print(error_table(report.errors))
    if report.skipped_columns:
        console.print(
            "忽略的列 ignored columns: " + ", ".join(report.skipped_columns),
            markup=False,
            highlight=False,
        )
    counts = (
        f"新增 {report.new_rows} (new), 更新 {report.changed_rows} (changed), "
        f"未变 {report.unchanged_rows} (unchanged)"
    )
    bad = len(report.bad_rows)
    if report.dry_run:
        console.print(f"试运行 dry run: {counts}; 未写入 nothing written", highlight=False)
    elif bad and not skip_bad:
        console.print(
            f"[red]{bad} 行有错误，未导入任何设备 ({bad} bad rows: nothing imported; "
            "fix them or use --skip-bad)[/red]",
            highlight=False,
        )
    else:
        console.print(f"已导入 imported: {counts}", highlight=False)
        if bad:
            console.print(f"[yellow]跳过 {bad} 行错误 (skipped {bad} bad rows)[/yellow]")


@device_app.command("list")
def list_command(
    type: Annotated[str | None, typer.Option("--type", help="Device type code.")] = None,
    jurisdiction: Annotated[
        str | None, typer.Option(help="Jurisdiction code (its whole subtree).")
    ] = None,
    network: Annotated[str | None, typer.Option(help="e.g. 中脑, 社区小脑, 居家安防.")] = None,
    online: Annotated[
        bool | None, typer.Option("--online/--offline", help="Only devices online / offline.")
    ] = None,
    q: Annotated[str | None, typer.Option("--q", help="Text in id, address, building …")] = None,
    limit: Annotated[int, typer.Option(min=1, help="Rows to show.")] = 50,
    database_url: DbOpt = None,
) -> None:
    """List registered devices with their online state."""
    engine = engine_for(settings_with(database_url))
    now = utcnow()
    with transaction(engine) as session:
        config = get_profile(session).config(SensingConfig)
        filters = DeviceFilters(
            type=type, jurisdiction=jurisdiction, network=network, online=online, q=q
        )
        listing = list_devices(session, filters=filters, page_size=limit, now=now)
        table = Table(title=f"设备 devices: {len(listing.rows)} / {listing.total}")
        for header in ("设备编号 id", "类型 type", "平台 network", "辖区 place", "楼栋/地址"):
            table.add_column(header)
        table.add_column("在线 online")
        table.add_column("最后上报 last seen")
        for device, state in listing.rows:
            table.add_row(
                Text(device.device_id),
                device.type,
                Text(device.network),
                device.jurisdiction_code or "—",
                Text(device.building or device.address),
                "✓" if is_online(state, device, config, now) else "✗",
                f"{state.last_seen:%Y-%m-%d %H:%M}" if state else "从未 never",
            )
    print_wide(table)


@device_app.command("show")
def show(device_id: str, database_url: DbOpt = None) -> None:
    """Everything about one device: registry, household, state, open alarms."""
    engine = engine_for(settings_with(database_url))
    now = utcnow()
    with transaction(engine) as session:
        device, state = get_device_for(session, actor=SYSTEM, device_id=device_id)
        config = get_profile(session).config(SensingConfig)
        kind = config.device_type(device.type)
        table = Table(show_header=False, title=f"设备 {device.device_id}")
        table.add_column("field")
        table.add_column("value", overflow="fold")
        lines = [
            ("类型 type", f"{device.type} {kind.name_zh if kind else ''}"),
            ("型号 model", device.model),
            ("平台 network", device.network),
            ("辖区 jurisdiction", device.jurisdiction_code or "—"),
            ("坐标 lat, lon", f"{device.lat}, {device.lon}" if device.lat is not None else "—"),
            ("地址 address", device.address),
            ("楼栋 building", device.building),
            ("权属单位 owner", device.owner_unit),
            ("安装日期 installed", str(device.installed_on or "—")),
            ("住户 household", _household(device) or "—"),
            ("启用 active", "是 yes" if device.active else "否 no"),
            ("在线 online", "✓" if is_online(state, device, config, now) else "✗"),
            ("最后上报 last seen", str(state.last_seen) if state else "从未 never"),
            ("最新值 values", str(state.values) if state else "—"),
            ("未关闭告警 open alarms", str(open_alarm_count(session, device.device_id))),
        ]
        for name, value in lines:
            table.add_row(name, Text(value))
    console.print(table)


def _household(device: Device) -> str:
    parts = (device.household_name, device.household_phone, device.household_note)
    return " ".join(part for part in parts if part)


@device_app.command("demo-file")
def demo_file(
    out: Annotated[Path, typer.Argument(dir_okay=False, help="File to write (.csv or .xlsx).")],
    seed: Annotated[int, typer.Option(help="Same seed, same devices.")] = DEMO_DEVICE_SEED,
) -> None:
    """Write the Gaohang demo devices (583 中脑 + 4,150 社区小脑 + gas alarms) as a list."""
    town = load_town(default_town_dir())
    count = write_demo_file(out, town, seed=seed)
    by_network = counts_by_network(demo_device_rows(town, seed=seed))
    parts = ", ".join(f"{network} {n}" for network, n in by_network.items())
    console.print(f"wrote {out}: {count} devices ({parts})", highlight=False)


@device_app.command("compact")
def compact(
    raw_days: Annotated[
        int | None, typer.Option(min=1, help="Keep raw readings this many days (sensing.yaml).")
    ] = None,
    bucket_seconds: Annotated[
        int | None, typer.Option(min=60, help="Roll-up bucket (sensing.yaml rollup_seconds).")
    ] = None,
    database_url: DbOpt = None,
) -> None:
    """Roll up readings older than the raw retention (count/min/max/mean) and delete them."""
    from townops.sensing.devices.telemetry import compact_readings

    engine = engine_for(settings_with(database_url))
    with transaction(engine) as session:
        telemetry = get_profile(session).config(SensingConfig).telemetry
        days = raw_days or telemetry.raw_days
        seconds = bucket_seconds or telemetry.rollup_seconds
        with _devices_progress() as bar:
            task = bar.add_task("压缩 compacting", total=None)
            report = compact_readings(
                session,
                now=utcnow(),
                raw_days=days,
                bucket_seconds=seconds,
                commit_each_chunk=True,
                progress=lambda done, total: bar.update(task, completed=done, total=total),
            )
    console.print(
        f"readings before {report.cutoff:%Y-%m-%d %H:%M} UTC: {report.readings} rolled up "
        f"from {report.devices} devices into {report.buckets_created} new and "
        f"{report.buckets_merged} merged {seconds} s buckets",
        highlight=False,
    )


def _devices_progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("devices"),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
        disable=not err_console.is_terminal,
    )


@device_app.command("kpi")
def kpi(
    date_from: Annotated[
        str | None, typer.Option("--from", help="First local day, e.g. 2026-11-01.")
    ] = None,
    date_to: Annotated[str | None, typer.Option("--to", help="Last local day, included.")] = None,
    by: Annotated[SensingGrouping, typer.Option(help="Group rows by this.")] = (
        SensingGrouping.type
    ),
    xlsx: Annotated[
        Path | None, typer.Option("--xlsx", dir_okay=False, help="Also write an Excel file.")
    ] = None,
    database_url: DbOpt = None,
) -> None:
    """Online rate, alarms, false-alarm rate, time to acknowledge / close (default 30 days)."""
    engine = engine_for(settings_with(database_url))
    now = utcnow()
    with transaction(engine) as session:
        timezone = get_profile(session).timezone
        period = period_from(now=now, timezone=timezone, date_from=date_from, date_to=date_to)
        report = sensing_kpis(session, by=by, period=period, now=now)
    print_wide(kpi_table(report))
    if xlsx is not None:
        write_kpi_xlsx(report, xlsx)
        console.print(f"wrote {xlsx} ({len(report.rows) + 1} rows)", highlight=False)


def kpi_table(report: SensingKpiReport) -> Table:
    by_zh, by_en = GROUPING_NAMES[report.by]
    table = Table(
        title=f"感知指标 sensing KPIs · {by_zh} ({by_en})",
        caption=(
            f"{report.first_day} – {report.last_day} ({report.timezone}); "
            f"在线 online at {report.now:%Y-%m-%d %H:%M} UTC"
        ),
    )
    table.add_column("代码\n(code)", no_wrap=True)
    table.add_column(f"{by_zh}\n({by_en})")
    for column in COLUMNS:
        table.add_column(f"{column.name_zh}\n({column.name_en})", justify="right")
    for row in [*report.rows, report.total]:
        cells = []
        for column in COLUMNS:
            value = getattr(row, column.key)
            if value is None:
                cells.append("—")
            elif column.unit == "rate":
                cells.append(f"{value:.1%}")
            elif column.unit == "minutes":
                cells.append(f"{value:.1f}")
            else:
                cells.append(str(value))
        table.add_row(row.code or "—", Text(row.name_zh), *cells)
    return table
