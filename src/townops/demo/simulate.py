"""Simulate a year of Gaohang's 12345 hotline through the real case engine.

Each case is received, dispatched, perhaps returned and re-dispatched, accepted, contacted,
perhaps whistled, extended or supervised, resolved, called back, perhaps reopened, and
closed — every step through ``create_case`` / ``perform_action`` with an explicit simulated
``now`` and a real, permitted actor (see :mod:`.cast`). The steps run on the event loop of
:mod:`.loop`; the rates and delays are in :mod:`.behaviour`, the calls in :mod:`.scenario`.
Nothing reads the wall clock; one ``random.Random(seed)`` drives every choice, so a seed
always yields the same cases and events.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from townops.access.actor import Actor
from townops.cases.enums import Action, State
from townops.cases.kinds import REQUEST
from townops.cases.models import Case
from townops.cases.service import create_case
from townops.categories.models import Category
from townops.demo import behaviour as b
from townops.demo import texts
from townops.demo.loop import EventLoop, SimulationReport, Step, Ticket
from townops.demo.scenario import (
    Arrival,
    Node,
    build_place_book,
    case_input,
    draw_arrivals,
    pick,
)
from townops.demo.year import DemoYear
from townops.jurisdiction.models import Jurisdiction
from townops.organization.models import Department
from townops.signs.seed_figures import SEED_YEAR

__all__ = ["DEFAULT_CASES", "DEFAULT_SEED", "DemoParams", "SimulationReport", "simulate_year"]

DEFAULT_CASES = 11_097  # hotline orders Gaohang handled in 2022 (government work report)
DEFAULT_SEED = 2022
# A dispatch step's argument naming a community rather than a department.
COMMUNITY_TARGET = "community:"


@dataclass(frozen=True)
class DemoParams:
    seed: int = DEFAULT_SEED
    cases: int = DEFAULT_CASES
    #: The days simulated: by default the seeds' calendar year (what the tests replay);
    #: ``townops demo`` passes the year up to now.
    year: DemoYear = field(default_factory=lambda: DemoYear.calendar_year(SEED_YEAR))
    #: Work for every demo persona (the living demo): some cases held by communities, the
    #: demo residents' own web requests. Off, a seed replays 2022 exactly as it always did.
    personas: bool = False


def simulate_year(
    session: Session,
    params: DemoParams = DemoParams(),
    *,
    on_day: Callable[[date], None] | None = None,
) -> SimulationReport:
    """Receive and handle ``params.cases`` hotline cases over ``params.year``; commit day
    by day.

    The database must hold the town (categories, departments, jurisdictions) and its demo
    users; missing handler or community accounts are created (see :mod:`.cast`).
    """
    return _Year(session, params).run(on_day)


class _Year(EventLoop):
    def __init__(self, session: Session, params: DemoParams) -> None:
        super().__init__(session, params.seed, params.year)
        self.categories = {
            c.code: b.CategoryInfo(
                c.code, c.department_code, c.deadline_working_days, c.deadline_hours, c.type
            )
            # Device alarms and vital-sign warnings: townops opens those, no caller does.
            for c in session.scalars(
                select(Category).where(Category.opened_by == "people").order_by(Category.code)
            )
        }
        self.departments = set(session.scalars(select(Department.code)))
        self.department_names = {
            code: name
            for code, name in session.execute(select(Department.code, Department.name_zh))
        }
        self.places = build_place_book(
            [
                Node(j.code, j.name_zh, j.level, j.parent_code, j.aliases or [], j.geometry)
                for j in session.scalars(select(Jurisdiction))
            ]
        )
        self.arrivals = draw_arrivals(
            self.rng, params.cases, list(self.categories), self.calendar, params.year
        )
        self.personas = params.personas
        # The personas' draws come from their own stream, after the year's.
        self.persona_rng = random.Random(f"townops-demo-personas-{params.seed}")
        # Serial → who files it and where: the demo residents' requests and the persona
        # communities' recent cases (both only with ``personas``).
        self.residents: dict[int, tuple[Actor, str]] = {}
        self.community_cases: dict[int, str] = {}
        self.open311_reports: set[int] = set()
        if self.personas:
            self.add_resident_requests(params.year)
            self.add_recent_community_cases(params.year)
            self.add_open311_reports(params.year)
        self.steps = {
            Step.dispatch: self.do_dispatch,
            Step.return_: self.do_return,
            Step.accept: self.do_accept,
            Step.first_contact: self.do_first_contact,
            Step.request_extension: self.do_request_extension,
            Step.decide_extension: self.do_decide_extension,
            Step.resolve: self.do_resolve,
            Step.callback: self.do_callback,
            Step.close: self.do_close,
            Step.whistle: self.do_whistle,
            Step.report_in: self.do_report_in,
            Step.supervise: self.do_supervise,
        }
        for serial, arrival in enumerate(self.arrivals, start=1):
            self.at(arrival.received_at, serial, Step.create)

    # ------------------------------------------------------------------ helpers

    def add_resident_requests(self, year: DemoYear) -> None:
        """The demo residents' own requests (web app, at home) over the year, the last few
        in the last days so that some are still being handled."""
        codes = [c for c in b.RESIDENT_CATEGORIES if c in self.categories]
        for username, community in b.RESIDENT_HOMES.items():
            resident = self.cast.resident(username)
            if resident is None or community not in self.places.spots or not codes:
                continue
            arrivals = draw_arrivals(
                self.persona_rng, b.RESIDENT_REQUESTS_PER_YEAR, codes, self.calendar, year
            )
            arrivals += self.recent_arrivals(year, codes, b.RECENT_RESIDENT_REQUESTS, 72)
            for arrival in arrivals:
                self.arrivals.append(arrival)
                self.residents[len(self.arrivals)] = (resident, community)

    def add_recent_community_cases(self, year: DemoYear) -> None:
        """Cases of the last two days that the persona communities' staff handle (南新)."""
        codes = [c for c in b.COMMUNITY_HANDLED if c in self.categories]
        for community in b.PERSONA_COMMUNITIES:
            if community not in self.places.spots or not codes:
                continue
            for arrival in self.recent_arrivals(year, codes, b.RECENT_COMMUNITY_CASES, 48):
                self.arrivals.append(arrival)
                self.community_cases[len(self.arrivals)] = community

    def add_open311_reports(self, year: DemoYear) -> None:
        """Reports from the town's Open311 front end over the year (FixMyStreet-style)."""
        codes = [c for c in b.OPEN311_CATEGORIES if c in self.categories]
        if not codes:
            return
        arrivals = draw_arrivals(
            self.persona_rng, b.OPEN311_REPORTS_PER_YEAR, codes, self.calendar, year
        )
        arrivals += self.recent_arrivals(year, codes, b.RECENT_OPEN311_REPORTS, 72)
        for arrival in arrivals:
            self.arrivals.append(arrival)
            self.open311_reports.add(len(self.arrivals))

    def open311_report(self, serial: int, arrival: Arrival) -> Case:
        """A report as an Open311 client sends it: an e-mail and no phone, the
        category's attributes, public."""
        rng = self.persona_rng
        data = case_input(rng, arrival, self.places.draw(rng), 0)
        attributes: dict[str, str | list[str]] = {}
        if arrival.category == "street_light":
            attributes = {
                "pole_number": f"GH-{rng.randrange(1, 3000):04d}",
                "fault": b.street_light_fault(data.content),
            }
        report = {
            "kind": REQUEST.name,
            "source": "open311",
            "external_id": None,
            "received_at": None,
            "requester_phone": "",
            "requester_email": f"reporter{serial}@example.org",
            "attributes": attributes,
        }
        return create_case(
            self.session,
            actor=self.cast.open311_client(b.OPEN311_CLIENT),
            data=data.model_copy(update=report),
            now=self.now,
        )

    def recent_arrivals(
        self, year: DemoYear, codes: list[str], count: int, within_hours: float
    ) -> list[Arrival]:
        """``count`` calls in the last ``within_hours`` before the year's end."""
        earliest = max(year.start, year.end - b.hours(within_hours))
        span = (year.end - earliest).total_seconds()
        return [
            Arrival(
                earliest + timedelta(seconds=self.persona_rng.uniform(0, span * 0.95)),
                self.persona_rng.choice(codes),
            )
            for _ in range(count)
        ]

    def handler(self, ticket: Ticket) -> Actor:
        if ticket.community is not None:
            return self.cast.community_staff(ticket.community)
        return self.cast.handler(ticket.department)

    def office(self, moment: datetime, *, latest: datetime, **kwargs: Any) -> datetime:
        return b.in_office_hours(self.rng, moment, latest=latest, **kwargs)

    def handler_hours(self, moment: datetime, latest: datetime, weekend_work: float) -> datetime:
        return self.office(moment, latest=latest, calendar=self.calendar, weekend_work=weekend_work)

    def lognormal_minutes(self, median: float, sigma: float, cap: float) -> timedelta:
        return b.minutes(min(self.rng.lognormvariate(0, sigma) * median, cap))

    # ------------------------------------------------------------------ steps

    def file(self, serial: int, arrival: Arrival) -> Case:
        """The case as the 12345 desk keys it in, as a demo resident files it, or as the
        town's Open311 front end sends it."""
        if serial in self.open311_reports:
            return self.open311_report(serial, arrival)
        resident = self.residents.get(serial)
        if resident is None:
            community = self.community_cases.get(serial)
            spot = (
                self.persona_rng.choice(self.places.spots[community])
                if community
                else self.places.draw(self.rng)
            )
            data = case_input(self.rng, arrival, spot, serial)
            return create_case(self.session, actor=self.cast.dispatcher, data=data, now=self.now)
        who, home = resident
        data = case_input(self.rng, arrival, self.persona_rng.choice(self.places.spots[home]), 0)
        web_request = {
            "kind": REQUEST.name,
            "source": "web",
            "external_id": None,
            "received_at": None,
            "requester_name": "",
            "requester_phone": "",
        }
        return create_case(
            self.session, actor=who, data=data.model_copy(update=web_request), now=self.now
        )

    def create(self, serial: int) -> None:
        arrival = self.arrivals[serial - 1]
        case = self.file(serial, arrival)
        category = self.categories[arrival.category]
        fate = b.draw_fate(self.rng, category, self.departments)
        target = category.department
        community_held = serial in self.community_cases or self.to_community(
            category.code, case.community_code
        )
        if community_held and case.community_code:
            target = f"{COMMUNITY_TARGET}{case.community_code}"
            fate = replace(fate, return_to=None)
        ticket = Ticket(case, category, fate, category.department, late=fate.late)
        self.track(serial, ticket)
        if category.urgent:
            when = self.now + b.minutes(self.rng.uniform(2, 12))
        else:
            when = self.office(
                self.now + self.lognormal_minutes(35, 0.9, 360),
                latest=case.due_at - b.hours(2),
                closes=21,
            )
        self.at(when, serial, Step.dispatch, target)

    def to_community(self, category: str, community: str | None) -> bool:
        """Whether the dispatcher sends this case to its own community (personas only)."""
        share = b.COMMUNITY_HANDLED.get(category, 0.0) if self.personas else 0.0
        return community is not None and share > 0 and self.persona_rng.random() < share

    def do_dispatch(self, key: int, ticket: Ticket, target: str) -> None:
        if target.startswith(COMMUNITY_TARGET):
            ticket.community = target.removeprefix(COMMUNITY_TARGET)
            case = self.act(
                ticket, self.cast.dispatcher, Action.dispatch, community=ticket.community
            )
        else:
            ticket.department, ticket.community = target, None
            case = self.act(ticket, self.cast.dispatcher, Action.dispatch, department=target)
        if ticket.fate.return_to and not ticket.returned:
            when = self.handler_hours(
                self.now + b.minutes(self.rng.uniform(20, 300)), case.due_at - b.hours(6), 0.5
            )
            self.at(when, key, Step.return_)
            return
        if ticket.category.urgent:
            when = self.now + b.minutes(self.rng.uniform(2, 10))
        else:
            when = self.handler_hours(
                self.now + self.lognormal_minutes(40, 0.8, 480), case.due_at - b.hours(3), 0.6
            )
        self.at(when, key, Step.accept)

    def do_return(self, key: int, ticket: Ticket, _: str) -> None:
        target = ticket.fate.return_to or ticket.category.department
        reason = pick(self.rng, texts.RETURN_REASON, target=self.department_names[target])
        case = self.act(ticket, self.handler(ticket), Action.return_, reason=reason)
        ticket.returned = True
        when = self.office(
            self.now + b.minutes(self.rng.uniform(10, 90)), latest=case.due_at, closes=21
        )
        self.at(when, key, Step.dispatch, target)

    def do_accept(self, key: int, ticket: Ticket, _: str) -> None:
        case = self.act(ticket, self.handler(ticket), Action.accept)
        if ticket.fate.summoned and case.community_code and not ticket.whistled:
            self.plan_whistle(key, ticket)
        if ticket.fate.leader_supervises:
            when = self.office(self.now + b.hours(self.rng.uniform(12, 72)), latest=case.due_at)
            self.at(when, key, Step.supervise)
        if ticket.category.urgent:
            when = self.now + b.minutes(self.rng.uniform(3, 15))
        elif ticket.fate.late_first_contact:
            due = case.first_contact_due_at or case.due_at
            when = self.handler_hours(due + b.hours(self.rng.uniform(1, 30)), case.due_at, 0.5)
        else:
            due = case.first_contact_due_at or case.due_at
            when = self.handler_hours(
                self.now + self.lognormal_minutes(90, 1.0, 1440), due - b.minutes(10), 0.5
            )
            when = min(when, max(self.now, due - b.minutes(5)))
        self.at(when, key, Step.first_contact)

    def plan_whistle(self, key: int, ticket: Ticket) -> None:
        latest = ticket.case.due_at - b.hours(24)
        whistle_at = self.office(self.now + b.hours(self.rng.uniform(1, 6)), latest=latest)
        self.at(whistle_at, key, Step.whistle, ",".join(ticket.fate.summoned))
        last = whistle_at
        for department in ticket.fate.summoned:
            late = self.rng.random() < b.LATE_REPORT_IN_RATE
            delay = self.rng.uniform(25, 40) if late else self.rng.uniform(1, 20)
            report_at = whistle_at + b.hours(delay)
            self.at(report_at, key, Step.report_in, department)
            last = max(last, report_at)
        # The case is resolved only once every summoned department has reported in.
        ticket.not_before = last + b.minutes(30)

    def do_first_contact(self, key: int, ticket: Ticket, _: str) -> None:
        comment = pick(self.rng, texts.FIRST_CONTACT)
        case = self.act(ticket, self.handler(ticket), Action.first_contact, comment=comment)
        if ticket.fate.extension and not ticket.extension_asked:
            share = self.rng.uniform(0.4, 0.8)
            when = self.handler_hours(
                b.share_of(self.now, case.due_at, share), case.due_at - b.hours(1), 0.3
            )
            self.at(when, key, Step.request_extension)
            return
        self.plan_resolve(key, ticket)

    def do_request_extension(self, key: int, ticket: Ticket, _: str) -> None:
        days = 10 if (ticket.category.working_days or 0) > 5 else 5
        reason = pick(self.rng, texts.EXTENSION_REASON)
        self.act(
            ticket, self.handler(ticket), Action.request_extension, working_days=days, reason=reason
        )
        ticket.extension_asked = True
        when = self.office(
            self.now + b.hours(self.rng.uniform(0.5, 6)), latest=self.now + b.hours(24), closes=22
        )
        self.at(when, key, Step.decide_extension)

    def do_decide_extension(self, key: int, ticket: Ticket, _: str) -> None:
        if ticket.fate.extension_approved:
            comment = pick(self.rng, texts.EXTENSION_APPROVED)
            self.act(ticket, self.cast.duty, Action.approve_extension, comment=comment)
        else:
            comment = pick(self.rng, texts.EXTENSION_DENIED)
            self.act(ticket, self.cast.duty, Action.deny_extension, comment=comment)
            ticket.late = ticket.late or self.rng.random() < b.DENIED_THEN_LATE_RATE
        self.plan_resolve(key, ticket)

    def plan_resolve(self, key: int, ticket: Ticket) -> None:
        due = ticket.case.due_at
        floor = self.now + b.minutes(10 if ticket.category.urgent else 20)
        if ticket.not_before is not None:
            floor = max(floor, ticket.not_before)
        if ticket.late:
            ticket.late = False
            when = max(floor, due) + b.hours(self.rng.uniform(3, 72))
        elif ticket.category.urgent:
            end = due - b.minutes(10)
            when = b.share_of(floor, end, self.rng.betavariate(2, 2.5)) if end > floor else floor
        else:
            end = due - b.minutes(30)
            if end > floor:
                when = b.share_of(floor, end, self.rng.betavariate(1.3, 3.0))
                when = self.handler_hours(when, end, 0.35)
            else:
                when = floor
        self.at(when, key, Step.resolve)

    def do_resolve(self, key: int, ticket: Ticket, _: str) -> None:
        if ticket.round == 1:
            options = texts.REPLY.get(ticket.category.code, texts.GENERIC_REPLY)
        elif ticket.round <= b.MAX_CALLBACK_ROUNDS:
            options = texts.REOPEN_REPLY
        else:
            options = texts.EXPLAINED_REPLY
        self.act(ticket, self.handler(ticket), Action.resolve, reply=pick(self.rng, options))
        if ticket.round > b.MAX_CALLBACK_ROUNDS:
            when = self.office(
                self.now + b.hours(self.rng.uniform(2, 24)), latest=self.now + b.hours(72)
            )
            self.at(when, key, Step.close, "explained")
        elif ticket.round > 1 or self.rng.random() < b.CALLBACK_RATE:
            when = self.office(
                self.now + b.hours(self.rng.uniform(1, 30)),
                latest=self.now + b.hours(72),
                closes=21,
            )
            self.at(when, key, Step.callback)
        else:
            when = self.office(
                self.now + b.hours(self.rng.uniform(72, 168)), latest=self.now + b.hours(240)
            )
            self.at(when, key, Step.close, "unrated")

    def do_callback(self, key: int, ticket: Ticket, _: str) -> None:
        rating = b.draw_rating(
            self.rng, ticket.category, round_=ticket.round, late=ticket.case.breached
        )
        comment = pick(self.rng, texts.CALLBACK[rating.value])
        case = self.act(
            ticket, self.cast.dispatcher, Action.callback, rating=rating, comment=comment
        )
        if case.state == State.reopened:
            ticket.round += 1
            self.plan_resolve(key, ticket)
        elif case.state == State.callback:
            self.at(
                self.office(self.now + b.hours(4), latest=self.now + b.hours(48)), key, Step.close
            )
        else:
            self.forget(key, ticket)

    def do_close(self, key: int, ticket: Ticket, kind: str) -> None:
        comments = {"unrated": texts.CLOSE_UNRATED, "explained": texts.CLOSE_EXPLAINED}
        comment = pick(self.rng, comments.get(kind, texts.CLOSE_AFTER_CALLBACK))
        self.act(ticket, self.cast.duty, Action.close, comment=comment)
        self.forget(key, ticket)

    def do_whistle(self, key: int, ticket: Ticket, departments: str) -> None:
        staff = self.cast.community_staff(ticket.case.community_code or "")
        self.act(
            ticket,
            staff,
            Action.whistle,
            departments=departments.split(","),
            comment=pick(self.rng, texts.WHISTLE),
        )
        ticket.whistled = True

    def do_report_in(self, key: int, ticket: Ticket, department: str) -> None:
        comment = pick(self.rng, texts.REPORT_IN)
        self.act(ticket, self.cast.handler(department), Action.report_in, comment=comment)

    def do_supervise(self, key: int, ticket: Ticket, _: str) -> None:
        self.act(
            ticket, self.cast.leader, Action.supervise, comment=pick(self.rng, texts.SUPERVISION)
        )
