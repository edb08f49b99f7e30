"""Freshness, hourly: alert when no new dossier has arrived for too long during working hours, and
when the indicators have fallen behind the loaded batches."""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import Param, dag, get_current_context, task

from tthc.quality.alerts import failure_notifier

DOC = """
### Freshness (hourly)

**check_freshness**: counts the office hours of working days (`core.dim_date`, office hours and threshold in
`include/reference/quality_thresholds.json` → `freshness`) since the newest dossier in
`core.fact_dossier`; above the threshold, one alert per silence (e-mail `smtp_default`, webhook
`tthc_alert_webhook`), remembered in `quality.freshness_alert`.

**check_mart_freshness**: the loaded batches of dossiers and PAKN that no indicator refresh has
covered yet (`quality.unrefreshed_batch`). When the oldest has waited longer than
`mart_freshness.max_lag_minutes` (default 120), one alert per oldest waiting batch. It means the
`tthc_indicators` DAG is not running (paused, failing): fix it, then any asset-triggered run (the
next load's) covers every waiting batch, or trigger it with conf `{"start": ..., "end": ...}`.

Conf `{"now": "..."}` checks as of another moment (tests, replays).
"""


@dag(
    dag_id="tthc_freshness",
    schedule="0 * * * *",
    start_date=datetime(2023, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=["tthc", "quality"],
    doc_md=DOC,
    params={"now": Param(None, type=["null", "string"], description="check as of (ISO date/time, local time)")},
    default_args={"retries": 1, "on_failure_callback": [failure_notifier()]},
)
def tthc_freshness():
    @task
    def check_freshness() -> dict:
        from tthc import warehouse
        from tthc.quality.freshness import check_freshness, checked_at

        as_of = checked_at(get_current_context()["params"].get("now"))
        return check_freshness(warehouse.warehouse_conninfo(), as_of)

    @task
    def check_mart_freshness() -> dict:
        from tthc import warehouse
        from tthc.quality.freshness import check_mart_freshness, checked_at

        as_of = checked_at(get_current_context()["params"].get("now"))
        return check_mart_freshness(warehouse.warehouse_conninfo(), as_of)

    check_freshness()
    check_mart_freshness()


tthc_freshness()
