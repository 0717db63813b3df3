"""Load and validate a town directory (see ``schema.py`` for the file formats).

``validate_town`` reports every problem it finds, each with the file name and the line of
the offending YAML item or GeoJSON feature; ``load_town`` returns a ``Town`` or raises
``TownConfigError`` carrying the same list.
"""

from __future__ import annotations

import functools
import json
import zoneinfo
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any, Generic, Literal, TypeVar

import yaml
from pydantic import BaseModel, ValidationError
from shapely.geometry import shape
from shapely.validation import explain_validity

from townops.assessment.config import ASSESSMENT_FILE, AssessmentConfig
from townops.dispatch.config import DispatchConfig
from townops.duty.config import DutyConfig
from townops.notify.config import NotificationsConfig
from townops.risk.config import RISK_FILE, RiskConfig
from townops.sensing.config import SensingConfig
from townops.signs.config import SIGNS_FILE, SignsConfig, check_signs_config
from townops.townfiles.schema import (
    ROLES,
    Category,
    Department,
    Gazetteer,
    GazetteerFile,
    GazetteerPlace,
    Jurisdiction,
    JurisdictionFeature,
    Road,
    Role,
    RoleSpec,
    Town,
    TownInfo,
    User,
)
from townops.towns.sections import Reference

__all__ = [
    "ASSESSMENT_FILE",
    "DISPATCH_FILE",
    "FILES",
    "GAZETTEER_FILE",
    "OPTIONAL_FILES",
    "RISK_FILE",
    "SENSING_FILE",
    "SIGNS_FILE",
    "ConfigIssue",
    "TownConfigError",
    "default_town_dir",
    "load_town",
    "validate_town",
]

TOWN_FILE = "town.yaml"
JURISDICTIONS_FILE = "jurisdictions.geojson"
DEPARTMENTS_FILE = "departments.yaml"
CATEGORIES_FILE = "categories.yaml"
ROLES_FILE = "roles.yaml"
USERS_FILE = "users.yaml"
FILES = (
    TOWN_FILE,
    JURISDICTIONS_FILE,
    DEPARTMENTS_FILE,
    CATEGORIES_FILE,
    ROLES_FILE,
    USERS_FILE,
)
GAZETTEER_FILE = "gazetteer.yaml"
DISPATCH_FILE = "dispatch.yaml"
SENSING_FILE = "sensing.yaml"
NOTIFICATIONS_FILE = "notifications.yaml"
DUTY_FILE = "duty.yaml"
# Where each kind of code a section may name is defined (townops.towns.sections.Reference).
_REFERENCE_FILES = {
    "category": CATEGORIES_FILE,
    "department": DEPARTMENTS_FILE,
    "jurisdiction": JURISDICTIONS_FILE,
}
# A town without them is still complete; when present they are checked like the others.
OPTIONAL_FILES = (
    GAZETTEER_FILE,
    DISPATCH_FILE,
    SENSING_FILE,
    SIGNS_FILE,
    ASSESSMENT_FILE,
    RISK_FILE,
    NOTIFICATIONS_FILE,
    DUTY_FILE,
)

_AREA_TYPES = frozenset({"Polygon", "MultiPolygon"})

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class ConfigIssue:
    """One problem in a town directory. ``line`` is 1-based, ``None`` when it has no line."""

    file: str
    line: int | None
    message: str
    severity: Severity = "error"

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        prefix = "warning: " if self.severity == "warning" else ""
        return f"{where}: {prefix}{self.message}"


class TownConfigError(Exception):
    """A town directory that cannot be loaded; ``errors`` lists every problem found."""

    def __init__(self, errors: Sequence[ConfigIssue]) -> None:
        self.errors: list[ConfigIssue] = list(errors)
        lines = "\n".join(f"  {issue}" for issue in self.errors)
        super().__init__(f"invalid town configuration ({len(self.errors)} problems):\n{lines}")


def default_town_dir() -> Path:
    """The directory of the built-in town, Gaohang (高行镇)."""
    return Path(str(files("townops.townfiles") / "gaohang"))


def validate_town(path: Path) -> list[ConfigIssue]:
    """Every problem found in the town directory (errors and warnings); empty if it is clean."""
    issues, _ = _check(Path(path))
    return issues


def load_town(path: Path) -> Town:
    """Load a town directory; raise ``TownConfigError`` if it has any error."""
    issues, town = _check(Path(path))
    errors = [issue for issue in issues if issue.is_error]
    if errors or town is None:
        raise TownConfigError(errors)
    return town


# --- locating things in files ------------------------------------------------------------


def _yaml_line(node: yaml.Node | None, loc: Sequence[int | str]) -> int | None:
    """The 1-based line of the YAML item that ``loc`` (a pydantic error location) points at.

    Walks down as far as the location exists; a key that is missing (``Field required``)
    resolves to the mapping that lacks it, a key that is present resolves to the line of the
    key itself (so ``deadline:`` is reported even when its value starts on the next line).
    """
    if node is None:
        return None
    line = node.start_mark.line + 1
    current: yaml.Node = node
    for part in loc:
        if isinstance(current, yaml.MappingNode):
            for key_node, value_node in current.value:
                if isinstance(key_node, yaml.ScalarNode) and key_node.value == str(part):
                    line = key_node.start_mark.line + 1
                    current = value_node
                    break
            else:
                break
        elif isinstance(current, yaml.SequenceNode) and isinstance(part, int):
            if not 0 <= part < len(current.value):
                break
            current = current.value[part]
            line = current.start_mark.line + 1
        else:
            break
    return line


def _yaml_line_under(
    node: yaml.Node | None, prefix: int | str, loc: Sequence[int | str]
) -> int | None:
    return _yaml_line(node, (prefix, *loc))


def _fixed_line(line: int | None, _loc: Sequence[int | str]) -> int | None:
    return line


def _duplicate_keys(node: yaml.Node) -> Iterator[tuple[str, int]]:
    """Keys repeated inside one mapping (PyYAML silently keeps the last one)."""
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode):
                if key_node.value in seen:
                    yield key_node.value, key_node.start_mark.line + 1
                seen.add(key_node.value)
            yield from _duplicate_keys(value_node)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            yield from _duplicate_keys(item)


def _skip_ws(text: str, i: int) -> int:
    while i < len(text) and text[i] in " \t\r\n":
        i += 1
    return i


def _feature_offsets(text: str) -> list[int]:
    """Character offsets of the features of a FeatureCollection, in order.

    Scans the top-level object with ``JSONDecoder.raw_decode`` so every offset is exact
    whatever the formatting. Returns ``[]`` if the text is not shaped as expected.
    """
    decoder = json.JSONDecoder()
    offsets: list[int] = []
    try:
        i = _skip_ws(text, 0)
        if text[i] != "{":
            return []
        i += 1
        while True:
            i = _skip_ws(text, i)
            if text[i] == "}":
                return offsets
            key, i = decoder.raw_decode(text, i)
            i = _skip_ws(text, i)
            if text[i] != ":":
                return []
            i = _skip_ws(text, i + 1)
            if key == "features" and text[i] == "[":
                offsets = []
                i += 1
                while True:
                    i = _skip_ws(text, i)
                    if text[i] == "]":
                        i += 1
                        break
                    offsets.append(i)
                    _, i = decoder.raw_decode(text, i)
                    i = _skip_ws(text, i)
                    if text[i] == ",":
                        i += 1
            else:
                _, i = decoder.raw_decode(text, i)
            i = _skip_ws(text, i)
            if text[i] == ",":
                i += 1
    except (IndexError, ValueError):
        return []


def _line_of_offset(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


# --- gazetteer.yaml ----------------------------------------------------------------------


@dataclass
class _GazetteerDraft:
    """The valid parts of ``gazetteer.yaml``, each item with its index, before cross-checks."""

    settings: GazetteerFile
    places: dict[str, list[tuple[int, GazetteerPlace]]]  # "estates" / "landmarks" → items
    roads: list[tuple[int, Road]]
    line: Callable[[Sequence[int | str]], int | None]


_PLACE_SECTIONS = {"estates": "estate", "landmarks": "landmark"}


def _segment_text(road: Road, index: int) -> str:
    segment = road.segments[index]
    return f"segment {index + 1} ({segment.number_from}-{segment.number_to} {segment.parity})"


# --- reporting pydantic errors -----------------------------------------------------------


def _loc_text(loc: Sequence[int | str]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _error_message(error: Any) -> str:
    message = str(error["msg"])
    for prefix in ("Value error, ", "Assertion failed, "):
        if message.startswith(prefix):
            message = message[len(prefix) :]
    return message


def _item_label(kind: str, raw: object, index: int, key: str) -> str:
    if isinstance(raw, dict) and isinstance(raw.get(key), str):
        return f"{kind} {raw[key]!r}"
    return f"{kind} #{index + 1}"


M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")


@dataclass
class _Items(Generic[T]):
    """Valid items of a list file, each with its index and source line."""

    entries: list[tuple[int, T]]
    raw: list[Any]
    line: Callable[[int, Sequence[int | str]], int | None]


class _Checker:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.issues: list[ConfigIssue] = []

    # -- recording

    def error(self, file: str, line: int | None, message: str) -> None:
        self.issues.append(ConfigIssue(file, line, message))

    def warning(self, file: str, line: int | None, message: str) -> None:
        self.issues.append(ConfigIssue(file, line, message, "warning"))

    def pydantic_errors(
        self,
        file: str,
        exc: ValidationError,
        label: str,
        locate: Callable[[Sequence[int | str]], int | None],
    ) -> None:
        for error in exc.errors():
            loc: tuple[int | str, ...] = tuple(error["loc"])
            where = _loc_text(loc)
            message = _error_message(error)
            text = f"{label}: {where}: {message}" if where else f"{label}: {message}"
            self.error(file, locate(loc), text)

    # -- reading

    def read_text(self, name: str) -> str | None:
        path = self.directory / name
        if not path.is_file():
            self.error(name, None, f"missing file (expected {path})")
            return None
        try:
            return path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            self.error(name, None, f"cannot read file: {exc}")
            return None

    def read_yaml(self, name: str) -> tuple[Any, yaml.Node | None] | None:
        text = self.read_text(name)
        if text is None:
            return None
        try:
            node = yaml.compose(text, Loader=yaml.SafeLoader)
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = mark.line + 1 if mark is not None else None
            problem = getattr(exc, "problem", None) or str(exc)
            self.error(name, line, f"invalid YAML: {problem}")
            return None
        if node is not None:
            for key, line in _duplicate_keys(node):
                self.error(name, line, f"duplicate key {key!r}")
        return data, node

    def read_list(self, name: str, model: type[M], kind: str, key: str) -> _Items[M] | None:
        loaded = self.read_yaml(name)
        if loaded is None:
            return None
        data, node = loaded

        def line(index: int, loc: Sequence[int | str]) -> int | None:
            return _yaml_line(node, (index, *loc))

        if data is None:
            data = []
        if not isinstance(data, list):
            self.error(name, _yaml_line(node, ()), f"expected a list of {kind}s")
            return None
        entries: list[tuple[int, M]] = []
        for index, raw in enumerate(data):
            try:
                entries.append((index, model.model_validate(raw)))
            except ValidationError as exc:
                label = _item_label(kind, raw, index, key)
                self.pydantic_errors(name, exc, label, functools.partial(line, index))
        return _Items(entries, data, line)

    # -- the files

    def town_info(self) -> TownInfo | None:
        loaded = self.read_yaml(TOWN_FILE)
        if loaded is None:
            return None
        data, node = loaded
        try:
            info = TownInfo.model_validate(data)
        except ValidationError as exc:
            self.pydantic_errors(TOWN_FILE, exc, "town", lambda loc: _yaml_line(node, loc))
            return None
        try:
            zoneinfo.ZoneInfo(info.timezone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            if zoneinfo.available_timezones():  # no tz database at all: nothing to check
                self.error(
                    TOWN_FILE,
                    _yaml_line(node, ("timezone",)),
                    f"unknown timezone {info.timezone!r}",
                )
        return info

    def jurisdictions(self) -> tuple[list[tuple[int, Jurisdiction]], list[int | None]] | None:
        name = JURISDICTIONS_FILE
        text = self.read_text(name)
        if text is None:
            return None
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            self.error(name, exc.lineno, f"invalid JSON: {exc.msg}")
            return None
        if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
            self.error(name, 1, "expected a GeoJSON FeatureCollection")
            return None
        features = data.get("features")
        if not isinstance(features, list):
            self.error(name, 1, "a FeatureCollection needs a 'features' list")
            return None
        offsets = _feature_offsets(text)
        lines: list[int | None] = (
            [_line_of_offset(text, offset) for offset in offsets]
            if len(offsets) == len(features)
            else [None] * len(features)
        )
        entries: list[tuple[int, Jurisdiction]] = []
        for index, raw in enumerate(features):
            try:
                feature = JurisdictionFeature.model_validate(raw)
            except ValidationError as exc:
                props = raw.get("properties") if isinstance(raw, dict) else None
                label = _item_label("feature", props, index, "code")
                locate = functools.partial(_fixed_line, lines[index])
                self.pydantic_errors(name, exc, label, locate)
                continue
            entries.append((index, Jurisdiction.from_feature(feature)))
        return entries, lines

    def roles(self) -> dict[Role, RoleSpec] | None:
        loaded = self.read_yaml(ROLES_FILE)
        if loaded is None:
            return None
        data, node = loaded
        if not isinstance(data, dict):
            self.error(ROLES_FILE, _yaml_line(node, ()), "expected a mapping of role -> spec")
            return None
        roles: dict[Role, RoleSpec] = {}
        for key, raw in data.items():
            if key not in ROLES:
                self.error(
                    ROLES_FILE,
                    _yaml_line(node, (str(key),)),
                    f"unknown role {key!r} (allowed: {', '.join(ROLES)})",
                )
                continue
            role: Role = key
            try:
                roles[role] = RoleSpec.model_validate(raw)
            except ValidationError as exc:
                self.pydantic_errors(
                    ROLES_FILE,
                    exc,
                    f"role {key!r}",
                    functools.partial(_yaml_line_under, node, key),
                )
        missing = [role for role in ROLES if role not in data]
        if missing:
            self.error(ROLES_FILE, _yaml_line(node, ()), f"missing roles: {', '.join(missing)}")
        return roles

    def gazetteer(self) -> _GazetteerDraft | None:
        if not (self.directory / GAZETTEER_FILE).is_file():
            return None
        loaded = self.read_yaml(GAZETTEER_FILE)
        if loaded is None:
            return None
        data, node = loaded

        def line(loc: Sequence[int | str]) -> int | None:
            return _yaml_line(node, loc)

        if data is None:
            data = {}
        if not isinstance(data, dict):
            self.error(
                GAZETTEER_FILE, line(()), "expected a mapping of min_confidence, estates, roads…"
            )
            return None
        try:
            settings = GazetteerFile.model_validate(data)
        except ValidationError as exc:
            self.pydantic_errors(GAZETTEER_FILE, exc, "gazetteer", line)
            return None
        places = {
            section: self.gazetteer_items(section, settings, GazetteerPlace, line)
            for section in _PLACE_SECTIONS
        }
        roads = self.gazetteer_items("roads", settings, Road, line)
        return _GazetteerDraft(settings, places, roads, line)

    def gazetteer_items(
        self,
        section: str,
        settings: GazetteerFile,
        model: type[M],
        line: Callable[[Sequence[int | str]], int | None],
    ) -> list[tuple[int, M]]:
        kind = _PLACE_SECTIONS.get(section, "road")
        entries: list[tuple[int, M]] = []
        for index, raw in enumerate(getattr(settings, section)):
            try:
                entries.append((index, model.model_validate(raw)))
            except ValidationError as exc:

                def locate(loc: Sequence[int | str], index: int = index) -> int | None:
                    return line((section, index, *loc))

                self.pydantic_errors(
                    GAZETTEER_FILE, exc, _item_label(kind, raw, index, "name"), locate
                )
        return entries

    def optional(self, file: str, model: type[M], label: str) -> tuple[M, yaml.Node | None] | None:
        """An optional settings file validated against its schema; None if absent or bad."""
        if not (self.directory / file).is_file():
            return None
        loaded = self.read_yaml(file)
        if loaded is None:
            return None
        data, node = loaded
        try:
            return model.model_validate(data or {}), node
        except ValidationError as exc:
            self.pydantic_errors(file, exc, label, lambda loc: _yaml_line(node, loc))
            return None

    def check_duty_users(
        self, config: DutyConfig, node: yaml.Node | None, users: Mapping[str, User]
    ) -> None:
        """Everyone the duty roster names is a member of staff in ``users.yaml``."""
        for loc, username in config.usernames():
            user = users.get(username)
            if user is None:
                problem = f"does not exist in {USERS_FILE}"
            elif user.role == "resident":
                problem = "is a resident, not a member of staff"
            else:
                continue
            self.error(
                DUTY_FILE, _yaml_line(node, loc), f"duty roster: user {username!r} {problem}"
            )

    def dispatch(self) -> tuple[DispatchConfig, yaml.Node | None] | None:
        return self.optional(DISPATCH_FILE, DispatchConfig, "dispatch")

    def sensing(self) -> tuple[SensingConfig, yaml.Node | None] | None:
        return self.optional(SENSING_FILE, SensingConfig, "sensing")

    def check_references(
        self,
        file: str,
        node: yaml.Node | None,
        references: Sequence[Reference],
        known: Mapping[str, Collection[str] | None],
        *,
        at: tuple[int | str, ...] = (),
    ) -> None:
        """Report each code a section names (its own ``references()``) that the town's
        reference data lacks, at its line. ``known[kind]`` None: that file is broken and
        was reported already. ``at``: where the section sits in ``file``."""
        for ref in references:
            codes = known.get(ref.kind)
            if codes is None or ref.code in codes:
                continue
            owner = f"{ref.owner}: " if ref.owner else ""
            self.error(
                file,
                _yaml_line(node, at + ref.loc),
                f"{owner}{ref.kind} {ref.code!r} does not exist in {_REFERENCE_FILES[ref.kind]}",
            )

    # -- cross-file checks

    def unique(self, file: str, kind: str, items: _Items[Any], key: str) -> None:
        """Report repeated keys, also among items that failed validation for another reason."""
        first: dict[str, int | None] = {}
        for index, item in enumerate(items.raw):
            value = item.get(key) if isinstance(item, dict) else None
            if not isinstance(value, str):
                continue
            line = items.line(index, (key,))
            if value in first:
                self.error(
                    file,
                    line,
                    f"duplicate {kind} {key} {value!r} (first defined on line {first[value]})",
                )
            else:
                first[value] = line

    def check_tree(
        self,
        info: TownInfo | None,
        entries: list[tuple[int, Jurisdiction]],
        lines: list[int | None],
    ) -> dict[str, Jurisdiction]:
        name = JURISDICTIONS_FILE
        by_code: dict[str, Jurisdiction] = {}
        first_line: dict[str, int | None] = {}
        for index, j in entries:
            if j.code in by_code:
                self.error(
                    name,
                    lines[index],
                    f"duplicate jurisdiction code {j.code!r} "
                    f"(first defined on line {first_line[j.code]})",
                )
                continue
            by_code[j.code] = j
            first_line[j.code] = lines[index]

        if info is None:
            return by_code
        levels = info.levels
        roots: list[tuple[int, Jurisdiction]] = []
        shapes: dict[str, Any] = {}
        for index, j in entries:
            line = lines[index]
            label = f"jurisdiction {j.code!r}"
            if j.level not in levels:
                self.error(
                    name,
                    line,
                    f"{label}: unknown level {j.level!r} (town levels: {', '.join(levels)})",
                )
            if j.parent is None:
                roots.append((index, j))
            elif j.parent not in by_code:
                self.error(name, line, f"{label}: parent {j.parent!r} does not exist")
            elif j.level in levels:
                depth = levels.index(j.level)
                parent_level = by_code[j.parent].level
                if depth == 0:
                    self.error(
                        name, line, f"{label}: a {j.level} is the top level and has no parent"
                    )
                elif parent_level != levels[depth - 1]:
                    self.error(
                        name,
                        line,
                        f"{label}: parent {j.parent!r} is a {parent_level}, "
                        f"but the parent of a {j.level} must be a {levels[depth - 1]}",
                    )

            if j.geometry.type not in _AREA_TYPES and j.level != levels[-1]:
                self.error(
                    name,
                    line,
                    f"{label}: a {j.level} needs a Polygon or MultiPolygon, "
                    f"not a {j.geometry.type}",
                )
            try:
                geometry = shape(j.geojson_geometry)
            except Exception as exc:  # shapely raises several types on bad coordinates
                self.error(name, line, f"{label}: invalid geometry: {exc}")
                continue
            if geometry.is_empty:
                self.error(name, line, f"{label}: empty geometry")
            elif not geometry.is_valid:
                self.error(name, line, f"{label}: invalid geometry: {explain_validity(geometry)}")
            elif by_code.get(j.code) is j:
                shapes[j.code] = geometry

        if not roots:
            self.error(name, None, "no root jurisdiction (a feature whose parent is null)")
        for index, j in roots[1:]:
            self.error(
                name,
                lines[index],
                f"jurisdiction {j.code!r}: a second root (parent null); "
                f"the root is {roots[0][1].code!r}",
            )
        if roots:
            index, root = roots[0]
            if root.level != levels[0]:
                self.error(
                    name,
                    lines[index],
                    f"root jurisdiction {root.code!r} must be a {levels[0]}, not a {root.level}",
                )
            if root.code != info.code:
                self.error(
                    name,
                    lines[index],
                    f"root jurisdiction {root.code!r} must have the town code {info.code!r}",
                )

        # A child is "roughly within" its parent when its centroid is: edges may be sloppy.
        for index, j in entries:
            if j.parent is None or j.code not in shapes or j.parent not in shapes:
                continue
            centroid = shapes[j.code].centroid
            if not shapes[j.parent].buffer(1e-7).covers(centroid):
                self.warning(
                    name,
                    lines[index],
                    f"jurisdiction {j.code!r}: centroid lies outside its parent {j.parent!r}",
                )
        return by_code

    def check_gazetteer(
        self, draft: _GazetteerDraft, jurisdictions: dict[str, Jurisdiction] | None
    ) -> None:
        """Places that exist below the town, roads whose segments do not overlap, and no
        name said for two different places."""
        # name or alias → the item that first said it: (section, index), label, line
        said: dict[str, tuple[tuple[str, int], str, int | None]] = {}

        def check_place(code: str, where: tuple[int | str, ...], label: str) -> None:
            if jurisdictions is None:
                return
            node = jurisdictions.get(code)
            if node is None:
                self.error(
                    GAZETTEER_FILE,
                    draft.line(where),
                    f"{label}: jurisdiction {code!r} does not exist in {JURISDICTIONS_FILE}",
                )
            elif node.parent is None:
                self.error(
                    GAZETTEER_FILE,
                    draft.line(where),
                    f"{label}: jurisdiction {code!r} is the whole town; "
                    "give the community or micro-grid",
                )

        def check_said(names: list[str], label: str, section: str, index: int) -> None:
            line = draft.line((section, index, "name"))
            for name in names:
                first = said.setdefault(name, ((section, index), label, line))
                if first[0] != (section, index):
                    self.error(
                        GAZETTEER_FILE,
                        line,
                        f"{label}: {name!r} already names {first[1]} (line {first[2]}); "
                        "one name must lead to one place",
                    )

        for section, kind in _PLACE_SECTIONS.items():
            for index, item in draft.places[section]:
                label = f"{kind} {item.name!r}"
                check_place(item.jurisdiction, (section, index, "jurisdiction"), label)
                check_said([item.name, *item.aliases], label, section, index)
                if jurisdictions is not None and item.jurisdiction in jurisdictions:
                    self.check_agrees_with_tree(
                        item, label, draft.line((section, index, "name")), jurisdictions
                    )
        for index, road in draft.roads:
            label = f"road {road.name!r}"
            check_said([road.name, *road.aliases], label, "roads", index)
            for number, segment in enumerate(road.segments):
                where: tuple[int | str, ...] = ("roads", index, "segments", number)
                check_place(
                    segment.jurisdiction,
                    (*where, "jurisdiction"),
                    f"{label} {_segment_text(road, number)}",
                )
                for earlier in range(number):
                    if segment.overlaps(road.segments[earlier]):
                        self.error(
                            GAZETTEER_FILE,
                            draft.line(where),
                            f"{label}: {_segment_text(road, number)} overlaps "
                            f"{_segment_text(road, earlier)} "
                            f"(line {draft.line(('roads', index, 'segments', earlier))})",
                        )

    def check_agrees_with_tree(
        self,
        item: GazetteerPlace,
        label: str,
        line: int | None,
        jurisdictions: dict[str, Jurisdiction],
    ) -> None:
        """Warn when an estate is called like a jurisdiction it does not lie in or contain."""
        placed = _lineage(item.jurisdiction, jurisdictions)
        for name in (item.name, *item.aliases):
            for node in jurisdictions.values():
                if name != node.name_zh and name not in node.aliases:
                    continue
                if node.code not in placed and item.jurisdiction not in _lineage(
                    node.code, jurisdictions
                ):
                    self.warning(
                        GAZETTEER_FILE,
                        line,
                        f"{label}: {name!r} is also the name of jurisdiction {node.code!r}, "
                        f"which neither contains nor lies in {item.jurisdiction!r}",
                    )


def _lineage(code: str, jurisdictions: dict[str, Jurisdiction]) -> set[str]:
    """The code and the codes of all its ancestors."""
    lineage: set[str] = set()
    current: str | None = code
    while current is not None and current not in lineage and current in jurisdictions:
        lineage.add(current)
        current = jurisdictions[current].parent
    return lineage


def _check(directory: Path) -> tuple[list[ConfigIssue], Town | None]:
    checker = _Checker(directory)
    if not directory.is_dir():
        checker.error(str(directory), None, "not a directory")
        return checker.issues, None

    info = checker.town_info()
    tree = checker.jurisdictions()
    departments = checker.read_list(DEPARTMENTS_FILE, Department, "department", "code")
    categories = checker.read_list(CATEGORIES_FILE, Category, "category", "code")
    roles = checker.roles()
    users = checker.read_list(USERS_FILE, User, "user", "username")
    gazetteer = checker.gazetteer()
    dispatch = checker.dispatch()
    sensing = checker.sensing()
    signs = checker.optional(SIGNS_FILE, SignsConfig, "vital signs")
    assessment = checker.optional(ASSESSMENT_FILE, AssessmentConfig, "assessment")
    risk = checker.optional(RISK_FILE, RiskConfig, "risk map")
    notifications = checker.optional(NOTIFICATIONS_FILE, NotificationsConfig, "notifications")
    duty = checker.optional(DUTY_FILE, DutyConfig, "duty roster")

    jurisdictions: dict[str, Jurisdiction] = {}
    if tree is not None:
        jurisdictions = checker.check_tree(info, *tree)

    department_codes: set[str] = set()
    if departments is not None:
        checker.unique(DEPARTMENTS_FILE, "department", departments, "code")
        department_codes = {d.code for _, d in departments.entries}

    if categories is not None:
        checker.unique(CATEGORIES_FILE, "category", categories, "code")
        if departments is not None:
            for index, category in categories.entries:
                if category.department not in department_codes:
                    checker.error(
                        CATEGORIES_FILE,
                        categories.line(index, ("department",)),
                        f"category {category.code!r}: department {category.department!r} "
                        f"does not exist in {DEPARTMENTS_FILE}",
                    )

    known: dict[str, Collection[str] | None] = {
        "category": {c.code for _, c in categories.entries} if categories else None,
        "department": department_codes if departments is not None else None,
        "jurisdiction": jurisdictions if tree is not None else None,
    }

    if info is not None and categories is not None and info.open311.public.references():
        town_yaml = checker.read_yaml(TOWN_FILE)  # read cleanly once already: for the lines
        checker.check_references(
            TOWN_FILE,
            town_yaml[1] if town_yaml is not None else None,
            info.open311.public.references(),
            known,
            at=("open311", "public"),
        )

    if users is not None:
        checker.unique(USERS_FILE, "user", users, "username")
        for index, user in users.entries:
            label = f"user {user.username!r}"
            if (
                departments is not None
                and user.department is not None
                and user.department not in department_codes
            ):
                checker.error(
                    USERS_FILE,
                    users.line(index, ("department",)),
                    f"{label}: department {user.department!r} does not exist in {DEPARTMENTS_FILE}",
                )
            if tree is not None and user.scope is not None and user.scope not in jurisdictions:
                checker.error(
                    USERS_FILE,
                    users.line(index, ("scope",)),
                    f"{label}: scope {user.scope!r} does not exist in {JURISDICTIONS_FILE}",
                )

    if duty is not None and users is not None:
        checker.check_duty_users(*duty, {u.username: u for _, u in users.entries})

    if gazetteer is not None:
        checker.check_gazetteer(gazetteer, jurisdictions if tree is not None else None)

    if dispatch is not None:
        checker.check_references(DISPATCH_FILE, dispatch[1], dispatch[0].references(), known)

    if sensing is not None:
        checker.check_references(SENSING_FILE, sensing[1], sensing[0].references(), known)

    if signs is not None:
        for loc, message in check_signs_config(
            signs[0],
            categories={c.code for _, c in categories.entries} if categories else None,
            departments=department_codes if departments is not None else None,
            levels=info.levels if info is not None else None,
        ):
            checker.error(SIGNS_FILE, _yaml_line(signs[1], loc), message)

    all_files = FILES + OPTIONAL_FILES
    order = {name: position for position, name in enumerate(all_files)}
    checker.issues.sort(key=lambda i: (order.get(i.file, len(all_files)), i.file, i.line or 0))
    if any(issue.is_error for issue in checker.issues):
        return checker.issues, None
    assert info is not None and tree is not None and departments is not None
    assert categories is not None and roles is not None and users is not None
    town = Town(
        directory=directory.resolve(),
        info=info,
        jurisdictions=[j for _, j in tree[0]],
        departments=[d for _, d in departments.entries],
        categories=[c for _, c in categories.entries],
        roles={role: roles[role] for role in ROLES},
        users=[u for _, u in users.entries],
        gazetteer=_gazetteer_of(gazetteer),
        dispatch=dispatch[0] if dispatch is not None else DispatchConfig(),
        sensing=sensing[0] if sensing is not None else SensingConfig(),
        signs=signs[0] if signs is not None else None,
        assessment=assessment[0] if assessment is not None else None,
        risk=risk[0] if risk is not None else None,
        notifications=notifications[0] if notifications is not None else None,
        duty=duty[0] if duty is not None else None,
    )
    return checker.issues, town


def _gazetteer_of(draft: _GazetteerDraft | None) -> Gazetteer | None:
    if draft is None:
        return None
    return Gazetteer(
        min_confidence=draft.settings.min_confidence,
        estates=[item for _, item in draft.places["estates"]],
        landmarks=[item for _, item in draft.places["landmarks"]],
        roads=[road for _, road in draft.roads],
    )
