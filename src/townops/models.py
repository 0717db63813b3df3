"""Every ORM model, imported once so ``Base.metadata`` is complete (Alembic, tests)."""

from townops.auth.models import ApiKey, AuditEntry, IdempotencyKey, User
from townops.cases.models import Case, CaseEvent, Extension, Summons
from townops.categories.models import Category
from townops.db import Base
from townops.dispatch.models import RoutingDecision, TrainingExample
from townops.gazetteer.models import GazetteerEntry
from townops.jurisdiction.models import Jurisdiction
from townops.media.models import Photo
from townops.notify.models import Notification
from townops.organization.models import Department
from townops.sensing.models import (
    Alarm,
    Device,
    DeviceState,
    QuarantinedMessage,
    Reading,
    ReadingRollup,
)
from townops.signs.models import ManualFigure, SignWarning
from townops.systemic.models import SystemicIssue, SystemicIssueMember
from townops.towns.models import InstanceSetting, TownRecord

__all__ = [
    "Alarm",
    "ApiKey",
    "AuditEntry",
    "Base",
    "Case",
    "CaseEvent",
    "Category",
    "Department",
    "Device",
    "DeviceState",
    "Extension",
    "GazetteerEntry",
    "IdempotencyKey",
    "InstanceSetting",
    "Jurisdiction",
    "ManualFigure",
    "Notification",
    "Photo",
    "QuarantinedMessage",
    "Reading",
    "ReadingRollup",
    "RoutingDecision",
    "SignWarning",
    "Summons",
    "SystemicIssue",
    "SystemicIssueMember",
    "TownRecord",
    "TrainingExample",
    "User",
]
