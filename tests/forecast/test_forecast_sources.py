"""Reading request CSVs (NYC 311, SF 311, citizen messages) and binning them into weeks."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest

from townops.errors import InvalidInput
from townops.forecast.series import Grouping, build_series, calendar_features, iso_label
from townops.forecast.sources import (
    Request,
    RequestLog,
    SourceFormat,
    UsFederalCalendar,
    read_csv,
)

NYC_MINIMAL = """unique_key,created_date,closed_date,complaint_type,borough
46920293,01/03/2022 10:51:12 AM,01/05/2022 12:32:48 PM,Damaged Tree,BROOKLYN
46930483,01/09/2022 11:30:00 PM,,Noise - Residential,QUEENS
46997111,01/10/2022 12:05:33 AM,,Noise - Residential,Unspecified
"""
NYC_FULL_HEADER = (
    "Unique Key,Created Date,Closed Date,Agency,Agency Name,Complaint Type,Descriptor,Borough\n"
    "53710000,05/01/2022 12:00:03 AM,,NYPD,New York City Police Department,"
    "Illegal Parking,Blocked Hydrant,MANHATTAN\n"
)
SF = """unique_key,created_date,closed_date,status,category,complaint_type,neighborhood,source
6078653,2016-07-13 02:11:07+00:00,2016-07-14 12:13:22+00:00,Closed,Sewer Issues,Odor,Mission,Web
4547561,2015-03-05 09:04:29+00:00,,Open,MUNI Feedback,x,,Phone
"""
GOV = """留言编号,留言用户,留言主题,留言时间,留言详情,一级分类
1,U0001,投诉A市A3区某小区物业违规收停车费,2019/4/25 9:32:09,"
   尊敬的领导：小区位于火炬路……",
2,U0002,咨询道路命名,2019/4/26 18:00:00,A市A6区的一条新路何时命名？,城乡建设
"""
GOV_LABELED = """id,title,time,text,label
42506,请问C市的出租车乱象何时整治？,2018/3/30 11:17:35,请问C市的出租车乱象何时整治？。,交通运输
166957,投诉G4县洲口镇邮政局不派件到家,2018/1/31 14:16:06,投诉G4县洲口镇邮政局不派件。,商贸旅游
"""


def write(tmp_path: Path, text: str, name: str = "data.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding=encoding)
    return path


def test_nyc_311_times_are_new_york_local_with_am_pm(tmp_path: Path) -> None:
    log = read_csv(write(tmp_path, NYC_MINIMAL))
    assert log.format == SourceFormat.nyc311 and log.timezone == "America/New_York"
    assert log.requests == [
        Request(date(2022, 1, 3), "Damaged Tree", "BROOKLYN"),
        Request(date(2022, 1, 9), "Noise - Residential", "QUEENS"),
        Request(date(2022, 1, 10), "Noise - Residential", None),  # "Unspecified": no place
    ]
    assert (log.first_day, log.last_day) == (date(2022, 1, 3), date(2022, 1, 10))


def test_the_full_nyc_schema_is_recognised_by_its_spaced_headers(tmp_path: Path) -> None:
    log = read_csv(write(tmp_path, NYC_FULL_HEADER))
    assert log.format == SourceFormat.nyc311
    assert log.requests == [Request(date(2022, 5, 1), "Illegal Parking", "MANHATTAN")]


def test_sf_311_times_are_turned_into_san_francisco_days(tmp_path: Path) -> None:
    log = read_csv(write(tmp_path, SF))
    assert log.format == SourceFormat.sf311 and log.country == "US"
    # 02:11 UTC on 13 July is the evening of 12 July in San Francisco.
    assert log.requests == [
        Request(date(2016, 7, 12), "Sewer Issues", "Mission"),
        Request(date(2015, 3, 5), "MUNI Feedback", None),
    ]


def test_citizen_messages_take_the_district_from_the_title_then_the_text(
    tmp_path: Path,
) -> None:
    log = read_csv(write(tmp_path, GOV))
    assert log.format == SourceFormat.gov_messages and log.country == "CN"
    assert log.requests == [
        Request(date(2019, 4, 25), None, "A3区"),  # empty 一级分类: no category
        Request(date(2019, 4, 26), "城乡建设", "A6区"),
    ]


def test_labelled_messages_use_their_label_as_category(tmp_path: Path) -> None:
    log = read_csv(write(tmp_path, GOV_LABELED))
    assert [(r.day, r.category, r.community) for r in log.requests] == [
        (date(2018, 3, 30), "交通运输", "C市"),
        (date(2018, 1, 31), "商贸旅游", "G4县"),
    ]


def test_a_file_saved_in_gb18030_is_read_too(tmp_path: Path) -> None:
    log = read_csv(write(tmp_path, GOV, encoding="gb18030"))
    assert [r.community for r in log.requests] == ["A3区", "A6区"]


def test_a_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="no such file"):
        read_csv(tmp_path / "nope.csv")


def test_an_empty_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="empty"):
        read_csv(write(tmp_path, ""))


def test_an_unknown_header_names_the_formats_it_could_be(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput) as caught:
        read_csv(write(tmp_path, "when,what\n2022-01-01,x\n"))
    assert "cannot tell the format" in caught.value.message
    assert "when, what" in caught.value.message and "NYC 311" in caught.value.message


def test_a_file_of_unreadable_dates_is_refused_with_the_first_bad_line(tmp_path: Path) -> None:
    text = "unique_key,created_date,complaint_type,borough\n1,yesterday,Noise,QUEENS\n"
    text += "2,01/03/2022 10:51:12 AM,Noise,QUEENS\n"
    with pytest.raises(InvalidInput) as caught:
        read_csv(write(tmp_path, text))
    assert "1 of 2 rows" in caught.value.message and "line 2: 'yesterday'" in caught.value.message


def test_a_few_rows_without_a_date_are_skipped_and_counted(tmp_path: Path) -> None:
    rows = [f"{i},01/{1 + i % 28:02d}/2022 10:00:00 AM,Noise,QUEENS" for i in range(40)]
    text = "unique_key,created_date,complaint_type,borough\n" + "\n".join(rows)
    log = read_csv(write(tmp_path, text + "\n99,,Noise,QUEENS\n"))
    assert len(log.requests) == 40 and log.skipped == 1
    assert "1 rows without a readable created_date skipped" in log.notes[0]


# --------------------------------------------------------------------------- weekly series


def china_log(days: list[date], categories: list[str] | None = None) -> RequestLog:
    from townops.deadlines import WorkingCalendar

    cats = categories or ["leak"] * len(days)
    return RequestLog(
        name="test",
        format=SourceFormat.gov_messages,
        timezone="Asia/Shanghai",
        calendar=WorkingCalendar(tz="Asia/Shanghai"),
        country="CN",
        requests=[Request(d, c, "A1区") for d, c in zip(days, cats, strict=True)],
        first_day=min(days),
        last_day=max(days),
    )


def test_only_complete_iso_weeks_count_and_empty_weeks_are_zero() -> None:
    wednesday = date(2022, 1, 5)  # 2022-W01; the data stop on Wednesday 2022-02-02 (W05)
    days = [wednesday, date(2022, 1, 10), date(2022, 1, 11), date(2022, 1, 30)]
    days += [date(2022, 1, 24)] * 3 + [date(2022, 2, 2)]
    series_set = build_series(china_log(days), Grouping.total, min_weekly=0)
    assert [iso_label(w) for w in series_set.weeks] == ["2022-W02", "2022-W03", "2022-W04"]
    assert series_set.series[0].counts.tolist() == [2.0, 0.0, 4.0]


def test_series_under_the_volume_floor_are_left_out_and_counted() -> None:
    start = date(2022, 1, 3)
    days = [start + timedelta(days=i) for i in range(0, 70)]  # one a day: 7 a week
    days_rare = [start + timedelta(days=i) for i in range(0, 70, 14)]  # 0.5 a week
    log = china_log(days + days_rare, ["noise"] * len(days) + ["odour"] * len(days_rare))
    series_set = build_series(log, Grouping.category)
    assert [s.key.category for s in series_set.series] == ["noise"]
    assert series_set.left_out == 1 and series_set.min_weekly == 1.0
    assert series_set.series[0].counts.tolist() == [7.0] * 10


def test_ragged_collection_edges_are_cut_and_said() -> None:
    start = date(2022, 1, 3)
    days = [start + timedelta(days=i) for i in range(14, 140) for _ in range(3)]
    days += [start, start + timedelta(days=150)]  # a stray request before and after
    series_set = build_series(china_log(days), Grouping.total)
    assert iso_label(series_set.weeks[0]) == "2022-W03"
    assert "edges cut: 2 leading" in series_set.notes[0]


def test_a_file_crowded_into_one_week_is_refused() -> None:
    start = date(2022, 1, 3)
    days = [start] * 100 + [start + timedelta(weeks=i) for i in range(1, 10)]
    with pytest.raises(InvalidInput, match="fall in one week"):
        build_series(china_log(days), Grouping.total)


def test_less_than_one_complete_week_is_refused() -> None:
    with pytest.raises(InvalidInput, match="less than one complete ISO week"):
        build_series(china_log([date(2022, 5, 1), date(2022, 5, 1)]), Grouping.total)


def test_calendar_features_count_working_days_and_the_spring_festival() -> None:
    from townops.deadlines import WorkingCalendar

    mondays = [date(2022, 1, 24), date(2022, 1, 31), date(2022, 10, 3)]
    china = calendar_features(WorkingCalendar(tz="Asia/Shanghai"), "CN", mondays)
    # W04's weekend is made up for the Spring Festival (W05); National Day takes W40's
    # weekdays and gives back its weekend.
    assert china.tolist() == [[7.0, 0.0], [0.0, 7.0], [2.0, 0.0]]
    usa = calendar_features(UsFederalCalendar(), "US", [date(2022, 7, 4), date(2022, 11, 21)])
    assert np.array_equal(usa, [[4.0, 0.0], [4.0, 0.0]])  # Independence Day, Thanksgiving
