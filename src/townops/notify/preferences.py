"""A person's notification settings (通知设置): which channels they do not want, and the
language of what is sent to them. Keyword-only use cases, session passed in, no HTTP.

Muting is for the external channels a town configured (e-mail, a group bot, SMS): in-app
cannot be muted, it is the record of what the person was told; and a critical message
(an alarm nobody signs for) goes through a muted channel all the same. The language picks
the zh or en text of what is sent (the pages show either). Every change is audited.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from sqlalchemy.orm import Session

from townops.access.actor import Actor
from townops.auth.models import AuditEntry
from townops.errors import Forbidden, InvalidInput
from townops.notify.config import INAPP
from townops.notify.models import NotificationPreference
from townops.notify.schemas import ChannelChoice, PreferencesIn, PreferencesOut
from townops.notify.service import config_of

__all__ = ["my_preferences", "set_my_preferences"]

Locale = Literal["zh", "en"]


def _user_id(actor: Actor) -> int:
    if actor.user_id is None:
        raise Forbidden("only a person with an account has notification settings")
    return actor.user_id


def my_preferences(session: Session, *, actor: Actor) -> PreferencesOut:
    """The town's channels, each marked muted or not for the actor, and their language."""
    row = session.get(NotificationPreference, _user_id(actor))
    muted = set(row.muted_channels) if row else set()
    config = config_of(session)
    channels = [ChannelChoice(name=INAPP, kind=INAPP, muted=False, mutable=False)]
    channels += [
        ChannelChoice(name=name, kind=str(channel.kind), muted=name in muted, mutable=True)
        for name, channel in sorted(config.channels.items())
    ]
    return PreferencesOut(channels=channels, locale=row.locale if row else "zh")


def set_my_preferences(
    session: Session, *, actor: Actor, wanted: PreferencesIn, now: datetime
) -> PreferencesOut:
    """Replace the actor's muted channels and language; unknown channels and in-app are 422."""
    user_id = _user_id(actor)
    known = set(config_of(session).channels)
    muted = sorted(set(wanted.muted_channels))
    if INAPP in muted:
        raise InvalidInput("in-app messages cannot be muted", field="muted_channels")
    unknown = [name for name in muted if name not in known]
    if unknown:
        raise InvalidInput(
            f"unknown channel(s) {', '.join(unknown)} (the town's: {', '.join(sorted(known))})",
            field="muted_channels",
        )
    row = session.get(NotificationPreference, user_id)
    before = {"muted_channels": row.muted_channels, "locale": row.locale} if row else None
    if row is None:
        row = NotificationPreference(user_id=user_id)
        session.add(row)
    row.muted_channels = muted
    row.locale = wanted.locale
    row.updated_at = now
    session.add(
        AuditEntry(
            actor=actor.username,
            action="notification.preferences",
            target=f"user:{user_id}",
            data={"before": before, "after": {"muted_channels": muted, "locale": wanted.locale}},
            at=now,
        )
    )
    session.flush()
    return my_preferences(session, actor=actor)
