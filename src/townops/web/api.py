"""JSON and SSE routes the web pages need (thin: the rules are in overview.py and live.py).

* ``GET /api/v1/overview`` — every figure of the one screen for one node, in one answer.
* ``POST /api/v1/live/ticket`` and ``GET /api/v1/live`` — the live feed (SSE).
* ``GET /api/v1/web/reference`` — names of categories, departments, jurisdictions, case
  kinds and the sensing words (device types, their quantities, alarm rules).
* ``GET /api/v1/web/category-pending`` — which of a page's cases still carry the
  classifier's unconfirmed guess as their category (shown to residents as 待分类).
* ``GET /api/v1/web/config`` — the town's name and time zone, for the log-in page (public).
* ``GET /api/v1/web/basemap`` — the town's base map (roads, metro), drawn under every map.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.responses import StreamingResponse
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from townops.access.actor import Actor
from townops.api.deps import ActorDep, SessionDep, SettingsDep, TokenKeyDep, oauth2_scheme
from townops.api.params import DbId
from townops.auth.sessions import actor_from_claims, decode_claims
from townops.casefile.routing import pending_category_ids
from townops.cases.kinds import case_kinds
from townops.categories.attributes import attribute_specs
from townops.categories.models import Category
from townops.errors import InvalidInput, NotFound, Unauthenticated
from townops.jurisdiction.models import Jurisdiction
from townops.organization.models import Department
from townops.sensing.config import SensingConfig
from townops.towns.profile import TownProfile, get_profile
from townops.web.basemap import BASEMAP_URL, basemap_bytes
from townops.web.live import (
    TICKET_TTL_MINUTES,
    LiveCursor,
    StreamTiming,
    issue_ticket,
    open_cursor,
    sse_stream,
    ticket_claims,
)
from townops.web.overview import (
    DEFAULT_DAYS,
    MAX_DAYS,
    OverviewOut,
    build_overview,
    parse_as_of,
    resolve_node,
    view_of,
)
from townops.web.routes import asset_version
from townops.web.tiles import tile_source

router = APIRouter(tags=["web"])


@router.get("/api/v1/overview", response_model=OverviewOut)
def get_overview(
    session: SessionDep,
    actor: ActorDep,
    jurisdiction: Annotated[
        str | None, Query(description="A jurisdiction code; default: your whole scope")
    ] = None,
    as_of: Annotated[
        str | None,
        Query(
            description="Last day of the window, YYYY-MM-DD; 'auto': today, or the last day "
            "with a case when the window would hold none (the demo year); default today"
        ),
    ] = None,
    days: Annotated[int, Query(ge=1, le=MAX_DAYS, description="Window length")] = DEFAULT_DAYS,
) -> Response:
    """The one screen (一屏总览): tiles, map areas with every figure, trends, recent feed."""
    out = build_overview(
        session, actor=actor, jurisdiction=jurisdiction, as_of=parse_as_of(as_of), days=days
    )
    return Response(out.model_dump_json(), media_type="application/json")


@router.get("/api/v1/web/config")
def get_web_config(session: SessionDep, settings: SettingsDep) -> dict[str, Any]:
    """What a page shows before log-in: the town's names, its time zone, the asset version,
    and the optional map tiles (none by default: the maps are drawn from the town's GeoJSON)."""
    profile = get_profile(session)
    return {
        "town": {"code": profile.code, "name_zh": profile.name_zh, "name_en": profile.name_en},
        "timezone": profile.timezone,
        "asset_version": asset_version(),
        "map_tiles": tile_source(settings),
        "basemap": BASEMAP_URL if basemap_bytes(settings) is not None else None,
    }


@router.get("/api/v1/web/basemap")
def get_basemap(settings: SettingsDep) -> Response:
    """The town's base map as GeoJSON (public, like the map data it comes from): the
    outline, metro lines and stations, major roads, with its ``attribution``. A 404 when the
    town has none (its maps are drawn without)."""
    data = basemap_bytes(settings)
    if data is None:
        raise NotFound("this town has no base map")
    # The pages keep it for the session; an hour here spares a reload's request.
    return Response(data, media_type="application/json", headers={"Cache-Control": "max-age=3600"})


#: The most case ids one ``category-pending`` question may name (a page of a case list).
PENDING_IDS_MAX = 100


def _sensing_words(profile: TownProfile) -> dict[str, Any]:
    """The town's sensing vocabulary (sensing.yaml): what the pages need to word an alarm
    in either language from its fields (rule, kind, quantity, value, line)."""
    config = profile.config(SensingConfig)
    return {
        "device_types": [
            {
                "code": t.code,
                "name_zh": t.name_zh,
                "name_en": t.name_en,
                "quantities": [
                    {"code": q.code, "name_zh": q.name_zh, "name_en": q.name_en, "unit": q.unit}
                    for q in t.quantities
                ],
            }
            for t in config.device_types
        ],
        "rules": [
            {
                "code": r.id,
                "name_zh": r.name_zh,
                "name_en": r.name_en,
                "kind": r.kind,
                "direction": "above" if r.above is not None else "below",
                "for_seconds": r.for_seconds,
            }
            for r in config.rules
        ],
    }


def _attribute_words(specs: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    return [
        {
            "code": spec.code,
            "name_zh": spec.description_zh,
            "name_en": spec.description_en,
            "values": {key: {"name_zh": zh, "name_en": en} for key, zh, en in spec.values},
        }
        for spec in attribute_specs(specs)
    ]


@router.get("/api/v1/web/reference")
def get_reference(session: SessionDep, _actor: ActorDep) -> dict[str, Any]:
    """Codes and names the pages show (no geometry): categories, departments, places,
    case kinds, sensing words."""
    categories = session.execute(
        select(
            Category.code,
            Category.name_zh,
            Category.name_en,
            Category.department_code,
            Category.opened_by,
            Category.attributes,
        ).order_by(Category.code)
    )
    departments = session.execute(
        select(Department.code, Department.name_zh, Department.name_en, Department.kind).order_by(
            Department.code
        )
    )
    places = session.execute(
        select(
            Jurisdiction.code,
            Jurisdiction.name_zh,
            Jurisdiction.name_en,
            Jurisdiction.level,
            Jurisdiction.parent_code,
        ).order_by(Jurisdiction.path)
    )
    return {
        "categories": [
            # opened_by "townops": only the system opens it (device alarms …), never a person.
            # attributes: the facts a case of the category carries (a pole number …), so a
            # page names them and their choices.
            {
                "code": c,
                "name_zh": zh,
                "name_en": en,
                "department": d,
                "opened_by": o,
                "attributes": _attribute_words(specs),
            }
            for c, zh, en, d, o, specs in categories
        ],
        "departments": [
            {"code": c, "name_zh": zh, "name_en": en, "kind": k} for c, zh, en, k in departments
        ],
        "jurisdictions": [
            {"code": c, "name_zh": zh, "name_en": en, "level": lv, "parent": p}
            for c, zh, en, lv, p in places
        ],
        # The case kinds' names come from their registry (a domain may add one).
        "kinds": [
            {"code": rule.name, "name_zh": rule.label_zh, "name_en": rule.label_en}
            for rule in case_kinds()
        ],
        "sensing": _sensing_words(get_profile(session)),
    }


@router.get("/api/v1/web/category-pending")
def get_category_pending(
    session: SessionDep,
    actor: ActorDep,
    case: Annotated[
        list[DbId] | None,
        Query(description=f"Case ids (at most {PENDING_IDS_MAX}), e.g. the page a list shows"),
    ] = None,
) -> dict[str, list[int]]:
    """Which of these cases (those the caller may see) still have the classifier's
    low-confidence guess as their category, not yet confirmed by a dispatcher: a
    resident's pages show 待分类 (being routed) for them instead of the guess."""
    ids = case or []
    if len(ids) > PENDING_IDS_MAX:
        raise InvalidInput(f"at most {PENDING_IDS_MAX} case ids", field="case")
    return {"pending": pending_category_ids(session, actor=actor, case_ids=ids)}


@router.post("/api/v1/live/ticket")
async def post_live_ticket(actor: ActorDep, key: TokenKeyDep) -> dict[str, Any]:
    """A one-minute ticket to open the live feed with ``?access_token=`` (EventSource
    cannot send an Authorization header). It opens a stream and works nowhere else."""
    return {"ticket": issue_ticket(actor, key=key), "expires_in": TICKET_TTL_MINUTES * 60}


def _live_claims(key: str, bearer: str | None, ticket: str | None) -> dict[str, Any]:
    """The caller's claims; each is checked against the user's row when the stream opens
    and again while it stays open."""
    if bearer:
        return decode_claims(bearer, secret=key)
    if ticket:
        return ticket_claims(ticket, key=key)
    raise Unauthenticated(
        "a bearer token, or ?access_token= with a ticket from POST /api/v1/live/ticket"
    )


def _still_valid(claims: dict[str, Any]) -> Callable[[Session], bool]:
    def check(session: Session) -> bool:
        try:
            actor_from_claims(session, claims)
        except Unauthenticated:
            return False
        return True

    return check


@router.get(
    "/api/v1/live",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "Server-sent events"}},
)
async def get_live(
    request: Request,
    key: TokenKeyDep,
    bearer: Annotated[str | None, Depends(oauth2_scheme)],
    access_token: Annotated[
        str | None, Query(description="A ticket from POST /api/v1/live/ticket (1 minute)")
    ] = None,
    jurisdiction: Annotated[str | None, Query(description="Only this part of the town")] = None,
    since: Annotated[str | None, Query(description="Resume after this event id")] = None,
    last_event_id: Annotated[str | None, Header()] = None,
) -> StreamingResponse:
    """The live feed: ``case`` events (new cases, state changes) and ``alarm`` events
    (raised, cleared, false alarm) the caller may see, a comment every 15 s of silence,
    and ``bye`` after an hour (reconnect with a new ticket)."""
    factory = request.app.state.session_factory

    claims = _live_claims(key, bearer, access_token)

    def start() -> tuple[Actor, TownProfile, LiveCursor]:
        with factory() as session:
            actor = actor_from_claims(session, claims)
            profile = get_profile(session)
            view = actor
            if jurisdiction:
                node = resolve_node(session, actor=actor, code=jurisdiction, profile=profile)
                view = view_of(actor, node)
            return view, profile, open_cursor(session, view=view, since=since or last_event_id)

    view, profile, cursor = await run_in_threadpool(start)
    timing: StreamTiming = getattr(request.app.state, "live_timing", StreamTiming())
    stream = sse_stream(
        open_session=factory,
        view=view,
        profile=profile,
        cursor=cursor,
        is_disconnected=request.is_disconnected,
        timing=timing,
        still_valid=_still_valid(claims),
    )
    return StreamingResponse(
        stream,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
