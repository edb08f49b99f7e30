"""Schedules that follow the working-day calendar (``tthc.calendar``), for the DAG files.

``WorkingDayTimetable(at="07:00")`` runs a DAG at ``at`` local time on every working day of
Vietnamese public administration: weekdays less the public holidays (lunar ones included) and the
announced days off, plus the Saturdays swapped into working days. A cron expression cannot say
that.

Airflow (3.x) needs a custom timetable registered by a plugin: the DAG processor serializes the
DAG with the timetable's import path, and the scheduler (and the API server) rebuild it from that
path only if a loaded plugin lists the class (``AirflowPlugin.timetables``). The plugin is
``plugins/tthc_plugin.py``; ``plugins/`` is the plugins folder of every Airflow process the
project starts (``tthc.devstack.airflow_env``, the containers' mount). After changing this module,
restart the scheduler, the DAG processor and the API server: plugins load once per process.

It is a trigger timetable, like Airflow's ``CronTriggerTimetable``: a run's logical date is the
moment it runs for (07:00 of its working day), its data interval has no length, and with
``catchup=False`` a scheduler that was down runs only the latest missed day. The calendar is the
one ``core.dim_date`` is loaded from, read from the package (no warehouse call in the scheduler).
"""

from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import pendulum
from airflow.timetables.base import DagRunInfo, DataInterval, Timetable

from tthc.calendar import WorkingCalendar
from tthc.settings import LOCAL_TZ_NAME

if TYPE_CHECKING:
    from airflow.timetables.base import TimeRestriction
    from pendulum import DateTime

log = logging.getLogger(__name__)

# How far to look for the next working day: Tết with its weekends is the longest break (9 days).
_MAX_DAYS_OFF = 31


class WorkingDayTimetable(Timetable):
    """One run at ``at`` (HH:MM, local time ``timezone``) on each working day of the calendar."""

    def __init__(self, at: str = "07:00", timezone: str = LOCAL_TZ_NAME) -> None:
        self.at = time.fromisoformat(at)
        self.timezone = timezone
        self._tz = ZoneInfo(timezone)
        self.description = f"At {self.at:%H:%M} ({timezone}) on working days (tthc.calendar)"

    @property
    def summary(self) -> str:
        return f"{self.at:%H:%M} working days"

    def serialize(self) -> dict[str, Any]:
        return {"at": f"{self.at:%H:%M}", "timezone": self.timezone}

    @classmethod
    def deserialize(cls, data: dict[str, Any]) -> WorkingDayTimetable:
        return cls(at=data["at"], timezone=data["timezone"])

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, WorkingDayTimetable):
            return NotImplemented
        return (self.at, self.timezone) == (other.at, other.timezone)

    def __hash__(self) -> int:
        return hash((self.at, self.timezone))

    # The working-day slots -----------------------------------------------------------------

    def _slot(self, day: date) -> DateTime:
        return pendulum.instance(datetime.combine(day, self.at, tzinfo=self._tz)).in_timezone("UTC")

    @staticmethod
    def is_working_day(day: date) -> bool:
        return WorkingCalendar.default().is_working_day(day)

    def _working_slot(self, day: date, step: int) -> DateTime | None:
        """The slot of ``day`` if it is a working day, else of the nearest one in direction
        ``step`` (+1 later, -1 earlier); None beyond the calendar's years."""
        for _ in range(_MAX_DAYS_OFF):
            try:
                if self.is_working_day(day):
                    return self._slot(day)
            except ValueError:  # outside the calendar (tthc.calendar.WorkingCalendar.default)
                log.warning("%s is outside the working-day calendar: no run scheduled", day)
                return None
            day += timedelta(days=step)
        return None

    def align_to_next(self, moment: datetime) -> DateTime | None:
        """The first slot at or after ``moment``."""
        local = moment.astimezone(self._tz)
        day = local.date() if local.time() <= self.at else local.date() + timedelta(days=1)
        return self._working_slot(day, +1)

    def align_to_prev(self, moment: datetime) -> DateTime | None:
        """The last slot at or before ``moment``."""
        local = moment.astimezone(self._tz)
        day = local.date() if local.time() >= self.at else local.date() - timedelta(days=1)
        return self._working_slot(day, -1)

    def following(self, moment: datetime) -> DateTime | None:
        """The first slot strictly after ``moment``."""
        slot = self.align_to_next(moment)
        if slot is not None and slot <= moment:
            slot = self.align_to_next(moment + timedelta(minutes=1))
        return slot

    # Airflow's Timetable protocol --------------------------------------------------------------

    def infer_manual_data_interval(self, *, run_after: DateTime) -> DataInterval:
        return DataInterval.exact(run_after)

    def next_dagrun_info(
        self,
        *,
        last_automated_data_interval: DataInterval | None,
        restriction: TimeRestriction,
    ) -> DagRunInfo | None:
        if restriction.catchup:
            if last_automated_data_interval is not None:
                next_start = self.following(last_automated_data_interval.end)
            elif restriction.earliest is None:
                next_start = self.align_to_next(pendulum.now("UTC"))
            else:
                next_start = self.align_to_next(restriction.earliest)
        else:
            # As CronTriggerTimetable: the latest slot already due, unless one after the last run
            # or the start date is later.
            candidates = [self.align_to_prev(pendulum.now("UTC"))]
            if last_automated_data_interval is not None:
                candidates.append(self.following(last_automated_data_interval.end))
            if restriction.earliest is not None:
                candidates.append(self.align_to_next(restriction.earliest))
            known = [c for c in candidates if c is not None]
            if last_automated_data_interval is not None:
                known = [c for c in known if c > last_automated_data_interval.end]
            next_start = max(known) if known else None
        if next_start is None:
            return None
        if restriction.latest is not None and restriction.latest < next_start:
            return None
        return DagRunInfo.exact(next_start)
