"""Dossiers: extract a window from the export API, land it in raw, check it, merge it into core."""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import Param, dag, task
from airflow.timetables.interval import CronDataIntervalTimetable

from tthc.assets import CORE_DOSSIERS
from tthc.dag_parts import windowed_extract_and_load
from tthc.quality.alerts import failure_notifier

DOC = """
### Dossiers (hồ sơ TTHC), hourly

1. **plan_windows / extract** (mapped, one task per month of the window, in the pool
   `tthc_source` that caps concurrent calls to the source): `/api/v1/hoso` for
   `[start − lookback, end)` (lookback from the `tthc_source` connection's extra, default 15 min),
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
   are gone (already published, or landed before this version) is typed again from `raw`.
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

**When it fails**: the log names the endpoint and window. Quarantined records:
`SELECT rule, count(*) FROM quality.quarantine WHERE resolved_at IS NULL GROUP BY 1`.
"""


@dag(
    dag_id="tthc_dossiers",
    schedule=CronDataIntervalTimetable("0 * * * *", timezone="Asia/Ho_Chi_Minh"),
    start_date=datetime(2023, 1, 1),
    catchup=False,
    max_active_runs=4,
    tags=["tthc", "dossiers"],
    doc_md=DOC,
    params={
        "start": Param(None, type=["null", "string"], description="window start (ISO date/time, local time)"),
        "end": Param(None, type=["null", "string"], description="window end, exclusive"),
    },
    # One alert per failure, after the last retry (no on_retry_callback on purpose).
    default_args={"retries": 2, "on_failure_callback": [failure_notifier()]},
)
def tthc_dossiers():
    @task
    def migrate_warehouse() -> list[str]:
        from tthc.tasks import migrate_warehouse

        return migrate_warehouse()

    migrate_warehouse() >> windowed_extract_and_load("dossier", "dossiers", CORE_DOSSIERS)


tthc_dossiers()
