"""Working-day calendar of Vietnamese public administration.

Public holidays (lunar ones included) come from the maintained ``holidays`` package; what the
government announces year by year (compensatory days off, Saturdays swapped into working days)
comes from ``include/reference/calendar_overrides.csv``, each row with its source.

Working time is counted on office hours only (07:00-11:30 and 13:30-17:00, 8 hours a day), so
that "N working days" means N x 8 office hours, as the one-stop-shop rules count it.
"""

from __future__ import annotations

import csv
import functools
from bisect import bisect_left
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path

import holidays
from lunardate import LunarDate

OVERRIDES_CSV = Path(__file__).resolve().parents[2] / "include" / "reference" / "calendar_overrides.csv"

MORNING = (time(7, 0), time(11, 30))
AFTERNOON = (time(13, 30), time(17, 0))
_MORNING_MINUTES = 270
_DAY_MINUTES = 480
_DAY_SECONDS = _DAY_MINUTES * 60
_HOLIDAYS_SOURCE = f"holidays {holidays.__version__} (VN)"


@dataclass(frozen=True)
class CalendarDay:
    day: date
    is_working_day: bool
    holiday_name: str | None
    lunar_date: str  # 'dd/mm' of the lunar calendar
    source: str  # where the day's status comes from


class WorkingCalendar:
    """Working days between ``first_year`` and ``last_year`` (inclusive)."""

    def __init__(self, first_year: int, last_year: int, overrides_csv: Path = OVERRIDES_CSV) -> None:
        self.first = date(first_year, 1, 1)
        self.last = date(last_year, 12, 31)
        self._holidays = dict(
            holidays.country_holidays("VN", years=range(first_year, last_year + 1), language="vi")
        )
        self._overrides: dict[date, tuple[bool, str, str]] = {}
        with overrides_csv.open(encoding="utf-8") as rows:
            for row in csv.DictReader(rows):
                day = date.fromisoformat(row["day"])
                self._overrides[day] = (row["kind"] == "working_day", row["name"], row["source"])
        # Working days as ordinals, for O(log n) positioning of any instant on the working-time axis.
        self._working: list[int] = [
            ordinal
            for ordinal in range(self.first.toordinal(), self.last.toordinal() + 1)
            if self._status(date.fromordinal(ordinal))[0]
        ]
        self._working_set = frozenset(self._working)

    @classmethod
    @functools.cache
    def default(cls) -> WorkingCalendar:
        return cls(2000, 2030)

    def _status(self, day: date) -> tuple[bool, str | None, str]:
        if day in self._overrides:
            working, name, source = self._overrides[day]
            return working, (None if working else name), source
        if day in self._holidays:
            return False, self._holidays[day], _HOLIDAYS_SOURCE
        if day.weekday() >= 5:
            return False, None, "weekend"
        return True, None, "weekday"

    def _check(self, day: date) -> None:
        if not self.first <= day <= self.last:
            raise ValueError(f"{day} is outside the calendar ({self.first}..{self.last})")

    def is_working_day(self, day: date) -> bool:
        self._check(day)
        return day.toordinal() in self._working_set

    def _position(self, moment: datetime) -> int:
        """Office seconds elapsed since the calendar's first working day opened."""
        self._check(moment.date())
        ordinal = moment.toordinal()
        index = bisect_left(self._working, ordinal)
        if index == len(self._working) or self._working[index] != ordinal:
            return index * _DAY_SECONDS  # a day off: counts from the next working day's opening
        seconds = moment.hour * 3600 + moment.minute * 60 + moment.second
        morning = min(max(seconds - 7 * 3600, 0), _MORNING_MINUTES * 60)
        afternoon = min(max(seconds - (13 * 3600 + 1800), 0), (_DAY_MINUTES - _MORNING_MINUTES) * 60)
        return index * _DAY_SECONDS + morning + afternoon

    def _moment(self, position: int) -> datetime:
        index, offset = divmod(position, _DAY_SECONDS)
        if offset == 0 and index > 0:
            # The end of a working day, not the opening of the next one: a one-day limit set at
            # 07:00 is due at 17:00 the same day.
            index, offset = index - 1, _DAY_SECONDS
        day = datetime.combine(date.fromordinal(self._working[index]), time())
        if offset <= _MORNING_MINUTES * 60:
            return day + timedelta(hours=7, seconds=offset)
        return day + timedelta(hours=13, minutes=30, seconds=offset - _MORNING_MINUTES * 60)

    def add_working_days(self, received: datetime, days: float) -> datetime:
        """The promised moment: ``days`` working days of office time after ``received``."""
        return self._moment(self._position(received) + round(days * _DAY_SECONDS))

    def working_days_between(self, start: datetime, end: datetime) -> float:
        """Office time from ``start`` to ``end`` in working days (negative if ``end`` is earlier)."""
        return (self._position(end) - self._position(start)) / _DAY_SECONDS

    def days(self, first: date, last: date) -> Iterator[CalendarDay]:
        self._check(first)
        self._check(last)
        for ordinal in range(first.toordinal(), last.toordinal() + 1):
            day = date.fromordinal(ordinal)
            working, name, source = self._status(day)
            lunar = LunarDate.from_solar_date(day.year, day.month, day.day)
            yield CalendarDay(day, working, name, f"{lunar.day:02d}/{lunar.month:02d}", source)
