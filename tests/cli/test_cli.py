"""The command line as an operator uses it."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from townops.cli.main import app

runner = CliRunner()
FIXTURES = Path(__file__).parent.parent / "fixtures" / "towns"


def test_config_validate_accepts_the_packaged_town(repo_root: Path) -> None:
    result = runner.invoke(
        app, ["config", "validate", str(repo_root / "src/townops/townfiles/gaohang")]
    )
    assert result.exit_code == 0, result.output
    assert "高行镇" in result.output


def test_config_validate_reports_every_error_with_file_and_line() -> None:
    result = runner.invoke(app, ["config", "validate", str(FIXTURES / "broken")])
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if ".yaml:" in line]
    assert any(line.startswith("categories.yaml:") for line in lines)
    assert any(line.startswith("users.yaml:") for line in lines)
    assert all(line.split(":")[1].isdigit() for line in lines)


def test_the_server_refuses_to_start_on_an_invalid_town(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from townops.settings import get_settings

    monkeypatch.setenv("TOWNOPS_TOWN_DIR", str(FIXTURES / "broken"))
    get_settings.cache_clear()
    try:
        result = runner.invoke(
            app, ["serve", "--database-url", f"sqlite:///{tmp_path / 'x.db'}", "--port", "1"]
        )
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 1
    assert "invalid" in result.output


def test_user_create_and_api_key_create(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    assert runner.invoke(app, ["town", "load", "--database-url", url]).exit_code == 0
    result = runner.invoke(
        app,
        [
            "user",
            "create",
            "wang",
            "--role",
            "handler",
            "--department",
            "housing_office",
            "--password-stdin",
            "--database-url",
            url,
        ],
        input="s3cret-pass\n",
    )
    assert result.exit_code == 0, result.output
    bad = runner.invoke(
        app,
        ["user", "create", "li", "--role", "handler", "--password-stdin", "--database-url", url],
        input="s3cret-pass\n",
    )
    assert bad.exit_code == 1 and "department" in bad.output
    key = runner.invoke(app, ["api-key", "create", "citizen-app", "--database-url", url])
    assert key.exit_code == 0 and key.output.strip().startswith("to_")


def test_the_deadline_worker_sweeps_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'w.db'}"
    assert runner.invoke(app, ["town", "load", "--database-url", url]).exit_code == 0
    result = runner.invoke(app, ["worker", "deadlines", "--once", "--database-url", url])
    assert result.exit_code == 0 and "overdue sweep: 0" in result.output


def test_duty_now_and_week_read_the_town_s_roster(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'd.db'}"
    assert runner.invoke(app, ["town", "load", "--database-url", url]).exit_code == 0
    # New Year's Eve night: the swap in Gaohang's duty.yaml puts `duty` on duty.
    now = runner.invoke(app, ["duty", "now", "--at", "2026-12-31T23:00", "--database-url", url])
    assert now.exit_code == 0, now.output
    assert "2026-12-31 夜班 17:30–08:30: 值班员 duty → 带班领导 leader_b\n" in now.output
    week = runner.invoke(
        app, ["duty", "week", "--from", "2026-12-30", "--days", "2", "--database-url", url]
    )
    assert week.exit_code == 0, week.output
    assert week.output.count("白班") == 2 and week.output.count("(换班)") == 1
    bad = runner.invoke(app, ["duty", "now", "--at", "tonight", "--database-url", url])
    assert bad.exit_code == 2 and "is not a date-time" in bad.output
