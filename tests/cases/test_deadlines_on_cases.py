"""Deadlines on real cases: due_at from the category, the overdue sweep, extensions in time."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from tests.factories import do_action, file_case
from townops.access.actor import SYSTEM, Actor
from townops.cases.enums import Action
from townops.cases.models import Case, CaseEvent, Extension
from townops.cases.sweeps import sweep_overdue
from townops.categories.models import Category
from townops.db import make_engine
from townops.errors import Conflict, StaleVersion
from townops.notify.models import Notification

SH = ZoneInfo("Asia/Shanghai")
NANXIN = "310115121020"


def _category(session: Session, *, working_days: int) -> Category:
    cat = session.scalars(
        select(Category).where(Category.deadline_working_days == working_days)
    ).first()
    assert cat is not None, f"the demo town needs a {working_days}-working-day category"
    return cat


def _new(session: Session, cat: Category, received_local: datetime) -> Case:
    return file_case(
        session,
        now=received_local.astimezone(UTC),
        category=cat.code,
        content="测试",
        jurisdiction=NANXIN,
        kind="hotline",
        received_at=received_local,
    )


def _do(
    session: Session, who: Actor, case: Case, action: Action, now: datetime, **kw: object
) -> Case:
    return do_action(session, case, action, actor=who, now=now, **kw)


def test_a_one_day_case_received_before_spring_festival_is_due_on_the_adjusted_saturday(
    session: Session,
) -> None:
    case = _new(session, _category(session, working_days=1), datetime(2023, 1, 20, 15, tzinfo=SH))
    assert case.due_at == datetime(2023, 1, 28, 23, 59, 59, tzinfo=SH)


def test_a_five_day_case_received_before_national_day_2023_skips_the_whole_holiday(
    session: Session,
) -> None:
    case = _new(session, _category(session, working_days=5), datetime(2023, 9, 27, 10, tzinfo=SH))
    # 9-28 (1), then 9-29..10-06 off, 10-07 Sat (2) and 10-08 Sun (3) worked, 10-09 (4), 10-10 (5)
    assert case.due_at == datetime(2023, 10, 10, 23, 59, 59, tzinfo=SH)


def test_the_sweep_marks_and_supervises_each_newly_overdue_case_once(
    session: Session, actor: Callable[[str], Actor]
) -> None:
    cat = _category(session, working_days=1)
    t0 = datetime(2022, 6, 6, 9, tzinfo=SH)
    late = _new(session, cat, t0)
    done = _new(session, cat, t0)
    done = _do(
        session, actor("dispatcher"), done, Action.dispatch, t0, department=cat.department_code
    )
    done = _do(session, SYSTEM, done, Action.accept, t0)
    done = _do(session, SYSTEM, done, Action.resolve, t0 + timedelta(hours=2), reply="已办")
    session.flush()
    before_due = datetime(2022, 6, 7, 20, tzinfo=SH)
    assert sweep_overdue(session, now=before_due) == 0
    after_due = datetime(2022, 6, 8, 9, tzinfo=SH)
    swept = sweep_overdue(session, now=after_due)
    assert swept >= 1
    session.expire_all()
    late = session.get_one(Case, late.id)
    assert late.breached and late.supervision_count == 1 and late.overdue_marked_at is not None
    assert not session.get_one(Case, done.id).breached
    events = session.scalars(
        select(CaseEvent).where(CaseEvent.case_id == late.id, CaseEvent.action == "supervise")
    ).all()
    assert len(events) == 1 and events[0].actor_name == "system"
    assert events[0].data == {"automatic": True, "reason": "overdue"}
    assert sweep_overdue(session, now=after_due + timedelta(hours=1)) == 0  # once only


def test_a_late_resolution_counts_as_breached(
    session: Session, actor: Callable[[str], Actor]
) -> None:
    cat = _category(session, working_days=1)
    t0 = datetime(2022, 6, 6, 9, tzinfo=SH)
    case = _new(session, cat, t0)
    case = _do(
        session, actor("dispatcher"), case, Action.dispatch, t0, department=cat.department_code
    )
    case = _do(session, SYSTEM, case, Action.accept, t0)
    case = _do(
        session, SYSTEM, case, Action.resolve, datetime(2022, 6, 9, 9, tzinfo=SH), reply="晚了"
    )
    assert case.breached


def test_an_extension_must_be_requested_before_the_deadline(session: Session) -> None:
    cat = _category(session, working_days=1)
    t0 = datetime(2022, 6, 6, 9, tzinfo=SH)
    case = _new(session, cat, t0)
    case = _do(session, SYSTEM, case, Action.dispatch, t0, department=cat.department_code)
    case = _do(session, SYSTEM, case, Action.accept, t0)
    with pytest.raises(Conflict, match="before the deadline"):
        _do(
            session,
            SYSTEM,
            case,
            Action.request_extension,
            datetime(2022, 6, 8, 9, tzinfo=SH),
            working_days=3,
            reason="太晚",
        )


def test_an_extension_approved_after_the_deadline_lifts_the_breach_it_was_waiting_on(
    session: Session,
) -> None:
    cat = _category(session, working_days=1)
    t0 = datetime(2022, 6, 6, 9, tzinfo=SH)
    case = _new(session, cat, t0)
    case = _do(session, SYSTEM, case, Action.dispatch, t0, department=cat.department_code)
    case = _do(session, SYSTEM, case, Action.accept, t0)
    case = _do(
        session,
        SYSTEM,
        case,
        Action.request_extension,
        t0 + timedelta(hours=3),
        working_days=3,
        reason="需协调",
    )
    sweep_overdue(session, now=datetime(2022, 6, 8, 1, tzinfo=SH))
    session.expire_all()
    case = session.get_one(Case, case.id)
    assert case.breached
    case = _do(session, SYSTEM, case, Action.approve_extension, datetime(2022, 6, 8, 9, tzinfo=SH))
    assert not case.breached
    assert case.due_at == datetime(2022, 6, 10, 23, 59, 59, tzinfo=SH)  # 6-3 Dragon Boat was before
    ext = session.scalars(select(Extension).where(Extension.case_id == case.id)).one()
    assert ext.status == "approved" and ext.new_due_at == case.due_at


def test_an_hours_deadline_runs_round_the_clock(session: Session) -> None:
    cat = session.scalars(select(Category).where(Category.deadline_hours.is_not(None))).first()
    if cat is None:
        pytest.skip("the town has no clock-hour category")
    t0 = datetime(2022, 10, 1, 22, tzinfo=SH)  # a holiday night
    case = _new(session, cat, t0)
    assert case.due_at == t0 + timedelta(hours=cat.deadline_hours or 0)


def test_two_sessions_writing_the_same_case_one_wins_and_the_other_gets_stale_version(
    database_url: str,
) -> None:
    # The engine as production builds it (not the test harness's savepoint mode).
    engine = make_engine(database_url)
    t0 = datetime(2022, 6, 6, 9, tzinfo=SH)
    with Session(engine) as setup:
        cat = _category(setup, working_days=5)
        case = _new(setup, cat, t0)
        setup.commit()
        case_id, dept = case.id, cat.department_code
    try:
        with Session(engine) as a, Session(engine) as b:
            seen_a, seen_b = a.get(Case, case_id), b.get(Case, case_id)
            assert seen_a is not None and seen_b is not None and seen_a.version == seen_b.version
            _do(a, SYSTEM, seen_a, Action.dispatch, t0, department=dept)
            a.commit()
            # b still holds the old version: its UPDATE ... WHERE version = old matches no row.
            with pytest.raises(StaleVersion):
                _do(b, SYSTEM, seen_b, Action.dispatch, t0, department="urban_management")
        with Session(engine) as check:
            final = check.get(Case, case_id)
            assert final is not None and final.department_code == dept
            dispatches = check.scalar(
                select(func.count()).where(
                    CaseEvent.case_id == case_id, CaseEvent.action == "dispatch"
                )
            )
            assert dispatches == 1
    finally:
        with Session(engine) as cleanup:
            cleanup.execute(delete(CaseEvent).where(CaseEvent.case_id == case_id))
            cleanup.execute(delete(Notification).where(Notification.case_id == case_id))
            cleanup.execute(delete(Case).where(Case.id == case_id))
            cleanup.commit()
        engine.dispose()


def test_a_reopened_case_that_is_late_again_is_supervised_again(session: Session) -> None:
    cat = _category(session, working_days=1)
    t0 = datetime(2022, 6, 6, 9, tzinfo=SH)
    case = _new(session, cat, t0)
    assert sweep_overdue(session, now=datetime(2022, 6, 8, 9, tzinfo=SH)) >= 1
    session.expire_all()
    case = session.get_one(Case, case.id)
    case = _do(
        session,
        SYSTEM,
        case,
        Action.dispatch,
        t0 + timedelta(days=2),
        department=cat.department_code,
    )
    case = _do(session, SYSTEM, case, Action.accept, t0 + timedelta(days=2))
    case = _do(session, SYSTEM, case, Action.resolve, t0 + timedelta(days=2), reply="已办")
    case = _do(
        session, SYSTEM, case, Action.callback, t0 + timedelta(days=3), rating="dissatisfied"
    )
    assert case.state == "reopened" and case.sweep_due_at == case.due_at
    sweep_overdue(session, now=case.due_at + timedelta(hours=1))
    session.expire_all()
    case = session.get_one(Case, case.id)
    assert case.supervision_count == 2 and case.sweep_due_at is None


def test_the_open_filter_lists_the_cases_someone_must_act_on_by_deadline(
    session: Session, actor: Callable[[str], Actor]
) -> None:
    from townops.cases.service import CaseFilters, list_cases_for

    cat = _category(session, working_days=5)
    t0 = datetime(2030, 3, 4, 9, tzinfo=SH)  # later than any other test's cases
    waiting = [_new(session, cat, t0 + timedelta(days=d)) for d in (3, 1, 2)]
    done = _new(session, cat, t0)
    done = _do(session, SYSTEM, done, Action.dispatch, t0, department=cat.department_code)
    done = _do(session, SYSTEM, done, Action.accept, t0)
    done = _do(session, SYSTEM, done, Action.resolve, t0 + timedelta(hours=1), reply="已办")
    rows, _, _ = list_cases_for(
        session,
        actor=actor("duty"),
        filters=CaseFilters(open=True, order="due_at", received_from=t0),
        now=t0,
    )
    assert [r.id for r in rows] == [c.id for c in sorted(waiting, key=lambda c: c.received_at)]
    assert done.id not in {r.id for r in rows}


def test_a_department_that_does_not_report_in_on_time_is_supervised_once(
    session: Session, actor: Callable[[str], Actor]
) -> None:
    from townops.cases.sweeps import sweep_late_report_ins

    cat = _category(session, working_days=5)
    t0 = datetime(2022, 6, 6, 9, tzinfo=SH)
    case = _new(session, cat, t0)
    case = _do(
        session, actor("nanxin"), case, Action.whistle, t0,
        departments=["urban_management", "housing_office"], report_in_hours=2,
    )  # fmt: skip
    case = _do(session, actor("housing"), case, Action.report_in, t0 + timedelta(hours=1))
    assert sweep_late_report_ins(session, now=t0 + timedelta(hours=1, minutes=59)) == 0
    assert sweep_late_report_ins(session, now=t0 + timedelta(hours=3)) == 1
    assert sweep_late_report_ins(session, now=t0 + timedelta(hours=4)) == 0
    late = session.scalars(
        select(CaseEvent).where(
            CaseEvent.case_id == case.id, CaseEvent.comment.startswith("auto: late report-in")
        )
    ).all()
    assert [e.department_code for e in late] == ["urban_management"]


def test_an_alarm_cases_first_contact_is_never_due_after_the_case_itself(
    session: Session,
) -> None:
    """A 30-minute device-alarm category: first contact is due with the case, not the next
    working day (the clocks of one case never contradict each other)."""
    cat = session.scalars(select(Category).where(Category.deadline_minutes == 30)).first()
    assert cat is not None, "Gaohang has 30-minute device-alarm categories"
    received = datetime(2022, 6, 6, 21, 40, tzinfo=SH)  # evening: tomorrow is a working day
    case = _new(session, cat, received)
    case = _do(
        session, SYSTEM, case, Action.dispatch, received.astimezone(UTC), department="safety_office"
    )
    assert case.due_at == received + timedelta(minutes=30)
    assert case.first_contact_due_at == case.due_at
    five_day = _new(session, _category(session, working_days=5), received)
    five_day = _do(
        session,
        SYSTEM,
        five_day,
        Action.dispatch,
        received.astimezone(UTC),
        department="housing_office",
    )
    assert five_day.first_contact_due_at is not None
    assert five_day.first_contact_due_at < five_day.due_at
