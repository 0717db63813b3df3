"""The live feed (实时动态): new cases, case state changes and device alarms, as they land.

The feed comes from the database, because whoever writes — API workers, MQTT ingesters,
the CLI, the deadline worker — is another process. Each connection polls, about once a
second, for the ids added to two append-only tables since it last looked: ``case_events``
(every new case and every state change is a row there) and ``alarms`` (every raised alarm
is a row). One index-only range query per table, then one query for the rows the caller
may see. Clears and false alarms update an alarm row instead of adding one: the connection
tracks the open alarms it knows of (the newest already open when it connected, and those
raised since) and checks them by primary key.

PostgreSQL hands out ids before transactions commit, so id 41 may become visible after
id 42. :class:`IdWatermark` therefore keeps the ids above its mark that it has handled and
waits (up to :data:`GAP_GRACE_SECONDS`) for a missing id before passing it: a transaction
that rolled back leaves a gap forever, one still running fills it later.

Why polling rather than LISTEN/NOTIFY: it works the same on SQLite and PostgreSQL, needs
nothing from the writers (no NOTIFY in every code path that adds a case event, no
trigger), and an idle poll costs two index lookups. docs/web.md has the figures.

Scope: every item passes :func:`townops.cases.access.visible_cases` or
:func:`townops.sensing.alarms.lifecycle.visible_alarms` for the viewer, in SQL, before it is sent.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import anyio
from pydantic import BaseModel
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session, aliased

from townops.access.actor import Actor
from townops.access.masking import mask_text
from townops.auth.service import issue_token
from townops.auth.sessions import decode_claims
from townops.cases.access import visible_cases
from townops.cases.enums import Action
from townops.cases.models import Case, CaseEvent
from townops.categories.models import Category
from townops.jurisdiction.models import Jurisdiction
from townops.sensing.alarms.lifecycle import visible_alarms
from townops.sensing.config import SensingConfig
from townops.sensing.models import OPEN_ALARM_STATES, Alarm
from townops.towns.profile import TownProfile

#: Case events worth a line in the feed: a new case and the steps a screen watches.
FEED_ACTIONS = tuple(
    a.value
    for a in (
        Action.create,
        Action.dispatch,
        Action.link,
        Action.accept,
        Action.return_,
        Action.resolve,
        Action.callback,
        Action.close,
        Action.reopen,
        Action.supervise,
        Action.whistle,
    )
)
POLL_SECONDS = 1.0
HEARTBEAT_SECONDS = 15.0
# A stream ends after this long; the page reconnects with a fresh ticket, so a user whose
# log-in expired stops receiving events.
MAX_STREAM_SECONDS = 3600.0
RECHECK_SECONDS = 30.0
RETRY_MILLISECONDS = 3000
GAP_GRACE_SECONDS = 10.0
# More new rows than this in one second (a bulk import) and only the newest are sent.
MAX_ITEMS_PER_POLL = 200
_MAX_IDS_PER_QUERY = 10_000
_MAX_GAP_SPAN = 10_000
# Open alarms a connection watches for clearing (checked by primary key every poll).
MAX_TRACKED_ALARMS = 500
INITIAL_TRACKED_ALARMS = 200
# How far back a reconnecting client may ask to be replayed (``since`` / Last-Event-ID).
MAX_REPLAY = 500
SUMMARY_CHARS = 60
TICKET_TTL_MINUTES = 1


class FeedItem(BaseModel):
    """One line of the feed: a case event or an alarm raised / cleared."""

    key: str
    kind: Literal["case", "alarm"]
    action: str
    at: datetime
    case_id: int | None = None
    case_kind: str | None = None
    from_state: str | None = None
    to_state: str | None = None
    category: str | None = None
    category_name_zh: str | None = None
    category_name_en: str | None = None
    community: str | None = None
    community_name_zh: str | None = None
    community_name_en: str | None = None
    jurisdiction: str | None = None
    summary: str = ""
    alarm_id: int | None = None
    device_id: str | None = None
    device_type: str | None = None
    device_type_name_zh: str | None = None
    device_type_name_en: str | None = None
    severity: str | None = None
    # What the alarm's summary (its zh-CN message) says, as fields: the pages word it in
    # English from these and the reference's sensing words.
    rule: str | None = None
    rule_kind: str | None = None
    quantity: str | None = None
    value: float | None = None
    line: float | None = None


# --------------------------------------------------------------------------- tickets


def _ticket_secret(key: str) -> str:
    # A key of its own: a ticket (it travels in a URL) never works as a bearer token.
    return hashlib.sha256(f"townops-live-ticket:{key}".encode()).hexdigest()


def issue_ticket(actor: Actor, *, key: str) -> str:
    """A one-minute token for ``GET /api/v1/live?access_token=`` (EventSource sends no
    headers); it opens a stream and nothing else."""
    return issue_token(actor, secret=_ticket_secret(key), ttl_minutes=TICKET_TTL_MINUTES)


def ticket_claims(ticket: str, *, key: str) -> dict[str, Any]:
    """A ticket's claims (401 if forged or expired); the caller checks them against the
    user's row with :func:`townops.auth.sessions.actor_from_claims`, as for a bearer."""
    return decode_claims(ticket, secret=_ticket_secret(key))


# --------------------------------------------------------------------------- items


def _summary(text: str | None) -> str:
    # A wall screen: numbers typed into the text are masked for every viewer.
    cleaned = " ".join(mask_text(text or "").split())
    return cleaned if len(cleaned) <= SUMMARY_CHARS else cleaned[: SUMMARY_CHARS - 1] + "…"


def _case_items(
    session: Session, view: Actor, where: Iterable[ColumnElement[bool]], *, newest: int | None
) -> list[FeedItem]:
    community = aliased(Jurisdiction)
    stmt = (
        select(
            CaseEvent.id,
            CaseEvent.action,
            CaseEvent.from_state,
            CaseEvent.to_state,
            CaseEvent.at,
            Case.id,
            Case.kind,
            Case.category_code,
            Case.community_code,
            Case.jurisdiction_code,
            func.substr(Case.content, 1, SUMMARY_CHARS * 2),
            Category.name_zh,
            Category.name_en,
            community.name_zh,
            community.name_en,
        )
        .join(Case, Case.id == CaseEvent.case_id)
        .outerjoin(Category, Category.code == Case.category_code)
        .outerjoin(community, community.code == Case.community_code)
        .where(CaseEvent.action.in_(FEED_ACTIONS), visible_cases(view), *where)
    )
    if newest is not None:
        stmt = stmt.order_by(CaseEvent.id.desc()).limit(newest)
    else:
        stmt = stmt.order_by(CaseEvent.id)
    return [
        FeedItem(
            key=f"case-event:{r[0]}",
            kind="case",
            action=r[1],
            from_state=r[2],
            to_state=r[3],
            at=r[4],
            case_id=r[5],
            case_kind=r[6],
            category=r[7],
            community=r[8],
            jurisdiction=r[9],
            summary=_summary(r[10]),
            category_name_zh=r[11],
            category_name_en=r[12],
            community_name_zh=r[13],
            community_name_en=r[14],
        )
        for r in session.execute(stmt)
    ]


def _alarm_items(
    session: Session,
    view: Actor,
    profile: TownProfile,
    where: Iterable[ColumnElement[bool]],
    *,
    closing: bool,
    newest: int | None = None,
) -> list[FeedItem]:
    """Alarms as feed items: their raising, or (``closing``) how they closed."""
    community = aliased(Jurisdiction)
    stmt = (
        select(Alarm, community.name_zh, community.name_en)
        .outerjoin(community, community.code == Alarm.community_code)
        .where(visible_alarms(view), *where)
    )
    stmt = stmt.order_by(Alarm.id.desc()).limit(newest) if newest else stmt.order_by(Alarm.id)
    items = []
    for alarm, name_zh, name_en in session.execute(stmt):
        spec = profile.config(SensingConfig).device_type(alarm.device_type)
        at = alarm.closed_at if closing and alarm.closed_at else alarm.raised_at
        action = alarm.state if closing else "raised"
        items.append(
            FeedItem(
                key=f"alarm:{alarm.id}:{action}",
                kind="alarm",
                action=action,
                at=at,
                case_id=alarm.case_id,
                community=alarm.community_code,
                community_name_zh=name_zh,
                community_name_en=name_en,
                jurisdiction=alarm.jurisdiction_code,
                summary=_summary(alarm.message),
                alarm_id=alarm.id,
                device_id=alarm.device_id,
                device_type=alarm.device_type,
                device_type_name_zh=spec.name_zh if spec else None,
                device_type_name_en=spec.name_en if spec else None,
                severity=alarm.severity,
                rule=alarm.rule_id,
                rule_kind=alarm.kind,
                quantity=alarm.quantity,
                value=alarm.value,
                line=alarm.line,
            )
        )
    return items


def recent_feed(
    session: Session, *, view: Actor, profile: TownProfile, limit: int
) -> list[FeedItem]:
    """The newest ``limit`` items ``view`` may see, newest first: what a screen shows
    before the stream starts."""
    cases = _case_items(session, view, (), newest=limit)
    alarms = _alarm_items(session, view, profile, (), closing=False, newest=limit)
    merged = sorted([*cases, *alarms], key=lambda i: (i.at, i.key), reverse=True)
    return merged[:limit]


# --------------------------------------------------------------------------- cursor


@dataclass
class IdWatermark:
    """How far a connection has read an append-only table whose ids may commit out of order.

    Every id up to ``settled`` is done; above it, ``handled`` ids were sent and ``gaps``
    are missing ids being waited for (with the monotonic time they were first missed).
    """

    settled: int
    handled: set[int] = field(default_factory=set)
    gaps: dict[int, float] = field(default_factory=dict)

    def take(self, present: Sequence[int], clock: float, *, grace: float) -> list[int]:
        """Record the ids now present above ``settled``; return the new ones, ascending."""
        new = sorted(i for i in present if i > self.settled and i not in self.handled)
        self.handled.update(new)
        top = max(self.handled, default=self.settled)
        if top - self.settled > _MAX_GAP_SPAN:
            self._give_up_below(top - _MAX_GAP_SPAN)
        for missing in range(self.settled + 1, top):
            if missing not in self.handled:
                self.gaps.setdefault(missing, clock)
        for filled in [g for g in self.gaps if g in self.handled]:
            del self.gaps[filled]
        self._settle(clock, grace)
        return new

    def _give_up_below(self, mark: int) -> None:
        self.handled = {i for i in self.handled if i > mark}
        self.gaps = {g: t for g, t in self.gaps.items() if g > mark}
        self.settled = mark

    def _settle(self, clock: float, grace: float) -> None:
        while True:
            following = self.settled + 1
            if following in self.handled:
                self.handled.discard(following)
            elif following in self.gaps and clock - self.gaps[following] >= grace:
                del self.gaps[following]
            else:
                return
            self.settled = following


@dataclass
class LiveCursor:
    events: IdWatermark
    alarms: IdWatermark
    # Open alarms the viewer may see, oldest first: their clearing is announced.
    tracked: dict[int, None] = field(default_factory=dict)

    def token(self) -> str:
        """The SSE event id: where a reconnecting client asks to resume."""
        return f"{self.events.settled}.{self.alarms.settled}"

    def track(self, alarm_ids: Iterable[int]) -> None:
        for alarm_id in alarm_ids:
            self.tracked[alarm_id] = None
        while len(self.tracked) > MAX_TRACKED_ALARMS:
            del self.tracked[next(iter(self.tracked))]


def parse_since(text: str | None) -> tuple[int, int] | None:
    """``"<case event id>.<alarm id>"`` as sent in the events' ``id:`` field."""
    if not text:
        return None
    parts = text.strip().split(".")
    if len(parts) != 2 or not all(p.isdigit() for p in parts):
        return None
    return int(parts[0]), int(parts[1])


def open_cursor(session: Session, *, view: Actor, since: str | None = None) -> LiveCursor:
    """A cursor at the tables' ends, or at ``since`` (at most :data:`MAX_REPLAY` back)."""
    top_event = session.scalar(select(func.max(CaseEvent.id))) or 0
    top_alarm = session.scalar(select(func.max(Alarm.id))) or 0
    event_mark, alarm_mark = top_event, top_alarm
    asked = parse_since(since)
    if asked is not None:
        event_mark = min(top_event, max(asked[0], top_event - MAX_REPLAY))
        alarm_mark = min(top_alarm, max(asked[1], top_alarm - MAX_REPLAY))
    cursor = LiveCursor(events=IdWatermark(event_mark), alarms=IdWatermark(alarm_mark))
    open_ids = session.scalars(
        select(Alarm.id)
        .where(Alarm.state.in_(OPEN_ALARM_STATES), Alarm.id <= alarm_mark, visible_alarms(view))
        .order_by(Alarm.id.desc())
        .limit(INITIAL_TRACKED_ALARMS)
    ).all()
    cursor.track(sorted(open_ids))
    return cursor


def _new_ids(session: Session, column: Any, mark: IdWatermark, clock: float) -> list[int]:
    present = session.scalars(
        select(column).where(column > mark.settled).order_by(column).limit(_MAX_IDS_PER_QUERY)
    ).all()
    new = mark.take(present, clock, grace=GAP_GRACE_SECONDS)
    return new[-MAX_ITEMS_PER_POLL:]


def poll(
    session: Session,
    *,
    view: Actor,
    profile: TownProfile,
    cursor: LiveCursor,
    clock: float | None = None,
) -> list[FeedItem]:
    """What ``view`` may see that happened since the cursor, oldest first; moves the cursor."""
    clock = time.monotonic() if clock is None else clock
    items: list[FeedItem] = []
    event_ids = _new_ids(session, CaseEvent.id, cursor.events, clock)
    if event_ids:
        items += _case_items(session, view, (CaseEvent.id.in_(event_ids),), newest=None)
    alarm_ids = _new_ids(session, Alarm.id, cursor.alarms, clock)
    if alarm_ids:
        raised = _alarm_items(session, view, profile, (Alarm.id.in_(alarm_ids),), closing=False)
        items += raised
        cursor.track(i.alarm_id for i in raised if i.alarm_id is not None)
    if cursor.tracked:
        closed = _alarm_items(
            session,
            view,
            profile,
            (Alarm.id.in_(list(cursor.tracked)), Alarm.closed_at.is_not(None)),
            closing=True,
        )
        for item in closed:
            cursor.tracked.pop(item.alarm_id or 0, None)
        items += closed
    return items


# --------------------------------------------------------------------------- SSE


def sse_event(item: FeedItem, cursor: LiveCursor) -> str:
    return f"id: {cursor.token()}\nevent: {item.kind}\ndata: {item.model_dump_json()}\n\n"


@dataclass(frozen=True)
class StreamTiming:
    poll_seconds: float = POLL_SECONDS
    heartbeat_seconds: float = HEARTBEAT_SECONDS
    max_seconds: float = MAX_STREAM_SECONDS
    # How often an open stream checks that its user's tokens still stand (logout,
    # deactivation, a changed role or scope end the stream within this time).
    recheck_seconds: float = RECHECK_SECONDS


async def sse_stream(
    *,
    open_session: Callable[[], Session],
    view: Actor,
    profile: TownProfile,
    cursor: LiveCursor,
    is_disconnected: Callable[[], Awaitable[bool]],
    timing: StreamTiming = StreamTiming(),
    still_valid: Callable[[Session], bool] | None = None,
) -> AsyncIterator[str]:
    """The text/event-stream of one connection: events, a comment every
    ``heartbeat_seconds`` of silence, ``event: bye`` when ``max_seconds`` are up, and
    ``event: bye`` with ``{"reason": "revoked"}`` once ``still_valid`` says the caller's
    tokens no longer stand (checked every ``recheck_seconds``)."""

    def poll_once() -> list[FeedItem]:
        with open_session() as session:
            return poll(session, view=view, profile=profile, cursor=cursor)

    def valid() -> bool:
        with open_session() as session:
            return still_valid is None or still_valid(session)

    started = last_write = last_check = time.monotonic()
    yield f"retry: {RETRY_MILLISECONDS}\n\n"
    while True:
        if time.monotonic() - last_check >= timing.recheck_seconds:
            last_check = time.monotonic()
            if not await anyio.to_thread.run_sync(valid):
                yield 'event: bye\ndata: {"reason": "revoked"}\n\n'
                return
        for item in await anyio.to_thread.run_sync(poll_once):
            yield sse_event(item, cursor)
            last_write = time.monotonic()
        clock = time.monotonic()
        if clock - last_write >= timing.heartbeat_seconds:
            yield ": heartbeat\n\n"
            last_write = clock
        if clock - started >= timing.max_seconds:
            yield f"id: {cursor.token()}\nevent: bye\ndata: {{}}\n\n"
            return
        if await is_disconnected():
            return
        await anyio.sleep(timing.poll_seconds)
