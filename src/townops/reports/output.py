"""Writing the health-check report's files into a directory."""

from __future__ import annotations

from pathlib import Path

from townops.reports.health_check import HealthCheckReport
from townops.reports.pdf import write_pdf
from townops.reports.xlsx import default_filename, write_xlsx


def write_health_check(report: HealthCheckReport, directory: Path) -> tuple[Path, Path]:
    """Write health-check-<year>.xlsx and .pdf into ``directory``; return both paths."""
    directory.mkdir(parents=True, exist_ok=True)
    workbook = directory / default_filename(report, "xlsx")
    document = directory / default_filename(report, "pdf")
    write_xlsx(report, workbook)
    write_pdf(report, document)
    return workbook, document
