"""The drawing of the layers (docs/architecture.md) and the import contracts
(.importlinter, checked by ``lint-imports``) say the same thing, every package of
townops is placed in exactly one layer, and every domain is protected: other domains
import its package, never its modules."""

from __future__ import annotations

import configparser
import os
import re
from pathlib import Path

import pytest

import townops

pytestmark = pytest.mark.skipif(
    bool(os.environ.get("TOWNOPS_TEST_DATABASE_URL")),
    reason="no storage involved: run once, in the SQLite pass",
)

ROOT = Path(__file__).resolve().parent.parent
SRC = Path(townops.__file__).parent


def _contracts() -> configparser.ConfigParser:
    config = configparser.ConfigParser()
    config.read(ROOT / ".importlinter", encoding="utf-8")
    return config


def _names(raw: str) -> set[str]:
    """An import-linter list option (one per line, or comma-separated), without townops."""
    return {name.removeprefix("townops.") for name in re.split(r"[\s,]+", raw) if name}


def _contract_layers() -> list[set[str]]:
    raw = _contracts()["importlinter:contract:layers"]["layers"]
    layers = []
    for line in raw.strip().splitlines():
        names = re.split(r"\s*[:|]\s*", line.strip())
        layers.append({name.removeprefix("townops.") for name in names if name})
    return layers


def _drawn_layers() -> list[set[str]]:
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    block = re.search(r"<!-- layers:.*?-->(.*?)<!-- /layers -->", text, re.S)
    assert block is not None, "docs/architecture.md lost its layers table"
    rows = [r for r in block.group(1).strip().splitlines() if r.startswith("|")][2:]
    return [set(re.findall(r"`([\w]+)`", row.split("|")[2])) for row in rows]


def _packages() -> set[str]:
    """What import-linter sees under townops: modules and packages (with __init__.py)."""
    found = {p.stem for p in SRC.glob("*.py") if p.stem != "__init__"}
    found |= {p.parent.name for p in SRC.glob("*/__init__.py")}
    return found


def test_the_drawing_and_the_contract_name_the_same_layers_in_the_same_order() -> None:
    assert _drawn_layers() == _contract_layers()


def test_every_package_is_in_exactly_one_layer() -> None:
    layers = _contract_layers()
    placed = [name for layer in layers for name in layer]
    assert len(placed) == len(set(placed)), "a package is in two layers"
    assert set(placed) == _packages(), (
        f"not placed: {sorted(_packages() - set(placed))}; "
        f"placed but gone: {sorted(set(placed) - _packages())}"
    )


def test_the_case_engine_is_below_every_domain() -> None:
    layers = _contract_layers()
    engine = next(i for i, layer in enumerate(layers) if "cases" in layer)
    domains = next(i for i, layer in enumerate(layers) if "dispatch" in layer)
    assert domains < engine
    for name in ("dispatch", "media", "open311", "sensing", "signs", "casefile"):
        assert any(name in layer for layer in layers[:engine])


def test_every_domain_is_used_by_other_domains_only_through_its_package() -> None:
    """Each package of the domains layer has a ``protected`` contract: its modules are
    imported only by itself and by the layers above the domains, so another domain
    imports what its ``__init__`` re-exports. A new domain cannot be added without one."""
    layers = _contract_layers()
    at = next(i for i, layer in enumerate(layers) if "dispatch" in layer)
    above = set().union(*layers[:at])
    config = _contracts()
    protected: dict[str, set[str]] = {}
    for section in config.sections():
        contract = config[section]
        if contract.get("type") != "protected":
            continue
        assert contract.get("as_packages", "true").lower() == "true", section
        for module in _names(contract["protected_modules"]):
            protected[module] = _names(contract["allowed_importers"])
    lacking = sorted(d for d in layers[at] if f"{d}.*" not in protected)
    assert lacking == [], f"domains without a protected contract: {lacking}"
    for domain in layers[at]:
        assert protected[f"{domain}.*"] == {domain} | above, domain
