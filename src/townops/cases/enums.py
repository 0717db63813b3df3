"""States, actions and ratings of the one case engine (names from the glossary). Case kinds
are a registry, not an enum: :mod:`townops.cases.kinds`."""

from __future__ import annotations

from enum import StrEnum


class State(StrEnum):
    received = "received"  # 受理
    dispatched = "dispatched"  # 派单
    accepted = "accepted"  # 签收
    returned = "returned"  # 退单: back in the dispatcher's queue
    linked = "linked"  # 重复件: repeats an open case; answered when that case is resolved
    resolved = "resolved"  # 办结 / 答复
    callback = "callback"  # 回访 done, waiting to be closed
    reopened = "reopened"  # 重办
    closed = "closed"  # 结案


OPEN_STATES = frozenset(State) - {State.closed}
# States in which the handling clock (due_at) runs: the case is waiting for someone to act.
CLOCK_STATES = frozenset(
    {State.received, State.dispatched, State.accepted, State.returned, State.reopened}
)


class Action(StrEnum):
    create = "create"
    dispatch = "dispatch"
    link = "link"  # mark as a repeat of an open case (重复件关联)
    accept = "accept"
    first_contact = "first_contact"
    resolve = "resolve"
    callback = "callback"
    close = "close"
    return_ = "return"
    request_extension = "request_extension"
    approve_extension = "approve_extension"
    deny_extension = "deny_extension"
    supervise = "supervise"
    reopen = "reopen"
    whistle = "whistle"
    report_in = "report_in"
    comment = "comment"  # 补充: the requester's follow-up (or one taken down for them)
    # 确认收到: "I have seen it and I am on it" (a critical alarm's on-duty chain stops)
    acknowledge = "acknowledge"


class Rating(StrEnum):
    satisfied = "satisfied"  # 满意
    basically_satisfied = "basically_satisfied"  # 基本满意
    dissatisfied = "dissatisfied"  # 不满意


class ExtensionStatus(StrEnum):
    pending = "pending"
    approved = "approved"
    denied = "denied"
