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
from urllib.parse import parse_qsl

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import Response

from townops.api.deps import SessionDep
from townops.api.errors import register_error_format
from townops.cases import idempotency
from townops.errors import DomainError, NotFound
from townops.media import MAX_PER_CALL
from townops.open311 import service, updates
from townops.open311.formats import (
    Locale,
    open311_error_response,
    requested_locale,
    respond,
    respond_object,
)
from townops.open311.schemas import SubmittedForm, parse_request_query, parse_update_query
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
    """The look-up limit of one anonymous client (by address) on this application.

    A client that sends its ``api_key`` on a read is known, not anonymous: it is not
    limited (FixMyStreet polls every open report's id, some of which the town may since
    have stopped publishing)."""

    limiter: MissLimiter
    client: str
    keyed: bool = False

    def refusal(self, request: Request) -> Response | None:
        """The 429 to answer if the client is past its limit, else None."""
        if self.keyed:
            return None
        wait = self.limiter.wait_seconds(self.client)
        if wait is None:
            return None
        return open311_error_response(
            request, 429, self.limiter.message, headers={"Retry-After": str(wait)}
        )

    def missed(self, count: int = 1) -> None:
        if self.keyed:
            return
        # More than the limit changes nothing; do not let one query fill the memory.
        for _ in range(min(count, self.limiter.max_misses)):
            self.limiter.miss(self.client)


def _lookups(
    request: Request,
    session: SessionDep,
    api_key: Annotated[
        str | None, Query(description="Optional on reads: a known client is not limited")
    ] = None,
) -> Lookups:
    if api_key:
        service.client_key(session, api_key=api_key)  # a wrong key is a 403, not a pass
    keyed = bool(api_key)
    # One limiter per application, so each app (and each test's app) counts its own misses.
    limiter: MissLimiter | None = getattr(request.app.state, "open311_lookups", None)
    if limiter is None:
        limiter = MissLimiter(
            max_misses=LOOKUP_MAX_MISSES, window=LOOKUP_WINDOW, message=LOOKUP_REFUSED
        )
        request.app.state.open311_lookups = limiter
    # Behind a proxy that does not pass the client's own address on, all share one limit.
    return Lookups(limiter, request.client.host if request.client else "unknown", keyed)


LookupsDep = Annotated[Lookups, Depends(_lookups)]
Jurisdiction = Annotated[
    str | None, Query(description="Optional; if given, this town's jurisdiction_id")
]


async def _submitted_form(request: Request) -> SubmittedForm:
    """The POST's fields: form-encoded or multipart (the spec), or a JSON object (lenient).

    Every value of a repeated field is kept (several ``media_url``), and a multipart
    request's file parts are read (``photo1``, ``photo2``, …). A form body is read as
    UTF-8 unless its ``Content-Type`` names another charset: clients send raw UTF-8 as
    often as percent-escapes. Query-string fields count too, below the body, because some
    clients put api_key there.
    """
    pairs = list(request.query_params.multi_items())
    files: list[tuple[str, bytes, str]] = []
    content_type = request.headers.get("content-type", "")
    kind = content_type.split(";")[0].strip().lower()
    if kind == "application/json":
        pairs += _json_pairs(await _json_body(request))
    elif kind == "multipart/form-data":
        form = await request.form(max_files=MAX_PER_CALL + 1)
        for name, value in form.multi_items():
            if isinstance(value, str):
                pairs.append((name, value))
            elif value.filename or value.size:
                files.append((name, await value.read(), value.filename or ""))
    else:
        pairs += _form_pairs(await request.body(), content_type)
    return SubmittedForm.from_pairs(pairs, files)


def _form_pairs(body: bytes, content_type: str) -> list[tuple[str, str]]:
    charset = _charset(content_type)
    try:
        text = body.decode(charset)
    except (UnicodeDecodeError, LookupError):
        raise DomainError(f"the form body is not valid {charset}: send UTF-8") from None
    try:
        return parse_qsl(
            text, keep_blank_values=True, encoding=charset, errors="strict", max_num_fields=1000
        )
    except (UnicodeDecodeError, LookupError):
        raise DomainError(f"a percent-escape in the form body is not valid {charset}") from None
    except ValueError:
        raise DomainError("the form body has more than 1000 fields") from None


def _charset(content_type: str) -> str:
    for param in content_type.split(";")[1:]:
        name, _, value = param.strip().partition("=")
        if name.strip().lower() == "charset" and value.strip():
            return value.strip().strip('"')
    return "utf-8"


async def _json_body(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except (ValueError, RecursionError):  # RecursionError: nested thousands deep
        raise DomainError("the request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise DomainError("a JSON body must be an object of fields")
    return body


def _json_pairs(body: dict[str, Any]) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    for name, value in body.items():
        if isinstance(value, list):
            pairs += [(name, str(v)) for v in value if isinstance(v, str | int | float)]
        elif isinstance(value, dict) and name == "attribute":
            pairs += [(f"attribute[{k}]", str(v)) for k, v in value.items()]
        elif isinstance(value, str | int | float) and not isinstance(value, bool):
            pairs.append((name, str(value)))
    return pairs


FormDep = Annotated[SubmittedForm, Depends(_submitted_form)]


def _base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


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
    request: Request,
    service_code: str,
    session: SessionDep,
    locale: LocaleDep,
    jurisdiction_id: Jurisdiction = None,
) -> Response:
    """The category's attributes (``metadata: true`` in the list): a street light's pole
    number and the like, sent as ``attribute[code]`` with the request."""
    service.check_jurisdiction(session, jurisdiction_id=jurisdiction_id)
    definition = service.service_definition(session, service_code=service_code, locale=locale)
    return respond_object(request, root="service_definition", obj=definition, vary_language=True)


@_route("/requests", method="POST", summary="POST Service Request")
def post_request(
    request: Request,
    session: SessionDep,
    locale: LocaleDep,
    form: FormDep,
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
    case = service.submit_request(session, fields=form, idempotency_key=idempotency_key)
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
    """At most 1000, newest first, by default from the last 90 days; oldest first from a
    ``start_date`` (walk on from the last ``requested_datetime``). An explicit
    ``service_request_id`` list is answered in full (up to 10,000 ids). ``status`` is
    ``closed`` once a request is resolved. Only what the town publishes (its public-output
    policy), with no personal data; ids that find nothing count against the client's
    look-up limit."""
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
    if query.ids is not None and len(set(query.ids)) > len(cases):
        # One miss per list, not per id: FixMyStreet asks for every open report at once, and
        # a few the town stopped publishing must not lock it out. A list reveals nothing
        # about what is not public, which is answered as absent.
        lookups.missed()
    rows = service.present_requests(
        session, cases=cases, locale=locale, base_url=_base_url(request)
    )
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
    rows = service.present_requests(
        session, cases=[case], locale=locale, base_url=_base_url(request)
    )
    return respond(request, root="service_requests", item="request", rows=rows, vary_language=True)


@_route("/servicerequestupdates", summary="GET Service Request Updates (mySociety extension)")
def get_updates(
    request: Request,
    session: SessionDep,
    locale: LocaleDep,
    start_date: Annotated[
        str | None, Query(description="W3C datetime; updates at or after it")
    ] = None,
    end_date: Annotated[str | None, Query(description="W3C datetime; span at most 90 days")] = None,
    service_request_id: Annotated[
        str | None, Query(description="Optional comma-separated request ids")
    ] = None,
    api_key: Annotated[
        str | None, Query(description="Accepted (FixMyStreet sends it); not needed")
    ] = None,
    jurisdiction_id: Jurisdiction = None,
) -> Response:
    """Each step of a public request a resident should hear of, oldest first, at most 1000
    (ask again from the last ``updated_datetime``; ``update_id`` is stable). ``status`` is
    one of OPEN, ACTION_SCHEDULED, IN_PROGRESS, INVESTIGATING, DUPLICATE, FIXED, CLOSED;
    ``description`` is the reply, the requester's comment or a sentence for the step;
    ``media_url`` a photo of the step (a signed link)."""
    service.check_jurisdiction(session, jurisdiction_id=jurisdiction_id)
    query = parse_update_query(
        start_date=start_date, end_date=end_date, service_request_id=service_request_id
    )
    events = updates.find_updates(session, query=query)
    rows = updates.present_updates(
        session, events=events, locale=locale, base_url=_base_url(request)
    )
    return respond(
        request,
        root="service_request_updates",
        item="request_update",
        rows=rows,
        vary_language=True,
    )


@_route(
    "/servicerequestupdates",
    method="POST",
    summary="POST Service Request Update (mySociety extension)",
)
def post_update(request: Request, session: SessionDep, form: FormDep) -> Response:
    """A requester's comment or photo on a request (api_key required): ``service_request_id``,
    ``description``, ``update_id`` (the client's own id: sent again, the first answer is
    repeated), ``status`` (``OPEN`` on a resolved request asks to reopen it),
    ``media_url`` (repeatable) and photos as multipart parts. Answers the new
    ``update_id``."""
    update_id = updates.post_update(session, form=form)
    session.commit()
    rows = [{"update_id": str(update_id)}]
    return respond(request, root="service_request_updates", item="request_update", rows=rows)


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
