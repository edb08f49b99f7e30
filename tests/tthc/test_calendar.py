"""The working-day calendar: holidays, swapped days, office-hour arithmetic."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from tthc.calendar import WorkingCalendar


@pytest.fixture(scope="module")
def calendar():
    return WorkingCalendar.default()


@pytest.mark.parametrize("day", [date(2023, 1, 23), date(2024, 2, 12), date(2025, 1, 29), date(2026, 2, 17)])
def test_tet_is_a_holiday(calendar, day):
    assert not calendar.is_working_day(day)


@pytest.mark.parametrize("day", [date(2023, 1, 22), date(2024, 2, 10), date(2025, 1, 29), date(2026, 2, 17)])
def test_tet_first_day_is_lunar_new_year(calendar, day):
    (info,) = calendar.days(day, day)
    assert info.lunar_date == "01/01" and info.holiday_name and not info.is_working_day


@pytest.mark.parametrize("day", [date(2023, 4, 29), date(2024, 4, 18), date(2025, 4, 7), date(2026, 4, 26)])
def test_hung_kings_day_is_10_3_lunar(calendar, day):
    (info,) = calendar.days(day, day)
    assert info.lunar_date == "10/03" and "Hùng Vương" in info.holiday_name


def test_swapped_saturday_is_a_working_day(calendar):
    (info,) = calendar.days(date(2024, 5, 4), date(2024, 5, 4))
    assert info.is_working_day and "to verify" in info.source
    assert not calendar.is_working_day(date(2024, 4, 29))


def test_add_working_days_across_a_weekend(calendar):
    # Friday 2024-03-15 15:00 + 1 day = Monday 15:00.
    assert calendar.add_working_days(datetime(2024, 3, 15, 15), 1) == datetime(2024, 3, 18, 15)


def test_add_working_days_across_tet(calendar):
    # Wednesday 2024-02-07 15:00; Feb 8-14 are Tết and the weekend: due Thursday 15th.
    assert calendar.add_working_days(datetime(2024, 2, 7, 15), 1) == datetime(2024, 2, 15, 15)


def test_received_after_closing_counts_from_next_opening(calendar):
    assert calendar.add_working_days(datetime(2024, 3, 14, 20, 30), 0.5) == datetime(2024, 3, 15, 11, 0)
    assert calendar.add_working_days(datetime(2024, 3, 15, 7), 1) == datetime(2024, 3, 15, 17)


@pytest.mark.parametrize("days", [0.25, 1, 3.5, 12, 40])
def test_round_trip(calendar, days):
    received = datetime(2023, 12, 28, 10, 17)
    assert calendar.working_days_between(received, calendar.add_working_days(received, days)) == days


def test_days_reports_sources(calendar):
    days = list(calendar.days(date(2024, 1, 1), date(2024, 1, 7)))
    assert [d.is_working_day for d in days] == [False, True, True, True, True, False, False]
    assert days[0].source.startswith("holidays") and days[5].source == "weekend"
