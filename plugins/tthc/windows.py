"""Which window of source time a run extracts.

A scheduled run takes its data interval, widened backwards by the connection's lookback (the
source commits late: a record stamped 10:58 may only be visible at 11:05). A run given
``{"start": ..., "end": ...}`` takes exactly that window. Long windows are cut into months so that
one batch stays a reasonable unit of work to validate, load and replay.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from tthc.settings import LOCAL_TZ


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("window bounds must be timezone-aware")
        if self.end <= self.start:
            raise ValueError(f"empty window: {self.start.isoformat()} .. {self.end.isoformat()}")

    def monthly(self) -> Iterator[Window]:
        """The window cut at local month boundaries."""
        cursor = self.start
        while cursor < self.end:
            local = cursor.astimezone(LOCAL_TZ)
            next_month = (
                local.replace(day=1, hour=0, minute=0, second=0, microsecond=0) + timedelta(days=32)
            ).replace(day=1)
            boundary = min(next_month, self.end)
            yield Window(cursor, boundary)
            cursor = boundary

    def as_dict(self) -> dict[str, str]:
        return {"start": self.start.isoformat(), "end": self.end.isoformat()}


def parse_moment(value: str | datetime) -> datetime:
    """An ISO date or date-time; naive values are Vietnamese local time."""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment if moment.tzinfo else moment.replace(tzinfo=LOCAL_TZ)


def extraction_window(
    params: Mapping[str, Any],
    data_interval_start: datetime | None,
    data_interval_end: datetime | None,
    lookback: timedelta,
) -> Window:
    if params.get("start") and params.get("end"):
        return Window(parse_moment(params["start"]), parse_moment(params["end"]))
    if data_interval_start is None or data_interval_end is None:
        raise ValueError('no window: give the run conf {"start": ..., "end": ...} or run it on a schedule')
    return Window(data_interval_start - lookback, data_interval_end)


def refresh_range(params: Mapping[str, Any], asset_events: Mapping[Any, Any]) -> tuple[date, date]:
    """The days whose indicators a run must recompute: the run conf's, else the span of the
    windows named by the triggering asset events (each event's extra carries its batch window)."""
    if params.get("start") and params.get("end"):
        return parse_moment(params["start"]).date(), parse_moment(params["end"]).date()
    starts, ends = [], []
    for events in asset_events.values():
        for event in events:
            extra = event.extra or {}
            if extra.get("window_start") and extra.get("window_end"):
                starts.append(parse_moment(extra["window_start"]).astimezone(LOCAL_TZ).date())
                ends.append(parse_moment(extra["window_end"]).astimezone(LOCAL_TZ).date() + timedelta(days=1))
    if not starts:
        raise ValueError('nothing to refresh: no run conf {"start", "end"} and no asset event with a window')
    return min(starts), max(ends)
