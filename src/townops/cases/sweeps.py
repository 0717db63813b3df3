"""The overdue sweep: mark and supervise every newly overdue case, set-based.

The claim reads only ``sweep_due_at`` (non-NULL exactly while a running deadline is not yet
claimed; partial index), so its cost follows the number of newly overdue cases, not the
size of the table. Claiming sets ``sweep_due_at`` to NULL — a compare-and-set: two sweepers
never claim the same case — and writes one automatic supervision (督办) event per claimed
case. No per-case round trips:

* PostgreSQL: one statement, ``WITH claimed AS (UPDATE ... RETURNING ...) INSERT ... SELECT
  FROM claimed``.
* SQLite: ``INSERT ... SELECT`` of the events, then the ``UPDATE``, with the same condition.
  The INSERT takes SQLite's single write lock for the transaction, so nothing can change
  the claimed set between the two statements.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import JSON, CursorResult, func, insert, literal, select, update
from sqlalchemy.orm import Session

from townops.cases import events
from townops.cases.enums import CLOCK_STATES, Action
from townops.cases.models import Case, CaseEvent, Summons
from townops.db import UTCDateTime
from townops.timeutil import utcnow

_CLOCK = [s.value for s in CLOCK_STATES]
_EVENT_COLUMNS = [
    "case_id", "action", "from_state", "to_state", "at", "actor_user_id",
    "actor_name", "actor_role", "department_code", "comment", "data",
]  # fmt: skip


def _newly_overdue(now: datetime) -> list[Any]:
    return [Case.sweep_due_at < now, Case.state.in_(_CLOCK)]


def _claim(now: datetime) -> Any:
    return (
        update(Case)
        .where(*_newly_overdue(now))
        .values(
            sweep_due_at=None,
            overdue_marked_at=now,
            breached=True,
            supervision_count=Case.supervision_count + 1,
            version=Case.version + 1,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )


def _event_values(now: datetime, source: Any) -> list[Any]:
    return [
        source.c.id,
        literal(Action.supervise.value),
        source.c.state,
        source.c.state,
        literal(now, type_=UTCDateTime()),
        literal(None, type_=CaseEvent.actor_user_id.type),
        literal("system"),
        literal("admin"),
        source.c.department_code,
        literal("auto: overdue (超期自动督办)"),
        literal({"automatic": True, "reason": "overdue"}, type_=JSON()),
    ]


def sweep_late_report_ins(session: Session, *, now: datetime | None = None) -> int:
    """Supervise each summoned department that has not reported in by its deadline.

    Summonses are few (a whistle names a handful of departments), so this reads them with
    an ordinary query; each late one gets one automatic supervision event on its case.
    """
    now = now or utcnow()
    late = session.execute(
        select(Summons, Case.state)
        .join(Case, Case.id == Summons.case_id)
        .where(
            Summons.reported_in_at.is_(None),
            Summons.overdue_marked_at.is_(None),
            Summons.report_in_due_at < now,
            Case.state.in_(_CLOCK),
        )
    ).all()
    for summons, state in late:
        summons.overdue_marked_at = now
        session.add(
            CaseEvent(
                case_id=summons.case_id,
                action=Action.supervise.value,
                from_state=state,
                to_state=state,
                at=now,
                actor_name="system",
                actor_role="admin",
                department_code=summons.department_code,
                comment="auto: late report-in (吹哨未按时报到)",
                data={"automatic": True, "reason": "report_in_overdue"},
            )
        )
    session.flush()
    for summons, _state in late:
        events.publish(
            events.ReportInLate(
                session=session,
                now=now,
                case_id=summons.case_id,
                department_code=summons.department_code,
            )
        )
    return len(late)


def sweep_overdue(session: Session, *, now: datetime | None = None) -> int:
    """Mark cases whose deadline passed; return how many were newly marked.

    Publishes :class:`~townops.cases.events.CasesOverdue` with their ids when anyone
    subscribes (the ids are gathered only then: nobody listening costs nothing).
    """
    now = now or utcnow()
    listening = events.has_subscribers(events.CasesOverdue)
    if session.get_bind().dialect.name == "postgresql":
        claimed = _claim(now).returning(Case.id, Case.state, Case.department_code).cte("claimed")
        supervised = insert(CaseEvent).from_select(
            _EVENT_COLUMNS, select(*_event_values(now, claimed))
        )
        if listening:
            ids = list(session.scalars(select(claimed.c.id).add_cte(supervised.cte("supervised"))))
            _announce(session, now, ids)
            return len(ids)
        count = select(func.count()).select_from(claimed).add_cte(supervised.cte("supervised"))
        return int(session.scalar(count) or 0)
    cases = Case.__table__
    session.execute(
        insert(CaseEvent).from_select(
            _EVENT_COLUMNS, select(*_event_values(now, cases)).where(*_newly_overdue(now))
        )
    )
    # The INSERT holds SQLite's write lock: the set read here is the set claimed below.
    ids = list(session.scalars(select(Case.id).where(*_newly_overdue(now)))) if listening else []
    result = session.execute(_claim(now))
    if listening:
        _announce(session, now, ids)
    return int(cast(CursorResult[Any], result).rowcount)


def _announce(session: Session, now: datetime, case_ids: list[int]) -> None:
    if case_ids:
        events.publish(events.CasesOverdue(session=session, now=now, case_ids=case_ids))
