"""Every ORM model, imported once so ``Base.metadata`` is complete (Alembic, tests)."""

from townops.auth.models import ApiKey, AuditEntry, User
from townops.cases.models import Case, CaseEvent, Extension, Summons
from townops.categories.models import Category
from townops.db import Base
from townops.jurisdiction.models import Jurisdiction
from townops.organization.models import Department
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
    "InstanceSetting",
    "Jurisdiction",
    "Summons",
    "TownRecord",
    "User",
]
