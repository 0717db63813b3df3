"""The rule of each case action: what it requires and what it changes.

Each rule is called by :func:`townops.cases.service.perform_action` after the state table,
the version and the actor's permission have been checked. A rule mutates the case and
returns the comment and data to record on the audit event.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from townops.access.actor import Actor, Role
from townops.cases.enums import Action, ExtensionStatus, Rating, State
from townops.cases.models import Case, Extension, Summons
from townops.cases.schemas import ActionInput
from townops.categories.service import find_category
from townops.deadlines import Deadline, due_at, extend_due_at, working_hours_between
from townops.errors import Conflict, Forbidden, InvalidInput, NotFound
from townops.jurisdiction.models import Jurisdiction
from townops.organization.models import Department
from townops.towns.profile import TownProfile


@dataclass
class ActionContext:
    session: Session
    case: Case
    actor: Actor
    body: ActionInput
    now: datetime
    profile: TownProfile


@dataclass
class Outcome:
    data: dict[str, Any] = field(default_factory=dict)
    # Automatic follow-up: a satisfied callback closes, a dissatisfied one reopens.
    follow_up: Action | None = None


def _require(value: Any, name: str, action: Action) -> Any:
    if value is None or (isinstance(value, str | list) and not value):
        raise InvalidInput(f"'{action.value}' needs '{name}'", field=name)
    return value


def dispatch(ctx: ActionContext) -> Outcome:
    body, case = ctx.body, ctx.case
    if (body.department is None) == (body.community is None):
        raise InvalidInput("'dispatch' needs exactly one of 'department' or 'community'")
    if body.department is not None:
        if ctx.session.get(Department, body.department) is None:
            raise InvalidInput(f"unknown department '{body.department}'", field="department")
        case.department_code, case.assignee_community_code = body.department, None
    else:
        node = ctx.session.get(Jurisdiction, body.community)
        if node is None or node.level != "community":
            raise InvalidInput(f"unknown community '{body.community}'", field="community")
        case.department_code, case.assignee_community_code = None, node.code
    if body.category is not None and body.category != case.category_code:
        _recategorise(ctx, body.category)
    case.duplicate_of_id = None  # dispatched on its own: no longer waiting on another case
    case.dispatched_at = ctx.now
    case.accepted_at = None
    case.first_contact_at = None
    case.first_contact_due_at = due_at(
        ctx.now, Deadline(working_days=ctx.profile.first_contact_working_days), ctx.profile.calendar
    )
    category = find_category(ctx.session, case.category_code)
    if category is not None and category.deadline.working_days is None:
        # A case due in clock hours or minutes (a gas leak, a device alarm) is contacted
        # within its own deadline: a 30-minute alarm must not show a first contact due
        # tomorrow. (Working-day cases keep the town's rule: N working days from dispatch.)
        case.first_contact_due_at = min(case.first_contact_due_at, case.due_at)
    data: dict[str, Any] = {"department": body.department, "community": body.community}
    if body.category is not None:
        data["category"] = case.category_code
    return Outcome(data)


def _recategorise(ctx: ActionContext, code: str) -> None:
    """A dispatcher corrects the category; the deadline follows it unless already extended."""
    category = find_category(ctx.session, code)
    if category is None:
        raise InvalidInput(f"unknown category '{code}'", field="category")
    case = ctx.case
    case.category_code = category.code
    case.urgency = category.urgency
    if case.extension_count == 0:
        case.due_at = due_at(case.received_at, category.deadline, ctx.profile.calendar)
        case.original_due_at = case.due_at


def link(ctx: ActionContext) -> Outcome:
    """重复件: this case repeats an open one and will be answered with it."""
    case = ctx.case
    master_id = _require(ctx.body.duplicate_of, "duplicate_of", Action.link)
    master = ctx.session.get(Case, master_id)
    if master is None or master.id == case.id:
        raise InvalidInput(f"no case {master_id} to link to", field="duplicate_of")
    if master.duplicate_of_id is not None:
        raise InvalidInput(
            f"case {master_id} is itself a repeat of case {master.duplicate_of_id}; link to that",
            field="duplicate_of",
        )
    if master.state in (State.resolved, State.callback, State.closed, State.linked):
        raise Conflict(f"case {master_id} is no longer being handled ({master.state})")
    case.duplicate_of_id = master.id
    case.department_code = None
    case.assignee_community_code = None
    return Outcome({"duplicate_of": master.id})


def accept(ctx: ActionContext) -> Outcome:
    ctx.case.accepted_at = ctx.now
    return Outcome()


def first_contact(ctx: ActionContext) -> Outcome:
    case = ctx.case
    if case.first_contact_at is not None:
        raise Conflict("first contact is already recorded for this case")
    case.first_contact_at = ctx.now
    on_time = case.first_contact_due_at is None or ctx.now <= case.first_contact_due_at
    return Outcome({"on_time": on_time})


def resolve(ctx: ActionContext) -> Outcome:
    case = ctx.case
    case.reply = _require(ctx.body.reply, "reply", Action.resolve)
    case.resolved_at = ctx.now
    case.handling_working_hours = round(
        working_hours_between(case.received_at, ctx.now, ctx.profile.calendar), 3
    )
    late = ctx.now > case.due_at
    if late:
        case.breached = True
    return Outcome({"on_time": not late, "reply": case.reply})


def return_(ctx: ActionContext) -> Outcome:
    case = ctx.case
    reason = _require(ctx.body.reason, "reason", Action.return_)
    returned_by = case.department_code or case.assignee_community_code
    case.return_count += 1
    case.department_code = None
    case.assignee_community_code = None
    case.accepted_at = None
    return Outcome({"reason": reason, "returned_by": returned_by})


def request_extension(ctx: ActionContext) -> Outcome:
    case, body = ctx.case, ctx.body
    days = _require(body.working_days, "working_days", Action.request_extension)
    reason = _require(body.reason, "reason", Action.request_extension)
    if ctx.now > case.due_at:
        raise Conflict("an extension must be requested before the deadline", due_at=case.due_at)
    if _pending_extension(ctx.session, case.id) is not None:
        raise Conflict("an extension request is already waiting for a decision")
    ext = Extension(
        case_id=case.id,
        status=ExtensionStatus.pending,
        working_days=days,
        reason=reason,
        requested_by=ctx.actor.username,
        requested_at=ctx.now,
        old_due_at=case.due_at,
    )
    ctx.session.add(ext)
    ctx.session.flush()
    return Outcome({"extension_id": ext.id, "working_days": days, "reason": reason})


def _pending_extension(session: Session, case_id: int) -> Extension | None:
    return session.scalars(
        select(Extension).where(
            Extension.case_id == case_id, Extension.status == ExtensionStatus.pending
        )
    ).first()


def _decide_extension(ctx: ActionContext, *, approve: bool) -> Extension:
    ext = _pending_extension(ctx.session, ctx.case.id)
    if ext is None:
        raise Conflict("there is no extension request waiting for a decision")
    ext.status = ExtensionStatus.approved if approve else ExtensionStatus.denied
    ext.decided_by = ctx.actor.username
    ext.decided_at = ctx.now
    ext.decision_comment = ctx.body.comment
    return ext


def approve_extension(ctx: ActionContext) -> Outcome:
    case = ctx.case
    ext = _decide_extension(ctx, approve=True)
    ext.new_due_at = extend_due_at(case.due_at, ext.working_days, ctx.profile.calendar)
    old = case.due_at
    case.due_at = ext.new_due_at
    case.extension_count += 1
    # A request made in time covers the wait for the decision: a breach marked while the
    # request was pending is lifted.
    if case.overdue_marked_at is not None and case.overdue_marked_at >= ext.requested_at:
        case.breached = False
        case.overdue_marked_at = None
    return Outcome({"extension_id": ext.id, "old_due_at": old, "new_due_at": case.due_at})


def deny_extension(ctx: ActionContext) -> Outcome:
    ext = _decide_extension(ctx, approve=False)
    return Outcome({"extension_id": ext.id})


def supervise(ctx: ActionContext) -> Outcome:
    ctx.case.supervision_count += 1
    return Outcome({"automatic": ctx.actor.is_system})


def whistle(ctx: ActionContext) -> Outcome:
    case, body = ctx.case, ctx.body
    codes = _require(body.departments, "departments", Action.whistle)
    hours = body.report_in_hours or ctx.profile.whistle_report_in_hours
    pending = set(
        ctx.session.scalars(
            select(Summons.department_code).where(
                Summons.case_id == case.id, Summons.reported_in_at.is_(None)
            )
        )
    )
    for code in dict.fromkeys(codes):
        if ctx.session.get(Department, code) is None:
            raise InvalidInput(f"unknown department '{code}'", field="departments")
        if code in pending:
            raise Conflict(f"department '{code}' is already summoned and has not reported in")
        ctx.session.add(
            Summons(
                case_id=case.id,
                department_code=code,
                summoned_by=ctx.actor.username,
                summoned_at=ctx.now,
                report_in_due_at=ctx.now + timedelta(hours=hours),
            )
        )
    return Outcome({"departments": list(dict.fromkeys(codes)), "report_in_hours": hours})


def report_in(ctx: ActionContext) -> Outcome:
    actor, body = ctx.actor, ctx.body
    department = actor.department_code if actor.role == Role.handler else body.department
    if department is None:
        raise InvalidInput("'report_in' needs 'department'", field="department")
    summons = ctx.session.scalars(
        select(Summons).where(
            Summons.case_id == ctx.case.id,
            Summons.department_code == department,
            Summons.reported_in_at.is_(None),
        )
    ).first()
    if summons is None:
        if actor.role == Role.handler:
            raise Forbidden(f"department '{department}' has not been summoned to this case")
        raise NotFound(f"no pending summons for department '{department}'")
    summons.reported_in_at = ctx.now
    summons.reported_by = actor.username
    summons.note = body.comment
    on_time = ctx.now <= summons.report_in_due_at
    return Outcome({"department": department, "on_time": on_time})


def callback(ctx: ActionContext) -> Outcome:
    case = ctx.case
    rating = _require(ctx.body.rating, "rating", Action.callback)
    case.rating = rating.value
    case.rated_at = ctx.now
    case.callback_count += 1
    follow_up: Action | None = None
    if rating == Rating.dissatisfied:
        follow_up = Action.reopen
    elif ctx.profile.auto_close_on_satisfied:
        follow_up = Action.close
    return Outcome({"rating": rating.value}, follow_up=follow_up)


def comment(ctx: ActionContext) -> Outcome:
    """补充: the requester adds a fact or a photo; the case does not move."""
    body = ctx.body
    if not body.comment.strip() and not body.photos and not body.media_urls:
        raise InvalidInput("a comment needs its text or a photo", field="comment")
    data: dict[str, Any] = {}
    if body.reference:
        data["reference"] = body.reference
    if body.media_urls:
        data["media_urls"] = list(dict.fromkeys(body.media_urls))
    return Outcome(data)


def acknowledge(ctx: ActionContext) -> Outcome:
    """确认收到: someone told of the case (an alarm's on-duty chain, its unit) says they
    have seen it. The case does not move; the event is the record, and the domains that
    keep escalating until someone does (:mod:`townops.notify`) stop on it."""
    return Outcome()


def close(ctx: ActionContext) -> Outcome:
    ctx.case.closed_at = ctx.now
    return Outcome()


def reopen(ctx: ActionContext) -> Outcome:
    case = ctx.case
    case.reopen_count += 1
    case.closed_at = None
    case.resolved_at = None
    # A new deadline: if it is missed too, the sweep supervises the case again.
    case.overdue_marked_at = None
    case.due_at = due_at(
        ctx.now, Deadline(working_days=ctx.profile.reopen_working_days), ctx.profile.calendar
    )
    return Outcome({"due_at": case.due_at})


RULES: dict[Action, Callable[[ActionContext], Outcome]] = {
    Action.dispatch: dispatch,
    Action.link: link,
    Action.accept: accept,
    Action.first_contact: first_contact,
    Action.resolve: resolve,
    Action.return_: return_,
    Action.request_extension: request_extension,
    Action.approve_extension: approve_extension,
    Action.deny_extension: deny_extension,
    Action.supervise: supervise,
    Action.whistle: whistle,
    Action.report_in: report_in,
    Action.callback: callback,
    Action.comment: comment,
    Action.acknowledge: acknowledge,
    Action.close: close,
    Action.reopen: reopen,
}
