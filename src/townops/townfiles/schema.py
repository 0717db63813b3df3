"""Schema of a town directory: the configuration that makes townops one particular town.

A town is data, not code. Its directory holds seven files and an optional eighth (see
``townfiles/gaohang/`` for the built-in example and ``loader.py`` for the checks that tie the
files together)::

    town.yaml                 # TownInfo
      code: "310115121"                    # official code of the root jurisdiction
      name_zh: 高行镇  name_en: Gaohang Town
      district_zh: 浦东新区  district_en: Pudong New Area
      timezone: Asia/Shanghai
      levels: [town, community, micro_grid, building]   # top to bottom
      open311: {jurisdiction_id, contact, key_service}    # Open311 discovery strings
        public: {sources: [str], categories: [code],      # OPTIONAL: the public-output
                 kinds: [kind], coordinate_decimals: N}   #   policy (townops.open311.config)
      defaults: {first_contact_working_days: 1, reopen_working_days: 3,
                 whistle_report_in_hours: 24, auto_close_on_satisfied: true}
      calendar: {extra_holidays: [YYYY-MM-DD], extra_workdays: [YYYY-MM-DD]}

    jurisdictions.geojson     # FeatureCollection; one Feature per Jurisdiction
      properties: {code, name_zh, name_en, level, parent: code | null,
                   aliases?: [str], official_code?: bool}
      geometry: Polygon | MultiPolygon (Point is also allowed on the lowest level)

    departments.yaml          # list of Department
      - {code, name_zh, name_en, kind: operations_centre | department | community_office}

    categories.yaml           # list of Category; ``code`` is also the Open311 service_code
      - {code, name_zh, name_en, department,
         deadline: {working_days: N} | {hours: N},
         urgency: low | normal | high | urgent,
         type: consultation | help | complaint | advice | complex | urgent,
         requires_approval: bool = false, keywords: [str],
         description_zh, description_en,
         attributes?: [{code, datatype: string | number | datetime | text |
                        singlevaluelist | multivaluelist, required: bool = false,
                        description_zh, description_en, pattern?: regex,
                        values?: [{key, name_zh, name_en}], variable: bool = true}]}

    roles.yaml                # mapping Role -> RoleSpec; all eight roles, no others
      duty_officer: {name_zh, name_en, actions: [Action], sees_full_phone: bool}

    users.yaml                # list of User (demo accounts)
      - {username, password, role, display_name, scope: code | null,
         department: code | null, phone?: str}

    gazetteer.yaml            # OPTIONAL: Gazetteer, the place names callers say (地名库)
    dispatch.yaml             # OPTIONAL: DispatchConfig (townops.dispatch.config): labels →
                              #   categories, thresholds, routing rules, repeats (自动指令)
      min_confidence: 0.75                 # below it a place is never used for dispatch
      estates:   - {name, aliases: [str], jurisdiction: code}   # 小区, in a micro-grid
      landmarks: - {name, aliases: [str], jurisdiction: code}   # schools, markets, stations
      roads:     - {name, aliases: [str],
                    segments: [{from: N, to: N, parity: odd | even | all,
                                jurisdiction: code}]}           # house-number ranges
      (community names and aliases come from jurisdictions.geojson, not from here)

    README.md                 # provenance of the data (free text, not parsed)

Every model forbids unknown keys, so a typo in a key is an error, not a silent default.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    StrictBool,
    StringConstraints,
    field_validator,
    model_validator,
)

from townops.assessment.config import AssessmentConfig
from townops.categories.attributes import DATATYPES
from townops.categories.attributes import Datatype as AttributeDatatype
from townops.dispatch.config import DispatchConfig
from townops.duty.config import DutyConfig
from townops.gazetteer.config import DEFAULT_MIN_CONFIDENCE
from townops.notify.config import NotificationsConfig
from townops.open311.config import SERVICE_CODE_PATTERN, Open311Public
from townops.risk.config import RiskConfig
from townops.sensing.config import SensingConfig
from townops.signs.config import SignsConfig

__all__ = [
    "ACTIONS",
    "CATEGORY_TYPES",
    "DEPARTMENT_KINDS",
    "PARITIES",
    "ROLES",
    "SERVICE_CODE_PATTERN",
    "URGENCIES",
    "Action",
    "CalendarOverrides",
    "Category",
    "CategoryType",
    "Deadline",
    "Department",
    "DepartmentKind",
    "Gazetteer",
    "GazetteerFile",
    "GazetteerPlace",
    "Geometry",
    "Jurisdiction",
    "JurisdictionFeature",
    "JurisdictionProperties",
    "Open311Info",
    "Open311Public",
    "Parity",
    "Road",
    "RoadSegment",
    "Role",
    "RoleSpec",
    "Town",
    "TownDefaults",
    "TownInfo",
    "Urgency",
    "User",
]

Role = Literal[
    "admin",
    "leader",
    "duty_officer",
    "dispatcher",
    "handler",
    "community_staff",
    "grid_worker",
    "resident",
]
Action = Literal[
    "create",
    "dispatch",
    "link",
    "accept",
    "first_contact",
    "resolve",
    "callback",
    "close",
    "return",
    "request_extension",
    "approve_extension",
    "deny_extension",
    "supervise",
    "reopen",
    "whistle",
    "report_in",
    "comment",
    "acknowledge",
]
DepartmentKind = Literal["operations_centre", "department", "community_office"]
Urgency = Literal["low", "normal", "high", "urgent"]
CategoryType = Literal["consultation", "help", "complaint", "advice", "complex", "urgent"]
Parity = Literal["odd", "even", "all"]

ROLES: tuple[Role, ...] = get_args(Role)
ACTIONS: tuple[Action, ...] = get_args(Action)
DEPARTMENT_KINDS: tuple[DepartmentKind, ...] = get_args(DepartmentKind)
URGENCIES: tuple[Urgency, ...] = get_args(Urgency)
CATEGORY_TYPES: tuple[CategoryType, ...] = get_args(CategoryType)
PARITIES: tuple[Parity, ...] = get_args(Parity)

_CODE_PATTERN = r"^[A-Za-z0-9_.-]+$"
_IDENTIFIER_PATTERN = r"^[a-z][a-z0-9_]*$"


def _one_of(kind: str, allowed: tuple[str, ...]) -> BeforeValidator:
    """A before-validator that names the bad value and lists the allowed ones."""

    def check(value: object) -> object:
        if isinstance(value, str) and value not in allowed:
            raise ValueError(f"unknown {kind} {value!r} (allowed: {', '.join(allowed)})")
        return value

    return BeforeValidator(check)


Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
Code = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=_CODE_PATTERN)]
Identifier = Annotated[str, StringConstraints(max_length=64, pattern=_IDENTIFIER_PATTERN)]
ServiceCode = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=SERVICE_CODE_PATTERN)
]
PositiveInt = Annotated[int, Field(strict=True, gt=0)]
RoleName = Annotated[Role, _one_of("role", ROLES)]
ActionName = Annotated[Action, _one_of("action", ACTIONS)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


# --- town.yaml ---------------------------------------------------------------------------


class Open311Info(_Model):
    """Strings published by the Open311 GeoReport v2 discovery endpoint, and the policy for
    what its anonymous reads publish."""

    jurisdiction_id: Text
    contact: Text
    key_service: Text
    public: Open311Public = Field(default_factory=Open311Public)


class TownDefaults(_Model):
    """Town-wide case-handling defaults (categories carry their own deadlines)."""

    first_contact_working_days: PositiveInt = 1
    """先行联系: the handler must contact the requester within this many working days."""
    reopen_working_days: PositiveInt = 3
    """重办: deadline of a case reopened after a dissatisfied callback."""
    whistle_report_in_hours: PositiveInt = 24
    """吹哨报到: each summoned department must report in within this many hours."""
    auto_close_on_satisfied: StrictBool = True


class CalendarOverrides(_Model):
    """Days added on top of the official calendar data (chinese-calendar)."""

    extra_holidays: list[date] = Field(default_factory=list)
    extra_workdays: list[date] = Field(default_factory=list)

    @model_validator(mode="after")
    def _no_day_is_both(self) -> CalendarOverrides:
        both = sorted(set(self.extra_holidays) & set(self.extra_workdays))
        if both:
            days = ", ".join(d.isoformat() for d in both)
            raise ValueError(f"days listed as both holiday and workday: {days}")
        return self


class TownInfo(_Model):
    """``town.yaml``."""

    code: Code
    name_zh: Text
    name_en: Text
    district_zh: Text
    district_en: Text
    timezone: Text = "Asia/Shanghai"
    levels: Annotated[list[Identifier], Field(min_length=1)]
    open311: Open311Info
    defaults: TownDefaults = Field(default_factory=TownDefaults)
    calendar: CalendarOverrides = Field(default_factory=CalendarOverrides)

    @field_validator("levels")
    @classmethod
    def _levels_are_unique(cls, levels: list[str]) -> list[str]:
        repeated = sorted({level for level in levels if levels.count(level) > 1})
        if repeated:
            raise ValueError(f"levels must be unique, repeated: {', '.join(repeated)}")
        return levels


# --- jurisdictions.geojson ---------------------------------------------------------------


class Geometry(_Model):
    """A GeoJSON geometry (lon/lat degrees). Validity is checked by the loader with shapely."""

    type: Literal["Point", "Polygon", "MultiPolygon"]
    coordinates: list[Any]
    bbox: list[float] | None = None


class JurisdictionProperties(_Model):
    """``properties`` of one feature of ``jurisdictions.geojson``."""

    code: Code
    name_zh: Text
    name_en: Text
    level: Identifier
    parent: Code | None
    aliases: list[Text] = Field(default_factory=list)
    official_code: StrictBool = False


class JurisdictionFeature(_Model):
    """One GeoJSON Feature of ``jurisdictions.geojson``."""

    type: Literal["Feature"]
    properties: JurisdictionProperties
    geometry: Geometry
    id: str | int | None = None
    bbox: list[float] | None = None


class Jurisdiction(_Model):
    """A node of the jurisdiction tree (辖区): the feature's properties plus its geometry."""

    code: str
    name_zh: str
    name_en: str
    level: str
    parent: str | None
    aliases: list[str] = Field(default_factory=list)
    official_code: bool = False
    geometry: Geometry

    @classmethod
    def from_feature(cls, feature: JurisdictionFeature) -> Jurisdiction:
        return cls(**feature.properties.model_dump(), geometry=feature.geometry)

    @property
    def geojson_geometry(self) -> dict[str, Any]:
        """The geometry as a plain GeoJSON mapping (for shapely ``shape()`` or an API)."""
        return self.geometry.model_dump(exclude_none=True)


# --- departments.yaml --------------------------------------------------------------------


class Department(_Model):
    """A unit that handles cases (职能部门), the operations centre or a community office."""

    code: Identifier
    name_zh: Text
    name_en: Text
    kind: Annotated[DepartmentKind, _one_of("department kind", DEPARTMENT_KINDS)]


# --- categories.yaml ---------------------------------------------------------------------


class Deadline(_Model):
    """Exactly one of ``working_days`` (calendar-aware), ``hours`` or ``minutes`` (round the
    clock; minutes are for device alarms)."""

    working_days: PositiveInt | None = None
    hours: PositiveInt | None = None
    minutes: PositiveInt | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Deadline:
        given = [v for v in (self.working_days, self.hours, self.minutes) if v is not None]
        if len(given) != 1:
            raise ValueError("needs exactly one of working_days, hours or minutes")
        return self


class AttributeChoice(_Model):
    """One choice of a list attribute."""

    key: Code
    name_zh: Text
    name_en: Text


class CategoryAttribute(_Model):
    """One attribute of a category (:mod:`townops.categories.attributes`)."""

    code: Identifier
    datatype: Annotated[AttributeDatatype, _one_of("attribute datatype", DATATYPES)]
    required: StrictBool = False
    variable: StrictBool = True
    description_zh: Text
    description_en: Text
    pattern: str | None = None
    values: list[AttributeChoice] = Field(default_factory=list)

    @model_validator(mode="after")
    def _lists_have_choices(self) -> CategoryAttribute:
        listed = self.datatype in ("singlevaluelist", "multivaluelist")
        if listed and not self.values:
            raise ValueError(f"a {self.datatype} needs its values: [{{key, name_zh, name_en}}]")
        if not listed and self.values:
            raise ValueError(f"values are only for list attributes, not a {self.datatype}")
        if self.pattern is not None:
            try:
                re.compile(self.pattern)
            except re.error as exc:
                raise ValueError(f"pattern is not a regular expression: {exc}") from None
        return self


class Category(_Model):
    """A case category; ``code`` doubles as the Open311 ``service_code``."""

    code: ServiceCode
    name_zh: Text
    name_en: Text
    department: Identifier
    deadline: Deadline
    urgency: Annotated[Urgency, _one_of("urgency", URGENCIES)]
    type: Annotated[CategoryType, _one_of("category type", CATEGORY_TYPES)]
    requires_approval: StrictBool = False
    opened_by: Literal["people", "townops"] = "people"
    """``townops``: only townops opens such cases (device alarms, vital-sign warnings)."""
    keywords: list[Text] = Field(default_factory=list)
    description_zh: Text
    description_en: Text
    attributes: list[CategoryAttribute] = Field(default_factory=list)
    """Extra facts a case of this category needs (Open311's service definition)."""

    @field_validator("attributes")
    @classmethod
    def _attribute_codes_are_unique(
        cls, values: list[CategoryAttribute]
    ) -> list[CategoryAttribute]:
        codes = [a.code for a in values]
        repeated = sorted({c for c in codes if codes.count(c) > 1})
        if repeated:
            raise ValueError(f"attribute codes listed twice: {', '.join(repeated)}")
        return values


# --- roles.yaml --------------------------------------------------------------------------


class RoleSpec(_Model):
    """What one role may do with cases."""

    name_zh: Text
    name_en: Text
    actions: list[ActionName]
    sees_full_phone: StrictBool = False

    @field_validator("actions")
    @classmethod
    def _actions_are_unique(cls, actions: list[Action]) -> list[Action]:
        repeated = sorted({a for a in actions if actions.count(a) > 1})
        if repeated:
            raise ValueError(f"actions listed twice: {', '.join(repeated)}")
        return actions


# --- users.yaml --------------------------------------------------------------------------

_SCOPED_ROLES: frozenset[str] = frozenset({"community_staff", "grid_worker"})


class User(_Model):
    """A demo account."""

    username: Annotated[
        str, StringConstraints(min_length=1, max_length=64, pattern=r"^[a-z0-9_.-]+$")
    ]
    password: Annotated[str, StringConstraints(min_length=1)]
    role: RoleName
    display_name: Text
    scope: Code | None = None
    department: Identifier | None = None
    phone: Annotated[str, StringConstraints(pattern=r"^\+?[0-9][0-9 -]{4,19}$")] | None = None
    email: Annotated[str, StringConstraints(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")] | None = None

    @model_validator(mode="after")
    def _role_needs(self) -> User:
        if self.role == "handler" and self.department is None:
            raise ValueError("a handler needs a department")
        if self.role in _SCOPED_ROLES and self.scope is None:
            raise ValueError(f"a {self.role} needs a scope (a jurisdiction code)")
        return self


# --- gazetteer.yaml (optional) -----------------------------------------------------------


class GazetteerPlace(_Model):
    """An estate (小区) or a landmark: its name, the ways people say it, and where it is."""

    name: Text
    aliases: list[Text] = Field(default_factory=list)
    jurisdiction: Code
    """The micro-grid (or community) it lies in."""


class RoadSegment(_Model):
    """House numbers ``from``..``to`` of one side (or both) of a road, in one jurisdiction."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, populate_by_name=True)

    number_from: PositiveInt = Field(alias="from")
    number_to: PositiveInt = Field(alias="to")
    parity: Annotated[Parity, _one_of("parity", PARITIES)] = "all"
    jurisdiction: Code

    @model_validator(mode="after")
    def _from_is_not_after_to(self) -> RoadSegment:
        if self.number_from > self.number_to:
            raise ValueError(f"from {self.number_from} is after to {self.number_to}")
        return self

    def holds(self, number: int) -> bool:
        """Whether house number ``number`` lies in this segment."""
        if not self.number_from <= number <= self.number_to:
            return False
        return self.parity == "all" or (number % 2 == 1) == (self.parity == "odd")

    def overlaps(self, other: RoadSegment) -> bool:
        """Whether some house number lies in both segments."""
        low = max(self.number_from, other.number_from)
        high = min(self.number_to, other.number_to)
        # Parity repeats every two numbers: the first two of the common range decide.
        first_two = range(low, min(high, low + 1) + 1)
        return any(self.holds(n) and other.holds(n) for n in first_two)


class Road(_Model):
    """A road (路) split into house-number segments, each in its own jurisdiction."""

    name: Text
    aliases: list[Text] = Field(default_factory=list)
    segments: Annotated[list[RoadSegment], Field(min_length=1)]


class GazetteerFile(_Model):
    """The top level of ``gazetteer.yaml``; its lists are checked item by item by the loader."""

    min_confidence: Annotated[float, Field(gt=0, le=1)] = DEFAULT_MIN_CONFIDENCE
    """A place found with less confidence than this is never used to dispatch a case."""
    estates: list[Any] = Field(default_factory=list)
    landmarks: list[Any] = Field(default_factory=list)
    roads: list[Any] = Field(default_factory=list)


class Gazetteer(_Model):
    """A loaded, cross-checked ``gazetteer.yaml``."""

    min_confidence: float = DEFAULT_MIN_CONFIDENCE
    estates: list[GazetteerPlace] = Field(default_factory=list)
    landmarks: list[GazetteerPlace] = Field(default_factory=list)
    roads: list[Road] = Field(default_factory=list)


# --- the whole town ----------------------------------------------------------------------


class Town(_Model):
    """A loaded, cross-checked town directory. Build it with ``loader.load_town``."""

    directory: Path
    info: TownInfo
    jurisdictions: list[Jurisdiction]
    departments: list[Department]
    categories: list[Category]
    roles: dict[Role, RoleSpec]
    users: list[User]
    gazetteer: Gazetteer | None = None
    """``None`` when the directory has no ``gazetteer.yaml``."""
    dispatch: DispatchConfig = Field(default_factory=DispatchConfig)
    sensing: SensingConfig = Field(default_factory=SensingConfig)
    """``sensing.yaml``: device types, alarm rules, alarm → case routes."""
    signs: SignsConfig | None = None
    """``vital_signs.yaml``: the vital-sign (体征) definitions."""
    assessment: AssessmentConfig | None = None
    """``assessment.yaml``: the monthly assessment's scoring."""
    risk: RiskConfig | None = None
    """``risk.yaml``: the risk map's factors and weights."""
    notifications: NotificationsConfig | None = None
    """``notifications.yaml``: who is told what, when, on which channel."""
    duty: DutyConfig | None = None
    """``duty.yaml``: the duty roster (值班表) and its on-duty chain."""
    """``dispatch.yaml``; without it nothing is dispatched automatically."""

    _by_code: dict[str, Jurisdiction] = PrivateAttr(default_factory=dict)
    _children: dict[str, list[Jurisdiction]] = PrivateAttr(default_factory=dict)

    def model_post_init(self, context: Any, /) -> None:
        self._by_code = {j.code: j for j in self.jurisdictions}
        self._children = {}
        for j in self.jurisdictions:
            if j.parent is not None:
                self._children.setdefault(j.parent, []).append(j)

    @property
    def code(self) -> str:
        return self.info.code

    @property
    def levels(self) -> list[str]:
        return self.info.levels

    @property
    def root(self) -> Jurisdiction:
        return self._by_code[self.info.code]

    def jurisdiction(self, code: str) -> Jurisdiction:
        """The jurisdiction with this code; ``KeyError`` if there is none."""
        return self._by_code[code]

    def children(self, code: str) -> list[Jurisdiction]:
        return list(self._children.get(code, []))

    def ancestors(self, code: str) -> list[Jurisdiction]:
        """Parent, grandparent, … up to the root (nearest first)."""
        result: list[Jurisdiction] = []
        parent = self._by_code[code].parent
        while parent is not None:
            node = self._by_code[parent]
            result.append(node)
            parent = node.parent
        return result

    def subtree_codes(self, code: str) -> set[str]:
        """The code itself and the codes of all its descendants."""
        result: set[str] = set()
        stack = [code]
        while stack:
            current = stack.pop()
            result.add(current)
            stack.extend(child.code for child in self._children.get(current, []))
        return result

    def at_level(self, level: str) -> list[Jurisdiction]:
        return [j for j in self.jurisdictions if j.level == level]

    def department(self, code: str) -> Department:
        for department in self.departments:
            if department.code == code:
                return department
        raise KeyError(code)

    def category(self, code: str) -> Category:
        for category in self.categories:
            if category.code == code:
                return category
        raise KeyError(code)

    def user(self, username: str) -> User:
        for user in self.users:
            if user.username == username:
                return user
        raise KeyError(username)

    def find_by_name(self, text: str) -> list[Jurisdiction]:
        """Jurisdictions whose Chinese name or one of whose aliases equals ``text``."""
        wanted = re.sub(r"\s+", "", text)
        return [j for j in self.jurisdictions if wanted == j.name_zh or wanted in j.aliases]
