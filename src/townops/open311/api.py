"""Open311 GeoReport v2 routes under ``/open311/v2`` (http://wiki.open311.org/GeoReport_v2).

Every resource answers as ``….json`` or ``….xml``; a path without a suffix answers JSON.
Names and notes are Chinese; ``?locale=en`` or ``Accept-Language: en`` gives English.
Only ``POST /requests`` needs an ``api_key`` (``townops api-key create NAME``). Errors follow the
spec: a list of ``{code, description}`` (``<errors><error>…``) with the HTTP status.
Routes are thin: one service call each, see :mod:`townops.open311.service`.

Anonymous look-ups (a request by id, a token) are limited per client address: each id or
token that finds no public request is a miss, and past ``LOOKUP_MAX_MISSES`` misses in
``LOOKUP_WINDOW`` seconds every look-up from that address is answered 429 (with
``Retry-After``) until the oldest miss leaves the window (:mod:`townops.ratelimit`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import Response

from townops.api.deps import SessionDep
from townops.api.errors import register_error_format
from townops.cases import idempotency
from townops.errors import DomainError, NotFound
from townops.open311 import service
from townops.open311.formats import (
    Locale,
    open311_error_response,
    requested_locale,
    respond,
    respond_object,
)
from townops.open311.schemas import parse_request_query
from townops.ratelimit import MissLimiter

PREFIX = "/open311/v2"
router = APIRouter(prefix=PREFIX, tags=["open311"])
# Every error under /open311/ (the request-size guard's, the schemas', a domain error's)
# answers in GeoReport v2's error list, not in the native format.
register_error_format("/open311/", open311_error_response)

Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])

LOOKUP_MAX_MISSES = 20
LOOKUP_WINDOW = 600.0
LOOKUP_REFUSED = "too many unknown requests or tokens from this address; try again later"


def _checked_format(fmt: str = "json") -> str:
    if fmt.lower() not in ("json", "xml"):
        raise NotFound(f"format '{fmt}' is not supported: use .json or .xml")
    return fmt.lower()


def _route(path: str, method: str = "GET", summary: str = "") -> Callable[[Endpoint], Endpoint]:
    """Register ``path.{fmt}`` (documented) and bare ``path`` (JSON) for one endpoint."""

    def register(endpoint: Endpoint) -> Endpoint:
        options: dict[str, Any] = {
            "methods": [method],
            "dependencies": [Depends(_checked_format)],
            "response_class": Response,
            "summary": summary,
        }
        router.add_api_route(f"{path}.{{fmt}}", endpoint, **options)
        router.add_api_route(path, endpoint, include_in_schema=False, **options)
        return endpoint

    return register


def _locale(
    request: Request,
    locale: Annotated[
        str | None, Query(description="'en' for English names and notes; default Chinese")
    ] = None,
) -> Locale:
    return requested_locale(request)


LocaleDep = Annotated[Locale, Depends(_locale)]


@dataclass(frozen=True)
class Lookups:
    """The look-up limit of one anonymous client (by address) on this application."""

    limiter: MissLimiter
    client: str

    def refusal(self, request: Request) -> Response | None:
        """The 429 to answer if the client is past its limit, else None."""
        wait = self.limiter.wait_seconds(self.client)
        if wait is None:
            return None
        return open311_error_response(
            request, 429, self.limiter.message, headers={"Retry-After": str(wait)}
        )

    def missed(self, count: int = 1) -> None:
        # More than the limit changes nothing; do not let one query fill the memory.
        for _ in range(min(count, self.limiter.max_misses)):
            self.limiter.miss(self.client)


def _lookups(request: Request) -> Lookups:
    # One limiter per application, so each app (and each test's app) counts its own misses.
    limiter: MissLimiter | None = getattr(request.app.state, "open311_lookups", None)
    if limiter is None:
        limiter = MissLimiter(
            max_misses=LOOKUP_MAX_MISSES, window=LOOKUP_WINDOW, message=LOOKUP_REFUSED
        )
        request.app.state.open311_lookups = limiter
    # Behind a proxy that does not pass the client's own address on, all share one limit.
    return Lookups(limiter, request.client.host if request.client else "unknown")


LookupsDep = Annotated[Lookups, Depends(_lookups)]
Jurisdiction = Annotated[
    str | None, Query(description="Optional; if given, this town's jurisdiction_id")
]


async def _submitted_fields(request: Request) -> dict[str, str]:
    """The POST fields: form-encoded or multipart (the spec), or a JSON object (lenient).

    Query-string fields count too, below the body, because some clients put api_key there.
    """
    fields = dict(request.query_params)
    if request.headers.get("content-type", "").startswith("application/json"):
        try:
            body = await request.json()
        except (ValueError, RecursionError):  # RecursionError: nested thousands deep
            raise DomainError("the request body is not valid JSON") from None
        if not isinstance(body, dict):
            raise DomainError("a JSON body must be an object of fields")
        fields.update({k: str(v) for k, v in body.items() if isinstance(v, str | int | float)})
    else:
        form = await request.form()
        fields.update({k: v for k, v in form.items() if isinstance(v, str)})
    return fields


@_route("/discovery", summary="Service discovery")
def discovery(request: Request, session: SessionDep) -> Response:
    url = str(request.base_url).rstrip("/") + PREFIX
    return respond_object(
        request, root="discovery", obj=service.discovery(session, endpoint_url=url)
    )


@_route("/services", summary="GET Service List")
def services(
    request: Request, session: SessionDep, locale: LocaleDep, jurisdiction_id: Jurisdiction = None
) -> Response:
    service.check_jurisdiction(session, jurisdiction_id=jurisdiction_id)
    rows = service.list_services(session, locale=locale)
    return respond(request, root="services", item="service", rows=rows, vary_language=True)


@_route("/services/{service_code}", summary="GET Service Definition")
def service_definition(
    request: Request, service_code: str, session: SessionDep, jurisdiction_id: Jurisdiction = None
) -> Response:
    service.check_jurisdiction(session, jurisdiction_id=jurisdiction_id)
    definition = service.service_definition(session, service_code=service_code)
    return respond_object(request, root="service_definition", obj=definition)


@_route("/requests", method="POST", summary="POST Service Request")
def post_request(
    request: Request,
    session: SessionDep,
    locale: LocaleDep,
    fields: Annotated[dict[str, str], Depends(_submitted_fields)],
    idempotency_key: Annotated[
        str | None,
        Header(
            alias=idempotency.HEADER,
            description="Retry safely: the same key with the same fields answers the request "
            "it made the first time; with other fields 400",
        ),
    ] = None,
) -> Response:
    """Create a request (application/x-www-form-urlencoded or multipart; api_key required).

    Answers 200 with the spec's list of one ``{service_request_id, token, service_notice,
    account_id}``; the token is the case's tracking code (查询码) for ``GET /tokens/{token}``.
    """
    case = service.submit_request(session, fields=fields, idempotency_key=idempotency_key)
    session.commit()
    receipt = service.submission_receipt(session, case=case, locale=locale)
    return respond(
        request, root="service_requests", item="request", rows=[receipt], vary_language=True
    )


@_route("/requests", summary="GET Service Requests")
def get_requests(
    request: Request,
    session: SessionDep,
    locale: LocaleDep,
    lookups: LookupsDep,
    service_request_id: Annotated[
        str | None, Query(description="Comma-separated ids; overrides every other filter")
    ] = None,
    service_code: Annotated[str | None, Query(description="Comma-separated service codes")] = None,
    start_date: Annotated[
        str | None, Query(description="W3C datetime, e.g. 2024-05-01T00:00:00+08:00")
    ] = None,
    end_date: Annotated[str | None, Query(description="W3C datetime; span at most 90 days")] = None,
    status: Annotated[str | None, Query(description="open, closed or open,closed")] = None,
    jurisdiction_id: Jurisdiction = None,
) -> Response:
    """Newest first, at most 1000; by default the last 90 days. Only what the town publishes
    (its public-output policy), with no personal data; ids that find nothing count against
    the client's look-up limit."""
    service.check_jurisdiction(session, jurisdiction_id=jurisdiction_id)
    query = parse_request_query(
        service_request_id=service_request_id,
        service_code=service_code,
        start_date=start_date,
        end_date=end_date,
        status=status,
    )
    if query.ids is not None and (refused := lookups.refusal(request)) is not None:
        return refused
    cases = service.find_requests(session, query=query)
    if query.ids is not None:
        lookups.missed(len(set(query.ids)) - len(cases))
    rows = service.present_requests(session, cases=cases, locale=locale)
    return respond(request, root="service_requests", item="request", rows=rows, vary_language=True)


@_route("/requests/{service_request_id}", summary="GET Service Request")
def get_request(
    request: Request,
    service_request_id: str,
    session: SessionDep,
    locale: LocaleDep,
    lookups: LookupsDep,
    jurisdiction_id: Jurisdiction = None,
) -> Response:
    """One public request; 404 for one the town does not publish, as for one that does not
    exist."""
    if (refused := lookups.refusal(request)) is not None:
        return refused
    service.check_jurisdiction(session, jurisdiction_id=jurisdiction_id)
    try:
        case = service.get_request(session, service_request_id=service_request_id)
    except NotFound:
        lookups.missed()
        raise
    rows = service.present_requests(session, cases=[case], locale=locale)
    return respond(request, root="service_requests", item="request", rows=rows, vary_language=True)


@_route("/tokens/{token}", summary="GET service_request_id from a token")
def get_token(
    request: Request,
    token: str,
    session: SessionDep,
    lookups: LookupsDep,
    jurisdiction_id: Jurisdiction = None,
) -> Response:
    if (refused := lookups.refusal(request)) is not None:
        return refused
    service.check_jurisdiction(session, jurisdiction_id=jurisdiction_id)
    try:
        row = service.request_for_token(session, token=token)
    except NotFound:
        lookups.missed()
        raise
    return respond(request, root="service_requests", item="request", rows=[row])
