"""The case engine's events: what happened to a case, published inside its transaction.

The engine imports no domain built on it. A domain that must react to cases (dispatch
learns from a dispatcher's choice, photos are attached, and the notifications, Open311
updates and domains still to come) subscribes from its own package::

    from townops.cases import events

    def _on_acted(event: events.CaseActed) -> None: ...

    events.subscribe(events.CaseActed, _on_acted)

and :func:`townops.domains.install` (the composition root, called by the app, the CLI, the
workers and the tests) calls each domain's ``subscribe`` once.

A subscriber runs synchronously inside the use case's transaction, in subscription order:
what it writes commits or rolls back with the change that caused it, and an error it raises
fails the use case. Work outside the database (a message, a webhook) must not run before
the commit: defer it with :func:`after_commit`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session

from townops.access.actor import Actor
from townops.cases.enums import Action
from townops.cases.models import Case
from townops.towns.profile import TownProfile


@dataclass(frozen=True, kw_only=True)
class CaseEngineEvent:
    """Base of every event: the session (the use case's transaction) and when it happened."""

    session: Session
    now: datetime


@dataclass(frozen=True, kw_only=True)
class CaseCreated(CaseEngineEvent):
    """A case was filed (its id is set). ``photos``: ids of photos sent with it."""

    case: Case
    actor: Actor
    profile: TownProfile
    photos: Sequence[int] = ()


@dataclass(frozen=True, kw_only=True)
class CaseActed(CaseEngineEvent):
    """An action of the state table was taken on a case (dispatch, supervise, resolve, …);
    ``automatic`` for a follow-up the engine took itself (e.g. accept after a direct
    dispatch to a community). ``data`` is what the action recorded on the timeline."""

    case: Case
    actor: Actor
    action: Action
    from_state: str
    to_state: str
    profile: TownProfile
    photos: Sequence[int] = ()
    data: dict[str, Any] = field(default_factory=dict)
    automatic: bool = False


@dataclass(frozen=True, kw_only=True)
class CaseNoted(CaseEngineEvent):
    """A domain put on a case's timeline something done about it outside the engine
    (:func:`townops.cases.service.record_on_timeline`: its device alarm acknowledged or
    marked false). ``acknowledges``: a person said they have seen what the case is about,
    as the engine's own ``acknowledge`` action says (escalations waiting for that stop)."""

    case: Case
    actor: Actor
    kind: str
    acknowledges: bool = False


@dataclass(frozen=True, kw_only=True)
class DeadlineMoved(CaseEngineEvent):
    """A case's deadline moved (an extension approved, a recategorisation, a reopening)."""

    case: Case
    action: Action
    old_due_at: datetime
    new_due_at: datetime


@dataclass(frozen=True, kw_only=True)
class CasesOverdue(CaseEngineEvent):
    """The overdue sweep marked these cases overdue and supervised each (超期自动督办)."""

    case_ids: Sequence[int]


@dataclass(frozen=True, kw_only=True)
class ReportInLate(CaseEngineEvent):
    """A whistled (吹哨) department did not report in by its deadline and was supervised."""

    case_id: int
    department_code: str


E = TypeVar("E", bound=CaseEngineEvent)
Handler = Callable[[Any], None]

_subscribers: defaultdict[type[CaseEngineEvent], list[Handler]] = defaultdict(list)
_installed = False


def mark_installed() -> None:
    """Called by :func:`townops.domains.install` once every domain has subscribed."""
    global _installed
    _installed = True


def subscribe(event_type: type[E], handler: Callable[[E], None]) -> Callable[[], None]:
    """Call ``handler`` with every ``event_type`` published from now on (once, however many
    times it subscribes). Returns the function that unsubscribes it."""
    handlers = _subscribers[event_type]
    if handler not in handlers:
        handlers.append(handler)

    def unsubscribe() -> None:
        if handler in handlers:
            handlers.remove(handler)

    return unsubscribe


def has_subscribers(event_type: type[CaseEngineEvent]) -> bool:
    """Whether anyone listens: a set-based step may skip gathering what nobody reads."""
    return bool(_subscribers.get(event_type))


def publish(event: CaseEngineEvent) -> None:
    """Run every subscriber of the event's type, in the caller's transaction.

    Refused until the domains are installed: a case changed while nobody listens (a script
    that forgot :func:`townops.domains.install`) would silently lose what the domains do
    with it — the dispatcher's lesson, the photos.
    """
    if not _installed:
        raise RuntimeError(
            "the case engine's subscribers are not installed: call townops.domains.install()"
        )
    for handler in tuple(_subscribers.get(type(event), ())):
        handler(event)


_PENDING = "townops.after_commit"


def after_commit(session: Session, work: Callable[[], None]) -> None:
    """Run ``work`` once the session's transaction under way commits; never if it rolls back."""
    session.connection()  # the work belongs to a transaction: begin it if none is under way
    pending: list[Callable[[], None]] | None = session.info.get(_PENDING)
    if pending is None:
        pending = session.info[_PENDING] = []
        sa_event.listen(session, "after_commit", _run_pending)
        sa_event.listen(session, "after_soft_rollback", _drop_pending)
    pending.append(work)


def _run_pending(session: Session) -> None:
    work = session.info.get(_PENDING) or []
    session.info[_PENDING] = []
    for one in work:
        one()


def _drop_pending(session: Session, previous_transaction: Any) -> None:
    if previous_transaction.parent is None:  # the whole transaction, not a savepoint
        session.info[_PENDING] = []
