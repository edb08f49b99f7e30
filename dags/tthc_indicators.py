"""Indicators: recompute mart.indicator_value for the periods that the loads changed."""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import Param, dag, get_current_context, task

from tthc.assets import CORE_DOSSIERS, CORE_FEEDBACK, MART_INDICATORS
from tthc.quality.alerts import failure_notifier

DOC = """
### Indicators (mart)

Runs whenever a dossier or feedback load lands (asset events `tthc_core_dossiers`,
`tthc_core_feedback`). Asset-triggered runs have no data interval: the range to refresh comes from
the events' `window_start`/`window_end`; `include/sql/marts/refresh_scope.sql` turns it into the
months whose dossiers changed and the quarter, half and year around each, recomputed from all
their months. Several runs may be queued (one per load event); they refresh one at a time.
Manual run / full rebuild of any range: conf `{"start": "2023-01-01", "end": "2025-01-01"}`.

Writes `mart.indicator_value` (definitions: `indicators.md`, SQL: `include/sql/marts/`) in one
transaction per refresh: BI readers never see a half-written period.
"""


@dag(
    dag_id="tthc_indicators",
    schedule=(CORE_DOSSIERS | CORE_FEEDBACK),
    start_date=datetime(2023, 1, 1),
    catchup=False,
    # Not 1: with max_active_runs=1, asset events that arrive while a run is queued or running are
    # dropped but for the oldest (apache/airflow#56050), and loads of several months now finish
    # within milliseconds of each other. Refreshes still run one at a time: the refresh takes a
    # transaction-level advisory lock (include/sql/marts/refresh_scope.sql).
    max_active_runs=4,
    tags=["tthc", "indicators", "mart"],
    doc_md=DOC,
    params={
        "start": Param(None, type=["null", "string"], description="first day to refresh (ISO date)"),
        "end": Param(None, type=["null", "string"], description="day after the last one to refresh"),
    },
    # One alert per failure, after the last retry (no on_retry_callback on purpose).
    default_args={"retries": 1, "on_failure_callback": [failure_notifier()]},
)
def tthc_indicators():
    @task(outlets=[MART_INDICATORS])
    def refresh_indicators() -> int:
        from tthc.tasks import refresh_indicators
        from tthc.windows import refresh_range

        context = get_current_context()
        first, last_exclusive = refresh_range(context["params"], context.get("triggering_asset_events") or {})
        # An event-driven run also covers loaded batches whose own event was lost (mart.refreshed_batch).
        by_conf = bool(context["params"].get("start") and context["params"].get("end"))
        return refresh_indicators(first, last_exclusive, include_pending=not by_conf)

    @task  # a broken invariant raises AirflowFailException: no retry, one alert
    def check_mart() -> dict:
        """The invariants of expectations/mart.json on what the refresh wrote; a break fails and alerts."""
        from tthc import warehouse
        from tthc.quality.mart import check_mart

        return check_mart(warehouse.warehouse_conninfo())

    refresh_indicators() >> check_mart()


tthc_indicators()
