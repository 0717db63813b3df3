"""What a case offers is exactly what is authorized and would succeed.

Every persona of the demo town looks at cases in every state the engine can put them in;
each action a case offers (``allowed_actions``) is then taken, and must succeed; each
action it leaves out must be refused. The actions are taken inside a savepoint that is
rolled back, so every persona sees the same cases.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.factories import do_action, file_case
from tests.helpers import NANXIN
from townops.access.actor import SYSTEM, Actor
from townops.auth.models import User
from townops.cases.access import load_facts
from townops.cases.enums import Action, Rating
from townops.cases.models import Case
from townops.cases.presenters import present_case
from townops.cases.schemas import ActionInput, CaseCreate
from townops.cases.service import create_case, get_case_for, perform_action
from townops.errors import DomainError
from townops.towns.profile import get_profile

HOUSING, URBAN, POLICE = "housing_office", "urban_management", "police_station"


def _new(session: Session, category: str, *, content: str = "楼道灯坏了") -> Case:
    return file_case(session, category=category, content=content, jurisdiction=NANXIN)


def _do(session: Session, case: Case, action: Action, **body: object) -> Case:
    return do_action(session, case, action, actor=SYSTEM, now=None, **body)


def _category(session: Session) -> str:
    from townops.categories.models import Category

    return (
        session.scalars(
            select(Category.code)
            .where(Category.department_code == HOUSING, Category.opened_by != "townops")
            .order_by(Category.code)
        ).first()
        or ""
    )


def _cases_in_every_state(session: Session) -> list[Case]:
    cat = _category(session)
    received = _new(session, cat)
    master = _do(session, _new(session, cat), Action.dispatch, department=HOUSING)
    linked = _do(session, _new(session, cat), Action.link, duplicate_of=master.id)
    dispatched = _do(session, _new(session, cat), Action.dispatch, department=HOUSING)
    to_community = _do(session, _new(session, cat), Action.dispatch, community=NANXIN)
    accepted = _do(
        session,
        _do(session, _new(session, cat), Action.dispatch, department=HOUSING),
        Action.accept,
    )
    summoned = _do(session, accepted, Action.whistle, departments=[URBAN])
    summoned = _do(session, summoned, Action.first_contact)
    waiting = _do(session, _new(session, cat), Action.dispatch, department=HOUSING)
    waiting = _do(session, waiting, Action.accept)
    waiting = _do(session, waiting, Action.request_extension, working_days=2, reason="等材料")
    returned = _do(
        session,
        _do(session, _new(session, cat), Action.dispatch, department=URBAN),
        Action.return_,
        reason="非本部门",
    )
    resolved = _do(
        session,
        _do(session, _new(session, cat), Action.dispatch, department=HOUSING),
        Action.accept,
    )
    resolved = _do(session, resolved, Action.resolve, reply="已修复")
    closed = _do(
        session,
        _do(session, _new(session, cat), Action.dispatch, department=HOUSING),
        Action.accept,
    )
    closed = _do(session, _do(session, closed, Action.resolve, reply="已修复"), Action.close)
    reopened = _do(
        session,
        _do(session, _new(session, cat), Action.dispatch, department=HOUSING),
        Action.accept,
    )
    reopened = _do(session, _do(session, reopened, Action.resolve, reply="好"), Action.reopen)
    return [
        received,
        master,
        linked,
        dispatched,
        to_community,
        summoned,
        waiting,
        returned,
        resolved,
        closed,
        reopened,
    ]


def _body(action: Action, case: Case, other_open: int) -> dict[str, object]:
    """A body the action's rule accepts, so only the gate decides."""
    bodies: dict[Action, dict[str, object]] = {
        Action.dispatch: {"department": URBAN},
        Action.link: {"duplicate_of": other_open},
        Action.resolve: {"reply": "已处理"},
        Action.return_: {"reason": "非本单位职责"},
        Action.request_extension: {"working_days": 2, "reason": "需协调"},
        Action.callback: {"rating": Rating.satisfied.value},
        Action.whistle: {"departments": [POLICE]},
        Action.report_in: {"department": URBAN},
        Action.comment: {"comment": "补充：晚上更严重"},
    }
    return bodies.get(action, {})


@dataclass
class Trial:
    persona: str
    case_state: str
    action: str
    offered: bool
    succeeded: bool
    why: str


def _try(session: Session, actor: Actor, case: Case, action: Action, other: int) -> str | None:
    """Take the action in a savepoint and roll it back; None if it succeeded."""
    nested = session.begin_nested()
    try:
        current = session.get(Case, case.id)
        assert current is not None
        payload = ActionInput.model_validate(
            {"version": current.version, **_body(action, case, other)}
        )
        perform_action(session, actor=actor, case_id=case.id, action=action, body=payload)
        return None
    except DomainError as exc:
        return f"{exc.code}: {exc.message}"
    finally:
        nested.rollback()
        session.expire_all()


def _a_residents_resolved_request(session: Session, resident: Actor) -> Case:
    data = CaseCreate(category=_category(session), content="路灯不亮", jurisdiction=NANXIN)
    case = create_case(session, actor=resident, data=data)
    case = _do(session, _do(session, case, Action.dispatch, department=HOUSING), Action.accept)
    return _do(session, case, Action.resolve, reply="已修复")


def test_every_offered_action_succeeds_and_every_other_is_refused(
    session: Session, actor: Callable[[str], Actor]
) -> None:
    cases = [
        *_cases_in_every_state(session),
        _a_residents_resolved_request(session, actor("resident_a")),
    ]
    session.flush()
    profile = get_profile(session)
    other_open = next(c.id for c in cases if c.state == "dispatched")
    personas = list(session.scalars(select(User.username).order_by(User.username)))
    trials: list[Trial] = []
    for name in personas:
        who = actor(name)
        for case in cases:
            try:
                seen = get_case_for(session, actor=who, case_id=case.id)
            except DomainError:
                continue  # not visible: nothing is offered, nothing can be done
            offered = set(
                present_case(seen, actor=who, profile=profile, session=session).allowed_actions
            )
            # A list (facts loaded for the page) offers what the case's own page offers.
            facts = load_facts(session, [seen.id])[seen.id]
            listed = present_case(seen, actor=who, profile=profile, facts=facts)
            assert set(listed.allowed_actions) == offered, (name, seen.state)
            for action in Action:
                if action == Action.create:
                    continue
                why = _try(session, who, case, action, other_open)
                trials.append(
                    Trial(
                        name,
                        case.state,
                        action.value,
                        action.value in offered,
                        why is None,
                        why or "",
                    )
                )
    wrong = [t for t in trials if t.offered != t.succeeded]
    assert not wrong, "\n".join(
        f"{t.persona} on a {t.case_state} case: '{t.action}' "
        f"{'offered but refused: ' + t.why if t.offered else 'not offered but succeeded'}"
        for t in wrong[:20]
    )
    # The test must have exercised both sides for many personas.
    assert sum(t.offered for t in trials) > 50
    offered_to = {t.persona for t in trials if t.offered}
    assert {"duty", "dispatcher", "housing", "urban", "nanxin", "resident_a"} <= offered_to


@pytest.mark.parametrize("persona", ["nanxin", "urban"])
def test_a_unit_not_in_charge_is_not_offered_the_owners_actions(
    session: Session, actor: Callable[[str], Actor], persona: str
) -> None:
    """The two findings: 南新's staff on a case a department holds; a summoned department."""
    cat = _category(session)
    case = _do(session, _new(session, cat), Action.dispatch, department=HOUSING)
    case = _do(session, case, Action.whistle, departments=[URBAN])
    who = actor(persona)
    seen = get_case_for(session, actor=who, case_id=case.id)
    offered = present_case(seen, actor=who, profile=get_profile(session), session=session)
    assert not {"accept", "return", "resolve", "first_contact"} & set(offered.allowed_actions)
    if persona == "urban":
        assert "report_in" in offered.allowed_actions
