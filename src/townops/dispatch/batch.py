"""Batch dispatch (批量派单): a dispatcher sends several waiting cases at once, each to the
unit its routing suggests or all to one chosen department.

Each item is the engine's ordinary dispatch action (``perform_action``: the same access
rules, audit event, deadlines and subscribers) in a transaction of its own, which the
transport commits or rolls back: items are **independent**. A real dispatcher wants the
good ones to go and the conflicts named, not a whole selection refused for one case a
colleague dispatched meanwhile. What is checked before any item is taken (the role may
dispatch at all, the size of the batch, a case named twice) refuses the whole request.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from townops.access.actor import Actor
from townops.bounded import MAX_DB_ID, DbId, NoNul
from townops.cases.access import role_may
from townops.cases.enums import Action
from townops.cases.models import Case
from townops.cases.schemas import ActionInput, Code40
from townops.cases.service import get_case_for, perform_action
from townops.dispatch.models import RoutingDecision
from townops.errors import DomainError, Forbidden, InvalidInput, NotFound, StaleVersion
from townops.towns.profile import get_profile

#: The most cases one request dispatches (a queue's page or two).
MAX_ITEMS = 100


class BatchItem(BaseModel):
    """One case to dispatch. Neither unit named: the first suggestion of its routing."""

    model_config = ConfigDict(extra="forbid")

    case_id: DbId
    version: int = Field(ge=0, le=MAX_DB_ID, description="the case version you saw")
    department_code: Code40 | None = Field(
        default=None, description="send it to this department (omit: as the routing suggests)"
    )
    community_code: Code40 | None = Field(
        default=None, description="send it to this community (居委) instead of a department"
    )

    @model_validator(mode="after")
    def _one_unit(self) -> BatchItem:
        if self.department_code is not None and self.community_code is not None:
            raise ValueError("name department_code or community_code, not both")
        return self


class BatchDispatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    items: list[BatchItem] = Field(min_length=1, max_length=MAX_ITEMS)
    comment: Annotated[str, Field(max_length=500), NoNul] = Field(
        default="", description="recorded on each dispatch"
    )


class ItemError(BaseModel):
    status: int = Field(description="the HTTP status a single dispatch would have answered")
    code: str = Field(description="stale_version, forbidden, illegal_transition, …")
    message: str
    details: dict[str, Any] = Field(description="field: items[i].…, and the error's figures")


class ItemResult(BaseModel):
    case_id: int
    dispatched: bool
    as_suggested: bool = Field(description="the unit came from the routing suggestion")
    version: int | None = Field(default=None, description="the case's new version")
    state: str | None = None
    department: str | None = None
    community: str | None = None
    category: str | None = None
    due_at: datetime | None = None
    error: ItemError | None = None


class BatchDispatchOut(BaseModel):
    dispatched: int
    failed: int
    items: list[ItemResult]


def check_batch(session: Session, *, actor: Actor, batch: BatchDispatchIn) -> None:
    """What refuses the whole request: a role that may not dispatch (403), a case named
    twice (422 naming the second)."""
    if not role_may(actor, Action.dispatch, get_profile(session)):
        raise Forbidden(f"role '{actor.role}' may not dispatch cases", role=actor.role)
    seen: set[int] = set()
    for i, item in enumerate(batch.items):
        if item.case_id in seen:
            raise InvalidInput(f"case {item.case_id} is named twice", field=f"items[{i}].case_id")
        seen.add(item.case_id)


def decisions_for(session: Session, case_ids: Iterable[int]) -> dict[int, RoutingDecision]:
    """The routing decisions of the batch's cases, in one query."""
    rows = session.scalars(
        select(RoutingDecision).where(RoutingDecision.case_id.in_(list(case_ids)))
    )
    return {d.case_id: d for d in rows}


@dataclass(frozen=True)
class _Target:
    department: str | None
    community: str | None
    category: str | None
    as_suggested: bool


def _target(index: int, item: BatchItem, case: Case, decision: RoutingDecision | None) -> _Target:
    if item.department_code is not None or item.community_code is not None:
        return _Target(item.department_code, item.community_code, None, as_suggested=False)
    first = next(
        (
            s
            for s in (decision.suggestions if decision else [])
            if s.get("department") or s.get("community")
        ),
        None,
    )
    if first is None:
        raise InvalidInput(
            f"case {case.id} has no routing suggestion: name a department_code",
            field=f"items[{index}].department_code",
        )
    # Following a suggestion of another category corrects the category too, as the
    # queue's suggestion buttons do (the deadline follows; the classifier learns).
    category = first.get("category")
    return _Target(
        first.get("department"),
        None if first.get("department") else first.get("community"),
        category if category and category != case.category_code else None,
        as_suggested=True,
    )


def dispatch_item(
    session: Session,
    *,
    actor: Actor,
    index: int,
    item: BatchItem,
    decision: RoutingDecision | None,
    comment: str = "",
    now: datetime | None = None,
) -> ItemResult:
    """Dispatch one item through the engine's dispatch action; flush, never commit (the
    caller owns each item's transaction). Raises the engine's errors, with ``field``
    naming the item (:func:`item_failure` turns one into the item's report)."""
    try:
        case = get_case_for(session, actor=actor, case_id=item.case_id)
        target = _target(index, item, case, decision)
        body = ActionInput(
            version=item.version,
            department=target.department,
            community=target.community,
            category=target.category,
            comment=comment,
        )
        perform_action(
            session, actor=actor, case_id=case.id, action=Action.dispatch, body=body, now=now
        )
    except DomainError as exc:
        _name_the_field(exc, index)
        raise
    return ItemResult(
        case_id=case.id,
        dispatched=True,
        as_suggested=target.as_suggested,
        version=case.version,
        state=case.state,
        department=case.department_code,
        community=case.assignee_community_code,
        category=case.category_code,
        due_at=case.due_at,
    )


# The engine names ActionInput's fields; the batch names the item's (a category comes
# from the suggestion, taken because no department_code was named).
_FIELDS = {
    "department": "department_code",
    "community": "community_code",
    "category": "department_code",
}


def _name_the_field(exc: DomainError, index: int) -> None:
    field = exc.details.get("field")
    if isinstance(field, str) and field.startswith("items["):
        return
    if isinstance(exc, StaleVersion):
        name: str | None = "version"
    elif isinstance(exc, NotFound):
        name = "case_id"
    elif isinstance(field, str):
        name = _FIELDS.get(field, field)
    else:
        name = None
    if name is not None:
        exc.details["field"] = f"items[{index}].{name}"


def item_failure(item: BatchItem, exc: DomainError) -> ItemResult:
    """The report of an item the engine refused."""
    return ItemResult(
        case_id=item.case_id,
        dispatched=False,
        as_suggested=item.department_code is None and item.community_code is None,
        error=ItemError(
            status=exc.status_code, code=exc.code, message=exc.message, details=exc.details
        ),
    )
