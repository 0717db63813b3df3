"""Notification rules on real cases: who is told what, when, and that the reminders follow
the case (Gaohang's notifications.yaml, in-app; the case engine's events, no edit in cases/).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.factories import add_device, do_action, file_case
from townops.access.actor import SYSTEM, Actor
from townops.auth.models import User
from townops.cases.enums import Action
from townops.cases.models import Case, CaseEvent
from townops.cases.sweeps import sweep_overdue
from townops.categories.models import Category
from townops.duty import chain_at
from townops.errors import NotFound
from townops.notify import backfill_open_cases, silence
from townops.notify.config import INAPP, QuietHours
from townops.notify.models import Notification
from townops.notify.service import _address, _audience, after_quiet_hours
from townops.sensing.alarms.lifecycle import acknowledge_alarm
from townops.sensing.ingest.messages import IncomingReading
from townops.sensing.ingest.pipeline import process_readings
from townops.sensing.models import Alarm

SH = ZoneInfo("Asia/Shanghai")
NANXIN = "310115121020"
# A Monday morning in town time: a 5-working-day case is due the next Monday 23:59:59.
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=SH).astimezone(UTC)


def _five_day_category(session: Session) -> Category:
    cat = session.scalars(
        select(Category).where(
            Category.deadline_working_days == 5, Category.department_code == "housing_office"
        )
    ).first()
    assert cat is not None, "Gaohang needs a five-working-day category of the housing office"
    return cat


def _hotline(session: Session) -> Case:
    return file_case(
        session,
        now=T0,
        category=_five_day_category(session).code,
        content="楼上漏水",
        jurisdiction=NANXIN,
        kind="hotline",
        received_at=T0,
        requester_phone="13812341234",
    )


def _rows(session: Session, case: Case, rule: str | None = None) -> list[Notification]:
    stmt = select(Notification).where(Notification.case_id == case.id)
    if rule is not None:
        stmt = stmt.where(Notification.rule == rule)
    return list(session.scalars(stmt.order_by(Notification.next_attempt_at, Notification.id)))


def _user_ids(session: Session, **where: object) -> set[int]:
    stmt = select(User.id).where(User.active)
    for name, value in where.items():
        stmt = stmt.where(getattr(User, name) == value)
    return set(session.scalars(stmt))


def test_a_dispatch_tells_every_handler_of_the_department_in_app(session: Session) -> None:
    case = _hotline(session)
    do_action(session, case, Action.dispatch, actor=SYSTEM, now=T0, department="housing_office")
    told = _rows(session, case, "dispatched")
    handlers = _user_ids(session, role="handler", department_code="housing_office")
    assert handlers and {n.recipient_user_id for n in told} == handlers
    first = told[0]
    assert first.channel == "inapp" and first.state == "delivered"
    assert first.title.startswith(f"新工单 #{case.id}：") and "请于" in first.body
    assert first.title_en.startswith(f"New case #{case.id}: ")
    # A message names the case, never who called.
    assert "13812341234" not in first.body and "1234" not in first.body


def test_reminders_are_queued_before_the_deadline_and_follow_an_extension_then_stop(
    session: Session, actor: Callable[[str], Actor]
) -> None:
    case = _hotline(session)
    case = do_action(
        session, case, Action.dispatch, actor=SYSTEM, now=T0, department="housing_office"
    )
    due = case.due_at
    reminders = _rows(session, case, "deadline_reminder")
    handlers = _user_ids(session, role="handler", department_code="housing_office")
    assert {n.next_attempt_at for n in reminders} == {
        due - timedelta(hours=24),
        due - timedelta(hours=4),
        due,
    }
    assert len(reminders) == 3 * len(handlers)
    assert all(n.state == "queued" and n.expires_at == due + timedelta(hours=1) for n in reminders)

    housing = actor("housing")
    later = T0 + timedelta(hours=2)
    case = do_action(session, case, Action.accept, actor=housing, now=later)
    case = do_action(
        session,
        case,
        Action.request_extension,
        actor=housing,
        now=later,
        working_days=5,
        reason="需协调物业",
    )
    case = do_action(session, case, Action.approve_extension, actor=actor("duty"), now=later)
    assert case.due_at > due
    session.expire_all()
    states = {(n.next_attempt_at, n.state) for n in _rows(session, case, "deadline_reminder")}
    assert {(due - timedelta(hours=4), "cancelled"), (due, "cancelled")} <= states
    assert (case.due_at - timedelta(hours=4), "queued") in states

    do_action(session, case, Action.resolve, actor=housing, now=later, reply="已修复")
    session.expire_all()
    pending = [n for n in _rows(session, case, "deadline_reminder") if n.state == "queued"]
    assert pending == [], "a resolved case reminds nobody"


def test_a_resident_hears_of_the_receipt_and_of_the_resolution(
    session: Session, actor: Callable[[str], Actor]
) -> None:
    resident = actor("resident_a")
    case = file_case(
        session,
        actor=resident,
        now=T0,
        category=_five_day_category(session).code,
        content="小区路灯坏了",
        jurisdiction=NANXIN,
        kind="request",
        source="web",
    )
    (received,) = _rows(session, case, "request_received")
    assert received.recipient_user_id == resident.user_id
    assert case.token in received.title and received.state == "delivered"
    case = do_action(
        session, case, Action.dispatch, actor=SYSTEM, now=T0, department="housing_office"
    )
    housing = actor("housing")
    case = do_action(session, case, Action.accept, actor=housing, now=T0)
    do_action(
        session, case, Action.resolve, actor=housing, now=T0, reply="已更换灯泡，电话13900001111"
    )
    (resolved,) = _rows(session, case, "request_resolved")
    assert resolved.recipient_user_id == resident.user_id
    assert "已更换灯泡" in resolved.body and "13900001111" not in resolved.body
    # Not satisfied: reopened, and the resident hears of it too.
    case = do_action(session, case, Action.callback, actor=resident, now=T0, rating="dissatisfied")
    (reopened,) = _rows(session, case, "request_reopened")
    assert reopened.recipient_user_id == resident.user_id and "重新办理" in reopened.title


def test_the_overdue_sweep_sends_one_digest_each_to_the_officer_on_duty_and_each_unit(
    session: Session,
) -> None:
    """Gaohang: ``to: [on_duty, holder]``. The duty officer on duty hears of every case the
    sweep marked, in one message; each department's handlers of their own cases only."""
    housing = [_hotline(session) for _ in range(3)]
    for case in housing:
        do_action(session, case, Action.dispatch, actor=SYSTEM, now=T0, department="housing_office")
    other = _hotline(session)
    do_action(session, other, Action.dispatch, actor=SYSTEM, now=T0, department="urban_management")
    after = max(c.due_at for c in [*housing, other]) + timedelta(minutes=5)
    assert sweep_overdue(session, now=after) >= 4
    digests = {
        d.recipient_user_id: d
        for d in session.scalars(
            select(Notification).where(
                Notification.rule == "overdue_digest", Notification.created_at == after
            )
        )
    }
    (officer,) = _on_duty_now(session, after, "officer")
    handlers = _user_ids(session, role="handler", department_code="housing_office")
    urban = _user_ids(session, role="handler", department_code="urban_management")
    assert set(digests) == {officer, *handlers, *urban}
    every = [f"#{c.id}" for c in [*housing, other]]
    assert all(ref in digests[officer].body for ref in every)
    assert digests[officer].title == "4 件工单超期"
    for handler in handlers:
        assert all(f"#{c.id}" in digests[handler].body for c in housing)
        assert f"#{other.id}" not in digests[handler].body  # not their department's
    for handler in urban:
        assert digests[handler].title == "1 件工单超期"


def _on_duty_now(session: Session, at: datetime, position: str) -> set[int]:
    """The user id holding ``position`` at ``at`` by Gaohang's duty roster."""
    chain = chain_at(session, at)
    assert chain is not None, "Gaohang keeps a duty roster (duty.yaml)"
    return {user.id for link, user in chain if link.position.id == position}


def test_a_whistle_tells_each_summoned_department_with_its_report_in_deadline(
    session: Session, actor: Callable[[str], Actor]
) -> None:
    case = _hotline(session)
    case = do_action(
        session, case, Action.dispatch, actor=SYSTEM, now=T0, department="housing_office"
    )
    do_action(
        session,
        case,
        Action.whistle,
        actor=actor("nanxin"),
        now=T0,
        departments=["urban_management"],
        comment="违建需联合执法",
    )
    told = _rows(session, case, "summoned")
    assert {n.recipient_user_id for n in told} == _user_ids(
        session, role="handler", department_code="urban_management"
    )
    assert told and "前报到" in told[0].body and told[0].critical


def test_messages_roll_back_with_the_change_that_caused_them(session: Session) -> None:
    savepoint = session.begin_nested()
    case = _hotline(session)
    do_action(session, case, Action.dispatch, actor=SYSTEM, now=T0, department="housing_office")
    case_id = case.id
    assert session.scalar(select(Notification.id).where(Notification.case_id == case_id))
    savepoint.rollback()
    assert session.scalar(select(Notification.id).where(Notification.case_id == case_id)) is None


def test_a_silenced_session_queues_nothing(session: Session) -> None:
    silence(session)
    try:
        case = _hotline(session)
        do_action(session, case, Action.dispatch, actor=SYSTEM, now=T0, department="housing_office")
        assert _rows(session, case) == []
    finally:
        session.info.pop("townops.notify.silenced", None)


@pytest.mark.parametrize(
    ("local", "expected"),
    [
        (datetime(2026, 3, 2, 23, 30), datetime(2026, 3, 3, 7, 0)),
        (datetime(2026, 3, 3, 2, 0), datetime(2026, 3, 3, 7, 0)),
        (datetime(2026, 3, 3, 7, 0), datetime(2026, 3, 3, 7, 0)),
        (datetime(2026, 3, 3, 21, 59), datetime(2026, 3, 3, 21, 59)),
    ],
)
def test_quiet_hours_push_a_message_to_their_end_in_town_time(
    local: datetime, expected: datetime
) -> None:
    moment = local.replace(tzinfo=SH).astimezone(UTC)
    assert after_quiet_hours(moment, QuietHours()) == expected.replace(tzinfo=SH).astimezone(UTC)


def test_a_backfill_tells_the_holders_of_open_cases_what_a_silenced_replay_did_not(
    session: Session,
) -> None:
    silence(session)
    try:
        case = _hotline(session)
        case = do_action(
            session, case, Action.dispatch, actor=SYSTEM, now=T0, department="housing_office"
        )
        closed = _hotline(session)
        do_action(session, closed, Action.link, actor=SYSTEM, now=T0, duplicate_of=case.id)
    finally:
        session.info.pop("townops.notify.silenced", None)
    assert _rows(session, case) == []
    backfill_open_cases(session, now=T0 + timedelta(hours=1))
    told = _rows(session, case, "dispatched")
    assert told and all(n.next_attempt_at == case.dispatched_at for n in told)
    assert all(n.state == "delivered" for n in told)
    assert {n.next_attempt_at for n in _rows(session, case, "deadline_reminder")} == {
        case.due_at - timedelta(hours=24),
        case.due_at - timedelta(hours=4),
        case.due_at,
    }
    assert _rows(session, closed) == [], "a case nobody holds tells nobody"


def test_a_backfill_calls_the_chain_of_the_last_hour_s_unsigned_alarms_only(
    session: Session,
) -> None:
    """The demo replays silenced: an alarm of 20 minutes ago nobody signed for still climbs
    its chain after the backfill (both calls due now or later); one of 3 hours ago does not."""
    now = T0 + timedelta(hours=3)
    silence(session)
    try:
        department = _five_day_category(session).department_code
        recent = _alarm_case(session, now - timedelta(minutes=20))
        recent = do_action(
            session, recent, Action.dispatch, now=recent.received_at, department=department
        )
        old = _alarm_case(session, T0)
        old = do_action(session, old, Action.dispatch, now=T0, department=department)
    finally:
        session.info.pop("townops.notify.silenced", None)
    backfill_open_cases(session, now=now)
    calls = _rows(session, recent, "alarm_unacknowledged")
    assert [c.next_attempt_at for c in calls] == [now, recent.received_at + timedelta(minutes=30)]
    assert _rows(session, old, "alarm_unacknowledged") == []


def test_an_open311_reporter_with_only_an_email_is_reached_by_email_not_sms(
    session: Session,
) -> None:
    """FixMyStreet sends an e-mail and often no phone: the requester audience carries it."""
    case = file_case(
        session,
        now=T0,
        category=_five_day_category(session).code,
        content="路灯不亮",
        jurisdiction=NANXIN,
        kind="request",
        source="open311",
        requester_email="li.wei@example.org",
    )
    (person,) = _audience(session, case, "requester", ())
    assert (person.user_id, person.phone, person.email) == (None, None, "li.wei@example.org")
    assert _address("email", person) == "li.wei@example.org"
    assert _address("aliyun_sms", person) is None and _address(INAPP, person) is None


def _alarm_case(session: Session, at: datetime) -> Case:
    return file_case(
        session,
        now=at,
        category="iot_gas_alarm",
        content="可燃气体浓度 18.5 %LEL 超过 10",
        jurisdiction=NANXIN,
        kind="iot_alarm",
        source="iot",
        received_at=at,
    )


def test_a_critical_alarm_nobody_acknowledges_climbs_the_on_duty_chain_on_time(
    session: Session, actor: Callable[[str], Actor]
) -> None:
    """10 minutes unacknowledged: the duty officer on duty (one person, by the roster); 30:
    the leader on duty; quiet hours do not apply."""
    night = datetime(2026, 3, 3, 2, 0, tzinfo=SH).astimezone(UTC)  # inside 22:00–07:00
    case = _alarm_case(session, night)
    assert case.urgency == "urgent"
    rows = _rows(session, case, "alarm_unacknowledged")
    at_ten = [r for r in rows if r.next_attempt_at == night + timedelta(minutes=10)]
    at_thirty = [r for r in rows if r.next_attempt_at == night + timedelta(minutes=30)]
    assert len(rows) == len(at_ten) + len(at_thirty) == 2
    assert {r.recipient_user_id for r in at_ten} == _on_duty_now(session, night, "officer")
    assert {r.recipient_user_id for r in at_thirty} == _on_duty_now(
        session, night, "leader_on_duty"
    )
    assert at_ten[0].title == f"告警工单 #{case.id} 10 分钟无人确认"
    assert at_thirty[0].title_en.endswith("in 30 min")
    assert all(r.critical and r.state == "queued" for r in rows)
    # Dispatched two minutes later: the same chain, not a second one.
    two = night + timedelta(minutes=2)
    department = _five_day_category(session).department_code
    case = do_action(session, case, Action.dispatch, now=two, department=department)
    assert [r.id for r in _rows(session, case, "alarm_unacknowledged")] == [r.id for r in rows]
    assert all(r.state == "queued" for r in _rows(session, case, "alarm_unacknowledged"))


def test_the_chain_follows_the_roster_through_shifts_weeks_and_swaps(session: Session) -> None:
    """The night shift's officer is not the day shift's; the leader changes on Mondays; the
    swap of New Year's Eve puts 陈敏 on the night shift."""
    monday_day = datetime(2026, 3, 2, 10, 0, tzinfo=SH)
    monday_night = datetime(2026, 3, 2, 23, 0, tzinfo=SH)
    tuesday_early = datetime(2026, 3, 3, 6, 0, tzinfo=SH)  # still Monday's night shift
    next_monday = datetime(2026, 3, 9, 10, 0, tzinfo=SH)
    officer = {t: _on_duty_now(session, t, "officer") for t in (monday_day, monday_night)}
    assert officer[monday_day] != officer[monday_night]
    assert _on_duty_now(session, tuesday_early, "officer") == officer[monday_night]
    assert _on_duty_now(session, monday_day, "leader_on_duty") != _on_duty_now(
        session, next_monday, "leader_on_duty"
    )
    eve = datetime(2026, 12, 31, 20, 0, tzinfo=SH)
    assert _on_duty_now(session, eve, "officer") == _user_ids(session, username="duty")


def test_acknowledging_an_alarm_case_stops_the_chain(
    session: Session, actor: Callable[[str], Actor]
) -> None:
    """The duty officer acknowledges (确认收到) the case: the calls still waiting are
    cancelled, the acknowledgement is on the timeline, and the case has not moved."""
    case = _alarm_case(session, T0)
    department = _five_day_category(session).department_code
    case = do_action(session, case, Action.dispatch, now=T0, department=department)
    state = case.state
    case = do_action(
        session, case, Action.acknowledge, actor=actor("duty"), now=T0 + timedelta(minutes=12)
    )
    # The 10-minute call is already in the officer's bell and stays; the leader's is off.
    ten, thirty = _rows(session, case, "alarm_unacknowledged")
    assert (ten.state, thirty.state) == ("queued", "cancelled")
    assert case.state == state
    assert "acknowledge" in _timeline(session, case)


def test_acknowledging_the_device_alarm_on_the_console_stops_its_case_s_chain(
    session: Session, actor: Callable[[str], Actor]
) -> None:
    add_device(session, "GAS-N", "gas_alarm", NANXIN, household=True)
    process_readings(session, [IncomingReading("GAS-N", 1, T0, {"gas_lel": 15.0}, T0)], now=T0)
    alarm = session.scalars(select(Alarm).where(Alarm.device_id == "GAS-N")).one()
    case = session.get(Case, alarm.case_id)
    assert case is not None
    pending = _rows(session, case, "alarm_unacknowledged")
    assert len(pending) == 2 and {r.state for r in pending} == {"queued"}
    acknowledge_alarm(
        session, actor=actor("duty"), alarm_id=alarm.id, now=T0 + timedelta(minutes=3)
    )
    session.expire_all()  # the rows above were loaded before the UPDATE that cancelled them
    assert {r.state for r in _rows(session, case, "alarm_unacknowledged")} == {"cancelled"}
    assert "alarm_acknowledged" in _timeline(session, case)


def _timeline(session: Session, case: Case) -> list[str]:
    return list(session.scalars(select(CaseEvent.action).where(CaseEvent.case_id == case.id)))


def test_a_handler_acknowledges_only_their_own_unit_s_alarm(
    session: Session, actor: Callable[[str], Actor]
) -> None:
    case = _alarm_case(session, T0)
    case = do_action(session, case, Action.dispatch, now=T0, department="housing_office")
    # Another department does not even see it (404 on the API), let alone acknowledge it.
    with pytest.raises(NotFound):
        do_action(session, case, Action.acknowledge, actor=actor("urban"), now=T0)
    do_action(session, case, Action.acknowledge, actor=actor("housing"), now=T0)
    assert {r.state for r in _rows(session, case, "alarm_unacknowledged")} == {"cancelled"}


def test_signing_for_an_alarm_stops_the_chain(
    session: Session, actor: Callable[[str], Actor]
) -> None:
    case = _alarm_case(session, T0)
    department = _five_day_category(session).department_code
    case = do_action(session, case, Action.dispatch, now=T0, department=department)
    do_action(session, case, Action.accept, actor=actor("housing"), now=T0 + timedelta(minutes=4))
    rows = _rows(session, case, "alarm_unacknowledged")
    assert rows and {r.state for r in rows} == {"cancelled"}
    # An ordinary (not urgent) case has no chain at all.
    assert not _rows(session, _hotline(session), "alarm_unacknowledged")
