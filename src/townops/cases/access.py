"""Who may see which cases and who may take which action: the case engine's use of the
one access layer (:mod:`townops.access`).

Objects are fetched through these rules (``get_case_for``); routes never load a case raw.
What a case offers (``allowed_actions``) and what is authorized come from one function,
:func:`refusal`: an action is offered exactly when it would not be refused.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, exists, select
from sqlalchemy.orm import Session

from townops.access import TOWN_WIDE_ROLES, Owner, contact_view, owns, scope_of
from townops.access.actor import Actor, Role
from townops.access.contact import (
    ContactView,
    may_search_contact,
    owned_where,
    sees_contact_where,
)
from townops.cases.enums import Action, ExtensionStatus, State
from townops.cases.kinds import household_kinds, kind_rule
from townops.cases.models import Case, Extension, Summons
from townops.cases.transitions import allowed_actions
from townops.errors import Forbidden
from townops.towns.profile import TownProfile

__all__ = [
    "OWNER_ACTIONS",
    "TOWN_WIDE_ROLES",
    "CaseFacts",
    "actions_for",
    "case_contact",
    "check_may_act",
    "check_may_search_contact",
    "contact_shown",
    "in_hands_of",
    "load_facts",
    "owner_of",
    "refusal",
    "require_role",
    "role_may",
    "visible_cases",
]

# Actions that only the unit currently in charge of the case may take.
# The roles acting for one unit: they acknowledge only what their unit holds, where the
# town's own roles (duty officers, leaders) acknowledge any case they are told of.
_UNIT_ROLES = frozenset({Role.handler, Role.community_staff, Role.grid_worker})

OWNER_ACTIONS = frozenset(
    {Action.accept, Action.first_contact, Action.resolve, Action.return_, Action.request_extension}
)


def visible_cases(actor: Actor) -> ColumnElement[bool]:
    """A SQL condition selecting exactly the cases ``actor`` may see."""
    summoned = None
    if actor.role == Role.handler and actor.department_code is not None:
        summoned = exists(
            select(Summons.id).where(
                Summons.case_id == Case.id, Summons.department_code == actor.department_code
            )
        )
    return scope_of(actor).where(
        path=Case.jurisdiction_path,
        community=Case.assignee_community_code,
        department=Case.department_code,
        summoned=summoned,
        requester=Case.requester_user_id,
    )


def owner_of(case: Case) -> Owner:
    return Owner(department=case.department_code, community=case.assignee_community_code)


def case_contact(actor: Actor, case: Case, profile: TownProfile) -> ContactView:
    """How the requester's contact data of ``case`` reads for ``actor``."""
    return contact_view(
        actor,
        profile.roles,
        owner_of(case),
        # A case about a home (a device alarm) names the household to call: whoever must go
        # there (e.g. the community's staff for a gas alarm of an elderly person) needs it.
        owner_must_call=_about_a_household(case),
    )


def contact_shown(actor: Actor, profile: TownProfile) -> ColumnElement[bool]:
    """:func:`case_contact` in SQL: the cases whose contact data ``actor`` sees unmasked.
    A search by contact data (a phone, a number typed into the text) matches only these,
    so what it finds never tells a number the caller is shown masked."""
    return sees_contact_where(
        actor,
        profile.roles,
        department=Case.department_code,
        community=Case.assignee_community_code,
        household=Case.kind.in_(household_kinds()),
    )


def check_may_search_contact(actor: Actor, profile: TownProfile, *, field: str) -> None:
    """Raise :class:`Forbidden` (naming ``field``) unless the actor's role is shown contact
    data unmasked: a masked role may not probe numbers through a search."""
    if not may_search_contact(actor, profile.roles):
        raise Forbidden(
            f"role '{actor.role}' sees requesters' contact data masked and may not search "
            "by a phone number",
            field=field,
            role=actor.role,
        )


def _about_a_household(case: Case) -> bool:
    rule = kind_rule(case.kind)
    return rule is not None and rule.household


def in_hands_of(actor: Actor) -> ColumnElement[bool]:
    """A SQL condition: the cases the actor's own unit is in charge of (``owns`` in SQL).

    A department's handler: its department's cases. Community staff and grid workers: the
    cases assigned to their community. Roles without a unit of their own hold none.
    """
    return owned_where(
        actor, department=Case.department_code, community=Case.assignee_community_code
    )


def require_role(actor: Actor, allowed: frozenset[Role], doing: str) -> None:
    """Raise :class:`Forbidden` unless the actor's role is one of ``allowed`` (or system)."""
    if not actor.is_system and actor.role not in allowed:
        raise Forbidden(f"role '{actor.role}' may not {doing}", role=actor.role)


def role_may(actor: Actor, action: Action, profile: TownProfile) -> bool:
    if actor.is_system:
        return True
    spec = profile.roles.get(actor.role)
    return spec is not None and action.value in spec.actions


@dataclass(frozen=True, slots=True)
class CaseFacts:
    """What some actions depend on beyond the case row; ``None`` = not loaded (then the
    actions that depend on it are not offered)."""

    pending_extension: bool | None = None
    pending_summons: frozenset[str] | None = None


def load_facts(session: Session, case_ids: Sequence[int]) -> dict[int, CaseFacts]:
    """The facts of a page of cases in two queries (pending extensions, pending summonses),
    so a list offers the same actions as each case's own page."""
    if not case_ids:
        return {}
    ids = list(case_ids)
    extending = set(
        session.scalars(
            select(Extension.case_id).where(
                Extension.case_id.in_(ids), Extension.status == ExtensionStatus.pending
            )
        )
    )
    summoned: dict[int, set[str]] = {}
    for case_id, department in session.execute(
        select(Summons.case_id, Summons.department_code).where(
            Summons.case_id.in_(ids), Summons.reported_in_at.is_(None)
        )
    ):
        summoned.setdefault(case_id, set()).add(department)
    return {
        case_id: CaseFacts(
            pending_extension=case_id in extending,
            pending_summons=frozenset(summoned.get(case_id, ())),
        )
        for case_id in ids
    }


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why an action would fail: ``forbidden`` (403, who) or ``conflict`` (409, when)."""

    kind: str
    message: str


def refusal(
    actor: Actor,
    action: Action,
    case: Case,
    profile: TownProfile,
    *,
    facts: CaseFacts | None = None,
    now: datetime | None = None,
) -> Refusal | None:
    """The one gate: why ``actor`` may not take ``action`` on ``case`` now, or None.

    Authorization (role, unit in charge, own request, summoned department) is always
    checked; with ``facts`` and ``now`` the preconditions a client cannot see coming are
    too (an extension already pending, the deadline passed, no summons to report in to).
    """
    if actor.is_system:
        return None
    why = _forbidden(actor, action, case, profile, facts)
    if why is not None:
        return Refusal("forbidden", why)
    if facts is not None:
        return _precondition(action, case, facts, now)
    return None


def _forbidden(
    actor: Actor, action: Action, case: Case, profile: TownProfile, facts: CaseFacts | None
) -> str | None:
    if not role_may(actor, action, profile):
        return f"role '{actor.role}' may not '{action.value}'"
    if action in OWNER_ACTIONS and not owns(actor, owner_of(case)):
        return f"only the unit in charge of case {case.id} may '{action.value}'"
    own_request = case.requester_user_id == actor.user_id
    if action == Action.callback and actor.role == Role.resident and not own_request:
        return "a resident may rate only their own request"
    if action == Action.comment and actor.role == Role.resident and not own_request:
        return "a resident may add to their own request only"
    unit_acknowledging = action == Action.acknowledge and actor.role in _UNIT_ROLES
    if unit_acknowledging and not owns(actor, owner_of(case)):
        return f"only the unit in charge of case {case.id} may '{action.value}'"
    if action == Action.report_in and actor.role == Role.handler and facts is not None:
        summoned = facts.pending_summons or frozenset()
        if actor.department_code not in summoned:
            return f"department '{actor.department_code}' has not been summoned to this case"
    return None


def _precondition(
    action: Action, case: Case, facts: CaseFacts, now: datetime | None
) -> Refusal | None:
    pending = facts.pending_extension
    if action in (Action.approve_extension, Action.deny_extension) and not pending:
        return Refusal("conflict", "there is no extension request waiting for a decision")
    if action == Action.request_extension:
        if pending is None or pending:
            return Refusal("conflict", "an extension request is already waiting for a decision")
        if now is not None and now > case.due_at:
            return Refusal("conflict", "an extension must be requested before the deadline")
    if action == Action.first_contact and case.first_contact_at is not None:
        return Refusal("conflict", "first contact is already recorded for this case")
    if action == Action.report_in and not facts.pending_summons:
        return Refusal("conflict", "no department is waiting to report in")
    return None


def check_may_act(actor: Actor, action: Action, case: Case, profile: TownProfile) -> None:
    """Raise :class:`Forbidden` unless ``actor`` is authorized to take ``action``."""
    found = refusal(actor, action, case, profile)
    if found is not None:
        raise Forbidden(found.message, action=action.value)


def actions_for(
    actor: Actor,
    case: Case,
    profile: TownProfile,
    *,
    facts: CaseFacts | None = None,
    now: datetime | None = None,
) -> list[str]:
    """The actions the actor may take on the case now: those the state table allows and
    :func:`refusal` lets through. Without ``facts``, the actions that depend on them are
    left out rather than offered on a guess."""
    known = facts or CaseFacts()
    return [
        name
        for name in allowed_actions(State(case.state))
        if refusal(actor, Action(name), case, profile, facts=known, now=now) is None
    ]
