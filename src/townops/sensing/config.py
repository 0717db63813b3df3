"""Schema of a town's ``sensing.yaml``: device types, alarm rules, alarm → case routes.

Everything a town tunes about its sensing network (一网感知) is here, not in code: the
device types it runs and what each measures, how often each must be heard from, the alarm
rules (threshold, held threshold, rate of change, heartbeat lost; each with hysteresis),
which alarms open a case, and who gets it. The file is optional; without it devices can be
registered and readings stored, but no rule is evaluated.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from townops.towns.sections import Reference, town_section

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
Code = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$", max_length=40)]
Severity = Literal["info", "warning", "critical"]
RuleKind = Literal["threshold", "held", "rate", "offline"]

#: Severities in rising order; a route opens a case at or above ``cases.min_severity``.
SEVERITY_ORDER: dict[str, int] = {"info": 0, "warning": 1, "critical": 2}


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Quantity(_Model):
    """One measured value a device type reports, e.g. ``gas_lel`` in %LEL."""

    code: Code
    name_zh: Text
    name_en: Text
    unit: str = ""


class DeviceType(_Model):
    code: Code
    name_zh: Text
    name_en: Text
    quantities: list[Quantity] = Field(default_factory=list)
    # Silent for heartbeat_seconds × online.missed_heartbeats → offline.
    heartbeat_seconds: Annotated[int, Field(gt=0)] | None = None


class AlarmRule(_Model):
    """One alarm rule. Exactly one of ``above`` / ``below`` for value rules.

    * ``threshold``: the value crosses the line.
    * ``held``: the value stays across the line for ``for_seconds`` (reading timestamps).
    * ``rate``: the change per minute between consecutive readings crosses the line
      (``above`` for a rise, ``below`` for a fall, e.g. ``below: -0.5``).
    * ``offline``: no reading for ``missed_heartbeats`` heartbeats; raised by the sweep,
      cleared by the next reading.

    Hysteresis: an open alarm clears only once the value is back past ``clear_at``
    (default: the line itself), so a value hovering at the line does not flap.
    """

    id: Code
    name_zh: Text
    name_en: Text
    kind: RuleKind
    device_types: list[Code] = Field(min_length=1)
    quantity: Code | None = None
    above: float | None = None
    below: float | None = None
    clear_at: float | None = None
    for_seconds: Annotated[int, Field(gt=0)] | None = None
    severity: Severity = "warning"

    @model_validator(mode="after")
    def _consistent(self) -> AlarmRule:
        if self.kind == "offline":
            if self.quantity or self.above is not None or self.below is not None:
                raise ValueError("an 'offline' rule takes no quantity, above or below")
            return self
        if self.quantity is None:
            raise ValueError(f"a '{self.kind}' rule needs 'quantity'")
        if (self.above is None) == (self.below is None):
            raise ValueError("needs exactly one of 'above' or 'below'")
        if (self.kind == "held") != (self.for_seconds is not None):
            raise ValueError("'for_seconds' is required for 'held' rules and only for them")
        if self.clear_at is not None:
            if self.above is not None and self.clear_at > self.above:
                raise ValueError("'clear_at' must not be above 'above' (hysteresis)")
            if self.below is not None and self.clear_at < self.below:
                raise ValueError("'clear_at' must not be below 'below' (hysteresis)")
        return self

    @property
    def line(self) -> float:
        return self.above if self.above is not None else (self.below or 0.0)

    @property
    def clear_line(self) -> float:
        return self.clear_at if self.clear_at is not None else self.line


class CaseRoute(_Model):
    """Which alarms become which case, and who gets it. First matching route wins.

    ``household: true`` matches only devices in a home (with a household registered);
    ``false`` only devices that are not; omitted matches both. The target is exactly one
    of a department or the device's own community (``community: true``).
    """

    name: Code
    device_types: list[Code] = Field(default_factory=list)
    rules: list[Code] = Field(default_factory=list)
    household: bool | None = None
    category: Text
    department: Text | None = None
    community: bool = False
    note: str = ""

    @model_validator(mode="after")
    def _one_target(self) -> CaseRoute:
        if (self.department is None) == (not self.community):
            raise ValueError(
                "a route needs exactly one target: 'department: CODE' or 'community: true'"
            )
        return self


class CaseSettings(_Model):
    enabled: bool = True
    min_severity: Severity = "warning"
    routes: list[CaseRoute] = Field(default_factory=list)


class StormSettings(_Model):
    """Many alarms in one building within ``window_seconds`` become one case."""

    enabled: bool = True
    window_seconds: Annotated[int, Field(gt=0, le=3600)] = 60


class OnlineSettings(_Model):
    default_heartbeat_seconds: Annotated[int, Field(gt=0)] = 300
    missed_heartbeats: Annotated[int, Field(ge=1, le=100)] = 3


class TelemetrySettings(_Model):
    """Raw readings are kept ``raw_days``; older ones are rolled up into buckets."""

    raw_days: Annotated[int, Field(ge=1)] = 30
    rollup_seconds: Annotated[int, Field(ge=60)] = 3600


class IngestSettings(_Model):
    """What ingestion trusts of a device's own clock.

    A reading whose ``ts`` is more than ``max_future_skew_seconds`` ahead of the server's
    clock when it arrived is set aside (``future_timestamp``), never applied: one reading
    dated 2099 would otherwise become the device's latest and make every real one late.
    """

    max_future_skew_seconds: Annotated[int, Field(ge=0, le=86_400)] = 300


@town_section("sensing")
class SensingConfig(_Model):
    online: OnlineSettings = Field(default_factory=OnlineSettings)
    ingest: IngestSettings = Field(default_factory=IngestSettings)
    device_types: list[DeviceType] = Field(default_factory=list)
    rules: list[AlarmRule] = Field(default_factory=list)
    cases: CaseSettings = Field(default_factory=CaseSettings)
    storm: StormSettings = Field(default_factory=StormSettings)
    telemetry: TelemetrySettings = Field(default_factory=TelemetrySettings)

    @model_validator(mode="after")
    def _references(self) -> SensingConfig:
        types = {t.code for t in self.device_types}
        if len(types) != len(self.device_types):
            raise ValueError("device type codes must be unique")
        ids = [r.id for r in self.rules]
        if len(set(ids)) != len(ids):
            raise ValueError("rule ids must be unique")
        quantities = {t.code: {q.code for q in t.quantities} for t in self.device_types}
        for rule in self.rules:
            for code in rule.device_types:
                if code not in types:
                    raise ValueError(f"rule '{rule.id}': unknown device type '{code}'")
                if rule.quantity and rule.quantity not in quantities[code]:
                    raise ValueError(
                        f"rule '{rule.id}': device type '{code}' has no quantity '{rule.quantity}'"
                    )
        for route in self.cases.routes:
            for code in route.device_types:
                if code not in types:
                    raise ValueError(f"route '{route.name}': unknown device type '{code}'")
            for rule_id in route.rules:
                if rule_id not in ids:
                    raise ValueError(f"route '{route.name}': unknown rule '{rule_id}'")
        return self

    def references(self) -> list[Reference]:
        """The category and department each alarm → case route names: the town loader
        checks each exists."""
        refs = []
        for r, route in enumerate(self.cases.routes):
            owner = f"route {route.name!r}"
            refs.append(
                Reference(("cases", "routes", r, "category"), "category", route.category, owner)
            )
            if route.department is not None:
                refs.append(
                    Reference(
                        ("cases", "routes", r, "department"), "department", route.department, owner
                    )
                )
        return refs

    def device_type(self, code: str) -> DeviceType | None:
        return next((t for t in self.device_types if t.code == code), None)

    def heartbeat_seconds(self, type_code: str) -> int:
        t = self.device_type(type_code)
        if t is not None and t.heartbeat_seconds is not None:
            return t.heartbeat_seconds
        return self.online.default_heartbeat_seconds

    def rules_for(self, type_code: str) -> list[AlarmRule]:
        return [r for r in self.rules if type_code in r.device_types]
