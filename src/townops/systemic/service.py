"""Systemic issues (举一反三) of the town's cases: refresh, read, open a root-cause case.

The place of a case is its micro-grid when it has one (a case at a building counts at the
building's micro-grid), else its community; cases placed nowhere more precise than the
town are left out, and so are repeats (``duplicate_of_id``) and the root-cause cases this
module opened. The topic is the case's category. Detection itself is
:func:`townops.systemic.detect.detect_systemic_issues`.
"""

from __future__ import annotations

import re
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, delete, select, update
from sqlalchemy.orm import Session

from townops.access import scope_of
from townops.access.actor import SYSTEM, Actor, Role
from townops.cases.access import require_role, role_may
from townops.cases.enums import Action
from townops.cases.kinds import PATROL
from townops.cases.models import Case
from townops.cases.schemas import CaseCreate
from townops.cases.service import create_case
from townops.categories.models import Category
from townops.errors import Conflict, InvalidInput, NotFound
from townops.jurisdiction.models import Jurisdiction
from townops.systemic.detect import (
    CaseRecord,
    DetectedIssue,
    detect_systemic_issues,
)
from townops.systemic.models import SystemicIssue, SystemicIssueMember
from townops.systemic.schemas import IssueStatus, RefreshOut, SystemicIssueOut, WeekCountOut
from townops.systemic.settings import SystemicSettings
from townops.timeutil import as_utc, utcnow
from townops.towns.profile import get_profile

READ_ROLES = frozenset({Role.leader, Role.duty_officer, Role.dispatcher, Role.admin})
REFRESH_ROLES = frozenset({Role.duty_officer, Role.leader, Role.admin})
ROOT_CASE_ROLES = frozenset({Role.duty_officer, Role.leader})
ROOT_CASE_SOURCE = "systemic"
MICRO_GRID, COMMUNITY = "micro_grid", "community"


# --------------------------------------------------------------------------- records


@dataclass(frozen=True, slots=True)
class _Place:
    code: str
    level: str
    name_zh: str
    aliases: tuple[str, ...]


def _places(session: Session) -> dict[str, _Place]:
    rows = session.execute(
        select(Jurisdiction.code, Jurisdiction.level, Jurisdiction.name_zh, Jurisdiction.aliases)
    )
    return {
        code: _Place(code, level, name, tuple(aliases or ())) for code, level, name, aliases in rows
    }


def place_of_case(
    jurisdiction_path: str | None, community_code: str | None, places: dict[str, _Place]
) -> _Place | None:
    """The micro-grid on the case's path, else its community, else None."""
    segments = (jurisdiction_path or "").strip("/").split("/")
    grid = next(
        (places[c] for c in segments if c in places and places[c].level == MICRO_GRID), None
    )
    if grid is not None:
        return grid
    return places.get(community_code) if community_code else None


_BUILDING_NUMBER = re.compile(r"\d+(?:号楼|号|楼|室|弄|栋|单元)")


def _without_place_names(text: str, names: Iterable[str]) -> str:
    # Estate, grid and building names would make every case at a place look alike.
    for name in sorted({n for n in names if len(n) >= 2}, key=len, reverse=True):
        text = text.replace(name, " ")
    return _BUILDING_NUMBER.sub(" ", text)


def case_records(
    session: Session, *, since: datetime, until: datetime, exclude: Iterable[int] = ()
) -> list[CaseRecord]:
    """The town's cases received in [since, until] as detection records (see module doc)."""
    places = _places(session)
    excluded = set(exclude)
    rows = session.execute(
        select(
            Case.id,
            Case.received_at,
            Case.jurisdiction_path,
            Case.community_code,
            Case.category_code,
            Case.content,
            Case.requester_phone,
        ).where(
            Case.received_at >= since,
            Case.received_at <= until,
            Case.duplicate_of_id.is_(None),
        )
    )
    records = []
    for case_id, received_at, path, community, category, content, phone in rows:
        where = place_of_case(path, community, places)
        if where is None or case_id in excluded:
            continue
        community_place = places.get(community) if community else None
        names = [where.name_zh, *where.aliases]
        if community_place is not None:
            names += [community_place.name_zh, *community_place.aliases]
        records.append(
            CaseRecord(
                id=case_id,
                received_at=as_utc(received_at),
                place_key=where.code,
                place_label=where.name_zh,
                topic_key=category,
                text=_without_place_names(content, names),
                reporter=_digits(phone),
            )
        )
    return records


def _digits(phone: str) -> str:
    return re.sub(r"\D", "", phone or "")


# --------------------------------------------------------------------------- refresh


# What a refresh did: the API's output shape is also the service's report.
RefreshReport = RefreshOut


def check_may_refresh(actor: Actor) -> None:
    """Refreshing recomputes the whole town: the duty officer, a leader or an admin."""
    require_role(actor, REFRESH_ROLES, "refresh systemic issues")


def refresh_systemic_issues(
    session: Session, *, now: datetime, settings: SystemicSettings
) -> RefreshReport:
    """Recompute the issues of the window ending at ``now`` and upsert them by key.

    An existing issue keeps its status and root case (a lapsed one found again is open
    again, or root_case_opened). One no longer found lapses if it has a root case and is
    removed otherwise. Members are rewritten. Flushes; the caller commits.
    """
    started = time.perf_counter()
    now = as_utc(now)
    existing = {row.key: row for row in session.scalars(select(SystemicIssue))}
    previous = _members_by_key(session, existing.values())
    root_cases = {row.root_case_id for row in existing.values() if row.root_case_id is not None}
    since = now - timedelta(weeks=settings.window_weeks)
    records = case_records(session, since=since, until=now, exclude=root_cases)
    detected = detect_systemic_issues(
        records,
        now=now,
        settings=settings,
        topic_names={c: n for c, n in session.execute(select(Category.code, Category.name_zh))},
        previous=previous,
        tz=ZoneInfo(get_profile(session).timezone),
    )
    new = updated = 0
    kept: list[tuple[SystemicIssue, DetectedIssue]] = []
    for issue in detected:
        row = existing.pop(issue.key, None)
        if row is None:
            row = SystemicIssue(key=issue.key, status=IssueStatus.open.value, root_case_id=None)
            session.add(row)
            new += 1
        else:
            updated += 1
        _copy_detection(row, issue, now)
        kept.append((row, issue))
    lapsed, removed = _retire(session, existing.values())
    session.flush()
    _rewrite_members(session, kept)
    return RefreshReport(
        found=len(detected),
        new=new,
        updated=updated,
        lapsed=lapsed,
        removed=removed,
        cases_considered=len(records),
        seconds=round(time.perf_counter() - started, 3),
    )


def _members_by_key(session: Session, rows: Iterable[SystemicIssue]) -> dict[str, set[int]]:
    by_id = {row.id: row.key for row in rows}
    members: dict[str, set[int]] = defaultdict(set)
    for issue_id, case_id in session.execute(
        select(SystemicIssueMember.issue_id, SystemicIssueMember.case_id)
    ):
        if issue_id in by_id:
            members[by_id[issue_id]].add(case_id)
    return members


def _copy_detection(row: SystemicIssue, issue: DetectedIssue, now: datetime) -> None:
    row.place_code = issue.place_key
    row.place_label = issue.place_label
    row.topic = issue.topic_key
    row.topic_label = issue.topic_label[:200]
    row.first_seen = issue.first_seen
    row.last_seen = issue.last_seen
    row.case_count = issue.case_count
    row.weeks_active = issue.weeks_active
    row.weekly_counts = [{"week": w.week, "count": w.count} for w in issue.weekly_counts]
    row.trend = issue.trend.value
    row.slope = issue.slope
    row.refreshed_at = now
    if row.status == IssueStatus.lapsed.value:
        row.status = (
            IssueStatus.root_case_opened.value if row.root_case_id else IssueStatus.open.value
        )


def _retire(session: Session, gone: Iterable[SystemicIssue]) -> tuple[int, int]:
    """Issues no longer detected: lapse those with a root case, delete the others."""
    lapsed = removed = 0
    for row in gone:
        if row.root_case_id is not None:
            if row.status != IssueStatus.lapsed.value:
                row.status = IssueStatus.lapsed.value
                lapsed += 1
            continue
        session.execute(delete(SystemicIssueMember).where(SystemicIssueMember.issue_id == row.id))
        session.delete(row)
        removed += 1
    return lapsed, removed


def _rewrite_members(session: Session, kept: Sequence[tuple[SystemicIssue, DetectedIssue]]) -> None:
    ids = [row.id for row, _ in kept]
    if ids:
        session.execute(delete(SystemicIssueMember).where(SystemicIssueMember.issue_id.in_(ids)))
    session.add_all(
        SystemicIssueMember(issue_id=row.id, case_id=case_id)
        for row, issue in kept
        for case_id in issue.member_ids
    )
    session.flush()


# --------------------------------------------------------------------------- read


def _visible(actor: Actor) -> ColumnElement[bool]:
    """Issues whose place lies in the actor's scope (the access layer's; departments read
    the whole town's)."""
    return scope_of(actor).where(path=Jurisdiction.path, departments_serve_town=True)


def _scoped_query(actor: Actor) -> Select[SystemicIssue]:
    return (
        select(SystemicIssue)
        .outerjoin(Jurisdiction, Jurisdiction.code == SystemicIssue.place_code)
        .where(_visible(actor))
    )


def list_systemic_issues(
    session: Session,
    *,
    actor: Actor,
    status: IssueStatus | None = None,
    place: str | None = None,
    min_cases: int | None = None,
) -> list[SystemicIssueOut]:
    """Issues in the actor's scope, largest first; ``place`` keeps a jurisdiction subtree."""
    require_role(actor, READ_ROLES, "read systemic issues")
    query = _scoped_query(actor)
    if status is not None:
        query = query.where(SystemicIssue.status == status.value)
    if place:
        path = session.scalar(select(Jurisdiction.path).where(Jurisdiction.code == place))
        if path is None:
            raise InvalidInput(f"unknown jurisdiction '{place}'", field="place")
        query = query.where(Jurisdiction.path.startswith(path, autoescape=True))
    if min_cases is not None:
        query = query.where(SystemicIssue.case_count >= min_cases)
    query = query.order_by(
        SystemicIssue.case_count.desc(), SystemicIssue.last_seen.desc(), SystemicIssue.id
    )
    rows = list(session.scalars(query))
    return present(session, rows)


def get_systemic_issue(session: Session, *, actor: Actor, issue_id: int) -> SystemicIssueOut:
    return present(session, [_issue_for(session, actor=actor, issue_id=issue_id)])[0]


def _issue_for(session: Session, *, actor: Actor, issue_id: int) -> SystemicIssue:
    require_role(actor, READ_ROLES, "read systemic issues")
    row = session.scalars(_scoped_query(actor).where(SystemicIssue.id == issue_id)).first()
    if row is None:  # outside the scope looks the same as absent, as for cases
        raise NotFound(f"systemic issue {issue_id} not found", issue_id=issue_id)
    return row


def present(session: Session, rows: Sequence[SystemicIssue]) -> list[SystemicIssueOut]:
    members: dict[int, list[int]] = defaultdict(list)
    if rows:
        for issue_id, case_id in session.execute(
            select(SystemicIssueMember.issue_id, SystemicIssueMember.case_id)
            .where(SystemicIssueMember.issue_id.in_([r.id for r in rows]))
            .order_by(SystemicIssueMember.case_id)
        ):
            members[issue_id].append(case_id)
    return [
        SystemicIssueOut(
            id=row.id,
            key=row.key,
            place_code=row.place_code,
            place_label=row.place_label,
            topic=row.topic,
            topic_label=row.topic_label,
            first_seen=as_utc(row.first_seen),
            last_seen=as_utc(row.last_seen),
            case_count=row.case_count,
            weeks_active=row.weeks_active,
            weekly_counts=[WeekCountOut.model_validate(w) for w in row.weekly_counts],
            trend=row.trend,
            slope=row.slope,
            status=row.status,
            root_case_id=row.root_case_id,
            refreshed_at=as_utc(row.refreshed_at),
            member_case_ids=members[row.id],
        )
        for row in rows
    ]


# --------------------------------------------------------------------------- root case


def open_root_case(
    session: Session,
    *,
    actor: Actor,
    issue_id: int,
    note: str = "",
    now: datetime | None = None,
) -> tuple[SystemicIssueOut, Case]:
    """Open ONE case for the root cause of an issue (kind ``patrol``, the issue's category
    and place, the member cases listed); a second attempt is a 409."""
    require_role(actor, ROOT_CASE_ROLES, "open a root-cause case")
    now = now or utcnow()
    row = _issue_for(session, actor=actor, issue_id=issue_id)
    if row.root_case_id is not None:
        raise _already_opened(row)
    member_ids = present(session, [row])[0].member_case_ids
    tz = ZoneInfo(get_profile(session).timezone)
    # A leader may not create cases in the engine's role table; the root case is then the
    # system's, and its text names who asked for it.
    creator = actor if role_may(actor, Action.create, get_profile(session)) else SYSTEM
    case = create_case(
        session,
        actor=creator,
        data=CaseCreate(
            kind=PATROL.name,
            category=row.topic,
            content=_root_case_text(row, member_ids, tz=tz, opened_by=actor.username, note=note),
            jurisdiction=row.place_code,
            source=ROOT_CASE_SOURCE,
            external_id=f"systemic-issue-{row.id}",
        ),
        now=now,
    )
    # Guarded update: of two concurrent requests only one records its case; the other's
    # transaction (with its case) is rolled back by the 409.
    claimed = session.execute(
        update(SystemicIssue)
        .where(SystemicIssue.id == row.id, SystemicIssue.root_case_id.is_(None))
        .values(root_case_id=case.id, status=IssueStatus.root_case_opened.value)
        .execution_options(synchronize_session=False)
    )
    if getattr(claimed, "rowcount", 1) != 1:
        raise _already_opened(row)
    session.refresh(row)
    return present(session, [row])[0], case


def _already_opened(row: SystemicIssue) -> Conflict:
    return Conflict(
        f"systemic issue {row.id} already has a root-cause case",
        issue_id=row.id,
        root_case_id=row.root_case_id,
    )


def _root_case_text(
    row: SystemicIssue, member_ids: Sequence[int], *, tz: ZoneInfo, opened_by: str, note: str
) -> str:
    ids = "、".join(f"#{i}" for i in member_ids)
    first, last = (as_utc(d).astimezone(tz) for d in (row.first_seen, row.last_seen))
    text = (
        f"【举一反三】{row.place_label}：{row.topic_label}。"
        f"{first:%Y-%m-%d} 至 {last:%Y-%m-%d} 共 {row.case_count} 件，"
        f"分布在 {row.weeks_active} 周，趋势 {row.trend}。关联工单：{ids}。"
        f"请查找并消除根源。(systemic issue {row.key}, opened by {opened_by})"
    )
    return f"{text}\n{note}" if note else text
