"""The DAG tasks as plain functions: what each hands to the stage below, from the plain values the
DAG files take out of Airflow's context."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from pipeline_support import warehouse_connection_json

from tthc import tasks
from tthc.tasks import calendar_span


def test_calendar_span_reaches_the_end_of_the_year_after_next():
    # A dossier received in late December is due in the next year; its holidays must be known.
    assert calendar_span(date(2026, 12, 1)) == (date(2000, 1, 1), date(2028, 12, 31))
    assert calendar_span(date(2027, 1, 1))[1] == date(2029, 12, 31)


@pytest.fixture
def source_with_lookback(monkeypatch):
    monkeypatch.setenv(
        "AIRFLOW_CONN_TTHC_SOURCE",
        json.dumps(
            {
                "conn_type": "http",
                "host": "source.example.test",
                "schema": "https",
                "login": "client",
                "password": "secret",
                "extra": {"lookback_minutes": 30},
            }
        ),
    )


def test_a_run_with_a_conf_window_extracts_it_month_by_month(source_with_lookback):
    windows = tasks.run_windows({"start": "2024-01-15", "end": "2024-03-01"}, None, None)
    assert [(w["start"][:10], w["end"][:10]) for w in windows] == [
        ("2024-01-15", "2024-02-01"),
        ("2024-02-01", "2024-03-01"),
    ]


def test_a_scheduled_run_extracts_its_interval_widened_by_the_lookback(source_with_lookback):
    start = datetime(2024, 5, 6, 9, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))
    [window] = tasks.run_windows({}, start, start + timedelta(hours=1))
    assert datetime.fromisoformat(window["start"]) == start - timedelta(minutes=30)
    assert datetime.fromisoformat(window["end"]) == start + timedelta(hours=1)


@pytest.fixture
def refreshes(monkeypatch) -> list[tuple]:
    calls: list[tuple] = []
    monkeypatch.setattr(
        tasks,
        "refresh_indicators",
        lambda first, last, include_pending=False: calls.append((first, last, include_pending)) or 7,
    )
    return calls


def test_a_refresh_by_conf_covers_its_range_only(refreshes):
    assert tasks.refresh_indicators_for({"start": "2023-01-01", "end": "2024-01-01"}, {}) == 7
    assert refreshes == [(date(2023, 1, 1), date(2024, 1, 1), False)]


def test_a_refresh_by_asset_events_covers_their_windows_and_the_batches_still_waiting(refreshes):
    events = {
        "tthc_core_dossiers": [
            SimpleNamespace(
                extra={"window_start": "2024-02-01T00:00:00+07:00", "window_end": "2024-03-01T00:00:00+07:00"}
            ),
            SimpleNamespace(
                extra={"window_start": "2024-01-10T00:00:00+07:00", "window_end": "2024-01-20T00:00:00+07:00"}
            ),
        ]
    }
    tasks.refresh_indicators_for({"start": None, "end": None}, events)
    assert refreshes == [(date(2024, 1, 10), date(2024, 3, 2), True)]


def test_the_report_is_mailed_only_with_recipients_and_an_smtp_connection(monkeypatch):
    monkeypatch.delenv("AIRFLOW_CONN_SMTP_DEFAULT", raising=False)
    assert tasks.report_not_mailed_because(None) == "no mail_to given"
    assert tasks.report_not_mailed_because(" , ") == "no mail_to given"
    assert tasks.report_not_mailed_because("a@example.test") == "no smtp_default connection"
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", json.dumps({"conn_type": "smtp", "host": "127.0.0.1"}))
    assert tasks.report_not_mailed_because("a@example.test") is None


def test_the_report_mail_carries_the_files_and_names_unit_and_period(monkeypatch):
    import tthc.report.mail

    sent = []
    monkeypatch.setattr(
        tthc.report.mail,
        "send_report",
        lambda recipients, subject, paths: sent.append((recipients, subject, paths)) or True,
    )
    paths = {"html": "/reports/H35.112_2024-H1.html", "pdf": "/reports/H35.112_2024-H1.pdf"}
    assert tasks.mail_report(paths, "H35.112", "2024-H1", "a@example.test, b@example.test") is True
    [(recipients, subject, files)] = sent
    assert recipients == ["a@example.test", " b@example.test"]  # send_report strips them
    assert subject == "Báo cáo TTHC H35.112 2024-H1"
    assert files == {kind: Path(path) for kind, path in paths.items()}


@pytest.fixture(scope="module")
def empty_warehouse(make_database) -> str:
    return make_database("tasks")


@pytest.fixture
def on_empty_warehouse(empty_warehouse, monkeypatch, tmp_path) -> Path:
    """The tasks' warehouse connection pointed at a migrated, empty warehouse; files go to tmp_path."""
    monkeypatch.setenv("AIRFLOW_CONN_TTHC_WAREHOUSE", warehouse_connection_json(empty_warehouse))
    monkeypatch.setenv("TTHC_DATA_DOCS_DIR", str(tmp_path / "data_docs"))
    monkeypatch.setenv("TTHC_REPORT_DIR", str(tmp_path / "reports"))
    monkeypatch.delenv("AIRFLOW_CONN_SMTP_DEFAULT", raising=False)
    monkeypatch.delenv("AIRFLOW_CONN_TTHC_ALERT_WEBHOOK", raising=False)
    return tmp_path


@pytest.mark.integration
def test_the_quality_tasks_read_the_configured_warehouse(on_empty_warehouse):
    assert tasks.check_freshness(None) == {"lai_chau": {"fresh": None, "reason": "no dossier in core yet"}}
    assert tasks.check_mart_freshness("2024-07-01T09:00:00") == {
        "fresh": True,
        "waiting_batches": 0,
        "alerted": False,
    }
    assert tasks.retry_waiting() is None  # nothing waits for reference data
    summary = tasks.check_mart()
    assert summary["success"] is True and summary["failing_rules"] == {}


@pytest.mark.integration
def test_the_report_task_writes_the_files_it_names(on_empty_warehouse):
    paths = tasks.render_report(" H35.112 ", "2024-H1")
    assert Path(paths["html"]) == on_empty_warehouse / "reports" / "H35.112_2024-H1.html"
    assert all(Path(path).is_file() for path in paths.values())
