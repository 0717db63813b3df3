"""Documentation kept true by tests: every setting and every command is documented."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer.main

from townops.cli.main import app
from townops.settings import Settings

ROOT = Path(__file__).resolve().parents[1]


def _docs() -> str:
    parts = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    return "\n".join(p.read_text(encoding="utf-8") for p in parts)


def _command_paths(command: Any, prefix: str) -> list[str]:
    # Typer ships its own click; a group is anything with sub-commands.
    subcommands = getattr(command, "commands", None)
    if subcommands:
        paths = []
        for name, sub in subcommands.items():
            paths.extend(_command_paths(sub, f"{prefix} {name}"))
        return paths
    return [prefix]


def test_every_setting_is_documented_in_the_configuration_reference() -> None:
    text = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    missing = [
        f"TOWNOPS_{name.upper()}"
        for name in Settings.model_fields
        if f"TOWNOPS_{name.upper()}" not in text
    ]
    assert missing == []


def test_every_cli_command_is_documented() -> None:
    text = _docs()
    commands = _command_paths(typer.main.get_command(app), "townops")
    assert len(commands) >= 8
    missing = [c for c in commands if f"`{c}" not in text]
    assert missing == []
