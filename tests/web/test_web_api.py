"""The web app's server side: the one screen's figures, the live feed, pages, static files.

The story behind the figures (2022; the window is the 30 days ending 31 March):

====  ========  =========================================================  ==============
case  where     what happened                                              on 31 March
====  ========  =========================================================  ==============
A     Nanxin    received 10 Mar, resolved in 2 h, rated satisfied          closed on time
B     Nanxin    received 2 Mar (due 9 Mar), resolved 14 Mar, basically     closed late
                satisfied
C     Huagao    received 15 Mar, resolved, rated dissatisfied 16 Mar →     open, overdue
                reopened with 3 working days (due 21 Mar)
D     Nanxin    received 31 Mar, not dispatched                            open
E     Huagao    received 20 Feb (before the window), accepted              open, overdue
F     Nanxin    received 20 Mar (due 25 Mar), accepted                     open, overdue
====  ========  =========================================================  ==============
"""

from __future__ import annotations

import gzip
import re
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import anyio
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session

from tests import factories
from townops.access.actor import Actor, Role
from townops.cases.models import Case
from townops.errors import Forbidden, NotFound
from townops.jurisdiction.models import Jurisdiction
from townops.kpi.figures import Grouping
from townops.kpi.service import KpiRow, compute_kpis
from townops.periods import range_period
from townops.sensing.models import Alarm, Device
from townops.towns.profile import get_profile
from townops.web import api as web_api
from townops.web import routes as web_routes
from townops.web.live import (
    IdWatermark,
    LiveCursor,
    StreamTiming,
    open_cursor,
    poll,
    sse_stream,
)
from townops.web.overview import OverviewOut, build_overview
from townops.web.routes import PAGES

SHANGHAI = ZoneInfo("Asia/Shanghai")
NANXIN = "310115121020"  # 南新居委会
HUAGAO = "310115121006"  # 华高居委会
TOWN = "310115121"
HOUSING, URBAN = "housing_office", "urban_management"
LEAK, BUILD = "house_leak", "illegal_construction"
AS_OF = date(2022, 3, 31)
WINDOW = range_period(date(2022, 3, 2), AS_OF)
# "Now" for a window ending 31 March: the end of that day.
END_OF_AS_OF = datetime.combine(AS_OF + timedelta(days=1), time.min, tzinfo=SHANGHAI)
STATIC = Path(web_routes.STATIC_DIR)

ActorFor = Callable[[str], Actor]


@pytest.fixture
def app(app: FastAPI) -> FastAPI:
    """The conftest app with the web routers, as app.py includes them."""
    paths = {getattr(r, "path", None) for r in app.router.routes}
    if "/api/v1/overview" not in paths:
        # Until app.py includes the web app, drop its "/" → /docs redirect here.
        app.router.routes = [r for r in app.router.routes if getattr(r, "path", None) != "/"]
        app.include_router(web_api.router)
        app.include_router(web_routes.router)
    # One poll, then the stream ends: a finite body for the test client.
    app.state.live_timing = StreamTiming(poll_seconds=0.01, heartbeat_seconds=60, max_seconds=0)
    return app


def at(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2022, month, day, hour, minute, tzinfo=SHANGHAI)


class Town(factories.Town):
    """tests/factories.py's Town, its cases' words holding a phone number (for masking)."""

    def __init__(self, session: Session, actor: ActorFor) -> None:
        super().__init__(session, actor, content="测试工单 13812345678")

    def take_on(self, case: Case, department: str, when: datetime) -> None:
        handler = "housing" if department == HOUSING else "urban"
        self.act(case, "dispatcher", "dispatch", when, department=department)
        self.act(case, handler, "accept", when + timedelta(minutes=10))

    def resolve_and_rate(self, case: Case, when: datetime, rating: str) -> None:
        handler = "housing" if case.department_code == HOUSING else "urban"
        self.act(case, handler, "resolve", when, reply="已处理")
        self.act(case, "dispatcher", "callback", when + timedelta(hours=1), rating=rating)


@pytest.fixture
def story(session: Session, actor: ActorFor) -> dict[str, Case]:
    town = Town(session, actor)
    cases: dict[str, Case] = {}
    a = cases["A"] = town.receive(LEAK, NANXIN, at(3, 10, 9))
    town.take_on(a, HOUSING, at(3, 10, 9, 10))
    town.resolve_and_rate(a, at(3, 10, 11), "satisfied")
    b = cases["B"] = town.receive(LEAK, NANXIN, at(3, 2, 9))
    town.take_on(b, HOUSING, at(3, 2, 9, 10))
    town.resolve_and_rate(b, at(3, 14, 9), "basically_satisfied")
    c = cases["C"] = town.receive(BUILD, HUAGAO, at(3, 15, 9))
    town.take_on(c, URBAN, at(3, 15, 9, 10))
    town.resolve_and_rate(c, at(3, 15, 15), "dissatisfied")
    cases["D"] = town.receive(LEAK, NANXIN, at(3, 31, 10))
    e = cases["E"] = town.receive(BUILD, HUAGAO, datetime(2022, 2, 20, 9, tzinfo=SHANGHAI))
    town.take_on(e, URBAN, datetime(2022, 2, 21, 9, tzinfo=SHANGHAI))
    f = cases["F"] = town.receive(LEAK, NANXIN, at(3, 20, 9))
    town.take_on(f, HOUSING, at(3, 21, 9))
    session.flush()
    return cases


def _kpis(session: Session, viewer: Actor, by: Grouping = Grouping.town) -> list[KpiRow]:
    return compute_kpis(session, by=by, period=WINDOW, actor=viewer, now=END_OF_AS_OF)


def _assert_tiles_match(out: OverviewOut, row: KpiRow) -> None:
    tiles = out.tiles
    assert tiles.received == row.received
    assert tiles.closed == row.closed
    assert tiles.closed_on_time == row.closed_on_time
    assert tiles.on_time_rate == row.on_time_rate
    assert tiles.rated == row.rated
    assert tiles.satisfied == row.satisfied
    assert tiles.satisfaction_rate == row.satisfaction_rate
    assert tiles.overdue == row.overdue_open


# --------------------------------------------------------------------------- overview


def test_town_figures_are_the_kpis_of_the_window(
    session: Session, actor: ActorFor, story: dict[str, Case]
) -> None:
    duty = actor("duty")
    out = build_overview(session, actor=duty, as_of=AS_OF)

    assert out.node.code == TOWN and out.window.first_day == date(2022, 3, 2)
    assert out.window.at == END_OF_AS_OF
    (town,) = _kpis(session, duty)
    _assert_tiles_match(out, town)
    tiles = out.tiles
    # The story, counted by hand.
    assert (tiles.today_intake, tiles.received, tiles.closed, tiles.closed_on_time) == (1, 5, 2, 1)
    assert (tiles.rated, tiles.satisfied) == (3, 2)
    assert (tiles.open, tiles.overdue) == (4, 3)
    assert tiles.on_time_rate == 0.5


def test_map_areas_split_the_figures_by_community(
    session: Session, actor: ActorFor, story: dict[str, Case]
) -> None:
    out = build_overview(session, actor=actor("leader"), as_of=AS_OF)

    areas = {a.code: a for a in out.areas}
    assert len(areas) == 37 and all(a.level == "community" for a in areas.values())
    assert areas[NANXIN].geometry is not None
    nanxin, huagao = areas[NANXIN], areas[HUAGAO]
    assert (nanxin.open, nanxin.overdue, nanxin.rated, nanxin.satisfaction_rate) == (2, 1, 2, 1.0)
    assert (huagao.open, huagao.overdue, huagao.rated, huagao.satisfaction_rate) == (2, 2, 1, 0.0)
    assert sum(a.open for a in areas.values()) == out.tiles.open
    others = [a for code, a in areas.items() if code not in (NANXIN, HUAGAO)]
    assert all(a.open == a.rated == 0 and a.satisfaction_rate is None for a in others)


def test_trends_by_day_and_category(
    session: Session, actor: ActorFor, story: dict[str, Case]
) -> None:
    out = build_overview(session, actor=actor("duty"), as_of=AS_OF)

    assert len(out.days) == 30 and out.days[-1].day == AS_OF
    received = {d.day: d.received for d in out.days if d.received}
    assert received == {
        date(2022, 3, 2): 1,
        date(2022, 3, 10): 1,
        date(2022, 3, 15): 1,
        date(2022, 3, 20): 1,
        date(2022, 3, 31): 1,
    }
    # A closed on 10 March (satisfied → closed at once), B on 14 March.
    assert {d.day: d.closed for d in out.days if d.closed} == {
        date(2022, 3, 10): 1,
        date(2022, 3, 14): 1,
    }
    assert [(c.code, c.received) for c in out.categories] == [(LEAK, 4), (BUILD, 1)]
    assert out.categories[0].name_zh


def test_zooming_to_a_community_filters_everything(
    session: Session, actor: ActorFor, story: dict[str, Case]
) -> None:
    leader = actor("leader")
    out = build_overview(session, actor=leader, jurisdiction=NANXIN, as_of=AS_OF)

    assert out.node.code == NANXIN
    assert [n.code for n in out.trail] == [TOWN, NANXIN]
    assert {a.level for a in out.areas} == {"micro_grid"} and len(out.areas) == 3
    row = next(r for r in _kpis(session, leader, Grouping.community) if r.code == NANXIN)
    _assert_tiles_match(out, row)
    assert (out.tiles.received, out.tiles.open, out.tiles.overdue) == (4, 2, 1)
    assert [c.code for c in out.categories] == [LEAK]
    assert sum(d.received for d in out.days) == 4
    nanxin_cases = {story[k].id for k in "ABDF"}
    assert out.feed and {item.case_id for item in out.feed} <= nanxin_cases


def test_community_staff_see_their_community_only(
    session: Session, actor: ActorFor, story: dict[str, Case]
) -> None:
    nanxin = actor("nanxin")
    out = build_overview(session, actor=nanxin, as_of=AS_OF)

    assert out.node.code == NANXIN and [n.code for n in out.trail] == [NANXIN]
    (row,) = _kpis(session, nanxin)
    _assert_tiles_match(out, row)
    assert out.tiles.received == 4
    for elsewhere in (TOWN, HUAGAO):
        with pytest.raises(Forbidden):
            build_overview(session, actor=nanxin, jurisdiction=elsewhere, as_of=AS_OF)
    with pytest.raises(NotFound):
        build_overview(session, actor=nanxin, jurisdiction="nowhere", as_of=AS_OF)


def test_a_grid_worker_starts_at_the_micro_grid(
    session: Session, actor: ActorFor, story: dict[str, Case]
) -> None:
    out = build_overview(session, actor=actor("grid_nanxin"), as_of=AS_OF)
    assert out.node.code == f"{NANXIN}-G01" and out.node.level == "micro_grid"
    assert {a.level for a in out.areas} == {"building"}


@pytest.mark.parametrize("who", ["resident_a", "housing"])
def test_residents_and_handlers_get_no_overview(
    client: TestClient, login: Callable[[str], dict[str, str]], who: str
) -> None:
    r = client.get("/api/v1/overview", headers=login(who))
    assert r.status_code == 403, r.text
    assert r.json()["error"]["code"] == "forbidden"


def test_overview_over_http(
    client: TestClient, login: Callable[[str], dict[str, str]], story: dict[str, Case]
) -> None:
    r = client.get("/api/v1/overview", params={"as_of": "2022-03-31"}, headers=login("duty"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["tiles"]["received"] == 5 and body["window"]["mode"] == "date"
    assert body["figures"] == ["open", "overdue", "alarms", "satisfaction"]
    assert "content" not in r.text  # counts and summaries only, never whole cases
    bad = client.get("/api/v1/overview", params={"as_of": "31/03"}, headers=login("duty"))
    assert bad.status_code == 422
    far = client.get("/api/v1/overview", params={"as_of": "0001-01-01"}, headers=login("duty"))
    assert far.status_code == 422
    assert client.get("/api/v1/overview").status_code == 401


def test_as_of_auto_moves_back_to_the_last_day_with_a_case(
    session: Session, actor: ActorFor, story: dict[str, Case]
) -> None:
    out = build_overview(session, actor=actor("duty"), as_of="auto")
    assert out.window.mode == "auto" and out.window.moved_back
    assert out.window.as_of == AS_OF and not out.window.live
    assert out.tiles.today_intake == 1
    # With the story's own day as "today", the window is live and nothing moves.
    now = at(3, 31, 18)
    live = build_overview(session, actor=actor("duty"), as_of="auto", now=now)
    assert live.window.live and not live.window.moved_back and live.window.at == now


def test_devices_and_alarms_are_counted_in_scope(
    session: Session, actor: ActorFor, story: dict[str, Case]
) -> None:
    _device_with_alarm(session, "WEB-T-NX", NANXIN, raised=at(3, 30, 8))
    _device_with_alarm(session, "WEB-T-HG", HUAGAO, raised=at(3, 30, 9))

    town = build_overview(session, actor=actor("duty"), as_of=AS_OF)
    assert (town.tiles.devices, town.tiles.alarms, town.tiles.open_alarms) == (2, 2, 2)
    assert {a.code: a.alarms for a in town.areas if a.alarms} == {NANXIN: 1, HUAGAO: 1}
    mine = build_overview(session, actor=actor("nanxin"), as_of=AS_OF)
    assert (mine.tiles.devices, mine.tiles.alarms, mine.tiles.open_alarms) == (1, 1, 1)
    assert mine.tiles.devices_online == 0  # never heard from


# --------------------------------------------------------------------------- live feed


def _device_with_alarm(
    session: Session, device_id: str, community: str, *, raised: datetime
) -> Alarm:
    grid = session.get(Jurisdiction, f"{community}-G01")
    assert grid is not None
    session.add(
        Device(
            device_id=device_id,
            type="gas_alarm",
            jurisdiction_code=grid.code,
            jurisdiction_path=grid.path,
            community_code=community,
        )
    )
    session.flush()
    alarm = Alarm(
        device_id=device_id,
        rule_id="gas_high",
        kind="threshold",
        severity="critical",
        state="raised",
        open_key=f"{device_id}/gas_high",
        message="可燃气体浓度 12.0 %LEL 超过 10",
        device_type="gas_alarm",
        jurisdiction_code=grid.code,
        jurisdiction_path=grid.path,
        community_code=community,
        storm_key=device_id,
        raised_at=raised,
    )
    session.add(alarm)
    session.flush()
    return alarm


def _staff_of(session: Session, community: str) -> Actor:
    node = session.get(Jurisdiction, community)
    assert node is not None
    return Actor(
        username=f"staff-{community}",
        role=Role.community_staff,
        user_id=None,
        scope_code=community,
        scope_path=node.path,
    )


def test_live_poll_sends_each_viewer_what_it_may_see(session: Session, actor: ActorFor) -> None:
    profile = get_profile(session)
    viewers = {
        "duty": actor("duty"),
        "nanxin": actor("nanxin"),
        "huagao": _staff_of(session, HUAGAO),
        "resident": actor("resident_a"),
    }
    cursors = {name: open_cursor(session, view=v) for name, v in viewers.items()}
    town = Town(session, actor)
    ours = town.receive(LEAK, NANXIN, at(3, 31, 10))
    theirs = town.receive(BUILD, HUAGAO, at(3, 31, 11))
    town.act(ours, "dispatcher", "dispatch", at(3, 31, 12), department=HOUSING)
    session.flush()

    seen = {
        name: poll(session, view=viewers[name], profile=profile, cursor=cursors[name])
        for name in viewers
    }
    assert [(i.case_id, i.action) for i in seen["duty"]] == [
        (ours.id, "create"),
        (theirs.id, "create"),
        (ours.id, "dispatch"),
    ]
    assert [(i.case_id, i.action) for i in seen["nanxin"]] == [
        (ours.id, "create"),
        (ours.id, "dispatch"),
    ]
    assert [(i.case_id, i.action) for i in seen["huagao"]] == [(theirs.id, "create")]
    assert seen["resident"] == []
    first = seen["nanxin"][0]
    assert first.kind == "case" and first.community == NANXIN and first.category == LEAK
    assert "13812345678" not in first.summary and first.summary.startswith("测试工单")
    # Nothing new: nothing sent again.
    assert poll(session, view=viewers["duty"], profile=profile, cursor=cursors["duty"]) == []


def test_live_poll_sends_alarms_raised_and_cleared_in_scope(
    session: Session, actor: ActorFor
) -> None:
    profile = get_profile(session)
    nanxin, huagao = actor("nanxin"), _staff_of(session, HUAGAO)
    mine, theirs = open_cursor(session, view=nanxin), open_cursor(session, view=huagao)
    alarm = _device_with_alarm(session, "WEB-T-LIVE", NANXIN, raised=at(3, 31, 8))

    raised = poll(session, view=nanxin, profile=profile, cursor=mine)
    assert [(i.kind, i.action, i.alarm_id) for i in raised] == [("alarm", "raised", alarm.id)]
    assert raised[0].device_type_name_zh and raised[0].severity == "critical"
    assert poll(session, view=huagao, profile=profile, cursor=theirs) == []

    session.execute(
        update(Alarm)
        .where(Alarm.id == alarm.id)
        .values(state="cleared", cleared_at=at(3, 31, 9), closed_at=at(3, 31, 9), open_key=None)
    )
    cleared = poll(session, view=nanxin, profile=profile, cursor=mine)
    assert [(i.action, i.alarm_id, i.at) for i in cleared] == [("cleared", alarm.id, at(3, 31, 9))]
    assert poll(session, view=nanxin, profile=profile, cursor=mine) == []


def test_an_alarm_open_before_connecting_is_reported_when_it_clears(
    session: Session, actor: ActorFor
) -> None:
    profile = get_profile(session)
    alarm = _device_with_alarm(session, "WEB-T-OLD", NANXIN, raised=at(3, 30, 8))
    cursor = open_cursor(session, view=actor("nanxin"))
    assert alarm.id in cursor.tracked
    session.execute(
        update(Alarm)
        .where(Alarm.id == alarm.id)
        .values(state="false_alarm", closed_at=at(3, 31, 9), open_key=None)
    )
    items = poll(session, view=actor("nanxin"), profile=profile, cursor=cursor)
    assert [(i.action, i.alarm_id) for i in items] == [("false_alarm", alarm.id)]


def test_watermark_waits_for_ids_committed_out_of_order() -> None:
    mark = IdWatermark(settled=10)
    assert mark.take([11, 13], clock=0.0, grace=10) == [11, 13]
    assert mark.settled == 11 and 12 in mark.gaps
    assert mark.take([13], clock=1.0, grace=10) == []  # 12 still running
    assert mark.take([12, 13], clock=2.0, grace=10) == [12]  # 12 committed late: sent
    assert mark.settled == 13 and not mark.gaps and not mark.handled
    # A gap that never fills (a rolled-back transaction) is given up after the grace.
    assert mark.take([15], clock=3.0, grace=10) == [15]
    assert mark.settled == 13
    assert mark.take([], clock=13.5, grace=10) == []
    assert mark.settled == 15


def test_cursor_token_resumes_where_the_client_was(session: Session, actor: ActorFor) -> None:
    duty = actor("duty")
    before = open_cursor(session, view=duty).token()
    case = Town(session, actor).receive(LEAK, NANXIN, at(3, 31, 10))
    session.flush()
    resumed = open_cursor(session, view=duty, since=before)
    items = poll(session, view=duty, profile=get_profile(session), cursor=resumed)
    assert [(i.case_id, i.action) for i in items] == [(case.id, "create")]
    assert poll(session, view=duty, profile=get_profile(session), cursor=resumed) == []
    # A token that makes no sense starts at the end instead.
    fresh = open_cursor(session, view=duty, since="garbage")
    assert isinstance(fresh, LiveCursor)
    assert poll(session, view=duty, profile=get_profile(session), cursor=fresh) == []


def _ticket(client: TestClient, headers: dict[str, str]) -> str:
    r = client.post("/api/v1/live/ticket", headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["expires_in"] == 60
    ticket: str = r.json()["ticket"]
    return ticket


def test_live_stream_over_http_is_scoped(
    client: TestClient,
    login: Callable[[str], dict[str, str]],
    session: Session,
    actor: ActorFor,
) -> None:
    since = open_cursor(session, view=actor("duty")).token()
    town = Town(session, actor)
    huagao_case = town.receive(BUILD, HUAGAO, at(3, 31, 11))
    session.flush()

    r = client.get(
        "/api/v1/live", params={"access_token": _ticket(client, login("duty")), "since": since}
    )
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/event-stream")
    assert r.headers["cache-control"] == "no-cache"
    assert r.text.startswith("retry: ")
    assert "event: case\n" in r.text and f'"case_id":{huagao_case.id}' in r.text
    assert r.text.rstrip().endswith("data: {}") and "event: bye" in r.text

    outside = client.get(
        "/api/v1/live", params={"access_token": _ticket(client, login("nanxin")), "since": since}
    )
    assert outside.status_code == 200
    assert "event: case" not in outside.text and f'"case_id":{huagao_case.id}' not in outside.text

    zoomed = client.get(
        "/api/v1/live",
        params={"since": since, "jurisdiction": NANXIN},
        headers=login("duty"),  # a bearer header works too (non-browser clients)
    )
    assert zoomed.status_code == 200 and "event: case" not in zoomed.text


def test_live_stream_needs_a_ticket_or_a_bearer_token(
    client: TestClient, login: Callable[[str], dict[str, str]]
) -> None:
    assert client.get("/api/v1/live").status_code == 401
    bearer = login("duty")["Authorization"].removeprefix("Bearer ")
    # A long-lived bearer token is not accepted in the URL; a ticket is not a bearer token.
    assert client.get("/api/v1/live", params={"access_token": bearer}).status_code == 401
    ticket = _ticket(client, login("duty"))
    me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {ticket}"})
    assert me.status_code == 401
    assert client.post("/api/v1/live/ticket").status_code == 401
    nanxin = _ticket(client, login("nanxin"))
    r = client.get("/api/v1/live", params={"access_token": nanxin, "jurisdiction": HUAGAO})
    assert r.status_code == 403


def test_a_ticket_of_a_user_who_logged_out_opens_no_stream(
    client: TestClient, login: Callable[[str], dict[str, str]]
) -> None:
    headers = login("dispatcher")
    ticket = _ticket(client, headers)
    assert client.post("/api/v1/auth/logout", headers=headers).status_code == 204
    r = client.get("/api/v1/live", params={"access_token": ticket})
    assert r.status_code == 401


def test_an_open_stream_ends_once_its_users_tokens_are_revoked(
    session: Session, actor: ActorFor
) -> None:
    duty = actor("duty")
    verdicts = iter([True, False])

    async def never_disconnected() -> bool:
        return False

    async def read() -> list[str]:
        stream = sse_stream(
            open_session=lambda: Session(bind=session.connection()),
            view=duty,
            profile=get_profile(session),
            cursor=open_cursor(session, view=duty),
            is_disconnected=never_disconnected,
            timing=StreamTiming(poll_seconds=0, heartbeat_seconds=60, recheck_seconds=0),
            still_valid=lambda _session: next(verdicts),
        )
        return [chunk async for chunk in stream]

    chunks = anyio.run(read)
    assert chunks[0].startswith("retry: ")
    assert chunks[-1] == 'event: bye\ndata: {"reason": "revoked"}\n\n'
    assert next(verdicts, None) is None  # checked twice: still valid, then revoked


# --------------------------------------------------------------------------- reference


def test_reference_names_and_public_config(
    client: TestClient, login: Callable[[str], dict[str, str]]
) -> None:
    assert client.get("/api/v1/web/reference").status_code == 401
    ref = client.get("/api/v1/web/reference", headers=login("resident_a")).json()
    assert any(c["code"] == LEAK and c["name_zh"] for c in ref["categories"])
    assert any(d["code"] == HOUSING for d in ref["departments"])
    places = {j["code"]: j for j in ref["jurisdictions"]}
    assert places[NANXIN]["parent"] == TOWN and "geometry" not in places[NANXIN]
    config = client.get("/api/v1/web/config").json()
    assert config["town"]["code"] == TOWN and config["timezone"] == "Asia/Shanghai"
    assert config["asset_version"] == web_routes.asset_version()


# --------------------------------------------------------------------------- pages


@pytest.mark.parametrize("path", [*PAGES, "/cases/42", "/devices/JA-GAS-00001"])
def test_pages_serve_the_shell(client: TestClient, path: str) -> None:
    r = client.get(path, follow_redirects=False)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    assert "default-src 'self'" in r.headers["content-security-policy"]
    assert r.headers["cache-control"] == "no-cache"
    version = web_routes.asset_version()
    assert f'src="/static/{version}/js/core/app.js"' in r.text
    assert "{{ASSET_VERSION}}" not in r.text


def test_every_asset_the_shell_names_is_served_with_its_type(client: TestClient) -> None:
    shell = client.get("/").text
    urls = re.findall(r'(?:href|src)="(/static/[^"]+)"', shell)
    assert len(urls) >= 5
    for url in urls:
        r = client.get(url)
        assert r.status_code == 200, url
        expected = "text/css" if url.endswith(".css") else "text/javascript"
        assert r.headers["content-type"].startswith(expected), url
        assert "immutable" in r.headers["cache-control"]


def test_static_files_types_caching_and_refusals(client: TestClient) -> None:
    version = web_routes.asset_version()
    for name in sorted(p.relative_to(STATIC).as_posix() for p in STATIC.rglob("*.js")):
        r = client.get(f"/static/{version}/{name}")
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/javascript")
    css = client.get(f"/static/{version}/css/base.css")
    assert css.headers["content-type"] == "text/css; charset=utf-8"
    again = client.get(
        f"/static/{version}/css/base.css", headers={"If-None-Match": css.headers["etag"]}
    )
    assert again.status_code == 304
    old = client.get("/static/0123456789ab/css/base.css")
    assert old.status_code == 200 and old.headers["cache-control"] == "no-cache"
    for bad in ("missing.js", "../routes.py", "..%2Froutes.py", "index.html", "js/../../api.py"):
        assert client.get(f"/static/{version}/{bad}").status_code == 404, bad


def test_the_cjk_web_font_is_served_from_the_report_font(client: TestClient) -> None:
    font = web_routes.EXTRA_FILES["fonts/NotoSansCJKsc-ReportSubset.ttf"]
    url = f"/static/{web_routes.asset_version()}/fonts/NotoSansCJKsc-ReportSubset.ttf"
    with client.stream("GET", url, headers={"Accept-Encoding": "gzip"}) as r:
        assert r.status_code == 200
        assert r.headers["content-type"] == "font/ttf"
        assert r.headers["content-encoding"] == "gzip"
        raw = b"".join(r.iter_raw())
    assert len(raw) < font.stat().st_size * 0.8
    assert gzip.decompress(raw) == font.read_bytes()
    css = (STATIC / "css" / "base.css").read_text(encoding="utf-8")
    assert 'url("../fonts/NotoSansCJKsc-ReportSubset.ttf")' in css


# --------------------------------------------------------------------------- offline


# XML namespace names are identifiers, never fetched (document.createElementNS needs one).
_ALLOWED_URLS = {"http://www.w3.org/2000/svg"}


def test_nothing_in_static_points_outside_the_server() -> None:
    files = [p for p in STATIC.rglob("*") if p.is_file()]
    assert len(files) >= 15
    found = []
    for path in files:
        text = path.read_text(encoding="utf-8")
        for url in re.findall(r"[a-zA-Z][a-zA-Z0-9+.-]*://[^\s\"'`)<>]*", text):
            if url not in _ALLOWED_URLS:
                found.append(f"{path.relative_to(STATIC)}: {url}")
        # Protocol-relative references (//host/...) in markup, CSS or imports.
        for ref in re.findall(
            r"""(?:src|href|url\(|from|import\()\s*=?\s*["']?//[^"')\s]+""", text
        ):
            found.append(f"{path.relative_to(STATIC)}: {ref}")
        if "@import" in text:
            found.append(f"{path.relative_to(STATIC)}: @import")
    assert found == []


def test_every_module_import_resolves_to_a_shipped_file() -> None:
    problems = []
    for path in STATIC.rglob("*.js"):
        text = path.read_text(encoding="utf-8")
        for target in re.findall(r"""(?:from|import)\s*\(?\s*["']([^"']+)["']""", text):
            if not target.startswith("."):
                problems.append(f"{path.name}: bare or absolute import {target}")
            elif not (path.parent / target).resolve().is_file():
                problems.append(f"{path.name}: {target} does not exist")
    app_js = (STATIC / "js" / "core" / "app.js").read_text(encoding="utf-8")
    pages = re.findall(r'page: "(\w+)"', app_js)
    assert set(pages) == {
        "login",
        "overview",
        "case",
        "home",
        "dispatch",
        "inbox",
        "report",
        "submit",
        "requests",
        "track",
        "rankings",
        "notifications",
        "duty",
        "alarms",
        "device",
        "notfound",  # any other address (the 404 page)
    }
    problems += [f"page {p}" for p in pages if not (STATIC / "js" / "pages" / f"{p}.js").is_file()]
    assert problems == []


def test_each_page_module_carries_its_own_messages_in_both_languages() -> None:
    for path in (STATIC / "js" / "pages").glob("*.js"):
        text = path.read_text(encoding="utf-8")
        block = text[text.index("const messages = {") :]
        zh = set(re.findall(r"^    (\w+):", block[: block.index("\n  en: {")], re.M))
        en_block = block[block.index("\n  en: {") : block.index("\n};")]
        en = set(re.findall(r"^    (\w+):", en_block, re.M))
        assert zh and zh == en, f"{path.name}: {sorted(zh ^ en)}"


def test_the_case_list_the_home_page_shows_is_scoped(
    client: TestClient, login: Callable[[str], dict[str, str]], story: dict[str, Case]
) -> None:
    # The home page lists GET /api/v1/cases as it is: a handler sees its department's cases.
    items = client.get("/api/v1/cases", headers=login("urban")).json()["items"]
    assert [c["id"] for c in items] == [story["C"].id, story["E"].id]
