"""Freshness: alert when no new dossier has arrived for too long during working hours, hourly."""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import Param, dag, get_current_context, task

from tthc.quality.alerts import failure_notifier

DOC = """
### Freshness (hourly)

Counts the office hours of working days (`core.dim_date`, office hours and threshold in
`include/reference/quality_thresholds.json` → `freshness`) since the newest dossier in
`core.fact_dossier`; above the threshold, one alert per silence (e-mail `smtp_default`, webhook
`tthc_alert_webhook`), remembered in `quality.freshness_alert`. Conf `{"now": "..."}` checks as of
another moment (tests, replays).
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
        from tthc.quality.freshness import LOCAL_TZ, check_freshness

        now = get_current_context()["params"].get("now")
        moment = datetime.fromisoformat(now).replace(tzinfo=LOCAL_TZ) if now else None
        return check_freshness(warehouse.warehouse_conninfo(), moment)

    check_freshness()


tthc_freshness()
