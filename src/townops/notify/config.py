"""``notifications.yaml``: who is told what, when, on which channel (通知规则).

A town's notification rules are data. Each rule names the case event it follows
(``when``), whom it tells (``to``), on which channels, and its text in zh-CN and en with
``{placeholders}``; a deadline rule says how long ``before`` the deadline to remind. The
channels are named here too (an SMTP server, a WeCom or DingTalk group bot, an SMS
gateway); their secrets are the names of environment variables, never values.

Read with ``profile.config(NotificationsConfig)``; checked once when the town loads
(unknown channel, placeholder or audience → ``notifications.yaml:LINE``).
"""

from __future__ import annotations

import re
import string
from datetime import time, timedelta
from typing import Annotated, Literal, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from townops.notify.channels.config import ChannelConfig
from townops.towns.sections import town_section

__all__ = [
    "AUDIENCES",
    "INAPP",
    "PLACEHOLDERS",
    "TRIGGERS",
    "NotificationRule",
    "NotificationsConfig",
    "QuietHours",
    "RetryPolicy",
    "Texts",
]

#: The channel every town has: the message is the row, shown by the web app's bell.
INAPP = "inapp"

Trigger = Literal[
    "received",  # a case filed: its requester (a tracking code to follow it)
    "dispatched",  # sent to a department or a community: the unit now holding it
    "deadline",  # ``before`` the deadline of a case still being handled: its holder
    "resolved",  # 办结: the requester (the reply, and an invitation to rate)
    "reopened",  # 重办: the unit holding it again
    "whistled",  # 吹哨: each summoned department, with its report-in deadline
    "overdue",  # the overdue sweep: one digest per recipient, not one message per case
    # ``after`` a case was received, if nobody has signed for it (签收) by then: the next
    # link of the on-duty chain (a critical alarm: the duty officers, then the leaders)
    "unacknowledged",
]
TRIGGERS: tuple[str, ...] = get_args(Trigger)
Audience = Literal[
    "holder",  # the unit holding the case: a department's handlers, a community's staff
    "requester",
    "duty_officers",  # every duty officer of the town
    "leaders",
    "summoned",  # the handlers of each whistled-for department
    # The duty roster's on-duty chain (townops.duty): in an ``unacknowledged`` rule the
    # n-th ``after`` calls its n-th link (the duty officer, then the leader on duty …);
    # elsewhere its first link, on duty now.
    "on_duty",
]
AUDIENCES: tuple[str, ...] = get_args(Audience)

#: What a text may say. No contact data: names and phone numbers never go in a message.
PLACEHOLDERS = frozenset(
    {
        "case_id",
        "category",
        "community",
        "department",
        "due_at",
        "left",
        "token",
        "reply",
        "count",
        "cases",
        "report_in_due_at",
        "waited",  # an unacknowledged rule: how long it has waited (10 分钟)
    }
)

RuleId = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{1,59}$")]
ChannelName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{1,59}$")]
_DURATION = re.compile(r"^(\d{1,4})([mhd])$")


def parse_duration(text: str) -> timedelta:
    """``30m``, ``4h``, ``1d`` → a timedelta (``0h``: at the moment itself)."""
    match = _DURATION.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"{text!r} is not a duration like 30m, 4h or 1d")
    number, unit = int(match.group(1)), match.group(2)
    return {"m": timedelta(minutes=number), "h": timedelta(hours=number)}.get(
        unit, timedelta(days=number)
    )


Duration = Annotated[str, StringConstraints(pattern=_DURATION.pattern)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Texts(_Strict):
    """A text in zh-CN (what is sent) and en (what an English page shows)."""

    zh: Annotated[str, StringConstraints(min_length=1, max_length=1000)]
    en: Annotated[str, StringConstraints(min_length=1, max_length=1000)]

    @field_validator("zh", "en")
    @classmethod
    def _known_placeholders(cls, value: str) -> str:
        named = {field for _, field, _, _ in string.Formatter().parse(value) if field}
        unknown = sorted(named - PLACEHOLDERS)
        if unknown:
            raise ValueError(
                f"unknown placeholder(s) {', '.join(unknown)} "
                f"(one of {', '.join(sorted(PLACEHOLDERS))})"
            )
        return value


class NotificationRule(_Strict):
    id: RuleId
    when: Trigger
    """The case event it follows (``on`` would read as a boolean in YAML)."""
    to: Annotated[list[Audience], Field(min_length=1)]
    channels: Annotated[list[ChannelName], Field(min_length=1)] = [INAPP]
    before: list[Duration] = []
    """``deadline`` rules: how long before the deadline to remind (``0h``: at it)."""
    after: list[Duration] = []
    """``unacknowledged`` rules: how long after receipt, if still not signed for."""
    kinds: list[str] | None = None
    """The case kinds it applies to; none: every kind."""
    urgencies: list[Literal["low", "normal", "high", "urgent"]] | None = None
    """The case urgencies it applies to (a critical alarm: ``[urgent]``); none: every one."""
    critical: bool = False
    """Sent in the quiet hours too."""
    title: Texts
    body: Texts

    @model_validator(mode="after")
    def _before_only_for_deadlines(self) -> NotificationRule:
        if self.when == "deadline" and not self.before:
            raise ValueError("a deadline rule needs 'before' (e.g. [24h, 4h, 0h])")
        if self.when != "deadline" and self.before:
            raise ValueError("'before' is for deadline rules only")
        if self.when == "unacknowledged" and not self.after:
            raise ValueError("an unacknowledged rule needs 'after' (e.g. [10m])")
        if self.when != "unacknowledged" and self.after:
            raise ValueError("'after' is for unacknowledged rules only")
        if len(set(self.channels)) != len(self.channels):
            raise ValueError("a channel is listed twice")
        return self

    def offsets(self) -> list[timedelta]:
        return [parse_duration(text) for text in self.before]

    def delays(self) -> list[timedelta]:
        return [parse_duration(text) for text in self.after]


class QuietHours(_Strict):
    """Local times between which nothing but critical messages goes out on external
    channels (the in-app bell is silent anyway): sent at ``end`` instead."""

    start: time = time(22, 0)
    end: time = time(7, 0)


class RetryPolicy(_Strict):
    max_attempts: Annotated[int, Field(ge=1, le=20)] = 5
    backoff_seconds: Annotated[list[Annotated[int, Field(ge=1)]], Field(min_length=1)] = [
        60,
        300,
        900,
        3600,
    ]
    """The wait after the 1st, 2nd … failure (the last one repeats)."""
    lease_seconds: Annotated[int, Field(ge=10)] = 120
    """A message a worker took and did not finish is retried after this long."""

    def backoff(self, attempts: int) -> timedelta:
        index = min(max(attempts, 1), len(self.backoff_seconds)) - 1
        return timedelta(seconds=self.backoff_seconds[index])


@town_section("notifications")
class NotificationsConfig(_Strict):
    """``notifications.yaml``. Without it (or with no rules) nobody is told anything."""

    # A webhook URL holds its bot's key: a validation error must not echo it into a log.
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    channels: dict[ChannelName, ChannelConfig] = {}
    rules: list[NotificationRule] = []
    quiet_hours: QuietHours | None = QuietHours()
    retry: RetryPolicy = RetryPolicy()

    @model_validator(mode="after")
    def _rules_name_known_channels(self) -> NotificationsConfig:
        known = {INAPP, *self.channels}
        for index, rule in enumerate(self.rules):
            for channel in rule.channels:
                if channel not in known:
                    raise ValueError(
                        f"rules[{index}] ({rule.id}): unknown channel {channel!r} "
                        f"(one of {', '.join(sorted(known))})"
                    )
        ids = [rule.id for rule in self.rules]
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        if repeated:
            raise ValueError(f"rule id(s) listed twice: {', '.join(repeated)}")
        return self

    def rules_on(
        self, trigger: str, kind: str, urgency: str | None = None
    ) -> list[NotificationRule]:
        return [
            rule
            for rule in self.rules
            if rule.when == trigger
            and (rule.kinds is None or kind in rule.kinds)
            and (rule.urgencies is None or urgency in rule.urgencies)
        ]
