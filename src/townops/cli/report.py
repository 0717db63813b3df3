"""``townops report …``: the reports the town exchanges as files.

Each report is one command of this group, in its own module.
"""

from __future__ import annotations

import typer

from townops.cli.report_assessment import assessment_command
from townops.cli.report_health import health_check

report_app = typer.Typer(no_args_is_help=True)


@report_app.callback()
def report() -> None:
    """Reports written as files: monthly assessment (月度考核), city health-check (城市体检)."""


report_app.command("assessment")(assessment_command)
report_app.command("health-check")(health_check)


def register(app: typer.Typer) -> None:
    """Add the ``report`` group to the main townops app."""
    app.add_typer(report_app, name="report")
