"""The case engine's events: a new domain hooks into cases without an edit in ``cases/``.

The "domain" here is a ledger kept by this test module alone: it subscribes to the engine's
events the way dispatch and media do (:mod:`townops.dispatch.subscribers`) and sees every
case filed, every action (supervision included), every deadline moved, the sweep's overdue
supervision and a late report-in — all inside the use case's transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from townops.access.actor import SYSTEM, Actor
from townops.cases import events
from townops.cases.enums import Action
from townops.cases.models import Case, CaseEvent
from townops.cases.schemas import ActionInput, CaseCreate
from townops.cases.service import create_case, perform_action
from townops.cases.sweeps import sweep_late_report_ins, sweep_overdue
from townops.categories.models import Category

SH = ZoneInfo("Asia/Shanghai")
NANXIN = "310115121020"
T0 = datetime(2022, 6, 6, 9, tzinfo=SH)


@pytest.fixture
def ledger() -> Iterator[list[events.CaseEngineEvent]]:
    """A new domain's subscriptions, removed after the test."""
    seen: list[events.CaseEngineEvent] = []
    kinds: list[type[Any]] = [
        events.CaseCreated,
        events.CaseActed,
        events.DeadlineMoved,
        events.CasesOverdue,
        events.ReportInLate,
    ]
    undo = [events.subscribe(kind, seen.append) for kind in kinds]
    yield seen
    for unsubscribe in undo:
        unsubscribe()


def _one_day_category(session: Session) -> Category:
    cat = session.scalars(select(Category).where(Category.deadline_working_days == 1)).first()
    assert cat is not None, "the demo town needs a one-working-day category"
    return cat


def _new(session: Session, cat: Category) -> Case:
    data = CaseCreate(
        category=cat.code, content="路灯不亮", jurisdiction=NANXIN, kind="hotline", received_at=T0
    )
    return create_case(session, actor=SYSTEM, data=data, now=T0.astimezone(UTC))


def _do(session: Session, who: Actor, case: Case, action: Action, **kw: Any) -> Case:
    return perform_action(
        session,
        actor=who,
        case_id=case.id,
        action=action,
        body=ActionInput(version=case.version, **kw),
        now=T0 + timedelta(hours=1),
    )


def _of(seen: list[events.CaseEngineEvent], kind: type[Any]) -> list[Any]:
    return [e for e in seen if isinstance(e, kind)]


def test_a_subscriber_sees_the_case_filed_and_each_action_with_its_states(
    session: Session, ledger: list[events.CaseEngineEvent], actor: Callable[[str], Actor]
) -> None:
    cat = _one_day_category(session)
    case = _new(session, cat)
    (created,) = _of(ledger, events.CaseCreated)
    assert created.case is case and created.case.id is not None
    assert created.session is session and created.actor == SYSTEM

    case = _do(session, actor("dispatcher"), case, Action.dispatch, department=cat.department_code)
    case = _do(session, actor("duty"), case, Action.supervise, comment="请尽快处置")
    acted = [
        (e.action, e.from_state, e.to_state, e.automatic) for e in _of(ledger, events.CaseActed)
    ]
    assert acted == [
        (Action.dispatch, "received", "dispatched", False),
        (Action.supervise, "dispatched", "dispatched", False),
    ]


def test_an_engine_follow_up_is_published_as_automatic(
    session: Session, ledger: list[events.CaseEngineEvent], actor: Callable[[str], Actor]
) -> None:
    """Resolving a case answers its linked repeat: the repeat's resolve is the engine's own."""
    cat = _one_day_category(session)
    master = _new(session, cat)
    repeat = _new(session, cat)
    repeat = _do(session, actor("dispatcher"), repeat, Action.link, duplicate_of=master.id)
    master = _do(session, SYSTEM, master, Action.dispatch, department=cat.department_code)
    master = _do(session, SYSTEM, master, Action.accept)
    ledger.clear()
    _do(session, SYSTEM, master, Action.resolve, reply="已修复")
    resolved = {(e.case.id, e.automatic) for e in _of(ledger, events.CaseActed)}
    assert (master.id, False) in resolved
    assert (repeat.id, True) in resolved


def test_an_approved_extension_publishes_the_deadline_moved(
    session: Session, ledger: list[events.CaseEngineEvent]
) -> None:
    cat = _one_day_category(session)
    case = _new(session, cat)
    case = _do(session, SYSTEM, case, Action.dispatch, department=cat.department_code)
    case = _do(session, SYSTEM, case, Action.accept)
    old_due = case.due_at
    case = _do(session, SYSTEM, case, Action.request_extension, working_days=3, reason="需协调")
    assert _of(ledger, events.DeadlineMoved) == []  # asked, not granted: the deadline stays
    case = _do(session, SYSTEM, case, Action.approve_extension)
    (moved,) = _of(ledger, events.DeadlineMoved)
    assert moved.case is case and moved.action == Action.approve_extension
    assert moved.old_due_at == old_due and moved.new_due_at == case.due_at > old_due


def test_the_overdue_sweep_publishes_the_cases_it_supervised(
    session: Session, ledger: list[events.CaseEngineEvent]
) -> None:
    cat = _one_day_category(session)
    late, on_time = _new(session, cat), _new(session, cat)
    on_time = _do(session, SYSTEM, on_time, Action.dispatch, department=cat.department_code)
    on_time = _do(session, SYSTEM, on_time, Action.accept)
    _do(session, SYSTEM, on_time, Action.resolve, reply="已办")
    assert sweep_overdue(session, now=T0 + timedelta(days=5)) == 1
    (swept,) = _of(ledger, events.CasesOverdue)
    assert list(swept.case_ids) == [late.id]
    assert sweep_overdue(session, now=T0 + timedelta(days=6)) == 0
    assert len(_of(ledger, events.CasesOverdue)) == 1  # claimed once, announced once


def test_a_late_report_in_is_published_per_department(
    session: Session, ledger: list[events.CaseEngineEvent]
) -> None:
    case = _new(session, _one_day_category(session))
    _do(session, SYSTEM, case, Action.whistle, departments=["urban_management"])
    assert sweep_late_report_ins(session, now=T0 + timedelta(days=3)) == 1
    (late,) = _of(ledger, events.ReportInLate)
    assert (late.case_id, late.department_code) == (case.id, "urban_management")


def test_what_a_subscriber_writes_commits_or_rolls_back_with_the_use_case(
    session: Session,
) -> None:
    cat = _one_day_category(session)

    def refuse(event: events.CaseCreated) -> None:
        session.add(
            CaseEvent(
                case_id=event.case.id,
                action="ledger_note",
                from_state=event.case.state,
                to_state=event.case.state,
                at=event.now,
                actor_name="ledger",
                actor_role="admin",
                comment="",
                data={},
            )
        )
        raise RuntimeError("the ledger is closed")

    unsubscribe = events.subscribe(events.CaseCreated, refuse)
    try:
        before = session.scalar(select(Case.id).order_by(Case.id.desc()).limit(1))
        with pytest.raises(RuntimeError, match="the ledger is closed"), session.begin_nested():
            _new(session, cat)
        after = session.scalar(select(Case.id).order_by(Case.id.desc()).limit(1))
        assert after == before
        assert (
            session.scalars(select(CaseEvent).where(CaseEvent.action == "ledger_note")).all() == []
        )
    finally:
        unsubscribe()


def test_work_after_commit_runs_only_once_the_transaction_commits(engine: Engine) -> None:
    ran: list[str] = []
    with Session(engine) as s:
        events.after_commit(s, lambda: ran.append("rolled back"))
        s.rollback()
        events.after_commit(s, lambda: ran.append("committed"))
        assert ran == []
        s.commit()
        s.commit()  # once: a second commit does not send it again
    assert ran == ["committed"]


def test_publishing_before_the_domains_are_installed_is_refused(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A script that forgot townops.domains.install() would lose the dispatcher's lesson
    and the photos silently: it fails instead."""
    monkeypatch.setattr(events, "_installed", False)
    with pytest.raises(RuntimeError, match=r"townops\.domains\.install"):
        _new(session, _one_day_category(session))
