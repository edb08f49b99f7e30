"""Citizen feedback (PAKN): extract a window, land it, check it, merge it into core, hourly."""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import Param, dag, get_current_context, task
from airflow.timetables.interval import CronDataIntervalTimetable

from tthc.assets import CORE_FEEDBACK, SOURCE_POOL
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
    @task
    def plan_windows() -> list[dict[str, str]]:
        from tthc.tasks import lookback, plan_windows
        from tthc.windows import extraction_window

        context = get_current_context()
        window = extraction_window(
            context["params"], context.get("data_interval_start"), context.get("data_interval_end"), lookback()
        )
        return plan_windows(window)

    @task(pool=SOURCE_POOL)
    def extract_feedback(window: dict[str, str]) -> int:
        from tthc.tasks import extract

        return extract("feedback", window, get_current_context()["run_id"])

    @task(outlets=[CORE_FEEDBACK])
    def load_feedback(batch_id: int) -> dict:
        from tthc.tasks import load

        audit = load(batch_id)
        get_current_context()["outlet_events"][CORE_FEEDBACK].extra = {"batch_id": batch_id, **audit}
        return audit

    load_feedback.expand(batch_id=extract_feedback.expand(window=plan_windows()))


tthc_feedback()
