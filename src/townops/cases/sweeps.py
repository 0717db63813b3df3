"""The overdue sweep: mark and supervise every newly overdue case, set-based.

Two statements whatever the number of cases: one UPDATE claims the newly overdue cases by
stamping ``overdue_marked_at`` with this sweep's time (compare-and-set on
``overdue_marked_at IS NULL``, so two sweepers never claim the same case), then one
INSERT ... SELECT writes their automatic supervision (督办) events. Works the same on
SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import JSON, CursorResult, insert, literal, select, update
from sqlalchemy.orm import Session

from townops.cases.enums import CLOCK_STATES, Action
from townops.cases.models import Case, CaseEvent
from townops.db import UTCDateTime
from townops.timeutil import utcnow

_CLOCK = [s.value for s in CLOCK_STATES]


def sweep_overdue(session: Session, *, now: datetime | None = None) -> int:
    """Mark cases whose deadline passed; return how many were newly marked."""
    now = now or utcnow()
    result = session.execute(
        update(Case)
        .where(Case.state.in_(_CLOCK), Case.due_at < now, Case.overdue_marked_at.is_(None))
        .values(
            overdue_marked_at=now,
            breached=True,
            supervision_count=Case.supervision_count + 1,
            version=Case.version + 1,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    claimed = cast(CursorResult[Any], result).rowcount
    if not claimed:
        return 0
    session.execute(
        insert(CaseEvent).from_select(
            [
                "case_id",
                "action",
                "from_state",
                "to_state",
                "at",
                "actor_user_id",
                "actor_name",
                "actor_role",
                "department_code",
                "comment",
                "data",
            ],
            select(
                Case.id,
                literal(Action.supervise.value),
                Case.state,
                Case.state,
                literal(now, type_=UTCDateTime()),
                literal(None, type_=CaseEvent.actor_user_id.type),
                literal("system"),
                literal("admin"),
                Case.department_code,
                literal("auto: overdue (超期自动督办)"),
                literal({"automatic": True, "reason": "overdue"}, type_=JSON()),
            ).where(Case.overdue_marked_at == now, Case.state.in_(_CLOCK)),
        )
    )
    return int(claimed)
