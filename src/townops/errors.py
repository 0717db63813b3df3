"""Domain exceptions. Services raise these; one handler per transport maps them to responses."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class DomainError(Exception):
    status_code = 400
    code = "bad_request"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class InvalidInput(DomainError):
    status_code = 422
    code = "invalid_input"


class NotFound(DomainError):
    status_code = 404
    code = "not_found"


class Forbidden(DomainError):
    status_code = 403
    code = "forbidden"


class Unauthenticated(DomainError):
    status_code = 401
    code = "unauthenticated"


class Conflict(DomainError):
    status_code = 409
    code = "conflict"


class IllegalTransition(Conflict):
    code = "illegal_transition"

    def __init__(self, *, action: str, state: str, allowed: Sequence[str]) -> None:
        super().__init__(
            f"action '{action}' is not allowed in state '{state}'",
            action=action,
            state=state,
            allowed_actions=sorted(allowed),
        )


class StaleVersion(Conflict):
    code = "stale_version"

    def __init__(self, *, expected: int, actual: int | None) -> None:
        """``actual`` is None when a concurrent writer won the race at the flush: the
        transaction is then spoiled, and only its owner (the caller) may roll it back."""
        now = f"it is now {actual}" if actual is not None else "someone else changed it first"
        details = {"sent_version": expected}
        if actual is not None:
            details["current_version"] = actual
        super().__init__(
            f"the case changed since you loaded it (you sent version {expected}, {now}); "
            "reload and try again",
            **details,
        )


class Duplicate(Conflict):
    """Something unique is taken already (e.g. a ``source`` + ``external_id`` pair)."""

    code = "duplicate"


class RateLimited(DomainError):
    """429; the API adds ``Retry-After`` from ``retry_after_seconds``."""

    status_code = 429
    code = "too_many_requests"


class PayloadTooLarge(DomainError):
    status_code = 413
    code = "payload_too_large"
