"""Which window a run extracts and which periods it refreshes."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from types import SimpleNamespace

import pytest

from tthc.settings import LOCAL_TZ
from tthc.windows import Window, extraction_window, parse_moment, refresh_range


def test_scheduled_run_extracts_its_interval_widened_by_the_lookback():
    start = datetime(2024, 3, 1, 9, tzinfo=LOCAL_TZ)
    window = extraction_window({}, start, start + timedelta(hours=1), timedelta(minutes=15))
    assert window.start == start - timedelta(minutes=15)
    assert window.end == start + timedelta(hours=1)


def test_run_conf_window_wins_and_naive_dates_are_local_time():
    window = extraction_window(
        {"start": "2023-01-01", "end": "2023-03-15"}, None, None, timedelta(minutes=15)
    )
    assert window.start == datetime(2023, 1, 1, tzinfo=LOCAL_TZ)
    assert window.end == datetime(2023, 3, 15, tzinfo=LOCAL_TZ)


def test_a_run_without_interval_or_conf_is_refused():
    with pytest.raises(ValueError, match="no window"):
        extraction_window({}, None, None, timedelta(0))


def test_windows_cut_at_local_month_boundaries_cover_the_window_once():
    window = Window(parse_moment("2023-01-20T10:00"), parse_moment("2023-04-02"))
    parts = list(window.monthly())
    assert [p.start for p in parts] == [
        parse_moment(v) for v in ("2023-01-20T10:00", "2023-02-01", "2023-03-01", "2023-04-01")
    ]
    assert all(a.end == b.start for a, b in zip(parts, parts[1:], strict=False))
    assert parts[-1].end == window.end


def test_empty_windows_are_refused():
    with pytest.raises(ValueError, match="empty window"):
        Window(parse_moment("2023-02-01"), parse_moment("2023-02-01"))


def test_asset_triggered_refresh_spans_the_events_windows():
    events = {
        "tthc_core_dossiers": [
            SimpleNamespace(
                extra={"window_start": "2024-03-01T00:00:00+07:00", "window_end": "2024-03-01T10:00:00+07:00"}
            ),
            SimpleNamespace(
                extra={"window_start": "2023-12-31T23:45:00+07:00", "window_end": "2024-01-01T00:00:00+07:00"}
            ),
        ]
    }
    assert refresh_range({}, events) == (date(2023, 12, 31), date(2024, 3, 2))


def test_refresh_without_conf_or_event_windows_is_refused():
    with pytest.raises(ValueError, match="nothing to refresh"):
        refresh_range({}, {"tthc_core_dossiers": [SimpleNamespace(extra={})]})
