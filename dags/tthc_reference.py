"""Reference data of a source: units, the procedure catalogue, and the working-day calendar, daily.
One DAG per configured source (include/reference/sources.yaml)."""

from __future__ import annotations

from datetime import date

from airflow.sdk import dag, get_current_context, task

from tthc import dag_policy
from tthc.assets import CORE_DOSSIERS, CORE_REFERENCE
from tthc.dag_parts import configured_sources, source_calls, source_dag_dates, source_doc, source_schedule

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

#### When it fails

Read the alert (once, after the last retry: task, counts, where to look) and the task log. A
`ConfigurationError` means a connection (`tthc_source`, `tthc_warehouse`, `tthc_pseudonym`) is
missing or malformed; the books of every load are in `quality.run_audit`.

* **migrate_warehouse**: a schema file of `include/sql/schema/` did not apply (the log has the
  file and the SQL error); nothing else runs until it does. Fix it, then clear the task.
* **extract_units / extract_procedures** (retried twice): the source did not answer or refused the
  credentials of `tthc_source` (`SourceAuthError`, `SourceUnavailableError`). Clear the task once
  the source is back.
* **load_reference, batch rejected** (not retried): a batch rule stopped the list before `core`
  (too many of its records quarantined, a count far from the usual, a column that became empty);
  the dimensions keep yesterday's state. The alert names the rules and links the Data Docs page
  (`.airflow/data_docs/index.html`); `SELECT batch_id, entity, status_reason FROM raw.batch WHERE
  status = 'rejected' ORDER BY batch_id DESC`. Have the source fix the list, or, if the list is
  right, change `include/reference/quality_thresholds.json`, then clear the task.
* **load_calendar**: `include/reference/calendar_overrides.csv` could not be read or
  `include/sql/core/merge_calendar.sql` failed; the log has the error. Fix the file and clear the
  task: the merge writes only the days that changed.
* **retry_waiting**: the waiting dossiers' retry batch failed to load, like a dossier load (see
  `tthc_dossiers`, "When it fails"); its quarantine rows stay open and the next run retries them.
  "Skipped" is not a failure: nothing was waiting.

Re-running is always safe: trigger the DAG again (the lists are taken whole and merged, so a run
that changes nothing writes nothing) or clear the failed task.
"""


def reference_dag(source):
    @dag(
        dag_id=source.dag_id("reference"),
        schedule=source_schedule(source, "reference"),
        **source_dag_dates(source),
        catchup=False,
        max_active_runs=1,
        tags=dag_policy.tags("reference", source=source.id),
        doc_md=source_doc(source, DOC),
        default_args=dag_policy.default_args(retries=2),
    )
    def tthc_reference():
        @task
        def migrate_warehouse() -> list[str]:
            from tthc.tasks import migrate_warehouse

            return migrate_warehouse()

        @task(**source_calls(source))
        def extract_units() -> int:
            from tthc.tasks import extract

            return extract("unit", source_id=source.id)

        @task(**source_calls(source))
        def extract_procedures() -> int:
            from tthc.tasks import extract

            return extract("procedure", source_id=source.id)

        @task(outlets=[CORE_REFERENCE])
        def load_reference(unit_batch: int, procedure_batch: int) -> list[dict]:
            from tthc.tasks import load

            # Units first: the procedure and dossier rules look units up.
            return [load(unit_batch), load(procedure_batch)]

        @task
        def load_calendar() -> int:
            from tthc.tasks import calendar_span, load_calendar

            return load_calendar(*calendar_span(date.today()))

        @task(outlets=[CORE_DOSSIERS])
        def retry_waiting() -> dict:
            """Dossiers quarantined for a unit or procedure that is known now: loaded through the normal path."""
            from airflow.sdk.exceptions import AirflowSkipException

            from tthc.tasks import retry_waiting

            audit = retry_waiting(source.id)
            if audit is None:  # skipped: no asset event, so no indicator refresh for nothing
                raise AirflowSkipException("no quarantined record waits for reference data that is known now")
            get_current_context()["outlet_events"][CORE_DOSSIERS].extra = audit
            return audit

        migrated = migrate_warehouse()
        units, procedures = extract_units(), extract_procedures()
        migrated >> [units, procedures]
        migrated >> load_calendar()
        load_reference(units, procedures) >> retry_waiting()

    return tthc_reference()


for configured in configured_sources():
    reference_dag(configured)
