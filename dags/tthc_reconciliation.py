"""Reconciliation: the warehouse against the source's own daily counts, per unit and day."""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import Param, dag, get_current_context, task

from tthc.assets import SOURCE_POOL
from tthc.quality.alerts import failure_notifier

DOC = """
### Reconciliation with the source's counts, daily

Reads `/api/v1/thongke/hoso` (dossiers received and finished per competent unit and day, as the
source counts them) for the last `days` days and compares it with the warehouse: live facts in
`core.fact_dossier` **plus** records still in `quality.quarantine` (the source counts those too).
Every comparison is kept in `quality.reconciliation`.

The task **fails** (and so alerts) when a unit-day differs by more than `max_share` of the source's
count (default 1%) and more than `max_absolute` dossiers (default 0). The log lists the unit-days.
Usual causes: a window not extracted yet (run `tthc_dossiers` for it), a load that failed, records
quarantined without a key. Re-run after fixing: the check only reads.
"""


@dag(
    dag_id="tthc_reconciliation",
    schedule="30 6 * * *",
    start_date=datetime(2023, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=["tthc", "quality"],
    doc_md=DOC,
    params={
        "days": Param(7, type="integer", minimum=1, description="how many past days to compare"),
        "end": Param(None, type=["null", "string"], description="day after the last one compared (default: today)"),
        "max_share": Param(0.01, type="number", minimum=0),
        "max_absolute": Param(0, type="integer", minimum=0),
    },
    # One alert per failure, after the last retry: it lists the unit-days that disagree.
    default_args={"retries": 1, "on_failure_callback": [failure_notifier()]},
)
def tthc_reconciliation():
    @task(pool=SOURCE_POOL)
    def reconcile_with_source() -> dict:
        from tthc.tasks import reconcile_with_source

        params = get_current_context()["params"]
        return reconcile_with_source(params["days"], params.get("end"), params["max_share"], params["max_absolute"])

    reconcile_with_source()


tthc_reconciliation()
