"""Intake rules: who may set the fields the system sets, and how often a resident may file.

``kind``, ``source``, ``external_id`` and ``received_at`` decide which figures a case
counts in (a backdated ``received_at`` counts against a department's on-time rate; a
resident's device alarm or mediation case is not what it says; a resident holding order
number 20230001 under ``source=hotline`` makes the official import of that order fail).
They are set by the system (imports, device alarms, warnings: the SYSTEM actor) and by the
intake desk — the duty officer, the dispatcher and the administrator, who take 12345 calls
and key in orders from other systems. Everyone else gets a 403 naming the field: a value
is refused, never silently replaced.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from townops.access.actor import Actor, Role
from townops.cases.kinds import REQUEST, case_kinds, kind_rule
from townops.cases.models import Case
from townops.cases.schemas import CaseCreate
from townops.errors import Forbidden, RateLimited

#: Roles that take cases in from elsewhere and may set every server-set field.
INTAKE_ROLES = frozenset({Role.admin, Role.duty_officer, Role.dispatcher})
#: Channels anyone may name: they say how the request came, not which register it is in.
CLIENT_SOURCES = frozenset({"api", "web"})
#: An Open311 client acts with a key, not as a user; its service sets kind and source.
OPEN311_ACTOR_PREFIX = "open311:"
OPEN311_SOURCE = "open311"

FILING_WINDOW = timedelta(days=1)


def kinds_filed_by(role: Role) -> list[str]:
    """The kinds ``role`` may file by hand (the intake desk: every kind a person files)."""
    return sorted(
        rule.name
        for rule in case_kinds()
        if rule.by_person and (role in INTAKE_ROLES or role in rule.filed_by)
    )


def _is_open311_client(actor: Actor) -> bool:
    return actor.user_id is None and actor.username.startswith(OPEN311_ACTOR_PREFIX)


def check_server_set_fields(actor: Actor, data: CaseCreate) -> None:
    """403 naming the first server-set field this actor may not set as given."""
    if actor.is_system:
        return
    open311 = _is_open311_client(actor)
    if actor.role in INTAKE_ROLES and not open311:
        rule = kind_rule(data.kind)
        if rule is not None and not rule.by_person:
            raise Forbidden(
                f"kind '{data.kind}' is opened by townops itself, not by a person",
                field="kind",
            )
        return
    allowed_kinds = [REQUEST.name] if open311 else kinds_filed_by(actor.role)
    if data.kind not in allowed_kinds:
        raise Forbidden(
            f"you may not file a case of kind '{data.kind}'",
            field="kind",
            allowed=allowed_kinds,
        )
    sources = CLIENT_SOURCES | ({OPEN311_SOURCE} if open311 else set())
    if data.source not in sources:
        raise Forbidden(
            f"source '{data.source}' is set by imports and the intake desk only",
            field="source",
            allowed=sorted(sources),
        )
    if data.external_id is not None:
        raise Forbidden(
            "external_id is set by imports and the intake desk only", field="external_id"
        )
    if data.received_at is not None:
        raise Forbidden(
            "received_at is set by the server (the time your request arrives)",
            field="received_at",
        )


def check_filing_limit(session: Session, *, actor: Actor, per_day: int, now: datetime) -> None:
    """429 once a resident has filed ``per_day`` cases in the last 24 hours; the wait is
    until the oldest of them leaves the window."""
    if actor.role != Role.resident or actor.user_id is None or per_day <= 0:
        return
    since = now - FILING_WINDOW
    count, oldest = session.execute(
        select(func.count(), func.min(Case.created_at)).where(
            Case.requester_user_id == actor.user_id, Case.created_at > since
        )
    ).one()
    if count < per_day:
        return
    wait = max(1, int((oldest + FILING_WINDOW - now).total_seconds()) + 1) if oldest else 60
    raise RateLimited(
        f"you have filed {count} requests in the last 24 hours (at most {per_day}); "
        "call 12345 if it is urgent",
        retry_after_seconds=wait,
        limit=per_day,
    )
