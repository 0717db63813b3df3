"""Every ORM model, imported once so ``Base.metadata`` is complete (Alembic, tests)."""

from townops.auth.models import ApiKey, AuditEntry, User
from townops.cases.models import Case, CaseEvent, Extension, Summons
from townops.categories.models import Category
from townops.db import Base
from townops.dispatch.models import RoutingDecision, TrainingExample
from townops.gazetteer.models import GazetteerEntry
from townops.jurisdiction.models import Jurisdiction
from townops.organization.models import Department
from townops.systemic.models import SystemicIssue, SystemicIssueMember
from townops.towns.models import InstanceSetting, TownRecord

__all__ = [
    "ApiKey",
    "AuditEntry",
    "Base",
    "Case",
    "CaseEvent",
    "Category",
    "Department",
    "Extension",
    "GazetteerEntry",
    "InstanceSetting",
    "Jurisdiction",
    "RoutingDecision",
    "Summons",
    "SystemicIssue",
    "SystemicIssueMember",
    "TownRecord",
    "TrainingExample",
    "User",
]
