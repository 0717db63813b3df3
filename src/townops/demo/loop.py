"""The discrete-event machinery of the demo year: a heap of timed steps, the nightly sweep.

Every step of every case is pushed as (time, seq, ticket, step, argument) and popped in
global time order, so actions on one case come in causal order and all cases share one
timeline. At each local midnight the overdue sweep runs (late cases get breached and
automatically supervised) and the day is committed. The living demo's last day stops at
its ``end`` (now): what was planned after that has not happened yet. The story of a case
(what each step does) is in :mod:`townops.demo.simulate`.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any, cast

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from townops import notify
from townops.access.actor import Actor
from townops.cases.enums import Action, State
from townops.cases.models import Case
from townops.cases.schemas import ActionInput
from townops.cases.service import TOKEN_ALPHABET, perform_action
from townops.cases.sweeps import sweep_late_report_ins, sweep_overdue
from townops.cases.transitions import next_state
from townops.demo import behaviour as b
from townops.demo.cast import Cast
from townops.demo.year import DemoYear
from townops.towns.profile import get_profile


@dataclass
class SimulationReport:
    cases: int = 0
    actions: int = 0
    overdue_marked: int = 0
    # Planned side actions (a supervision, say) that found the case already handled.
    skipped: int = 0
    users_created: list[str] = field(default_factory=list)


class Step(StrEnum):
    create = "create"
    dispatch = "dispatch"
    return_ = "return"
    accept = "accept"
    first_contact = "first_contact"
    request_extension = "request_extension"
    decide_extension = "decide_extension"
    resolve = "resolve"
    callback = "callback"
    close = "close"
    whistle = "whistle"
    report_in = "report_in"
    supervise = "supervise"


# Side steps run only if the case still allows them when their time comes.
_SIDE_ACTIONS = {
    Step.whistle: Action.whistle,
    Step.report_in: Action.report_in,
    Step.supervise: Action.supervise,
}
_SUPERVISABLE = frozenset({State.dispatched, State.accepted, State.returned, State.reopened})


@dataclass
class Ticket:
    """The simulation's notes on one case."""

    case: Case
    category: b.CategoryInfo
    fate: b.Fate
    department: str
    late: bool
    community: str | None = None  # held by this community (居委会) rather than a department
    returned: bool = False
    extension_asked: bool = False
    whistled: bool = False
    round: int = 1
    not_before: datetime | None = None


class EventLoop:
    """Runs a year of steps; a subclass says what ``create`` and each step do."""

    steps: dict[Step, Callable[[int, Ticket, str], None]]

    def __init__(self, session: Session, seed: int, year: DemoYear) -> None:
        self.session = session
        # A replayed year tells nobody: no year of messages for the worker to send today.
        notify.silence(session)
        self.year = year
        self.rng = random.Random(seed)
        # Tracking codes come from their own stream so they never shift the year's draws.
        self.token_rng = random.Random(f"townops-demo-tokens-{seed}")
        self.calendar = get_profile(session).calendar
        self.cast = Cast(session)
        self.report = SimulationReport()
        self.tickets: dict[int, Ticket] = {}
        self.by_case_id: dict[int, int] = {}
        self.new_today: list[Case] = []
        self.heap: list[tuple[datetime, int, int, Step, str]] = []
        self.seq = 0
        self.now = year.start

    def create(self, serial: int) -> None:
        raise NotImplementedError

    def track(self, serial: int, ticket: Ticket) -> None:
        self.tickets[serial] = ticket
        self.by_case_id[ticket.case.id] = serial
        self.new_today.append(ticket.case)
        self.report.cases += 1

    def forget(self, key: int, ticket: Ticket) -> None:
        del self.tickets[key]
        del self.by_case_id[ticket.case.id]

    # ------------------------------------------------------------------ the loop

    def run(self, on_day: Callable[[date], None] | None) -> SimulationReport:
        for day in self.year.days:
            day_end = self.year.day_end(day)
            while self.heap and self.heap[0][0] < day_end:
                when, _, key, step, arg = heapq.heappop(self.heap)
                self.now = when
                self.handle(key, step, arg)
            self.now = day_end
            self.end_of_day(day_end)
            if on_day is not None:
                on_day(day)
        self.report.users_created = list(self.cast.created)
        return self.report

    def at(self, when: datetime, key: int, step: Step, arg: str = "") -> None:
        # Never in the past: each action on a case comes at or after the one before.
        self.seq += 1
        heapq.heappush(self.heap, (max(when, self.now), self.seq, key, step, arg))

    def handle(self, key: int, step: Step, arg: str) -> None:
        if step == Step.create:
            self.create(key)
            return
        ticket = self.tickets.get(key)
        if ticket is None or not self.may(ticket, step):
            self.report.skipped += 1
            return
        self.steps[step](key, ticket, arg)

    def may(self, ticket: Ticket, step: Step) -> bool:
        action = _SIDE_ACTIONS.get(step)
        if action is None:
            return True
        state = State(ticket.case.state)
        if step == Step.supervise:
            return state in _SUPERVISABLE
        if step == Step.report_in and not ticket.whistled:
            return False
        return next_state(state, action) is not None

    def end_of_day(self, day_end: datetime) -> None:
        marked = sweep_overdue(self.session, now=day_end)
        sweep_late_report_ins(self.session, now=day_end)
        if marked:
            self.report.overdue_marked += marked
            self.after_sweep(day_end)
        self.assign_tokens()
        self.session.commit()

    def after_sweep(self, swept_at: datetime) -> None:
        """Reload the swept cases (the sweep bumped their version) and let the leader
        follow up on some of them the next morning."""
        ids = self.session.scalars(
            select(Case.id).where(Case.overdue_marked_at == swept_at).order_by(Case.id)
        )
        for case_id in ids:
            key = self.by_case_id.get(case_id)
            if key is None:
                continue
            self.session.expire(self.tickets[key].case)
            if self.rng.random() < b.LEADER_FOLLOWS_BREACH_RATE:
                self.at(b.at_local(swept_at, 9, self.rng.uniform(0, 120)), key, Step.supervise)

    def assign_tokens(self) -> None:
        """Give the day's cases tracking codes from the seeded stream.

        ``create_case`` draws codes from ``secrets`` (unguessable, as they must be in
        production); the demo swaps in seeded ones so a seed reproduces the database. A
        plain table UPDATE, so the cases' versions do not move.
        """
        if not self.new_today:
            return
        rows = []
        for case in self.new_today:
            token = "".join(self.token_rng.choice(TOKEN_ALPHABET) for _ in range(10))
            rows.append({"case_id": case.id, "new_token": token})
            set_committed_value(case, "token", token)
        table = cast(Table, Case.__table__)
        self.session.execute(
            update(table)
            .where(table.c.id == bindparam("case_id"))
            .values(token=bindparam("new_token")),
            rows,
        )
        self.new_today.clear()

    # ------------------------------------------------------------------ acting

    def act(self, ticket: Ticket, actor: Actor, action: Action, **fields: Any) -> Case:
        case = perform_action(
            self.session,
            actor=actor,
            case_id=ticket.case.id,
            action=action,
            body=ActionInput(version=ticket.case.version, **fields),
            now=self.now,
        )
        self.report.actions += 1
        return case
