"""``Idempotency-Key`` on case creation: a client that retries after a lost response gets
the case it created the first time, not a second one.

A key belongs to its owner (``"user:12"``, ``"key:3"`` for an Open311 API key) and is
remembered with a SHA-256 of the canonical request body and the case it created
(``idempotency_keys``, unique on owner + key). The same key with the same body answers
that case again; with another body it is refused (422 naming ``Idempotency-Key``).
Concurrent retries race for the unique constraint: the loser's transaction (and the case
it made) is rolled back and it answers the winner's case.

Used by ``POST /api/v1/cases`` and Open311's ``POST /requests``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from townops.auth.models import IdempotencyKey
from townops.cases.models import Case
from townops.errors import InvalidInput
from townops.timeutil import utcnow

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 200  # idempotency_keys.key


def request_hash(body: BaseModel | Mapping[str, Any]) -> str:
    """SHA-256 of the body as canonical JSON (sorted keys, defaults filled in), so the
    same request written differently hashes the same."""
    data = body.model_dump(mode="json") if isinstance(body, BaseModel) else dict(body)
    canonical = json.dumps(
        data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def check_key(key: str) -> str:
    """The key as given, or 422 naming the header: 1–200 visible ASCII characters."""
    if not 1 <= len(key) <= MAX_KEY_LENGTH or not all(33 <= ord(c) <= 126 for c in key):
        raise InvalidInput(
            f"{HEADER} must be 1 to {MAX_KEY_LENGTH} visible ASCII characters "
            "(a UUID is a good choice)",
            field=HEADER,
        )
    return key


def _remembered(session: Session, owner: str, key: str) -> IdempotencyKey | None:
    return session.scalars(
        select(IdempotencyKey).where(IdempotencyKey.owner == owner, IdempotencyKey.key == key)
    ).first()


def _replay(session: Session, row: IdempotencyKey, request_hash: str) -> Case:
    if row.request_hash != request_hash:
        raise InvalidInput(
            f"this {HEADER} was used with a different request; use a new key for a new request",
            field=HEADER,
        )
    case = session.get(Case, row.case_id)
    if case is None:  # pragma: no cover - the foreign key keeps it
        raise InvalidInput(f"the case of this {HEADER} is gone", field=HEADER)
    return case


def find_or_remember(
    session: Session,
    owner: str,
    key: str,
    request_hash: str,
    create: Callable[[], Case],
) -> tuple[Case, bool]:
    """The case this owner's key made before (``created`` False), or the one ``create``
    makes now, remembered under the key (``created`` True).

    ``create`` runs in the caller's transaction, which this function may roll back: when a
    concurrent request with the same key wins, the case made here is discarded with it and
    the winner's case is returned. The caller commits.
    """
    check_key(key)
    row = _remembered(session, owner, key)
    if row is not None:
        return _replay(session, row, request_hash), False
    case = create()
    session.add(
        IdempotencyKey(
            owner=owner, key=key, request_hash=request_hash, case_id=case.id, created_at=utcnow()
        )
    )
    try:
        session.flush()
    except IntegrityError:
        # Another request with this key got there first (and has committed: the unique
        # index made us wait for it). Ours is discarded; answer theirs.
        session.rollback()
        row = _remembered(session, owner, key)
        if row is None:
            raise
        return _replay(session, row, request_hash), False
    return case, True
