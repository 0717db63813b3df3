"""The public-output policy (公开范围): which cases anonymous Open311 reads publish, and how.

GET /requests, GET /requests/{id} and GET /tokens/{token} need no key, so whatever they
answer is published to the world. The town decides what is public in ``town.yaml``
(``open311.public``, :class:`townops.open311.config.Open311Public`, read with
``profile.config(Open311Public)``): by default only what Open311 clients filed, plus the
sources and categories it marks public. Three things are never public whatever it says: a resident's
own request (filed in the web app, so it has a requesting user), a case of a kind that is never
public (a mediation, a private dispute) and a case about a household (a device alarm in a home
names the household): the kind's rule says which (:mod:`townops.cases.kinds`).

A case outside the policy is answered exactly like a case that does not exist (404, absent
from lists), so its existence is not published either. What a public case shows is cut
down here too: the address to its building, every phone-like or ID-like number masked
whatever its separators (:func:`townops.access.masking.mask_text`), coordinates
rounded, and a media URL only if it is a plain web link.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, false, not_, or_

from townops.access.masking import mask_text, public_address
from townops.bounded import is_safe_media_url
from townops.cases.kinds import household_kinds, public_kinds
from townops.cases.models import Case
from townops.open311.config import PRIVATE_SOURCES, Open311Public

__all__ = [
    "is_public",
    "is_safe_media_url",
    "public_address",
    "public_condition",
    "public_coordinate",
    "public_text",
    "publishes_reply",
]

# The town's own photos (townops.media): a signed path on this server.


def public_condition(policy: Open311Public) -> ColumnElement[bool]:
    """The SQL condition for "this case is public under ``policy``" (one for every route)."""
    listed = [Case.source.in_(policy.sources)] if policy.sources else []
    if policy.categories:
        listed.append(Case.category_code.in_(policy.categories))
    if not listed or not policy.kinds:
        return false()
    in_a_home = and_(
        Case.kind.in_(household_kinds()),
        or_(Case.requester_name != "", Case.requester_phone != ""),
    )
    return and_(
        Case.kind.in_(_publishable(policy)),
        or_(*listed),
        # A resident's own request: never public, whatever its source says.
        Case.requester_user_id.is_(None),
        Case.source.not_in(sorted(PRIVATE_SOURCES)),
        not_(in_a_home),
    )


def is_public(case: Case, policy: Open311Public) -> bool:
    """:func:`public_condition` for one loaded case (kept in step with it by the tests)."""
    if case.kind not in _publishable(policy):
        return False
    if case.source not in policy.sources and case.category_code not in policy.categories:
        return False
    if case.requester_user_id is not None or case.source in PRIVATE_SOURCES:
        return False
    in_a_home = case.kind in household_kinds() and bool(case.requester_name or case.requester_phone)
    return not in_a_home


def _publishable(policy: Open311Public) -> list[str]:
    """The policy's kinds that may be public at all (the kind's rule has the last word)."""
    public = set(public_kinds())
    return [kind for kind in policy.kinds if kind in public]


def publishes_reply(source: str, policy: Open311Public) -> bool:
    """Whether a public case's reply (答复) is published word for word.

    Only for what was filed to be public (a source the policy publishes, e.g. what an
    Open311 client filed): its reporter waits for the reply on the client. A case public by
    its category only (a caller's street light) was answered to a caller, and a reply to a
    caller may name them: it is published as a sentence for the step instead.
    """
    return source in policy.sources


def public_text(text: str | None) -> str | None:
    """Free text as published: every number of seven digits or more masked."""
    return mask_text(text) if text else text


def public_coordinate(value: float | None, decimals: int) -> float | None:
    """A latitude or longitude as published.

    Rounded to the policy's decimals (3 by default, about 110 m of latitude and 95 m of
    longitude in Shanghai): enough to put a pothole on a map, not enough to point at the
    door of the resident who reported it.
    """
    return None if value is None else round(value, decimals)
