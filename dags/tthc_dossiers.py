"""Dossiers: extract a window from a source's export API, land it in raw, check it, merge it into
core. One DAG per configured source (include/reference/sources.yaml)."""

from __future__ import annotations

from airflow.sdk import Param, dag, task

from tthc import dag_policy
from tthc.assets import CORE_DOSSIERS
from tthc.dag_parts import (
    configured_sources,
    source_dag_dates,
    source_doc,
    source_schedule,
    windowed_extract_and_load,
)

DOC = """
### Dossiers (hồ sơ TTHC) of one source, hourly

1. **plan_windows / extract** (mapped, one task per month of the window, in the source's pool
   that caps concurrent calls to it, on its Celery queue): `/api/v1/hoso` for
   `[start − lookback, end)` (lookback from the source connection's extra, default 15 min),
   streamed page by page, personal data pseudonymized first, into `raw.record` (JSONB, kept for
   replays) and, typed, into the batch's own partitions of `staging.dossier*`
   (`staging.dossier_b<batch_id>` etc., `plugins/tthc/staging.py`); one `raw.batch` per window,
   committed on its own.
2. **load** (one per batch): a month's load starts as soon as its extraction has landed, while
   later months are still being extracted (each month's extract and load are one instance of a
   mapped task group; loads of different months overlap too). The record rules of
   `expectations/dossier.staging.json` (breakers go to `quality.quarantine` with the rule), then
   one transaction merges the rest into `core.fact_dossier` and its child tables and writes
   `quality.run_audit` (`extracted = loaded + quarantined`, enforced). A batch whose staging rows
   are gone (already published, or a retry batch) is typed again from `raw`.
   Once published (or rejected), the batch's staging partitions are detached and dropped, so
   staging holds only the batches in flight (a `staging.dossier_b<id>` of a finished batch is left
   only by a load killed after publishing; its retry, or the next dossier load, drops it). Each load ANALYZEs the `core`
   tables that loads have changed by more than 10 % since their last ANALYZE (autovacuum's rule,
   as the warehouse server may run without autovacuum; the task log names them).
3. The load emits the asset `tthc_core_dossiers` with the windows it changed; the indicators DAG
   refreshes on it.

**Backfill / any window**: trigger with conf `{"start": "2023-01-01", "end": "2024-07-01"}` or
`airflow backfill create --dag-id tthc_dossiers --from-date ... --to-date ...`. Every load is
idempotent: re-running a window changes nothing.

#### When it fails

The alert (e-mail `smtp_default`, webhook `tthc_alert_webhook`) comes once, after the last retry,
and names the task, the window, the units, the record counts and where to look; the task log says
the same and more (the log file's path is in the alert).

* **extract_dossiers** (retried twice): the source did not answer or refused us. A
  `ConfigurationError` names a missing or malformed connection (`tthc_source`, `tthc_warehouse`,
  `tthc_pseudonym`); `SourceAuthError` means the client id/secret of `tthc_source` are wrong or
  revoked; `SourceUnavailableError` that the API stayed down through the client's retries. Months
  extracted before the failing one stay landed. Fix the cause, then clear the failed task: it
  extracts its month again into a new batch.
* **load_dossiers, batch rejected** (`BatchRejectedError`, not retried: the verdict would not
  change): a batch rule found the batch as a whole suspect (too many quarantined records, a volume
  far from usual, a unit that stopped sending, a column that became empty), so nothing of it
  reached `core`. Read the rules and counts in the alert, the Data Docs page it links
  (`.airflow/data_docs/index.html`) and
  `SELECT batch_id, status_reason FROM raw.batch WHERE status = 'rejected' ORDER BY batch_id DESC`,
  `SELECT * FROM quality.batch_rule_result WHERE batch_id = <id>`. If the source sent bad data, have
  it corrected and trigger the window again; if the batch is right and a threshold is wrong, change
  `include/reference/quality_thresholds.json` (or env `TTHC_QUALITY_THRESHOLDS`) and clear the load.
* **load_dossiers, core invariants broken** (`CoreInvariantError`, not retried): the merge wrote
  something `expectations/dossier.core.json` forbids: a bug in `include/sql/core/`, not a data
  defect. The Data Docs page names the rule and rows; fix the SQL, then clear the load.
* **load_dossiers, other errors** (a lost connection, a lock timeout, an audit that does not balance,
  `extracted != loaded + quarantined` in `quality.run_audit`): retried twice; after that, read the
  log and clear the task once the warehouse is healthy.

Re-running is always safe: clearing a load loads the same batch again (typed again from `raw` if
its staging partitions are gone), and triggering the DAG with conf `{"start": ..., "end": ...}`
for the window extracts and loads it again; neither writes anything a first run already wrote.
Records set aside by the record rules are not failures (the rest of the batch loads):
`SELECT rule, count(*) FROM quality.quarantine WHERE resolved_at IS NULL GROUP BY 1`.
"""


def dossiers_dag(source):
    @dag(
        dag_id=source.dag_id("dossiers"),
        schedule=source_schedule(source, "dossiers", data_interval=True),
        **source_dag_dates(source),
        catchup=False,
        max_active_runs=4,
        tags=dag_policy.tags("dossiers", source=source.id),
        doc_md=source_doc(source, DOC),
        params={
            "start": Param(
                None, type=["null", "string"], description="window start (ISO date/time, local time)"
            ),
            "end": Param(None, type=["null", "string"], description="window end, exclusive"),
        },
        default_args=dag_policy.default_args(retries=2),
    )
    def tthc_dossiers():
        @task
        def migrate_warehouse() -> list[str]:
            from tthc.tasks import migrate_warehouse

            return migrate_warehouse()

        migrate_warehouse() >> windowed_extract_and_load("dossier", "dossiers", CORE_DOSSIERS, source)

    return tthc_dossiers()


for configured in configured_sources():
    dossiers_dag(configured)
