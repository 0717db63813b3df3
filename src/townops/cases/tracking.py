"""Public tracking (查询): where a request stands, for whoever holds its tracking code.

The code (``Case.token``, 查询码) is all a caller shows, so the answer holds nothing that
identifies or describes anyone: no text, address, place, coordinates, names, phones or
reply. It says what an Open311 client could learn and a little more (the deadline, whether
the case was rated), nothing a stranger could use.

Codes are 10 characters of a 32-letter alphabet drawn with :mod:`secrets` (50 bits): a
town of 100,000 cases a year leaves about one valid code in 10^10, so guessing is hopeless
while failed look-ups are limited per client (:class:`LookupLimiter`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from townops.cases.enums import CLOCK_STATES
from townops.cases.kinds import public_kinds
from townops.cases.models import Case
from townops.cases.service import TOKEN_ALPHABET
from townops.categories.models import Category
from townops.deadlines import is_overdue
from townops.errors import InvalidInput, NotFound
from townops.ratelimit import MissLimiter, TooManyRequests
from townops.timeutil import utcnow

TOKEN_LENGTH = 10
# People copy codes from a text message or a receipt: spaces and dashes are not part of it.
_SEPARATORS = re.compile(r"[\s\-]+")
_CODE = re.compile(f"^[{TOKEN_ALPHABET}]{{{TOKEN_LENGTH}}}$")
_CLOCK = frozenset(s.value for s in CLOCK_STATES)


TooManyLookups = TooManyRequests


class TrackedCategory(BaseModel):
    code: str
    name_zh: str
    name_en: str


class TrackOut(BaseModel):
    """What anyone with the code may know about a request (no personal field)."""

    token: str
    state: str
    category: TrackedCategory
    received_at: datetime
    due_at: datetime
    resolved_at: datetime | None
    closed_at: datetime | None
    overdue: bool
    rated: bool


def normalize_code(raw: str) -> str:
    """The code as issued (capitals, no separators), or 422 if it cannot be one."""
    code = _SEPARATORS.sub("", raw).upper()
    if not _CODE.match(code):
        raise InvalidInput(
            f"a tracking code is {TOKEN_LENGTH} letters and digits (no I, O, 0 or 1)",
            field="code",
        )
    return code


def track(session: Session, *, code: str, now: datetime | None = None) -> TrackOut:
    """The public view of the case with tracking code ``code`` (404 if there is none).

    Mediation cases are private disputes and are not tracked, as Open311 does not list them.
    """
    now = now or utcnow()
    token = normalize_code(code)
    row = session.execute(
        select(Case, Category)
        .join(Category, Category.code == Case.category_code)
        .where(Case.token == token, Case.kind.in_(public_kinds()))
    ).first()
    if row is None:
        raise NotFound("no request has this tracking code")
    case, category = row
    return TrackOut(
        token=case.token,
        state=case.state,
        category=TrackedCategory(
            code=category.code, name_zh=category.name_zh, name_en=category.name_en
        ),
        received_at=case.received_at,
        due_at=case.due_at,
        resolved_at=case.resolved_at,
        closed_at=case.closed_at,
        overdue=case.state in _CLOCK and is_overdue(case.due_at, now),
        rated=case.rating is not None,
    )


@dataclass
class LookupLimiter(MissLimiter):
    """At most ``max_misses`` failed look-ups per client in any ``window`` seconds.

    A client past the limit is refused every look-up, found or not, until its oldest miss
    leaves the window: answering hits would tell it when a guess was right. Kept in the
    process's memory (:mod:`townops.ratelimit`: one worker's share of the limit; a
    restart forgets it), which is enough to make guessing slower than useless. Clients are
    told apart by address: behind a proxy that does not pass the client's own address on,
    all share one limit.
    """

    message: str = "too many unknown tracking codes from this address; try again later"


def track_limited(session: Session, *, code: str, client: str, limiter: LookupLimiter) -> TrackOut:
    """:func:`track` for an anonymous caller: unknown and malformed codes count as misses."""
    limiter.check(client)
    try:
        return track(session, code=code)
    except (NotFound, InvalidInput):
        limiter.miss(client)
        raise
