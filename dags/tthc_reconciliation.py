"""Reconciliation: the warehouse against a source's own daily counts, per unit and day. One DAG
per configured source (include/reference/sources.yaml)."""

from __future__ import annotations

from airflow.sdk import Param, dag, get_current_context, task

from tthc import dag_policy
from tthc.dag_parts import configured_sources, source_calls, source_dag_dates, source_doc, source_schedule

DOC = """
### Reconciliation with the source's counts, daily

Reads `/api/v1/thongke/hoso` (dossiers received and finished per competent unit and day, as the
source counts them) for the last `days` days and compares it with the warehouse: live facts in
`core.fact_dossier` **plus** records still in `quality.quarantine` (the source counts those too).
Every comparison is kept in `quality.reconciliation`.

#### When it fails

The task **fails** (and, after its one retry, alerts) when a unit-day differs by more than `max_share` of the source's
count (default 1%) and more than `max_absolute` dossiers (default 0): `ReconciliationError`, whose
message (in the alert and the task log) lists the unit-days with both counts; the disagreements are
`SELECT * FROM quality.reconciliation WHERE NOT within_tolerance ORDER BY checked_at DESC, day`.
Usual causes: a window not extracted yet (run `tthc_dossiers` for it), a load that failed or a
batch that was rejected (`SELECT * FROM raw.batch WHERE status <> 'loaded' ORDER BY batch_id DESC`),
records quarantined without a key. It also fails when it cannot compare: the
source or the warehouse unreachable, or a connection (`tthc_source`, `tthc_warehouse`) missing
(`ConfigurationError`). Re-run after fixing (clear the task, or trigger with conf `days` / `end`
for the days concerned): the check only reads the source and the warehouse and adds one more row
per unit-day to `quality.reconciliation`.
"""


def reconciliation_dag(source):
    @dag(
        dag_id=source.dag_id("reconciliation"),
        schedule=source_schedule(source, "reconciliation"),
        **source_dag_dates(source),
        catchup=False,
        max_active_runs=1,
        tags=dag_policy.tags("quality", source=source.id),
        doc_md=source_doc(source, DOC),
        params={
            "days": Param(7, type="integer", minimum=1, description="how many past days to compare"),
            "end": Param(
                None, type=["null", "string"], description="day after the last one compared (default: today)"
            ),
            "max_share": Param(0.01, type="number", minimum=0),
            "max_absolute": Param(0, type="integer", minimum=0),
        },
        # The alert of a disagreement lists the unit-days that disagree.
        default_args=dag_policy.default_args(retries=1),
    )
    def tthc_reconciliation():
        @task(**source_calls(source))
        def reconcile_with_source() -> dict:
            from tthc.tasks import reconcile_with_source

            params = get_current_context()["params"]
            return reconcile_with_source(
                params["days"], params.get("end"), params["max_share"], params["max_absolute"], source.id
            )

        reconcile_with_source()

    return tthc_reconciliation()


for configured in configured_sources():
    reconciliation_dag(configured)
