"""Citizen feedback (PAKN): extract a window, land it, check it, merge it into core, hourly."""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import Param, dag
from airflow.timetables.interval import CronDataIntervalTimetable

from tthc.assets import CORE_FEEDBACK
from tthc.dag_parts import windowed_extract_and_load
from tthc.quality.alerts import failure_notifier

DOC = """
### Citizen feedback (phản ánh, kiến nghị), hourly

Same path as `tthc_dossiers`, for `/api/v1/phananh` into `core.fact_feedback`, checked by
`expectations/feedback.staging.json`. Feeds the PAKN indicators (`PAKN_ON_TIME`,
`PAKN_SATISFACTION`) and dossier satisfaction. Trigger with conf `{"start": ..., "end": ...}` for
any window; re-runs are idempotent.
"""


@dag(
    dag_id="tthc_feedback",
    schedule=CronDataIntervalTimetable("0 * * * *", timezone="Asia/Ho_Chi_Minh"),
    start_date=datetime(2023, 1, 1),
    catchup=False,
    max_active_runs=2,
    tags=["tthc", "feedback"],
    doc_md=DOC,
    params={
        "start": Param(None, type=["null", "string"], description="window start (ISO date/time, local time)"),
        "end": Param(None, type=["null", "string"], description="window end, exclusive"),
    },
    # One alert per failure, after the last retry (no on_retry_callback on purpose).
    default_args={"retries": 2, "on_failure_callback": [failure_notifier()]},
)
def tthc_feedback():
    windowed_extract_and_load("feedback", "feedback", CORE_FEEDBACK)


tthc_feedback()
