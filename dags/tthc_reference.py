"""Reference data: units, the procedure catalogue and the working-day calendar, daily."""

from __future__ import annotations

from datetime import date, datetime

from airflow.sdk import dag, task

from tthc.assets import CORE_REFERENCE

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
    default_args={"retries": 2},
)
def tthc_reference():
    @task
    def migrate_warehouse() -> list[str]:
        from tthc.tasks import migrate_warehouse

        return migrate_warehouse()

    @task
    def extract_units() -> list[int]:
        from tthc.tasks import extract

        return extract("unit")

    @task
    def extract_procedures() -> list[int]:
        from tthc.tasks import extract

        return extract("procedure")

    @task(outlets=[CORE_REFERENCE])
    def load_reference(unit_batches: list[int], procedure_batches: list[int]) -> list[dict]:
        from tthc.tasks import load

        return [load(batch_id) for batch_id in [*unit_batches, *procedure_batches]]

    @task
    def load_calendar() -> int:
        from tthc.tasks import load_calendar

        today = date.today()
        return load_calendar(date(2000, 1, 1), date(today.year + 2, 12, 31))

    migrated = migrate_warehouse()
    units, procedures = extract_units(), extract_procedures()
    migrated >> [units, procedures]
    migrated >> load_calendar()
    load_reference(units, procedures)


tthc_reference()
