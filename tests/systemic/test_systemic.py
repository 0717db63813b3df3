"""举一反三: clusters of cases on one topic at one place over weeks (detection, storage,
API, CLI) and what the detection finds in real citizen messages."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import typer
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from tests.factories import DEMO_PASSWORD, file_case
from townops.access.actor import Actor, Role
from townops.auth.service import create_user
from townops.cases.models import Case
from townops.cli.main import app as main_app
from townops.db import make_engine, make_session_factory, session_scope
from townops.errors import Conflict, Forbidden, NotFound
from townops.systemic.api import router as systemic_router
from townops.systemic.detect import (
    CaseRecord,
    DetectedIssue,
    Trend,
    classify_trend,
    detect_systemic_issues,
    least_squares_slope,
    weekly_counts,
)
from townops.systemic.messages import message_settings, scan_messages
from townops.systemic.models import SystemicIssue, SystemicIssueMember
from townops.systemic.schemas import IssueStatus
from townops.systemic.service import (
    list_systemic_issues,
    open_root_case,
    refresh_systemic_issues,
)
from townops.systemic.settings import SystemicSettings
from townops.systemic.text_places import PlaceKind, canonical_keys, main_place
from townops.townfiles.loader import default_town_dir, load_town
from townops.townfiles.sync import install_town

SHANGHAI = ZoneInfo("Asia/Shanghai")
FIXTURES = Path(__file__).parent.parent / "fixtures" / "systemic"
GOV_MESSAGES = Path(__file__).resolve().parents[3] / "shared" / "data" / "gov-messages"

NANXIN = "310115121020"  # 南新居委会
NANXIN_G1 = "310115121020-G01"  # 南新第1微网格
NANXIN_G1_BUILDING = "310115121020-G01-B01"  # 7号楼, in 南新第1微网格
HUAGAO = "310115121006"  # 华高居委会
TOWN = "310115121"
LIFT, LEAK = "lift_failure", "house_leak"

# Monday 2024-03-04 00:00 local is the start of ISO week 2024-W10.
WEEK10 = datetime(2024, 3, 4, 9, 0, tzinfo=SHANGHAI)
NOW = datetime(2024, 4, 14, 20, 0, tzinfo=SHANGHAI)  # Sunday of 2024-W15

LIFT_TEXTS = (
    "电梯故障停运，老人上下楼困难",
    "电梯又坏了，有人被困在电梯里",
    "电梯运行时噪音很大，还经常停运",
    "电梯频繁故障，维修不及时",
    "电梯停运一周了，没人来修电梯",
)
LEAK_TEXTS = (
    "楼上卫生间漏水，渗到我家天花板",
    "天花板渗水发霉，楼上漏水不修",
    "楼上漏水严重，墙面渗水",
    "卫生间漏水导致楼下天花板渗水",
)


# A town's ordinary flow: how rare a word is (its weight) is judged against these, as it
# is against a real window of thousands of cases; none mentions lifts or leaks.
BACKGROUND = (
    ("illegal_parking", "小区门口乱停车，堵住消防通道"),
    ("noise_construction_night", "夜间施工噪声扰民，影响休息"),
    ("street_light", "路灯不亮，晚上出行不安全"),
    ("sanitation", "垃圾箱满了没人清运，臭味很大"),
    ("fire_hazard", "楼道堆放杂物，存在消防隐患"),
    ("illegal_discharge", "饭店油烟直排，熏到居民家里"),
    ("noise_neighbourhood", "广场舞音响太响，影响老人休息"),
    ("street_vending", "共享单车乱停放，占用盲道"),
    ("greenery", "绿化带被毁，种上了蔬菜"),
    ("river_pollution", "河道有人偷倒垃圾，水质发黑"),
    ("policy_consultation", "咨询居住证办理需要什么材料"),
    ("health_consultation", "咨询新生儿医保怎么办理"),
    ("street_vending", "商铺占道经营，行人无法通过"),
    ("illegal_construction", "违章搭建阳光房，影响采光"),
    ("group_renting", "群租房人员复杂，进出频繁"),
    ("dog_nuisance", "流浪狗在小区里咬人"),
    ("road_damage", "道路坑洼不平，雨天积水"),
    ("illegal_parking", "快递车辆在人行道上停放"),
    ("food_safety", "超市出售过期食品"),
    ("noise_neighbourhood", "邻居装修噪音太大，周末也施工"),
)
# Micro-grids away from 南新 (020) and 华高 (006), where the tests put their cases.
BACKGROUND_GRIDS = tuple(
    j.code
    for j in load_town(default_town_dir()).jurisdictions
    if j.level == "micro_grid" and not j.code.startswith((NANXIN, HUAGAO))
)


def background(count: int = 200) -> list[CaseRecord]:
    return [
        record(
            10_000 + i,
            week(i % 6, day=i % 7),
            BACKGROUND[i % len(BACKGROUND)][1],
            place=f"B{i}",  # each at its own place: never an issue of its own
            topic=BACKGROUND[i % len(BACKGROUND)][0],
        )
        for i in range(count)
    ]


def week(n: int, *, day: int = 0, hour: int = 0) -> datetime:
    """A moment in ISO week 2024-W(10+n)."""
    return WEEK10 + timedelta(weeks=n, days=day, hours=hour)


def record(
    case_id: int,
    when: datetime,
    text: str,
    *,
    place: str = "P1",
    topic: str = "lift",
    reporter: str = "",
) -> CaseRecord:
    return CaseRecord(
        id=case_id,
        received_at=when,
        place_key=place,
        place_label=f"{place} estate",
        topic_key=topic,
        text=text,
        reporter=reporter,
    )


def lift_records(start_id: int = 1, weeks: tuple[int, ...] = (0, 1, 2, 3, 4)) -> list[CaseRecord]:
    return [
        record(start_id + i, week(w, day=i % 5), LIFT_TEXTS[i % len(LIFT_TEXTS)])
        for i, w in enumerate(weeks)
    ]


SETTINGS = SystemicSettings()


def detect(
    records: list[CaseRecord], *, settings: SystemicSettings = SETTINGS, **options: Any
) -> list[DetectedIssue]:
    """Detection over ``records`` amid the town's ordinary flow, in the window ending NOW."""
    return detect_systemic_issues([*records, *background()], now=NOW, settings=settings, **options)


# --------------------------------------------------------------------------- detect.py


def test_a_cluster_over_five_weeks_is_one_issue_with_every_week_counted() -> None:
    issues = detect(lift_records(), topic_names={"lift": "电梯故障"})
    assert len(issues) == 1
    issue = issues[0]
    assert issue.member_ids == (1, 2, 3, 4, 5)
    assert issue.key == "P1|lift|1"
    assert issue.place_key == "P1" and issue.topic_key == "lift"
    assert issue.topic_label.startswith("电梯故障: ")
    assert "电梯" in issue.terms
    assert issue.weeks_active == 5
    # From the first case's week to the week of `now`, zeros included.
    assert [w.week for w in issue.weekly_counts] == [f"2024-W{n}" for n in range(10, 16)]
    assert [w.count for w in issue.weekly_counts] == [1, 1, 1, 1, 1, 0]
    assert issue.first_seen == week(0) and issue.last_seen == week(4, day=4)


def test_lift_broken_and_lift_noise_at_one_estate_are_one_issue() -> None:
    records = [
        record(1, week(0), "电梯坏了，停运两天"),
        record(2, week(1), "电梯运行噪音很大"),
        record(3, week(2), "电梯又坏了"),
        record(4, week(3), "电梯噪音扰民，晚上睡不着"),
    ]
    issues = detect(records)
    assert [i.member_ids for i in issues] == [(1, 2, 3, 4)]


def test_the_same_cases_within_one_week_are_not_an_issue() -> None:
    records = lift_records(weeks=(0, 0, 0, 0, 0))
    assert detect(records) == []
    # ... nor three cases over three weeks: too few.
    assert detect(lift_records(weeks=(0, 1, 2))) == []


def test_two_unrelated_problems_at_one_place_and_topic_are_two_issues() -> None:
    lifts = lift_records(weeks=(0, 1, 2, 3))
    leaks = [
        record(10 + i, week(i, day=2), text, topic="lift") for i, text in enumerate(LEAK_TEXTS)
    ]
    issues = detect([*lifts, *leaks])
    assert sorted(i.member_ids for i in issues) == [(1, 2, 3, 4), (10, 11, 12, 13)]
    assert {i.key for i in issues} == {"P1|lift|1", "P1|lift|2"}
    leak_issue = next(i for i in issues if 10 in i.member_ids)
    assert "漏水" in leak_issue.terms and "电梯" not in leak_issue.terms


def test_unrelated_complaints_in_one_category_are_not_forced_together() -> None:
    texts = ("电梯故障停运", "楼道堆放杂物", "小区垃圾没人清运", "绿化带被毁", "外墙瓷砖脱落")
    records = [record(i, week(i), text) for i, text in enumerate(texts)]
    assert detect(records) == []


def test_cases_at_another_place_or_outside_the_window_do_not_count() -> None:
    records = [
        *lift_records(weeks=(0, 1, 2)),
        record(20, week(3), LIFT_TEXTS[0], place="P2"),  # another estate
        record(21, week(-20), LIFT_TEXTS[1]),  # before the 12-week window
    ]
    assert detect(records) == []
    longer = SETTINGS.model_copy(update={"window_weeks": 30})
    assert [i.member_ids for i in detect(records, settings=longer)] == [(1, 2, 3, 21)]


def test_one_persistent_reporter_needs_min_reporters_one() -> None:
    records = [record(i, week(i), LIFT_TEXTS[i], reporter="13800000001") for i in range(4)]
    assert len(detect(records)) == 1
    strict = SETTINGS.model_copy(update={"min_reporters": 2})
    assert detect(records, settings=strict) == []


def test_rising_and_falling_trends() -> None:
    # 1, 1, 2, 3, 4 cases in the last five weeks up to now: rising.
    counts = [1, 1, 2, 3, 4]
    rising = [
        record(100 * w + k, week(w + 1, day=k % 5), LIFT_TEXTS[k % 5])
        for w, n in enumerate(counts)
        for k in range(n)
    ]
    (issue,) = detect(rising)
    assert issue.trend == Trend.rising
    assert issue.slope == pytest.approx(least_squares_slope([1, 1, 2, 3, 4]))
    # Three, two, one case, then quiet weeks until now: falling.
    falling = [
        record(100 * w + k, week(w, day=k), LIFT_TEXTS[k % 5])
        for w, n in enumerate([3, 2, 1])
        for k in range(n)
    ]
    (issue,) = detect(falling)
    assert issue.trend == Trend.falling
    assert [w.count for w in issue.weekly_counts] == [3, 2, 1, 0, 0, 0]


def test_slope_and_its_threshold() -> None:
    assert least_squares_slope([1, 2, 3]) == pytest.approx(1.0)
    assert least_squares_slope([3, 2, 1]) == pytest.approx(-1.0)
    assert least_squares_slope([2, 2, 2, 2]) == pytest.approx(0.0)
    assert least_squares_slope([5]) == 0.0
    assert classify_trend(0.1, 0.1) == Trend.rising
    assert classify_trend(0.09, 0.1) == Trend.steady
    assert classify_trend(-0.1, 0.1) == Trend.falling


def test_weekly_counts_cross_a_53_week_year() -> None:
    moments = [datetime(2020, 12, 21, tzinfo=SHANGHAI), datetime(2021, 1, 5, tzinfo=SHANGHAI)]
    counts = weekly_counts(moments, until=datetime(2021, 1, 6, tzinfo=SHANGHAI), tz=SHANGHAI)
    assert [(w.week, w.count) for w in counts] == [
        ("2020-W52", 1),
        ("2020-W53", 0),
        ("2021-W01", 1),
    ]


def test_a_refresh_keeps_the_key_of_an_issue_that_shares_cases_with_an_earlier_one() -> None:
    lifts = lift_records(start_id=1, weeks=(2, 3, 4, 5))
    (first,) = detect(lifts)
    assert first.key == "P1|lift|1"
    # Later an older cluster (leaks from earlier weeks) appears at the same place and topic.
    leaks = [record(10 + i, week(i), t, topic="lift") for i, t in enumerate(LEAK_TEXTS)]
    more_lifts = [*lifts, record(6, week(5, day=3), LIFT_TEXTS[4])]
    without_history = detect([*more_lifts, *leaks])
    assert {i.key: i.member_ids[0] for i in without_history} == {
        "P1|lift|1": 10,  # ordered by first case: the leaks would take the lift's key
        "P1|lift|2": 1,
    }
    with_history = detect(
        [*more_lifts, *leaks],
        previous={first.key: first.member_ids, "P1|lift|2": (999,)},
    )
    keys = {i.key: i.member_ids for i in with_history}
    assert keys["P1|lift|1"] == (1, 2, 3, 4, 6)
    assert keys["P1|lift|3"] == (10, 11, 12, 13)  # 2 is taken by an earlier issue


def test_settings_are_validated() -> None:
    with pytest.raises(ValidationError):
        SystemicSettings(min_weeks=10, window_weeks=4)
    with pytest.raises(ValidationError):
        SystemicSettings.model_validate({"min_case": 3})
    with pytest.raises(ValidationError):
        SystemicSettings(similarity_threshold=0)


# --------------------------------------------------------------------------- places in text


@pytest.mark.parametrize(
    ("title", "key", "kind"),
    [
        ("A2区丽发新城小区附近修建搅拌厂，严重污染环境", "丽发新城", PlaceKind.estate),
        ("A5区劳动东路魅力之城小区油烟扰民", "魅力之城", PlaceKind.estate),
        ("A市含光路、金星路交界口红绿灯时间设置不合理", "含光路", PlaceKind.road),
        ("建议双休日和寒暑假开放A7县泉星小学田径场", "泉星小学", PlaceKind.institution),
        ("I4县马迹塘镇大塘坪村垃圾处理不当", "大塘坪村", PlaceKind.village),
        ("A6区长江路路灯不亮", "长江路", PlaceKind.road),
        ("A2区明月小区门口乱停车", "明月", PlaceKind.estate),
    ],
)
def test_the_place_is_read_from_the_title(title: str, key: str, kind: PlaceKind) -> None:
    mention = main_place(title, "")
    assert mention is not None
    assert (mention.key, mention.kind) == (key, kind)


@pytest.mark.parametrize(
    "title",
    ["咨询A市公积金贷款买房的问题", "我们小区的电梯坏了", "请问A市人民医院几点上班", "道路破损"],
)
def test_no_place_is_invented(title: str) -> None:
    assert main_place(title, "") is None


def test_the_detail_gives_the_place_when_the_title_has_none() -> None:
    mention = main_place("电梯坏了一个月", "我住在A3区阳光花园5栋，电梯坏了一个月没人修。")
    assert mention is not None and mention.key == "阳光花园"


def test_longer_spellings_fold_into_the_shorter_name() -> None:
    mapping = canonical_keys(["星沙深业睿城", "深业睿城", "伊景园", "中国铁建国际城"])
    assert mapping["星沙深业睿城"] == "深业睿城"
    assert mapping["伊景园"] == "伊景园"
    assert mapping["中国铁建国际城"] == "中国铁建国际城"


# --------------------------------------------------------------------------- the town's cases


ActorFor = Callable[[str], Actor]


def receive(
    session: Session,
    when: datetime,
    text: str,
    *,
    jurisdiction: str | None = NANXIN_G1_BUILDING,
    category: str = LIFT,
    phone: str = "",
) -> Case:
    return file_case(
        session,
        now=when,
        kind="hotline",
        category=category,
        content=text,
        jurisdiction=jurisdiction,
        received_at=when,
        requester_phone=phone,
    )


def add_town_flow(session: Session) -> None:
    """120 ordinary cases across the town, two at most per micro-grid and category: the
    words of a town's ordinary flow, against which a word's specificity is judged."""
    for i in range(120):
        category, text = BACKGROUND[i % len(BACKGROUND)]
        grid = BACKGROUND_GRIDS[i % len(BACKGROUND_GRIDS)]
        receive(session, week(i % 6, day=i % 7), text, jurisdiction=grid, category=category)


@pytest.fixture
def town_flow(session: Session) -> None:
    add_town_flow(session)


@pytest.fixture
def lift_cases(session: Session, town_flow: None) -> list[Case]:
    """Four lift complaints over four weeks in 南新第1微网格 (one filed at the grid itself,
    three at a building inside it), one repeat of them, and noise that must not count."""
    cases = [
        receive(session, week(0), LIFT_TEXTS[0]),
        receive(session, week(1, day=1), LIFT_TEXTS[1], jurisdiction=NANXIN_G1),
        receive(session, week(2, day=2), LIFT_TEXTS[2]),
        receive(session, week(3, day=3), LIFT_TEXTS[3]),
    ]
    repeat = receive(session, week(3, day=3, hour=1), LIFT_TEXTS[3])
    repeat.duplicate_of_id = cases[3].id
    for i, text in enumerate(LIFT_TEXTS[:4]):
        receive(session, week(i), text, jurisdiction=TOWN)  # no place below the town
        receive(session, week(i), text, jurisdiction=HUAGAO if i < 2 else None)  # too few
    session.flush()
    return cases


def _members(session: Session, issue_id: int) -> list[int]:
    return sorted(
        session.scalars(
            select(SystemicIssueMember.case_id).where(SystemicIssueMember.issue_id == issue_id)
        )
    )


def test_refresh_stores_the_issue_at_the_micro_grid_and_skips_repeats(
    session: Session, lift_cases: list[Case]
) -> None:
    report = refresh_systemic_issues(session, now=NOW, settings=SETTINGS)
    assert (report.found, report.new, report.updated, report.lapsed) == (1, 1, 0, 0)
    assert report.cases_considered == 126  # the town flow, the 4 lift cases, the Huagao pair
    issue = session.scalars(select(SystemicIssue)).one()
    assert issue.key == f"{NANXIN_G1}|{LIFT}|1"
    assert issue.place_code == NANXIN_G1 and issue.place_label == "南新第1微网格"
    assert issue.topic == LIFT and issue.topic_label.startswith("电梯故障")
    assert issue.status == IssueStatus.open and issue.root_case_id is None
    assert issue.case_count == 4 and issue.weeks_active == 4
    assert _members(session, issue.id) == sorted(c.id for c in lift_cases)


def test_a_second_refresh_updates_rather_than_duplicates(
    session: Session, lift_cases: list[Case]
) -> None:
    refresh_systemic_issues(session, now=NOW, settings=SETTINGS)
    first = session.scalars(select(SystemicIssue)).one()
    later = receive(session, week(5), "电梯又停运了")
    report = refresh_systemic_issues(session, now=NOW, settings=SETTINGS)
    assert (report.found, report.new, report.updated) == (1, 0, 1)
    again = session.scalars(select(SystemicIssue)).one()
    assert again.id == first.id and again.key == first.key
    assert again.case_count == 5
    assert later.id in _members(session, again.id)


def test_an_issue_no_longer_found_lapses_if_it_has_a_root_case_and_goes_otherwise(
    session: Session, lift_cases: list[Case], actor: ActorFor
) -> None:
    leaks = [
        receive(session, week(i, day=1), text, category=LEAK, jurisdiction=NANXIN)
        for i, text in enumerate(LEAK_TEXTS)
    ]
    refresh_systemic_issues(session, now=NOW, settings=SETTINGS)
    by_topic = {i.topic: i for i in session.scalars(select(SystemicIssue))}
    assert by_topic[LEAK].place_code == NANXIN  # a case filed at the community counts there
    assert _members(session, by_topic[LEAK].id) == [c.id for c in leaks]
    out, root = open_root_case(session, actor=actor("duty"), issue_id=by_topic[LIFT].id, now=NOW)
    assert out.status == IssueStatus.root_case_opened and out.root_case_id == root.id

    # The root case itself is not a new member of its issue.
    refresh_systemic_issues(session, now=NOW, settings=SETTINGS)
    assert root.id not in _members(session, by_topic[LIFT].id)

    # Twenty weeks on, nothing is in the window any more.
    report = refresh_systemic_issues(session, now=NOW + timedelta(weeks=20), settings=SETTINGS)
    assert (report.found, report.lapsed, report.removed) == (0, 1, 1)
    (left,) = session.scalars(select(SystemicIssue)).all()
    assert left.topic == LIFT and left.status == IssueStatus.lapsed
    assert left.root_case_id == root.id
    assert len(_members(session, left.id)) == 4  # the last members are kept

    # Found again: back to root_case_opened, same row.
    report = refresh_systemic_issues(session, now=NOW, settings=SETTINGS)
    assert (report.new, report.updated) == (1, 1)  # the leaks come back as a new issue
    session.refresh(left)
    assert left.status == IssueStatus.root_case_opened


def test_the_root_case_is_opened_once(
    session: Session, lift_cases: list[Case], actor: ActorFor
) -> None:
    refresh_systemic_issues(session, now=NOW, settings=SETTINGS)
    issue = session.scalars(select(SystemicIssue)).one()
    out, case = open_root_case(
        session, actor=actor("duty"), issue_id=issue.id, note="请房管办牵头", now=NOW
    )
    assert case.kind == "patrol" and case.category_code == LIFT
    assert case.jurisdiction_code == NANXIN_G1
    for member in lift_cases:
        assert f"#{member.id}" in case.content
    assert "请房管办牵头" in case.content
    assert out.root_case_id == case.id and out.status == IssueStatus.root_case_opened
    with pytest.raises(Conflict):
        open_root_case(session, actor=actor("duty"), issue_id=issue.id)
    assert session.scalars(select(Case).where(Case.source == "systemic")).all() == [case]


def test_who_may_read_and_open_root_cases(
    session: Session, lift_cases: list[Case], actor: ActorFor
) -> None:
    refresh_systemic_issues(session, now=NOW, settings=SETTINGS)
    issue = session.scalars(select(SystemicIssue)).one()
    for reader in ("duty", "dispatcher", "leader", "admin"):
        assert [i.id for i in list_systemic_issues(session, actor=actor(reader))] == [issue.id]
    for outsider in ("housing", "nanxin", "grid_nanxin", "resident_a"):
        with pytest.raises(Forbidden):
            list_systemic_issues(session, actor=actor(outsider))
    with pytest.raises(Forbidden):
        open_root_case(session, actor=actor("dispatcher"), issue_id=issue.id)
    # A leader's role may not create cases: the system opens it on the leader's behalf.
    out, case = open_root_case(session, actor=actor("leader"), issue_id=issue.id)
    assert out.root_case_id == case.id and "opened by leader" in case.content


def test_a_narrower_scope_sees_only_its_issues(session: Session, lift_cases: list[Case]) -> None:
    refresh_systemic_issues(session, now=NOW, settings=SETTINGS)
    issue = session.scalars(select(SystemicIssue)).one()
    nanxin_leader = Actor("l1", Role.leader, 9001, None, NANXIN, f"{TOWN}/{NANXIN}/")
    huagao_leader = Actor("l2", Role.leader, 9002, None, HUAGAO, f"{TOWN}/{HUAGAO}/")
    assert [i.id for i in list_systemic_issues(session, actor=nanxin_leader)] == [issue.id]
    assert list_systemic_issues(session, actor=huagao_leader) == []
    with pytest.raises(NotFound):
        open_root_case(session, actor=huagao_leader, issue_id=issue.id)


# --------------------------------------------------------------------------- API


@pytest.fixture
def app(app: Any) -> Any:
    """The test app with the systemic router (until app.py includes it)."""
    if not any(getattr(r, "path", "").startswith("/api/v1/systemic-issues") for r in app.routes):
        app.include_router(systemic_router)
    return app


Login = Callable[[str], dict[str, str]]


def _refresh(client: TestClient, login: Login) -> dict[str, Any]:
    response = client.post(
        "/api/v1/systemic-issues/refresh",
        params={"now": NOW.isoformat()},
        headers=login("duty"),
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_api_lists_issues_with_their_member_cases(
    client: TestClient, login: Login, lift_cases: list[Case], session: Session
) -> None:
    session.commit()  # a savepoint: the routes' sessions share the test's connection
    assert _refresh(client, login)["found"] == 1
    response = client.get("/api/v1/systemic-issues", headers=login("dispatcher"))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["total"] == 1
    (item,) = body["items"]
    assert item["member_case_ids"] == sorted(c.id for c in lift_cases)
    assert item["place_code"] == NANXIN_G1 and item["topic"] == LIFT
    assert item["case_count"] == 4 and item["weeks_active"] == 4
    assert item["trend"] in ("rising", "steady", "falling")
    assert item["weekly_counts"][0] == {"week": "2024-W10", "count": 1}
    detail = client.get(f"/api/v1/systemic-issues/{item['id']}", headers=login("leader"))
    assert detail.status_code == 200 and detail.json() == item

    filtered = client.get(
        "/api/v1/systemic-issues",
        params={"min_cases": 5, "place": NANXIN},
        headers=login("duty"),
    )
    assert filtered.json()["total"] == 0
    in_place = client.get(
        "/api/v1/systemic-issues", params={"place": NANXIN}, headers=login("duty")
    )
    assert in_place.json()["total"] == 1
    unknown = client.get("/api/v1/systemic-issues", params={"place": "nope"}, headers=login("duty"))
    assert unknown.status_code == 422 and unknown.json()["error"]["code"] == "invalid_input"


def test_api_roles(
    client: TestClient, login: Login, lift_cases: list[Case], session: Session
) -> None:
    session.commit()
    for outsider in ("housing", "nanxin", "resident_a"):
        response = client.get("/api/v1/systemic-issues", headers=login(outsider))
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "forbidden"
    refused = client.post("/api/v1/systemic-issues/refresh", headers=login("dispatcher"))
    assert refused.status_code == 403
    assert client.get("/api/v1/systemic-issues").status_code == 401
    _refresh(client, login)
    missing = client.get("/api/v1/systemic-issues/999999", headers=login("duty"))
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


def test_api_scope_of_a_leader_of_another_community(
    client: TestClient, login: Login, lift_cases: list[Case], session: Session
) -> None:
    create_user(
        session,
        username="leader_huagao",
        password=DEMO_PASSWORD,
        role=Role.leader,
        scope_code=HUAGAO,
    )
    session.commit()
    _refresh(client, login)
    item_id = client.get("/api/v1/systemic-issues", headers=login("duty")).json()["items"][0]["id"]
    assert client.get("/api/v1/systemic-issues", headers=login("leader_huagao")).json() == {
        "items": [],
        "total": 0,
    }
    hidden = client.get(f"/api/v1/systemic-issues/{item_id}", headers=login("leader_huagao"))
    assert hidden.status_code == 404


def test_api_root_case_then_409(
    client: TestClient, login: Login, lift_cases: list[Case], session: Session
) -> None:
    session.commit()
    _refresh(client, login)
    item_id = client.get("/api/v1/systemic-issues", headers=login("duty")).json()["items"][0]["id"]
    url = f"/api/v1/systemic-issues/{item_id}/root-case"
    assert client.post(url, headers=login("dispatcher")).status_code == 403
    created = client.post(url, json={"note": "排查电梯维保单位"}, headers=login("duty"))
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["status"] == "root_case_opened" and body["root_case_id"]
    case = client.get(f"/api/v1/cases/{body['root_case_id']}", headers=login("duty")).json()
    assert case["kind"] == "patrol" and case["category"] == LIFT
    again = client.post(url, headers=login("leader"))
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "conflict"
    assert again.json()["error"]["details"]["root_case_id"] == body["root_case_id"]


# --------------------------------------------------------------------------- CLI

runner = CliRunner()


def _cli() -> typer.Typer:
    return main_app


def test_scan_csv_finds_the_repeated_problems_in_a_small_file() -> None:
    result = runner.invoke(
        _cli(), ["systemic", "scan-csv", str(FIXTURES / "messages.csv"), "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["messages"] == 27
    clusters = {(c["place"], tuple(c["member_ids"])) for c in report["clusters"]}
    assert clusters == {
        ("A3区阳光花园", (1001, 1002, 1003, 1004, 1005, 1006)),  # lifts
        ("A3区阳光花园", (1011, 1012, 1013, 1014)),  # barking dogs: same estate, other issue
        ("A5区幸福路", (1021, 1022, 1023, 1024, 1025)),  # a road that floods
    }
    # 明月小区: four messages in one week; 青松村: one user four times.
    assert not any(c["place"].endswith(("明月", "青松村")) for c in report["clusters"])
    lifts = next(c for c in report["clusters"] if 1001 in c["member_ids"])
    assert "电梯" in lifts["topic_label"]


def _scan(*options: str) -> list[dict[str, Any]]:
    result = runner.invoke(
        _cli(),
        ["systemic", "scan-csv", str(FIXTURES / "messages.csv"), "--format", "json", *options],
    )
    assert result.exit_code == 0, result.output
    clusters: list[dict[str, Any]] = json.loads(result.output)["clusters"]
    return clusters


def test_scan_csv_with_one_user_allowed_or_a_shorter_period() -> None:
    # One persistent villager (four messages, four weeks) counts once one user is enough.
    assert sorted(c["place"] for c in _scan("--min-users", "1")) == [
        "A3区阳光花园",
        "A3区阳光花园",
        "A5区幸福路",
        "A7县青松村",
    ]
    # From 13 March the road still has four messages over four weeks, the dogs only three.
    later = _scan("--since", "2023-03-13")
    members = [tuple(c["member_ids"]) for c in later]
    assert (1022, 1023, 1024, 1025) in members
    assert not any(set(m) & {1011, 1012, 1013, 1014, 1021} for m in members)


def test_scan_csv_table_and_a_bad_file(tmp_path: Path) -> None:
    table = runner.invoke(_cli(), ["systemic", "scan-csv", str(FIXTURES / "messages.csv")])
    assert table.exit_code == 0, table.output
    assert "27 messages" in table.output and "阳光花园" in table.output
    bad = tmp_path / "bad.csv"
    bad.write_text("id,title\n1,x\n", encoding="utf-8")
    result = runner.invoke(_cli(), ["systemic", "scan-csv", str(bad)])
    assert result.exit_code == 1
    assert "missing column" in result.output


@pytest.fixture
def cli_database(tmp_path: Path) -> Iterator[tuple[str, Engine]]:
    url = f"sqlite:///{tmp_path / 'systemic.db'}"
    engine = make_engine(url)
    install_town(engine, load_town(default_town_dir()), with_demo_users=False)
    yield url, engine
    engine.dispose()


def test_cli_refresh_and_list(cli_database: tuple[str, Engine]) -> None:
    url, engine = cli_database
    with session_scope(make_session_factory(engine)) as session:
        add_town_flow(session)
        for i, text in enumerate(LIFT_TEXTS):
            receive(session, week(i), text)
    refreshed = runner.invoke(
        _cli(), ["systemic", "refresh", "--now", "2024-04-14", "--database-url", url]
    )
    assert refreshed.exit_code == 0, refreshed.output
    assert "1 systemic issue(s) found: 1 new, 0 updated, 0 lapsed" in refreshed.output
    listed = runner.invoke(_cli(), ["systemic", "list", "--format", "json", "--database-url", url])
    assert listed.exit_code == 0, listed.output
    (item,) = json.loads(listed.output)
    assert item["place_code"] == NANXIN_G1 and len(item["member_case_ids"]) == 5
    table = runner.invoke(_cli(), ["systemic", "list", "--database-url", url])
    assert "南新第1微网格" in table.output


# --------------------------------------------------------------------------- real data


@pytest.mark.slow
@pytest.mark.skipif(
    not (GOV_MESSAGES / "messages_with_votes.csv").is_file(),
    reason=f"shared data not available: {GOV_MESSAGES}",
)
@pytest.mark.skipif(
    bool(os.environ.get("TOWNOPS_TEST_DATABASE_URL")),
    reason="no storage involved: run once, in the SQLite pass",
)
def test_real_citizen_messages() -> None:
    settings = message_settings()
    report = scan_messages(
        [GOV_MESSAGES / "messages_with_votes.csv", GOV_MESSAGES / "messages_with_replies.csv"],
        settings=settings,
    )
    assert report.messages > 7000 and report.located > report.messages / 2
    assert len(report.issues) >= 15
    for issue in report.issues:
        assert issue.case_count >= settings.min_cases
        assert issue.weeks_active >= settings.min_weeks
        assert report.users(issue) >= settings.min_reporters
    # The best-known hot issue of this data set: a concrete-mixing plant built next to the
    # 丽发新城 estate (2019-11 to 2020-01), dozens of residents.
    top = report.issues[0]
    assert top.place_label.endswith("丽发新城") and "搅拌站" in top.terms
    assert top.case_count >= 30
