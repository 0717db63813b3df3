"""Open311 GeoReport v2 routes under ``/open311/v2`` (http://wiki.open311.org/GeoReport_v2).

Every resource answers as ``….json`` or ``….xml``; a path without a suffix answers JSON.
Names and notes are Chinese; ``?locale=en`` or ``Accept-Language: en`` gives English.
Only ``POST /requests`` needs an ``api_key`` (``townops api-key create NAME``). Errors follow the
spec: a list of ``{code, description}`` (``<errors><error>…``) with the HTTP status.
Routes are thin: one service call each, see :mod:`townops.open311.service`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from townops.api.deps import SessionDep
from townops.errors import DomainError, NotFound
from townops.open311 import service
from townops.open311.formats import Locale, requested_locale, respond, respond_object
from townops.open311.schemas import parse_request_query

PREFIX = "/open311/v2"
router = APIRouter(prefix=PREFIX, tags=["open311"])

Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])


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
        except ValueError:
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
) -> Response:
    """Create a request (application/x-www-form-urlencoded or multipart; api_key required).

    Answers 200 with the spec's list of one ``{service_request_id, token, service_notice,
    account_id}``; the token is the case's tracking code (查询码) for ``GET /tokens/{token}``.
    """
    case = service.submit_request(session, fields=fields)
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
    """Newest first, at most 1000; by default the last 90 days. No personal data."""
    service.check_jurisdiction(session, jurisdiction_id=jurisdiction_id)
    query = parse_request_query(
        service_request_id=service_request_id,
        service_code=service_code,
        start_date=start_date,
        end_date=end_date,
        status=status,
    )
    cases = service.find_requests(session, query=query)
    rows = service.present_requests(session, cases=cases, locale=locale)
    return respond(request, root="service_requests", item="request", rows=rows, vary_language=True)


@_route("/requests/{service_request_id}", summary="GET Service Request")
def get_request(
    request: Request,
    service_request_id: str,
    session: SessionDep,
    locale: LocaleDep,
    jurisdiction_id: Jurisdiction = None,
) -> Response:
    service.check_jurisdiction(session, jurisdiction_id=jurisdiction_id)
    case = service.get_request(session, service_request_id=service_request_id)
    rows = service.present_requests(session, cases=[case], locale=locale)
    return respond(request, root="service_requests", item="request", rows=rows, vary_language=True)


@_route("/tokens/{token}", summary="GET service_request_id from a token")
def get_token(
    request: Request, token: str, session: SessionDep, jurisdiction_id: Jurisdiction = None
) -> Response:
    service.check_jurisdiction(session, jurisdiction_id=jurisdiction_id)
    row = service.request_for_token(session, token=token)
    return respond(request, root="service_requests", item="request", rows=[row])
