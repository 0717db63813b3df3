"""What the HTTP channels share: one POST with a timeout, and reading the answer.

Failures are classified here once: a timeout or a network error, an HTTP 429 or 5xx are
worth trying again (``Retry-After`` honoured, in seconds or as a date); any other non-2xx
is not. Exceptions are raised ``from None``: httpx's own errors carry the URL, and a bot's
URL holds its key, so neither the URL nor the original exception travels with ours.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from townops.notify.channels.base import PermanentFailure, TemporaryFailure

#: Signs a built request in place (headers, query) just before it is sent.
Signer = Callable[[httpx.Request], None]


def post(
    url: str,
    *,
    timeout: float,
    content: bytes,
    headers: Mapping[str, str],
    sign: Signer | None = None,
) -> httpx.Response:
    """POST ``content`` to ``url``; a timeout or a network error is a temporary failure."""
    # A client per message: sends are rare and sequential, and nothing outlives a send.
    with httpx.Client(timeout=timeout) as client:
        request = client.build_request("POST", url, content=content, headers=dict(headers))
        if sign is not None:
            sign(request)
        try:
            return client.send(request)
        except httpx.TimeoutException:
            raise TemporaryFailure(
                "the provider did not answer in time", detail={"error": "timeout"}
            ) from None
        except httpx.TransportError as exc:
            raise TemporaryFailure(
                "the provider could not be reached", detail={"error": type(exc).__name__}
            ) from None


def retry_after(response: httpx.Response) -> float | None:
    """Seconds the provider asks us to wait (``Retry-After``: seconds or an HTTP date)."""
    raw = response.headers.get("retry-after", "").strip()
    if not raw:
        return None
    if raw.isdigit():
        return float(raw)
    try:
        when = parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # an HTTP date is GMT by definition
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def fail_on_status(response: httpx.Response) -> None:
    """Raise for a non-2xx answer: 429 and 5xx temporary, any other permanent."""
    status = response.status_code
    if 200 <= status < 300:
        return
    detail = {"http_status": status}
    if status == 429 or status >= 500:
        raise TemporaryFailure(
            f"the provider answered HTTP {status}", retry_after=retry_after(response), detail=detail
        )
    raise PermanentFailure(f"the provider answered HTTP {status}", detail=detail)


def json_object(response: httpx.Response) -> dict[str, Any] | None:
    """The answer's JSON object, or None when it is not one (a proxy's page, a cut answer)."""
    try:
        answer = response.json()
    except ValueError:
        return None
    return answer if isinstance(answer, dict) else None


def unreadable(response: httpx.Response) -> TemporaryFailure:
    """A 2xx answer we cannot read: something in between answered; try again later."""
    return TemporaryFailure(
        "the provider's answer is not the JSON it documents",
        detail={"http_status": response.status_code, "error": "unreadable answer"},
    )
