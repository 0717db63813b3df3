"""Deadline maths for 12345 hotline cases.

Expected dates are literals checked against the State Council's published
holiday arrangements (国务院办公厅关于节假日安排的通知), never computed with
the code under test.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from townops.deadlines import (
    Deadline,
    WorkingCalendar,
    due_at,
    extend_due_at,
    is_overdue,
    supported_years,
    time_left,
    working_hours_between,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
NEW_YORK = ZoneInfo("America/New_York")
CALENDAR = WorkingCalendar()  # shared so its per-year cache is warm across tests
LOGGER_NAME = "townops.deadlines"


def local(
    year: int,
    month: int,
    day: int,
    hour: int = 0,
    minute: int = 0,
    second: int = 0,
    microsecond: int = 0,
) -> datetime:
    """An aware datetime in Asia/Shanghai local time."""
    return datetime(year, month, day, hour, minute, second, microsecond, tzinfo=SHANGHAI)


def utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


def end_of(day: date) -> datetime:
    """23:59:59 Asia/Shanghai on ``day``."""
    return datetime.combine(day, time(23, 59, 59), tzinfo=SHANGHAI)


def due_in_working_days(
    received_at: datetime, n: int, calendar: WorkingCalendar = CALENDAR
) -> datetime:
    return due_at(received_at, Deadline(working_days=n), calendar)


def days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


# --------------------------------------------------------------------------- #
# The canonical example
# --------------------------------------------------------------------------- #


def test_one_working_day_from_friday_before_spring_festival_lands_on_the_adjusted_saturday() -> (
    None
):
    # Spring Festival 2023: 01-21..01-27 off; Sat 01-28 and Sun 01-29 are working days.
    due = due_in_working_days(local(2023, 1, 20, 15, 0), 1)
    assert due == local(2023, 1, 28, 23, 59, 59)
    assert due == datetime(2023, 1, 28, 15, 59, 59, tzinfo=UTC)


def test_due_dates_are_returned_in_utc_with_zero_microseconds() -> None:
    due = due_in_working_days(local(2023, 1, 20, 15, 0, 0, 123456), 1)
    assert due.tzinfo is UTC
    assert due.microsecond == 0


def test_five_working_days_before_spring_festival_2023_count_both_adjusted_weekend_days() -> None:
    # 01-28 (Sat), 01-29 (Sun), 01-30, 01-31, 02-01.
    assert due_in_working_days(local(2023, 1, 20, 15, 0), 5) == end_of(date(2023, 2, 1))


# --------------------------------------------------------------------------- #
# Holiday periods and their adjusted working days
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize(
    ("holiday_first", "holiday_last", "adjusted_workdays"),
    [
        pytest.param(date(2022, 4, 3), date(2022, 4, 5), [date(2022, 4, 2)], id="qingming-2022"),
        pytest.param(
            date(2022, 10, 1),
            date(2022, 10, 7),
            [date(2022, 10, 8), date(2022, 10, 9)],
            id="national-day-2022",
        ),
        pytest.param(
            date(2023, 1, 21),
            date(2023, 1, 27),
            [date(2023, 1, 28), date(2023, 1, 29)],
            id="spring-festival-2023",
        ),
        pytest.param(
            date(2023, 6, 22), date(2023, 6, 24), [date(2023, 6, 25)], id="dragon-boat-2023"
        ),
        pytest.param(
            date(2023, 9, 29),
            date(2023, 10, 6),
            [date(2023, 10, 7), date(2023, 10, 8)],
            id="national-day-2023",
        ),
        pytest.param(
            date(2024, 2, 10),
            date(2024, 2, 17),
            [date(2024, 2, 4), date(2024, 2, 18)],
            id="spring-festival-2024",
        ),
        pytest.param(
            date(2024, 5, 1),
            date(2024, 5, 5),
            [date(2024, 4, 28), date(2024, 5, 11)],
            id="labour-day-2024",
        ),
        pytest.param(
            date(2025, 1, 28),
            date(2025, 2, 4),
            [date(2025, 1, 26), date(2025, 2, 8)],
            id="spring-festival-2025",
        ),
        pytest.param(
            date(2026, 2, 15),
            date(2026, 2, 23),
            [date(2026, 2, 14), date(2026, 2, 28)],
            id="spring-festival-2026",
        ),
    ],
)
def test_official_holidays_are_days_off_and_adjusted_weekend_days_are_working_days(
    holiday_first: date, holiday_last: date, adjusted_workdays: list[date]
) -> None:
    for day in days(holiday_first, holiday_last):
        assert not CALENDAR.is_working_day(day), day
    for day in adjusted_workdays:
        assert day.weekday() >= 5, f"{day} should be a weekend day"
        assert CALENDAR.is_working_day(day), day


def test_one_working_day_from_the_eve_of_national_day_2023_lands_on_saturday_october_7() -> None:
    assert due_in_working_days(local(2023, 9, 28, 10, 0), 1) == end_of(date(2023, 10, 7))
    assert due_in_working_days(local(2023, 9, 28, 10, 0), 2) == end_of(date(2023, 10, 8))
    assert due_in_working_days(local(2023, 9, 28, 10, 0), 3) == end_of(date(2023, 10, 9))


def test_one_working_day_from_a_saturday_in_february_2024_lands_on_the_working_sunday() -> None:
    assert due_in_working_days(local(2024, 2, 3, 9, 0), 1) == end_of(date(2024, 2, 4))


def test_two_working_days_before_spring_festival_2024_skip_the_whole_holiday() -> None:
    # 02-09 (除夕, Friday) is officially a working day; then 02-10..02-17 off; Sun 02-18 works.
    assert due_in_working_days(local(2024, 2, 8, 9, 0), 1) == end_of(date(2024, 2, 9))
    assert due_in_working_days(local(2024, 2, 8, 9, 0), 2) == end_of(date(2024, 2, 18))


def test_one_working_day_around_labour_day_2024_uses_both_adjusted_weekend_days() -> None:
    assert due_in_working_days(local(2024, 4, 26, 16, 0), 1) == end_of(date(2024, 4, 28))
    assert due_in_working_days(local(2024, 4, 30, 16, 0), 1) == end_of(date(2024, 5, 6))
    assert due_in_working_days(local(2024, 5, 10, 16, 0), 1) == end_of(date(2024, 5, 11))


def test_one_working_day_from_september_30_2022_lands_on_saturday_october_8() -> None:
    assert due_in_working_days(local(2022, 9, 30, 11, 0), 1) == end_of(date(2022, 10, 8))
    assert due_in_working_days(local(2022, 9, 30, 11, 0), 2) == end_of(date(2022, 10, 9))


def test_working_days_around_qingming_2022_use_the_adjusted_saturday_then_skip_it() -> None:
    assert due_in_working_days(local(2022, 4, 1, 11, 0), 1) == end_of(date(2022, 4, 2))
    assert due_in_working_days(local(2022, 4, 1, 11, 0), 2) == end_of(date(2022, 4, 6))


def test_one_working_day_from_the_eve_of_dragon_boat_2023_lands_on_the_working_sunday() -> None:
    assert due_in_working_days(local(2023, 6, 21, 11, 0), 1) == end_of(date(2023, 6, 25))


def test_working_days_around_spring_festival_2025_follow_the_official_arrangement() -> None:
    # 2025: 01-28..02-04 off; Sun 01-26 and Sat 02-08 working.
    assert due_in_working_days(local(2025, 1, 25, 10, 0), 1) == end_of(date(2025, 1, 26))
    assert due_in_working_days(local(2025, 1, 27, 10, 0), 1) == end_of(date(2025, 2, 5))
    assert due_in_working_days(local(2025, 2, 7, 10, 0), 1) == end_of(date(2025, 2, 8))


def test_working_days_around_spring_festival_2026_follow_the_official_arrangement() -> None:
    # 2026: 02-15..02-23 off (nine days); Sat 02-14 and Sat 02-28 working.
    assert due_in_working_days(local(2026, 2, 13, 10, 0), 1) == end_of(date(2026, 2, 14))
    assert due_in_working_days(local(2026, 2, 14, 10, 0), 1) == end_of(date(2026, 2, 24))
    assert due_in_working_days(local(2026, 2, 27, 10, 0), 1) == end_of(date(2026, 2, 28))


# --------------------------------------------------------------------------- #
# Longer deadlines
# --------------------------------------------------------------------------- #


def test_five_working_days_from_an_ordinary_monday_end_the_following_monday() -> None:
    assert due_in_working_days(local(2023, 3, 6, 10, 0), 5) == end_of(date(2023, 3, 13))


def test_fifteen_working_days_from_an_ordinary_monday_end_three_weeks_later() -> None:
    assert due_in_working_days(local(2023, 3, 6, 10, 0), 15) == end_of(date(2023, 3, 27))


def test_fifteen_working_days_across_national_day_2023_skip_the_golden_week() -> None:
    # 09-26, 09-27, 09-28, 10-07, 10-08, 10-09..10-13, 10-16..10-20.
    assert due_in_working_days(local(2023, 9, 25, 10, 0), 15) == end_of(date(2023, 10, 20))


# --------------------------------------------------------------------------- #
# The day of receipt
# --------------------------------------------------------------------------- #


def test_a_case_received_on_a_holiday_counts_from_the_next_working_day() -> None:
    assert due_in_working_days(local(2023, 10, 1, 10, 0), 1) == end_of(date(2023, 10, 7))


def test_a_case_received_one_second_after_midnight_does_not_count_the_day_of_receipt() -> None:
    assert due_in_working_days(local(2023, 3, 6, 0, 0, 1), 1) == end_of(date(2023, 3, 7))


def test_a_case_received_one_second_before_midnight_counts_from_the_next_day() -> None:
    assert due_in_working_days(local(2023, 3, 6, 23, 59, 59), 1) == end_of(date(2023, 3, 7))
    assert due_in_working_days(local(2023, 1, 20, 23, 59, 59), 1) == end_of(date(2023, 1, 28))


def test_a_case_received_on_an_adjusted_working_saturday_does_not_count_that_saturday() -> None:
    assert due_in_working_days(local(2023, 1, 28, 0, 0, 1), 1) == end_of(date(2023, 1, 29))


def test_a_utc_receipt_time_that_is_already_the_next_local_day_counts_from_the_local_day() -> None:
    # 2023-01-19T17:30Z is Friday 2023-01-20 01:30 in the town.
    received = datetime(2023, 1, 19, 17, 30, tzinfo=UTC)
    assert due_in_working_days(received, 1) == end_of(date(2023, 1, 28))


def test_a_utc_receipt_time_still_on_the_local_thursday_is_due_on_friday() -> None:
    # 2023-01-19T15:30Z is Thursday 2023-01-19 23:30 in the town.
    received = datetime(2023, 1, 19, 15, 30, tzinfo=UTC)
    assert due_in_working_days(received, 1) == end_of(date(2023, 1, 20))


def test_a_receipt_time_in_another_zone_is_judged_by_the_towns_calendar_day() -> None:
    # Thursday 2023-01-19 12:30 in New York is Friday 01:30 in the town.
    received = datetime(2023, 1, 19, 12, 30, tzinfo=NEW_YORK)
    assert due_in_working_days(received, 1) == end_of(date(2023, 1, 28))


def test_naive_receipt_times_are_rejected() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        due_at(datetime(2023, 1, 20, 15, 0), Deadline(working_days=1), CALENDAR)


# --------------------------------------------------------------------------- #
# Hour deadlines
# --------------------------------------------------------------------------- #


def test_a_two_hour_deadline_crosses_midnight_into_a_holiday_by_the_clock() -> None:
    due = due_at(local(2023, 1, 20, 22, 30), Deadline(hours=2), CALENDAR)
    assert due == local(2023, 1, 21, 0, 30)
    assert due.tzinfo is UTC


def test_an_hour_deadline_ignores_holidays_and_weekends() -> None:
    due = due_at(local(2023, 9, 29, 9, 0), Deadline(hours=24), CALENDAR)
    assert due == local(2023, 9, 30, 9, 0)


def test_an_hour_deadline_counts_elapsed_hours_across_a_dst_change() -> None:
    # 2023-03-12 02:00 New York springs forward; 3 elapsed hours from 00:30 is 04:30 EDT.
    due = due_at(datetime(2023, 3, 12, 0, 30, tzinfo=NEW_YORK), Deadline(hours=3), CALENDAR)
    assert due == datetime(2023, 3, 12, 4, 30, tzinfo=NEW_YORK)
    assert due == datetime(2023, 3, 12, 8, 30, tzinfo=UTC)


# --------------------------------------------------------------------------- #
# Extensions
# --------------------------------------------------------------------------- #


def test_an_extension_counts_working_days_after_the_day_of_the_current_deadline() -> None:
    current = end_of(date(2023, 1, 28))
    assert extend_due_at(current, 2, CALENDAR) == end_of(date(2023, 1, 30))


def test_an_extension_from_a_deadline_before_national_day_skips_the_golden_week() -> None:
    current = datetime(2023, 9, 28, 15, 59, 59, tzinfo=UTC)  # 23:59:59 local
    extended = extend_due_at(current, 1, CALENDAR)
    assert extended == end_of(date(2023, 10, 7))
    assert extended.tzinfo is UTC


def test_an_extension_of_zero_working_days_is_rejected() -> None:
    with pytest.raises(ValueError):
        extend_due_at(end_of(date(2023, 3, 6)), 0, CALENDAR)


# --------------------------------------------------------------------------- #
# Working hours between two moments
# --------------------------------------------------------------------------- #


def test_working_hours_within_one_working_day_are_the_elapsed_hours() -> None:
    assert (
        working_hours_between(local(2023, 3, 6, 9, 0), local(2023, 3, 6, 17, 30), CALENDAR) == 8.5
    )


def test_working_hours_across_a_weekend_skip_saturday_and_sunday() -> None:
    # Fri 12:00 -> Mon 12:00: 12 h on Friday + 12 h on Monday.
    hours = working_hours_between(local(2023, 3, 10, 12, 0), local(2023, 3, 13, 12, 0), CALENDAR)
    assert hours == 24.0


def test_working_hours_across_national_day_2023_skip_the_golden_week() -> None:
    # Thu 09-28 18:00 -> Sat 10-07 06:00: 6 h + (09-29..10-06 off) + 6 h.
    hours = working_hours_between(local(2023, 9, 28, 18, 0), local(2023, 10, 7, 6, 0), CALENDAR)
    assert hours == 12.0


def test_working_hours_count_the_adjusted_working_weekend_of_spring_festival_2023() -> None:
    # Fri 01-27 (holiday) 00:00 -> Mon 01-30 00:00: Sat 01-28 and Sun 01-29 are working days.
    hours = working_hours_between(local(2023, 1, 27, 0, 0), local(2023, 1, 30, 0, 0), CALENDAR)
    assert hours == 48.0


def test_working_hours_split_days_by_the_towns_local_midnight_even_for_utc_inputs() -> None:
    # Sun 2023-03-05 16:00Z -> Mon 2023-03-06 02:00Z is Mon 00:00 -> 10:00 local.
    start = datetime(2023, 3, 5, 16, 0, tzinfo=UTC)
    end = datetime(2023, 3, 6, 2, 0, tzinfo=UTC)
    assert working_hours_between(start, end, CALENDAR) == 10.0


def test_working_hours_are_zero_when_the_end_is_not_after_the_start() -> None:
    moment = local(2023, 3, 6, 9, 0)
    assert working_hours_between(moment, moment, CALENDAR) == 0.0
    assert working_hours_between(moment, moment - timedelta(hours=1), CALENDAR) == 0.0


def test_working_hours_over_the_whole_of_2023_are_24_times_its_249_working_days() -> None:
    hours = working_hours_between(local(2023, 1, 1, 0, 0), local(2024, 1, 1, 0, 0), CALENDAR)
    assert hours == 249 * 24


def test_working_hours_over_two_decades_agree_with_chinese_calendars_own_working_day_list() -> None:
    import chinese_calendar

    expected_days = len(chinese_calendar.get_workdays(date(2004, 1, 1), date(2026, 12, 31)))
    hours = working_hours_between(local(2004, 1, 1, 0, 0), local(2027, 1, 1, 0, 0), CALENDAR)
    assert hours == expected_days * 24


# --------------------------------------------------------------------------- #
# Years without official data, and town overrides
# --------------------------------------------------------------------------- #


def test_chinese_calendar_data_covers_2004_to_at_least_2026() -> None:
    years = supported_years()
    assert years.start == 2004
    assert 2026 in years
    assert 2027 not in years
    assert WorkingCalendar().supported_years == years


def test_a_year_without_official_data_falls_back_to_monday_to_friday_and_warns_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    calendar = WorkingCalendar()
    with caplog.at_level(logging.WARNING, logger=LOGGER_NAME):
        # Fri 2027-03-05 -> Mon 2027-03-08.
        assert due_in_working_days(local(2027, 3, 5, 10, 0), 1, calendar) == end_of(
            date(2027, 3, 8)
        )
        # 2027-10-01 is a Friday: without data it counts as an ordinary working day.
        assert calendar.is_working_day(date(2027, 10, 1))
        assert not calendar.is_working_day(date(2027, 10, 2))
        assert due_in_working_days(local(2027, 9, 30, 10, 0), 5, calendar) == end_of(
            date(2027, 10, 7)
        )
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    message = warnings[0].getMessage()
    assert "2027" in message
    assert "town.yaml" in message
    assert "calendar" in message


def test_each_year_without_official_data_warns_separately(caplog: pytest.LogCaptureFixture) -> None:
    calendar = WorkingCalendar()
    with caplog.at_level(logging.WARNING, logger=LOGGER_NAME):
        calendar.is_working_day(date(2027, 6, 1))
        calendar.is_working_day(date(2028, 6, 1))
        calendar.is_working_day(date(2003, 6, 1))
        calendar.is_working_day(date(2027, 6, 2))
    messages = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(messages) == 3
    assert any("2027" in m for m in messages)
    assert any("2028" in m for m in messages)
    assert any("2003" in m for m in messages)


def test_a_year_with_official_data_logs_no_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger=LOGGER_NAME):
        WorkingCalendar().is_working_day(date(2024, 6, 3))
    assert not caplog.records


def test_an_extra_holiday_turns_an_ordinary_weekday_into_a_day_off() -> None:
    calendar = WorkingCalendar(extra_holidays=[date(2023, 3, 8)])
    assert not calendar.is_working_day(date(2023, 3, 8))
    assert due_in_working_days(local(2023, 3, 7, 10, 0), 1, calendar) == end_of(date(2023, 3, 9))


def test_an_extra_workday_turns_a_saturday_into_a_working_day() -> None:
    calendar = WorkingCalendar(extra_workdays=[date(2023, 3, 11)])
    assert calendar.is_working_day(date(2023, 3, 11))
    assert due_in_working_days(local(2023, 3, 10, 10, 0), 1, calendar) == end_of(date(2023, 3, 11))


def test_an_extra_workday_overrides_an_official_holiday() -> None:
    calendar = WorkingCalendar(extra_workdays=[date(2023, 10, 2)])
    assert calendar.is_working_day(date(2023, 10, 2))
    assert due_in_working_days(local(2023, 9, 28, 10, 0), 1, calendar) == end_of(date(2023, 10, 2))


def test_a_town_can_supply_its_own_holidays_for_a_year_without_official_data() -> None:
    calendar = WorkingCalendar(
        extra_holidays=days(date(2027, 10, 1), date(2027, 10, 7)),
        extra_workdays=[date(2027, 9, 26)],
    )
    assert calendar.is_working_day(date(2027, 9, 26))  # a Sunday
    assert due_in_working_days(local(2027, 9, 30, 10, 0), 1, calendar) == end_of(date(2027, 10, 8))


def test_a_day_listed_both_as_extra_holiday_and_extra_workday_is_rejected() -> None:
    with pytest.raises(ValueError, match="2023-03-08"):
        WorkingCalendar(extra_holidays=[date(2023, 3, 8)], extra_workdays=[date(2023, 3, 8)])


def test_datetimes_are_not_accepted_where_calendar_days_are_expected() -> None:
    with pytest.raises(TypeError):
        WorkingCalendar(extra_holidays=[datetime(2023, 3, 8, tzinfo=UTC)])
    with pytest.raises(TypeError):
        CALENDAR.is_working_day(datetime(2023, 3, 8, tzinfo=UTC))


def test_a_calendar_in_another_time_zone_judges_days_in_that_zone() -> None:
    utc_calendar = WorkingCalendar(tz="UTC")
    # 2023-01-19T17:30Z is still Thursday in UTC, so one working day is Friday 01-20 (UTC).
    due = due_at(datetime(2023, 1, 19, 17, 30, tzinfo=UTC), Deadline(working_days=1), utc_calendar)
    assert due == datetime(2023, 1, 20, 23, 59, 59, tzinfo=UTC)


# --------------------------------------------------------------------------- #
# Working-day helpers
# --------------------------------------------------------------------------- #


def test_the_next_working_day_after_spring_festival_eve_2023_is_the_adjusted_saturday() -> None:
    assert CALENDAR.next_working_day(date(2023, 1, 20)) == date(2023, 1, 28)


def test_the_next_working_day_is_strictly_after_a_working_day() -> None:
    assert CALENDAR.next_working_day(date(2023, 3, 6)) == date(2023, 3, 7)


def test_the_nth_working_day_can_cross_into_the_next_year() -> None:
    # 2023-12-29 (Fri); 2023-12-30..2024-01-01 New Year holiday; then 01-02, 01-03.
    assert CALENDAR.working_day_after(date(2023, 12, 29), 1) == date(2024, 1, 2)
    assert CALENDAR.working_day_after(date(2023, 12, 29), 2) == date(2024, 1, 3)


def test_the_nth_working_day_needs_a_positive_n() -> None:
    with pytest.raises(ValueError):
        CALENDAR.working_day_after(date(2023, 3, 6), 0)


# --------------------------------------------------------------------------- #
# The Deadline value object
# --------------------------------------------------------------------------- #


def test_a_deadline_describes_itself_in_plain_words() -> None:
    assert Deadline(working_days=5).describe() == "5 working days"
    assert Deadline(working_days=1).describe() == "1 working day"
    assert Deadline(hours=2).describe() == "2 hours"
    assert Deadline(hours=1).describe() == "1 hour"


@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param({}, id="neither"),
        pytest.param({"working_days": 1, "hours": 2}, id="both"),
        pytest.param({"working_days": 0}, id="zero-days"),
        pytest.param({"hours": -1}, id="negative-hours"),
    ],
)
def test_a_deadline_needs_exactly_one_positive_limit(kwargs: dict[str, int]) -> None:
    with pytest.raises(ValueError):
        Deadline(**kwargs)


def test_a_deadline_rejects_non_integer_limits() -> None:
    with pytest.raises(TypeError):
        Deadline(working_days=True)
    with pytest.raises(TypeError):
        Deadline(hours=1.5)  # type: ignore[arg-type]  # a wrong type on purpose: refused


def test_deadlines_are_immutable_value_objects() -> None:
    deadline = Deadline(working_days=5)
    assert deadline == Deadline(working_days=5)
    with pytest.raises(AttributeError):
        deadline.working_days = 3  # type: ignore[misc]  # on purpose: the object is frozen


# --------------------------------------------------------------------------- #
# Time left and overdue
# --------------------------------------------------------------------------- #


def test_time_left_is_positive_before_the_deadline_and_negative_after_it() -> None:
    due = local(2023, 1, 28, 23, 59, 59)
    assert time_left(due, local(2023, 1, 28, 22, 59, 59)) == timedelta(hours=1)
    assert time_left(due, local(2023, 1, 29, 0, 59, 59)) == timedelta(hours=-1)


def test_time_left_compares_instants_across_time_zones() -> None:
    due = datetime(2023, 1, 28, 15, 59, 59, tzinfo=UTC)
    assert time_left(due, local(2023, 1, 28, 23, 59, 59)) == timedelta(0)


def test_a_case_is_not_overdue_at_the_exact_deadline_but_is_one_microsecond_later() -> None:
    due = local(2023, 1, 28, 23, 59, 59)
    assert not is_overdue(due, due)
    assert not is_overdue(due, due.astimezone(UTC))
    assert is_overdue(due, due + timedelta(microseconds=1))


def test_overdue_checks_reject_naive_times() -> None:
    with pytest.raises(ValueError):
        is_overdue(local(2023, 1, 28, 23, 59, 59), datetime(2023, 1, 29, 0, 0))
    with pytest.raises(ValueError):
        time_left(datetime(2023, 1, 28, 23, 59, 59), local(2023, 1, 29, 0, 0))


# --------------------------------------------------------------------------- #
# Properties
# --------------------------------------------------------------------------- #

ZONES = st.sampled_from(
    [UTC, SHANGHAI, NEW_YORK, ZoneInfo("Europe/London"), timezone(timedelta(hours=-11))]
)
# Include fallback years at both ends (2002-2003, 2027-2029) as well as data years.
MOMENTS = st.datetimes(
    min_value=datetime(2002, 1, 1),
    max_value=datetime(2029, 6, 30),
    timezones=ZONES,
    allow_imaginary=False,
)
WORKING_DAYS = st.integers(min_value=1, max_value=60)
NEW_YORK_CALENDAR = WorkingCalendar(tz="America/New_York")
PROPERTY_CALENDAR = WorkingCalendar(
    extra_holidays=[date(2027, 10, 1), date(2027, 10, 4)], extra_workdays=[date(2027, 9, 26)]
)


def reference_working_hours(start: datetime, end: datetime, calendar: WorkingCalendar) -> float:
    """A slow, obviously correct oracle: walk the local days one by one."""
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    if end <= start:
        return 0.0
    day = start.astimezone(calendar.tz).date()
    total = timedelta(0)
    while True:
        day_start = datetime.combine(day, time(0), tzinfo=calendar.tz).astimezone(UTC)
        next_start = datetime.combine(
            day + timedelta(days=1), time(0), tzinfo=calendar.tz
        ).astimezone(UTC)
        if day_start >= end:
            break
        if calendar.is_working_day(day):
            total += min(end, next_start) - max(start, day_start)
        day += timedelta(days=1)
    return total / timedelta(hours=1)


@settings(max_examples=300)
@given(received_at=MOMENTS, n=WORKING_DAYS)
def test_a_working_day_deadline_always_ends_at_235959_local_on_a_working_day_after_receipt(
    received_at: datetime, n: int
) -> None:
    due = due_in_working_days(received_at, n, PROPERTY_CALENDAR)
    due_local = due.astimezone(SHANGHAI)
    assert due.tzinfo is UTC
    assert due_local.time() == time(23, 59, 59)
    assert due_local.microsecond == 0
    assert PROPERTY_CALENDAR.is_working_day(due_local.date())
    assert due_local.date() > received_at.astimezone(SHANGHAI).date()
    assert due > received_at


@settings(max_examples=200)
@given(received_at=MOMENTS, n=WORKING_DAYS)
def test_a_working_day_deadline_has_exactly_n_working_days_after_the_day_of_receipt(
    received_at: datetime, n: int
) -> None:
    due_day = due_in_working_days(received_at, n, PROPERTY_CALENDAR).astimezone(SHANGHAI).date()
    receipt_day = received_at.astimezone(SHANGHAI).date()
    counted = [
        d
        for d in days(receipt_day + timedelta(days=1), due_day)
        if PROPERTY_CALENDAR.is_working_day(d)
    ]
    assert len(counted) == n
    assert counted[-1] == due_day


@given(received_at=MOMENTS, n=WORKING_DAYS, extra=st.integers(min_value=0, max_value=20))
def test_more_working_days_never_give_an_earlier_deadline(
    received_at: datetime, n: int, extra: int
) -> None:
    earlier = due_in_working_days(received_at, n, PROPERTY_CALENDAR)
    later = due_in_working_days(received_at, n + extra, PROPERTY_CALENDAR)
    assert earlier <= later
    if extra:
        assert earlier < later


@given(first=MOMENTS, second=MOMENTS, n=WORKING_DAYS)
def test_a_later_receipt_never_gives_an_earlier_deadline(
    first: datetime, second: datetime, n: int
) -> None:
    first, second = sorted([first, second], key=utc)
    assert due_in_working_days(first, n, PROPERTY_CALENDAR) <= due_in_working_days(
        second, n, PROPERTY_CALENDAR
    )


@given(received_at=MOMENTS, n=st.integers(min_value=1, max_value=24 * 90))
def test_an_hour_deadline_is_exactly_n_elapsed_hours_after_receipt(
    received_at: datetime, n: int
) -> None:
    due = due_at(received_at, Deadline(hours=n), PROPERTY_CALENDAR)
    assert due.tzinfo is UTC
    assert due - received_at.astimezone(UTC) == timedelta(hours=n)


@given(received_at=MOMENTS, n=WORKING_DAYS, m=WORKING_DAYS)
def test_an_extension_lands_m_working_days_after_the_current_deadline(
    received_at: datetime, n: int, m: int
) -> None:
    current = due_in_working_days(received_at, n, PROPERTY_CALENDAR)
    extended = extend_due_at(current, m, PROPERTY_CALENDAR)
    assert extended == due_in_working_days(received_at, n + m, PROPERTY_CALENDAR)


SPAN_MOMENTS = st.datetimes(
    min_value=datetime(2003, 6, 1),
    max_value=datetime(2027, 6, 30),
    timezones=ZONES,
    allow_imaginary=False,
)


@settings(max_examples=300)
@given(a=SPAN_MOMENTS, b=SPAN_MOMENTS, c=SPAN_MOMENTS)
def test_working_hours_are_additive_over_any_split_point(
    a: datetime, b: datetime, c: datetime
) -> None:
    start, middle, end = sorted([a, b, c], key=utc)
    whole = working_hours_between(start, end, PROPERTY_CALENDAR)
    parts = working_hours_between(start, middle, PROPERTY_CALENDAR) + working_hours_between(
        middle, end, PROPERTY_CALENDAR
    )
    assert whole == pytest.approx(parts, rel=1e-12, abs=1e-9)


@given(a=SPAN_MOMENTS, b=SPAN_MOMENTS)
def test_working_hours_never_exceed_the_wall_clock_hours(a: datetime, b: datetime) -> None:
    start, end = sorted([a, b], key=utc)
    hours = working_hours_between(start, end, PROPERTY_CALENDAR)
    assert 0.0 <= hours <= (utc(end) - utc(start)) / timedelta(hours=1)
    assert working_hours_between(end, start, PROPERTY_CALENDAR) == 0.0


@settings(max_examples=100)
@given(
    start=SPAN_MOMENTS,
    length=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=120)),
)
def test_working_hours_agree_with_a_day_by_day_reference(
    start: datetime, length: timedelta
) -> None:
    end = utc(start) + length
    assert working_hours_between(start, end, PROPERTY_CALENDAR) == pytest.approx(
        reference_working_hours(start, end, PROPERTY_CALENDAR), rel=1e-12, abs=1e-9
    )


@settings(max_examples=50)
@given(
    start=SPAN_MOMENTS,
    length=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=60)),
)
def test_working_hours_in_a_zone_with_dst_agree_with_a_day_by_day_reference(
    start: datetime, length: timedelta
) -> None:
    calendar = NEW_YORK_CALENDAR
    end = utc(start) + length
    assert working_hours_between(start, end, calendar) == pytest.approx(
        reference_working_hours(start, end, calendar), rel=1e-12, abs=1e-9
    )
