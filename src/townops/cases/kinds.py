"""Case kinds (工单类型): what a case is, and the rules that follow from its kind.

Every case has a kind: a 12345 order, a resident's request, a patrol finding, a device
alarm, a mediation … The engine holds one rule per kind (:class:`CaseKindRule`): who may
file one by hand, whether it may be followed in public, whether it is about a household.
The engine registers the kinds of the 12345 loop itself (:data:`ENGINE_KINDS`); a domain
that opens cases of its own kind registers its rule from its own package when the domains
are installed (:func:`townops.domains.install`), e.g. device alarms from
:mod:`townops.sensing.alarms.kind`. So a new domain gets routing, deadlines, supervision
and the indicators for its cases without an edit here.

Everything that asks "what may be done with a case of this kind" asks this registry:
intake (:mod:`townops.cases.intake`), contact data (:mod:`townops.cases.access`), public
tracking (:mod:`townops.cases.tracking`) and the public-output policy of Open311.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Annotated

from pydantic import AfterValidator, StringConstraints

from townops.access.actor import STAFF_ROLES, Role

__all__ = [
    "ENGINE_KINDS",
    "HOTLINE",
    "MEDIATION",
    "PATROL",
    "REQUEST",
    "CaseKindRule",
    "KindName",
    "case_kinds",
    "household_kinds",
    "kind_rule",
    "known_kind",
    "public_kinds",
    "register_kind",
    "unregister_kind",
]

#: A kind's name: what ``cases.kind`` (20 characters) stores and the API answers with.
KIND_PATTERN = r"^[a-z][a-z0-9_]{1,19}$"


@dataclass(frozen=True)
class CaseKindRule:
    """One kind of case and what follows from it.

    ``filed_by``: the roles that may file one by hand besides the intake desk (duty officer,
    dispatcher, administrator), which may file every kind a person may file.
    ``by_person``: False for kinds townops opens itself (device alarms): nobody files one,
    not even the intake desk. ``public``: whether a case of this kind may ever be followed
    in public (a tracking code, Open311); a private dispute may not. ``household``: a case
    of this kind that names someone is about their home (a gas alarm in an elderly
    person's flat): the unit that must go there sees the household's contact data, and the
    case is never published.
    """

    name: str
    label_zh: str
    label_en: str
    filed_by: frozenset[Role] = field(default_factory=frozenset)
    by_person: bool = True
    public: bool = True
    household: bool = False

    def __post_init__(self) -> None:
        if not re.fullmatch(KIND_PATTERN, self.name):
            raise ValueError(f"case kind {self.name!r} does not match {KIND_PATTERN}")
        if self.filed_by and not self.by_person:
            raise ValueError(f"case kind {self.name!r}: filed_by given for a kind no person files")


# Staff in the field take calls (hotline), find things on patrol, and mediate.
_FIELD_STAFF = frozenset(STAFF_ROLES) - {Role.admin, Role.duty_officer, Role.dispatcher}

HOTLINE = CaseKindRule("hotline", "12345热线", "12345 hotline", filed_by=_FIELD_STAFF)
REQUEST = CaseKindRule("request", "市民诉求", "Request", filed_by=_FIELD_STAFF | {Role.resident})
PATROL = CaseKindRule("patrol", "巡查发现", "Patrol finding", filed_by=_FIELD_STAFF)
# A private dispute: never followed in public. Kept here until a mediation domain owns it.
MEDIATION = CaseKindRule("mediation", "调解", "Mediation", filed_by=_FIELD_STAFF, public=False)
#: The kinds of the 12345 loop, registered by the engine itself.
ENGINE_KINDS = (HOTLINE, REQUEST, PATROL, MEDIATION)

_rules: dict[str, CaseKindRule] = {}


def register_kind(rule: CaseKindRule) -> None:
    """Add a kind (idempotent for the same rule; a different rule under a taken name is a
    programming error, refused)."""
    taken = _rules.get(rule.name)
    if taken is not None and taken != rule:
        raise ValueError(f"case kind {rule.name!r} is already registered with another rule")
    _rules[rule.name] = rule


def unregister_kind(name: str) -> None:
    """For tests that register a kind of their own."""
    _rules.pop(name, None)


for _rule in ENGINE_KINDS:
    register_kind(_rule)


def case_kinds() -> tuple[CaseKindRule, ...]:
    """Every registered kind, the engine's first, in the order they were registered."""
    return tuple(_rules.values())


def kind_rule(name: str) -> CaseKindRule | None:
    return _rules.get(name)


def public_kinds() -> tuple[str, ...]:
    """The kinds a person may follow in public (a tracking code; Open311, which also
    follows the town's policy)."""
    return tuple(rule.name for rule in _rules.values() if rule.public)


def household_kinds() -> tuple[str, ...]:
    return tuple(rule.name for rule in _rules.values() if rule.household)


def known_kind(name: str) -> str:
    """``name`` if it is a registered kind; else ValueError listing them (a validator)."""
    if name not in _rules:
        raise ValueError(f"unknown case kind {name!r} (one of {', '.join(sorted(_rules))})")
    return name


#: A field holding a case kind: validated against the registry.
KindName = Annotated[str, StringConstraints(max_length=20), AfterValidator(known_kind)]
