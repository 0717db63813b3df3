"""The rules of notification: from a case's event to the rows of the outbox (通知规则).

Everything here runs inside the use case's transaction (called by the subscribers in
:mod:`townops.notify.subscribers`), so the messages commit or roll back with the change
that causes them. What is written:

- one row per rule, recipient and channel (a group bot is one recipient), keyed so that
  the same moment is never queued twice;
- deadline reminders at ``due_at - before`` for the unit holding a case; whenever the case
  moves (a dispatch, a return, an extension, a resolution) the reminders that no longer
  apply are cancelled and the new ones queued;
- one overdue digest per recipient per sweep.

A message says what happened to which case, never who called: no names, no phone numbers
(the requester's number is an SMS *address*, shown masked in the delivery log). Recipients
are the people the access layer already lets see the case: the unit holding it, the town's
duty officers and leaders, the summoned departments, the requester.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from townops.access.actor import Role
from townops.access.masking import mask_text
from townops.auth.models import User
from townops.cases.enums import CLOCK_STATES, State
from townops.cases.models import Case, Summons
from townops.categories.models import Category
from townops.duty import chain_at
from townops.jurisdiction.models import Jurisdiction
from townops.notify.config import INAPP, NotificationRule, NotificationsConfig, QuietHours
from townops.notify.models import (
    PENDING_STATES,
    DeliveryState,
    Notification,
    NotificationPreference,
)
from townops.organization.models import Department
from townops.timeutil import SHANGHAI
from townops.towns.profile import get_profile

__all__ = [
    "Audiences",
    "Recipient",
    "backfill_open_cases",
    "cancel_reminders",
    "notify_case",
    "notify_overdue",
    "reschedule_reminders",
    "silence",
    "silenced",
    "stop_escalations",
]

_SILENCED = "townops.notify.silenced"
# Group bots are one recipient whatever the audience: the channel is the group.
_GROUP_KINDS = frozenset({"wecom_bot", "dingtalk_bot", "feishu_bot"})
_SMS_KINDS = frozenset({"aliyun_sms", "tencent_sms"})


def silence(session: Session) -> None:
    """Tell nobody about what this session does: the demo replaying a past year must not
    queue a year of messages for the worker to send today."""
    session.info[_SILENCED] = True


def silenced(session: Session) -> bool:
    return bool(session.info.get(_SILENCED))


def config_of(session: Session) -> NotificationsConfig:
    profile = get_profile(session)
    return (
        profile.config(NotificationsConfig)
        if profile.has_config(NotificationsConfig)
        else (NotificationsConfig())
    )


@dataclass(frozen=True)
class Recipient:
    """A person (a user) or addresses with no account (a hotline caller's phone, an
    Open311 reporter's e-mail)."""

    user_id: int | None
    phone: str | None = None
    email: str | None = None
    # The person's choices (NotificationPreference): channels they muted, their language.
    muted: frozenset[str] = frozenset()
    locale: str = "zh"

    @property
    def label(self) -> str:
        return f"u{self.user_id}" if self.user_id is not None else "phone"


# --------------------------------------------------------------------------- audiences


def _users(session: Session, *conditions: Any) -> list[Recipient]:
    rows = session.execute(
        select(
            User.id,
            User.phone,
            User.email,
            NotificationPreference.muted_channels,
            NotificationPreference.locale,
        )
        .outerjoin(NotificationPreference, NotificationPreference.user_id == User.id)
        .where(User.active, *conditions)
        .order_by(User.id)
    )
    return [
        Recipient(uid, phone, email, frozenset(muted or ()), locale or "zh")
        for uid, phone, email, muted, locale in rows
    ]


def holders(session: Session, case: Case) -> list[Recipient]:
    """The people of the unit holding the case: a department's handlers, or a community's
    staff and the grid workers of its micro-grids."""
    if case.department_code is not None:
        return _users(
            session, User.role == Role.handler.value, User.department_code == case.department_code
        )
    community = case.assignee_community_code
    if community is None:
        return []
    grids = select(Jurisdiction.code).where(
        or_(Jurisdiction.code == community, Jurisdiction.parent_code == community)
    )
    return _users(
        session,
        User.role.in_([Role.community_staff.value, Role.grid_worker.value]),
        User.scope_code.in_(grids),
    )


def _requester(session: Session, case: Case) -> list[Recipient]:
    if case.requester_user_id is not None:
        return _users(session, User.id == case.requester_user_id)
    if case.requester_phone or case.requester_email:
        # A hotline caller has a phone; an Open311 client's reporter often only an e-mail.
        return [
            Recipient(None, phone=case.requester_phone or None, email=case.requester_email or None)
        ]
    return []


def _on_duty(session: Session, at: datetime, link: int) -> list[Recipient]:
    """The ``link``-th person of the on-duty chain at ``at`` (past the chain's end, its last
    link). A town without a roster has a chain of roles: every duty officer, then every
    leader."""
    chain = chain_at(session, at)
    if chain is None:
        role = Role.duty_officer if link == 0 else Role.leader
        return _users(session, User.role == role.value)
    if not chain:
        return []
    _, user = chain[min(link, len(chain) - 1)]
    return _users(session, User.id == user.id)


def _audience(
    session: Session,
    case: Case,
    audience: str,
    summoned: Sequence[str],
    at: datetime | None = None,
    link: int = 0,
) -> list[Recipient]:
    if audience == "holder":
        return holders(session, case)
    if audience == "requester":
        return _requester(session, case)
    if audience == "duty_officers":
        return _users(session, User.role == Role.duty_officer.value)
    if audience == "leaders":
        return _users(session, User.role == Role.leader.value)
    if audience == "on_duty":
        return _on_duty(session, at or case.received_at, link)
    if audience == "summoned" and summoned:
        return _users(
            session, User.role == Role.handler.value, User.department_code.in_(list(summoned))
        )
    return []


class Audiences:
    """Who each audience is, looked up once per unit however many rules and cases ask: a
    dispatch both tells the holder and plans the holder's reminders; an overdue digest
    names the same duty officers for every case it lists."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._known: dict[tuple[object, ...], list[Recipient]] = {}

    def of(
        self,
        case: Case,
        rule: NotificationRule,
        summoned: Sequence[str] = (),
        *,
        at: datetime | None = None,
        link: int = 0,
    ) -> list[Recipient]:
        """The rule's recipients for ``case``, each person once; ``at`` and ``link``: which
        shift and which link of its on-duty chain (``on_duty``)."""
        seen: dict[str, Recipient] = {}
        for audience in rule.to:
            key = _unit(case, audience, summoned, at, link)
            if key not in self._known:
                self._known[key] = _audience(self.session, case, audience, summoned, at, link)
            for person in self._known[key]:
                seen.setdefault(person.label, person)
        return list(seen.values())


def _unit(
    case: Case, audience: str, summoned: Sequence[str], at: datetime | None, link: int
) -> tuple[object, ...]:
    """What an audience depends on: the unit holding the case, the case's requester, the
    summoned departments, the shift and link on duty, or nothing (the town's duty officers,
    its leaders)."""
    if audience == "on_duty":
        return (audience, at, link)
    if audience == "holder":
        return (audience, case.department_code, case.assignee_community_code)
    if audience == "requester":
        return (audience, case.id)
    if audience == "summoned":
        return (audience, *summoned)
    return (audience,)


# --------------------------------------------------------------------------- texts


def case_facts(session: Session, case: Case, now: datetime) -> dict[str, dict[str, str]]:
    """The placeholders' values for a case, in zh and en."""
    category = session.get(Category, case.category_code)
    community = session.get(Jurisdiction, case.community_code) if case.community_code else None
    holder = case.department_code or case.assignee_community_code
    department = session.get(Department, case.department_code) if case.department_code else None
    holder_community = (
        session.get(Jurisdiction, case.assignee_community_code)
        if case.assignee_community_code
        else None
    )
    due = case.due_at.astimezone(SHANGHAI)
    common = {
        "case_id": str(case.id),
        "due_at": f"{due:%Y-%m-%d %H:%M}",
        "token": case.token,
        # A handler's reply may quote a number: masked like any free text sent out.
        "reply": mask_text(case.reply or ""),
    }

    def name(row: Any, attr: str, fallback: str) -> str:
        return str(getattr(row, attr)) if row is not None else fallback

    holder_zh = name(department, "name_zh", "") or name(holder_community, "name_zh", holder or "")
    holder_en = name(department, "name_en", "") or name(holder_community, "name_en", holder or "")
    return {
        "zh": {
            **common,
            "category": name(category, "name_zh", case.category_code),
            "community": name(community, "name_zh", "—"),
            "department": holder_zh,
            "left": _left(case.due_at - now, "zh"),
        },
        "en": {
            **common,
            "category": name(category, "name_en", case.category_code),
            "community": name(community, "name_en", "—"),
            "department": holder_en,
            "left": _left(case.due_at - now, "en"),
        },
    }


def _waited(delta: timedelta, lang: str) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes < 60 or minutes % 60:
        return f"{minutes} 分钟" if lang == "zh" else f"{minutes} min"
    return f"{minutes // 60} 小时" if lang == "zh" else f"{minutes // 60} h"


def _left(delta: timedelta, lang: str) -> str:
    hours = max(0, int(delta.total_seconds() // 3600))
    days, hours = divmod(hours, 24)
    if lang == "zh":
        return f"{days}天{hours}小时" if days else f"{hours}小时"
    return f"{days} d {hours} h" if days else f"{hours} h"


class _Blank(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return ""


def render(template: str, values: dict[str, str]) -> str:
    return template.format_map(_Blank(values))


# --------------------------------------------------------------------------- queueing


@dataclass(frozen=True)
class _Draft:
    key: str
    rule: NotificationRule
    channel: str
    recipient: Recipient | None  # None: a group bot
    due: datetime
    values: dict[str, dict[str, str]]
    expires_at: datetime | None = None


def _address(channel_kind: str, recipient: Recipient | None) -> str | None:
    """Where this channel reaches this recipient; None: it cannot."""
    if channel_kind in _GROUP_KINDS:
        return ""
    if recipient is None:
        return None
    if channel_kind == INAPP:
        return "" if recipient.user_id is not None else None
    if channel_kind == "email":
        return recipient.email or None
    if channel_kind in _SMS_KINDS:
        return recipient.phone or None
    return None


def _channel_kind(config: NotificationsConfig, channel: str) -> str:
    if channel == INAPP:
        return INAPP
    return str(config.channels[channel].kind)


def after_quiet_hours(moment: datetime, quiet: QuietHours | None) -> datetime:
    """``moment``, or the end of the quiet hours it falls in (town time)."""
    if quiet is None or quiet.start == quiet.end:
        return moment
    local = moment.astimezone(SHANGHAI)
    clock = local.time()
    wraps = quiet.start > quiet.end  # 22:00–07:00
    inside = (
        (clock >= quiet.start or clock < quiet.end) if wraps else quiet.start <= clock < quiet.end
    )
    if not inside:
        return moment
    end_day = local.date()
    if wraps and clock >= quiet.start:
        end_day += timedelta(days=1)
    end = datetime.combine(end_day, quiet.end, tzinfo=SHANGHAI)
    return end.astimezone(moment.tzinfo)


def _queue(
    session: Session,
    config: NotificationsConfig,
    case: Case | None,
    drafts: Iterable[_Draft],
    now: datetime,
) -> int:
    rows: list[Notification] = []
    for draft in drafts:
        kind = _channel_kind(config, draft.channel)
        address = _address(kind, draft.recipient)
        if address is None or _muted(draft):
            continue
        due = draft.due
        if kind != INAPP and not draft.rule.critical:
            due = after_quiet_hours(due, config.quiet_hours)
        zh, en = draft.values["zh"], draft.values["en"]
        # What is sent speaks the person's language; the page shows either.
        sent = draft.rule.title.zh, draft.rule.body.zh, zh
        if kind != INAPP and draft.recipient is not None and draft.recipient.locale == "en":
            sent = draft.rule.title.en, draft.rule.body.en, en
        rows.append(
            Notification(
                key=draft.key[:250],
                rule=draft.rule.id,
                case_id=case.id if case is not None else None,
                recipient_user_id=draft.recipient.user_id if draft.recipient else None,
                channel=draft.channel,
                address=address,
                title=render(sent[0], sent[2])[:300],
                body=render(sent[1], sent[2]),
                title_en=render(draft.rule.title.en, en)[:300],
                body_en=render(draft.rule.body.en, en),
                template_params={k: v for k, v in zh.items() if k != "cases"},
                # In-app needs no sending: it is there once it is due.
                state=(
                    DeliveryState.delivered.value
                    if kind == INAPP and due <= now
                    else DeliveryState.queued.value
                ),
                sent_at=now if kind == INAPP and due <= now else None,
                critical=draft.rule.critical,
                next_attempt_at=due,
                expires_at=draft.expires_at,
                created_at=now,
            )
        )
    if not rows:
        return 0
    taken = set(
        session.scalars(select(Notification.key).where(Notification.key.in_([r.key for r in rows])))
    )
    fresh = [row for row in rows if row.key not in taken]
    session.add_all(fresh)
    return len(fresh)


def _muted(draft: _Draft) -> bool:
    """The person muted this channel; a critical message goes all the same."""
    person = draft.recipient
    return person is not None and draft.channel in person.muted and not draft.rule.critical


def notify_case(
    session: Session,
    case: Case,
    trigger: str,
    *,
    now: datetime,
    moment: str,
    summoned: Sequence[str] = (),
    audiences: Audiences | None = None,
) -> int:
    """Queue what the town's rules say for ``trigger`` on ``case``; ``moment`` makes the
    keys of this occurrence (the case's version after the action). Returns rows queued."""
    if silenced(session):
        return 0
    config = config_of(session)
    rules = config.rules_on(trigger, case.kind, case.urgency)
    if not rules:
        return 0
    audiences = audiences or Audiences(session)
    values = case_facts(session, case, now)
    if trigger == "whistled":
        values = _with_report_in(session, case, values)
    drafts = [
        _Draft(
            key=f"{rule.id}:c{case.id}:{moment}:{_who(recipient)}:{channel}",
            rule=rule,
            channel=channel,
            recipient=recipient,
            due=now,
            values=values,
        )
        for rule in rules
        for channel in rule.channels
        for recipient in _for_channel(config, channel, audiences.of(case, rule, summoned, at=now))
    ]
    return _queue(session, config, case, drafts, now)


def _who(recipient: Recipient | None) -> str:
    return "group" if recipient is None else recipient.label


def _for_channel(
    config: NotificationsConfig, channel: str, people: list[Recipient]
) -> list[Recipient | None]:
    if _channel_kind(config, channel) in _GROUP_KINDS:
        return [None] if people else []
    return list(people)


def _with_report_in(
    session: Session, case: Case, values: dict[str, dict[str, str]]
) -> dict[str, dict[str, str]]:
    due = session.scalar(
        select(Summons.report_in_due_at)
        .where(Summons.case_id == case.id)
        .order_by(Summons.id.desc())
        .limit(1)
    )
    text = f"{due.astimezone(SHANGHAI):%Y-%m-%d %H:%M}" if due else "—"
    return {lang: {**v, "report_in_due_at": text} for lang, v in values.items()}


# --------------------------------------------------------------------------- reminders


def _deadline_rules(config: NotificationsConfig, case: Case) -> list[NotificationRule]:
    return config.rules_on("deadline", case.kind, case.urgency)


def reschedule_reminders(
    session: Session, case: Case, *, now: datetime, audiences: Audiences | None = None
) -> int:
    """Make the queued deadline reminders of ``case`` match where it stands: the ones that
    no longer apply (another deadline, another holder, no longer being handled) are
    cancelled, the missing ones queued. Returns the number queued."""
    if silenced(session):
        return 0
    config = config_of(session)
    rules = _deadline_rules(config, case)
    if not rules:
        return 0
    drafts: list[_Draft] = []
    if case.state in CLOCK_STATES and (case.department_code or case.assignee_community_code):
        values = case_facts(session, case, now)
        stamp = int(case.due_at.timestamp())
        audiences = audiences or Audiences(session)
        for rule in rules:
            people = audiences.of(case, rule)
            for offset in rule.offsets():
                due = case.due_at - offset
                if due < now:
                    continue
                left = {lang: {**v, "left": _left(offset, lang)} for lang, v in values.items()}
                drafts.extend(
                    _Draft(
                        key=f"{rule.id}:c{case.id}:d{stamp}-{int(offset.total_seconds())}"
                        f":{_who(recipient)}:{channel}",
                        rule=rule,
                        channel=channel,
                        recipient=recipient,
                        due=due,
                        values=left,
                        # A reminder not sent by the deadline (plus an hour) is of no use.
                        expires_at=case.due_at + timedelta(hours=1),
                    )
                    for channel in rule.channels
                    for recipient in _for_channel(config, channel, people)
                )
    return _replace_planned(session, config, case, rules, drafts, now)


def _replace_planned(
    session: Session,
    config: NotificationsConfig,
    case: Case,
    rules: Sequence[NotificationRule],
    drafts: list[_Draft],
    now: datetime,
    *,
    keep_shown: bool = False,
) -> int:
    """Make the pending messages of ``rules`` for ``case`` exactly ``drafts``: the others
    are cancelled (with ``keep_shown``, not those already in a bell), the missing ones
    queued. Returns the number queued."""
    keep = {draft.key[:250] for draft in drafts}
    shown_by = now if keep_shown else None
    cancel_reminders(session, case, [rule.id for rule in rules], keep=keep, shown_by=shown_by)
    return _queue(session, config, case, drafts, now)


# How far back the backfill still calls an unacknowledged case's chain: older ones were
# someone's to see long ago, and calling them all at once would bury the new.
_ESCALATION_BACKFILL = timedelta(hours=1)

# States in which a case waits for a unit to sign for it (签收).
_UNACKNOWLEDGED = frozenset({State.received.value, State.dispatched.value})


def reschedule_escalations(
    session: Session, case: Case, *, now: datetime, audiences: Audiences | None = None
) -> int:
    """Keep the escalations of ``case`` (``unacknowledged`` rules) in step with it: while
    nobody has signed for it, each rule's message is queued ``after`` its receipt; once a
    unit signs (or it leaves the queue), the pending ones are cancelled. Returns the number
    queued."""
    if silenced(session):
        return 0
    config = config_of(session)
    rules = config.rules_on("unacknowledged", case.kind, case.urgency)
    if not rules:
        return 0
    drafts: list[_Draft] = []
    if case.state in _UNACKNOWLEDGED and case.accepted_at is None:
        values = case_facts(session, case, now)
        stamp = int(case.received_at.timestamp())
        audiences = audiences or Audiences(session)
        for rule in rules:
            for link, delay in enumerate(rule.delays()):
                # The chain of the shift on duty when the case came in: the n-th delay
                # calls its n-th link (the same people however often this is redone).
                people = audiences.of(case, rule, at=case.received_at, link=link)
                waited = {lang: {**values[lang], "waited": _waited(delay, lang)} for lang in values}
                drafts.extend(
                    _Draft(
                        key=f"{rule.id}:c{case.id}:r{stamp}+{int(delay.total_seconds())}"
                        f":{_who(recipient)}:{channel}",
                        rule=rule,
                        channel=channel,
                        recipient=recipient,
                        due=max(case.received_at + delay, now),
                        values=waited,
                    )
                    for channel in rule.channels
                    for recipient in _for_channel(config, channel, people)
                )
    # A call already in someone's bell stays there once the case is signed for.
    return _replace_planned(session, config, case, rules, drafts, now, keep_shown=True)


def stop_escalations(session: Session, case: Case, *, now: datetime) -> int:
    """Someone acknowledged ``case`` (确认收到): cancel the calls still waiting to go up its
    on-duty chain (those already in someone's bell stay there). Returns the number
    cancelled."""
    rules = config_of(session).rules_on("unacknowledged", case.kind, case.urgency)
    if not rules:
        return 0
    return cancel_reminders(session, case, [rule.id for rule in rules], shown_by=now)


def cancel_reminders(
    session: Session,
    case: Case,
    rule_ids: Sequence[str],
    *,
    keep: frozenset[str] | set[str] = frozenset(),
    shown_by: datetime | None = None,
) -> int:
    """Cancel the pending reminders of ``case`` (in-app ones not yet due included) except
    ``keep``; with ``shown_by``, in-app messages already due then stay: the person has
    them in the bell, and a message read must not vanish."""
    stmt = (
        update(Notification)
        .where(
            Notification.case_id == case.id,
            Notification.rule.in_(list(rule_ids)),
            Notification.state.in_(PENDING_STATES),
        )
        .values(state=DeliveryState.cancelled.value, locked_until=None)
    )
    if keep:
        stmt = stmt.where(Notification.key.not_in(sorted(keep)))
    if shown_by is not None:
        stmt = stmt.where(
            or_(Notification.channel != INAPP, Notification.next_attempt_at > shown_by)
        )
    result = session.execute(stmt.execution_options(synchronize_session=False))
    return int(getattr(result, "rowcount", 0) or 0)


# --------------------------------------------------------------------------- digests


def notify_overdue(session: Session, case_ids: Sequence[int], *, now: datetime) -> int:
    """One digest per recipient of each ``overdue`` rule for the cases a sweep marked: each
    person's digest lists the cases that person is an audience of (a department's handlers
    their department's, the duty officers all), not a hundred messages."""
    if silenced(session) or not case_ids:
        return 0
    config = config_of(session)
    rules = [rule for rule in config.rules if rule.when == "overdue"]
    if not rules:
        return 0
    cases = list(session.scalars(select(Case).where(Case.id.in_(list(case_ids))).order_by(Case.id)))
    stamp = int(now.timestamp())
    drafts: list[_Draft] = []
    audiences = Audiences(session)
    for rule in rules:
        people: dict[str, Recipient] = {}
        theirs: dict[str, list[Case]] = {}
        for case in cases:
            if rule.kinds is not None and case.kind not in rule.kinds:
                continue
            for person in audiences.of(case, rule, at=now):
                people.setdefault(person.label, person)
                theirs.setdefault(person.label, []).append(case)
        for channel in rule.channels:
            if _channel_kind(config, channel) in _GROUP_KINDS:
                # A group is told of every case once: the same list its members see.
                every = [c for label in theirs for c in theirs[label]]
                listed = sorted({c.id: c for c in every}.values(), key=lambda c: c.id)
                if listed:
                    drafts.append(_digest(rule, channel, None, listed, stamp, now))
                continue
            drafts.extend(
                _digest(rule, channel, people[label], mine, stamp, now)
                for label, mine in theirs.items()
            )
    return _queue(session, config, None, drafts, now)


def _digest(
    rule: NotificationRule,
    channel: str,
    recipient: Recipient | None,
    cases: Sequence[Case],
    stamp: int,
    now: datetime,
) -> _Draft:
    listed = ", ".join(f"#{c.id}" for c in cases[:10]) + (" …" if len(cases) > 10 else "")
    values = {lang: {"count": str(len(cases)), "cases": listed} for lang in ("zh", "en")}
    return _Draft(
        key=f"{rule.id}:sweep{stamp}:{_who(recipient)}:{channel}",
        rule=rule,
        channel=channel,
        recipient=recipient,
        due=now,
        values=values,
    )


def backfill_open_cases(session: Session, *, now: datetime) -> int:
    """Tell the holders of the cases still being handled what they would have been told
    (the dispatch, at its time) and queue the reminders still ahead: for a database whose
    cases came in silenced (the demo's replay, an import). Returns the rows queued."""
    queued = 0
    open_cases = session.scalars(
        select(Case)
        .where(Case.state.in_([s.value for s in CLOCK_STATES]))
        .where(or_(Case.department_code.is_not(None), Case.assignee_community_code.is_not(None)))
        .order_by(Case.id)
    )
    audiences = Audiences(session)
    for case in open_cases:
        if case.dispatched_at is not None:
            queued += notify_case(
                session,
                case,
                "dispatched",
                now=case.dispatched_at,
                moment=f"v{case.version}",
                audiences=audiences,
            )
        queued += reschedule_reminders(session, case, now=now, audiences=audiences)
        if case.received_at >= now - _ESCALATION_BACKFILL:
            # An alarm of the last hour nobody has signed for is still climbing its chain.
            queued += reschedule_escalations(session, case, now=now, audiences=audiences)
    return queued
