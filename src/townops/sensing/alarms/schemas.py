"""API shapes of alarms."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from townops.access.contact import ContactView
from townops.sensing.config import SensingConfig
from townops.sensing.models import Alarm


class Household(BaseModel):
    """The household of an in-home device; masked for roles that may not see contacts."""

    name: str
    phone: str
    masked: bool

    @classmethod
    def of(cls, name: str, phone: str, *, contact: ContactView) -> Household:
        return cls(name=contact.name(name), phone=contact.phone(phone), masked=not contact.full)


class AlarmOut(BaseModel):
    id: int
    device_id: str
    rule: str
    rule_name_zh: str | None = None
    rule_name_en: str | None = None
    kind: str
    severity: str
    state: str
    open: bool
    quantity: str | None
    value: float | None
    line: float | None
    message: str
    reading_seq: int | None
    device_type: str
    device_model: str
    jurisdiction: str | None
    community: str | None
    building: str
    address: str
    raised_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    cleared_at: datetime | None
    closed_at: datetime | None
    closed_by: str | None
    note: str
    case_id: int | None
    household: Household | None = None
    may_act: bool = Field(
        default=False,
        description="whether the caller may acknowledge, verify or mark this alarm false "
        "(the unit in charge and the operations centre); the pages offer the buttons by it",
    )

    @classmethod
    def of(
        cls,
        alarm: Alarm,
        *,
        config: SensingConfig,
        address: str,
        building: str,
        household: Household | None,
        may_act: bool = False,
    ) -> AlarmOut:
        rule = next((r for r in config.rules if r.id == alarm.rule_id), None)
        return cls(
            id=alarm.id,
            device_id=alarm.device_id,
            rule=alarm.rule_id,
            rule_name_zh=rule.name_zh if rule else None,
            rule_name_en=rule.name_en if rule else None,
            kind=alarm.kind,
            severity=alarm.severity,
            state=alarm.state,
            open=alarm.open_key is not None,
            quantity=alarm.quantity,
            value=alarm.value,
            line=alarm.line,
            message=alarm.message,
            reading_seq=alarm.reading_seq,
            device_type=alarm.device_type,
            device_model=alarm.device_model,
            jurisdiction=alarm.jurisdiction_code,
            community=alarm.community_code,
            building=building,
            address=address,
            raised_at=alarm.raised_at,
            acknowledged_at=alarm.acknowledged_at,
            acknowledged_by=alarm.acknowledged_by,
            cleared_at=alarm.cleared_at,
            closed_at=alarm.closed_at,
            closed_by=alarm.closed_by,
            note=alarm.note,
            case_id=alarm.case_id,
            household=household,
            may_act=may_act,
        )


class AlarmPage(BaseModel):
    items: list[AlarmOut]
    total: int
    limit: int
    offset: int


class FalseAlarmIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)] = (
        Field(description="What was found on site (现场核实情况)")
    )


class VerifyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)] = (
        Field(description="What was found on site, e.g. 厨房燃气泄漏，已关阀 (现场核实情况)")
    )
