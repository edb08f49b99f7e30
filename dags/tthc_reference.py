"""Reference data: units, the procedure catalogue and the working-day calendar, daily."""

from __future__ import annotations

from datetime import date, datetime

from airflow.sdk import dag, get_current_context, task

from tthc.assets import CORE_DOSSIERS, CORE_REFERENCE, SOURCE_POOL
from tthc.quality.alerts import failure_notifier

DOC = """
### Reference data (units, procedures, calendar)

Loads the **unit tree** (`/api/v1/donvi`, SCD-2 in `core.dim_unit`, with the 2025-07-01 lineage in
`core.unit_lineage` and roll-up paths in `core.unit_closure`), the **procedure catalogue**
(`/api/v1/thutuc`, `core.dim_procedure`) and the **working-day calendar** (`core.dim_date`, from the
`holidays` package plus `include/reference/calendar_overrides.csv`).

* Runs daily; both lists are taken whole, so any run repairs the dimensions.
* Each list lands in `raw` as one batch, passes its suite (`expectations/unit.staging.json`,
  `expectations/procedure.staging.json`), and only then reaches `core`.
* Dossiers waiting in `quality.quarantine` for an unknown unit or procedure are retried after it.
* If it fails: read the task log; a `ConfigurationError` means a connection (`tthc_source`,
  `tthc_warehouse`, `tthc_pseudonym`) is missing; the books are in `quality.run_audit`.
"""


@dag(
    dag_id="tthc_reference",
    schedule="@daily",
    start_date=datetime(2023, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=["tthc", "reference"],
    doc_md=DOC,
    # One alert per failure, after the last retry (no on_retry_callback on purpose).
    default_args={"retries": 2, "on_failure_callback": [failure_notifier()]},
)
def tthc_reference():
    @task
    def migrate_warehouse() -> list[str]:
        from tthc.tasks import migrate_warehouse

        return migrate_warehouse()

    @task(pool=SOURCE_POOL)
    def extract_units() -> int:
        from tthc.tasks import extract

        return extract("unit")

    @task(pool=SOURCE_POOL)
    def extract_procedures() -> int:
        from tthc.tasks import extract

        return extract("procedure")

    @task(outlets=[CORE_REFERENCE])
    def load_reference(unit_batch: int, procedure_batch: int) -> list[dict]:
        from tthc.tasks import load

        # Units first: the procedure and dossier rules look units up.
        return [load(unit_batch), load(procedure_batch)]

    @task
    def load_calendar() -> int:
        from tthc.tasks import calendar_span, load_calendar

        return load_calendar(*calendar_span(date.today()))

    migrated = migrate_warehouse()
    units, procedures = extract_units(), extract_procedures()
    migrated >> [units, procedures]
    migrated >> load_calendar()
    @task(outlets=[CORE_DOSSIERS])
    def retry_waiting() -> dict:
        """Dossiers quarantined for a unit or procedure that is known now: loaded through the normal path."""
        from airflow.sdk.exceptions import AirflowSkipException

        from tthc import warehouse
        from tthc.quality.retry import retry_waiting

        audit = retry_waiting(warehouse.warehouse_conninfo())
        if audit is None:  # skipped: no asset event, so no indicator refresh for nothing
            raise AirflowSkipException("no quarantined record waits for reference data that is known now")
        get_current_context()["outlet_events"][CORE_DOSSIERS].extra = audit
        return audit

    load_reference(units, procedures) >> retry_waiting()


tthc_reference()
