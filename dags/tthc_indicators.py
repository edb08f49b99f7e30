"""Indicators: recompute mart.indicator_value for the periods that the loads changed."""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import Param, dag, get_current_context, task

from tthc import dag_policy
from tthc.assets import CORE_DOSSIERS, CORE_FEEDBACK, MART_INDICATORS

DOC = """
### Indicators (mart)

Runs whenever a dossier or feedback load lands (asset events `tthc_core_dossiers`,
`tthc_core_feedback`). Asset-triggered runs have no data interval: the range to refresh comes from
the events' `window_start`/`window_end`; `include/sql/marts/refresh_scope.sql` turns it into the
months whose dossiers changed and the quarter, half and year around each, recomputed from all
their months. Several runs may be queued (one per load event); they refresh one at a time.
Manual run / full rebuild of any range: conf `{"start": "2023-01-01", "end": "2025-01-01"}`.

Writes `mart.indicator_value` (definitions: `docs/indicators.md`, SQL: `include/sql/marts/`) in one
transaction per refresh: BI readers never see a half-written period.

#### When it fails

* **refresh_indicators** (retried once): nothing of a failed refresh is written, the mart keeps the
  figures of the last good one. `nothing to refresh` means a run with neither a conf window nor an
  asset event carrying one (a manual trigger without conf: give `{"start": ..., "end": ...}`).
  Other errors (the warehouse unreachable, `ConfigurationError` for `tthc_warehouse`, an SQL error
  in `include/sql/marts/`) are in the task log. The batches the failed run would have covered stay
  in `quality.unrefreshed_batch`; the next asset-triggered run covers them, or trigger the DAG
  with conf spanning their windows. `tthc_freshness` alerts when they wait too long.
* **check_mart** (`MartInvariantError`, not retried: the verdict would not change): what the
  refresh wrote breaks an invariant of `expectations/mart.json` (a bug in the mart SQL, or in
  `core` upstream). The alert lists the rules and rows and links the Data Docs page
  (`.airflow/data_docs/index.html`); the result is also in
  `SELECT results FROM quality.validation_result WHERE stage = 'mart' ORDER BY validation_id DESC LIMIT 1`.
  Fix the SQL, then trigger the DAG with conf for the affected range: a refresh recomputes its
  periods from `core` whole, so re-running it is always safe.
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
    tags=dag_policy.tags("indicators", "mart"),
    doc_md=DOC,
    params={
        "start": Param(None, type=["null", "string"], description="first day to refresh (ISO date)"),
        "end": Param(None, type=["null", "string"], description="day after the last one to refresh"),
    },
    default_args=dag_policy.default_args(retries=1),
)
def tthc_indicators():
    @task(outlets=[MART_INDICATORS])
    def refresh_indicators() -> int:
        from tthc.tasks import refresh_indicators_for

        context = get_current_context()
        return refresh_indicators_for(context["params"], context.get("triggering_asset_events") or {})

    @task  # a broken invariant raises AirflowFailException: no retry, one alert
    def check_mart() -> dict:
        """The invariants of expectations/mart.json on what the refresh wrote; a break fails and alerts."""
        from tthc.tasks import check_mart

        return check_mart()

    refresh_indicators() >> check_mart()


tthc_indicators()
