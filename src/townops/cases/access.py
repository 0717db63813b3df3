"""Who may see which cases and who may act on them.

Objects are fetched through these rules (``get_case_for``); routes never load a case raw.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, exists, false, or_, select, true

from townops.auth.actor import Actor
from townops.cases.enums import Action, CaseKind, Role
from townops.cases.models import Case, Summons
from townops.errors import Forbidden
from townops.towns.profile import TownProfile

TOWN_WIDE_ROLES = frozenset({Role.admin, Role.leader, Role.duty_officer, Role.dispatcher})
# Actions that only the unit currently in charge of the case may take.
OWNER_ACTIONS = frozenset(
    {Action.accept, Action.first_contact, Action.resolve, Action.return_, Action.request_extension}
)


def _in_scope(actor: Actor) -> ColumnElement[bool]:
    # A scope at the root is the whole town, including cases with no place yet.
    if actor.scope_path is None or actor.scope_path.count("/") == 1:
        return true()
    return or_(
        Case.jurisdiction_path.startswith(actor.scope_path, autoescape=True),
        Case.assignee_community_code == actor.scope_code,
    )


def visible_cases(actor: Actor) -> ColumnElement[bool]:
    """A SQL condition selecting exactly the cases ``actor`` may see."""
    if actor.role in TOWN_WIDE_ROLES:
        return _in_scope(actor)
    if actor.role == Role.handler:
        if actor.department_code is None:
            return false()
        summoned = exists(
            select(Summons.id).where(
                Summons.case_id == Case.id, Summons.department_code == actor.department_code
            )
        )
        return or_(Case.department_code == actor.department_code, summoned)
    if actor.role in (Role.community_staff, Role.grid_worker):
        return false() if actor.scope_path is None else _in_scope(actor)
    if actor.role == Role.resident:
        return false() if actor.user_id is None else Case.requester_user_id == actor.user_id
    return false()


def can_see_full_phone(actor: Actor, case: Case, profile: TownProfile) -> bool:
    if actor.is_system:
        return True
    if case.kind == CaseKind.iot_alarm and _owns(actor, case):
        # A device alarm in a home names the household to call: whoever must go there
        # (e.g. the community's staff for a gas alarm of an elderly person) needs the number.
        return True
    spec = profile.roles.get(actor.role)
    if spec is None or not spec.sees_full_phone:
        return False
    if actor.role == Role.handler:
        return case.department_code is not None and case.department_code == actor.department_code
    return True


def _owns(actor: Actor, case: Case) -> bool:
    if actor.role == Role.handler:
        return actor.department_code is not None and case.department_code == actor.department_code
    if actor.role in (Role.community_staff, Role.grid_worker):
        # The community the case is assigned to is the actor's scope or an ancestor of it
        # (a grid worker's micro-grid): either way it is a segment of the scope's path.
        return (
            case.assignee_community_code is not None
            and actor.scope_path is not None
            and f"/{case.assignee_community_code}/" in f"/{actor.scope_path}"
        )
    return actor.role == Role.admin


def in_hands_of(actor: Actor) -> ColumnElement[bool]:
    """A SQL condition: the cases the actor's own unit is in charge of (``_owns`` in SQL).

    A department's handler: its department's cases. Community staff and grid workers: the
    cases assigned to their community. Roles without a unit of their own hold none.
    """
    if actor.role == Role.handler and actor.department_code is not None:
        return Case.department_code == actor.department_code
    if actor.role in (Role.community_staff, Role.grid_worker) and actor.scope_path is not None:
        communities = [code for code in actor.scope_path.strip("/").split("/") if code]
        return Case.assignee_community_code.in_(communities)
    return false()


def require_role(actor: Actor, allowed: frozenset[Role], doing: str) -> None:
    """Raise :class:`Forbidden` unless the actor's role is one of ``allowed`` (or system)."""
    if not actor.is_system and actor.role not in allowed:
        raise Forbidden(f"role '{actor.role}' may not {doing}", role=actor.role)


def role_may(actor: Actor, action: Action, profile: TownProfile) -> bool:
    if actor.is_system:
        return True
    spec = profile.roles.get(actor.role)
    return spec is not None and action.value in spec.actions


def check_may_act(actor: Actor, action: Action, case: Case, profile: TownProfile) -> None:
    """Raise :class:`Forbidden` unless ``actor`` may take ``action`` on ``case``."""
    if actor.is_system:
        return
    if not role_may(actor, action, profile):
        raise Forbidden(
            f"role '{actor.role}' may not '{action.value}'", role=actor.role, action=action.value
        )
    if action in OWNER_ACTIONS and not _owns(actor, case):
        raise Forbidden(
            f"only the unit in charge of case {case.id} may '{action.value}'",
            action=action.value,
        )
    own_request = case.requester_user_id == actor.user_id
    if action == Action.callback and actor.role == Role.resident and not own_request:
        raise Forbidden("a resident may rate only their own request")
