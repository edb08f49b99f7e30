"""Citizen feedback (PAKN) of a source: extract a window, land it, check it, merge it into core,
hourly. One DAG per configured source (include/reference/sources.yaml)."""

from __future__ import annotations

from airflow.sdk import Param, dag

from tthc import dag_policy
from tthc.assets import CORE_FEEDBACK
from tthc.dag_parts import (
    configured_sources,
    source_dag_dates,
    source_doc,
    source_schedule,
    windowed_extract_and_load,
)

DOC = """
### Citizen feedback (phản ánh, kiến nghị), hourly

Same path as `tthc_dossiers`, for `/api/v1/phananh` into `core.fact_feedback`, checked by
`expectations/feedback.staging.json`. Feeds the PAKN indicators (`PAKN_ON_TIME`,
`PAKN_SATISFACTION`) and dossier satisfaction. Trigger with conf `{"start": ..., "end": ...}` for
any window; re-runs are idempotent.

#### When it fails

The tasks, errors and remedies are those of `tthc_dossiers` (see its "When it fails"), for
feedback: the alert names the task (`extract_feedback` or `load_feedback`), the window and the
counts; the task log has the rest.

* **extract_feedback** (retried twice): the source or a connection (`tthc_source`,
  `tthc_warehouse`, `tthc_pseudonym`); fix it and clear the task: it extracts its month again.
* **load_feedback, batch rejected** (not retried): a batch rule stopped the batch before `core`.
  Read the alert's rules and its Data Docs page (`.airflow/data_docs/index.html`),
  `SELECT batch_id, status_reason FROM raw.batch WHERE entity = 'feedback' AND status = 'rejected'`.
  Bad data: have the source fix it and trigger the window again; a wrong threshold: change
  `include/reference/quality_thresholds.json` and clear the load.
* **load_feedback, core invariants broken** (not retried): a bug in
  `include/sql/core/merge_feedback.sql` against `expectations/feedback.core.json`; fix it, clear
  the load.

Clearing a task or triggering the same window with conf `{"start": ..., "end": ...}` is always
safe: nothing already loaded is written twice.
"""


def feedback_dag(source):
    @dag(
        dag_id=source.dag_id("feedback"),
        schedule=source_schedule(source, "feedback", data_interval=True),
        **source_dag_dates(source),
        catchup=False,
        max_active_runs=2,
        tags=dag_policy.tags("feedback", source=source.id),
        doc_md=source_doc(source, DOC),
        params={
            "start": Param(
                None, type=["null", "string"], description="window start (ISO date/time, local time)"
            ),
            "end": Param(None, type=["null", "string"], description="window end, exclusive"),
        },
        default_args=dag_policy.default_args(retries=2),
    )
    def tthc_feedback():
        windowed_extract_and_load("feedback", "feedback", CORE_FEEDBACK, source)

    return tthc_feedback()


for configured in configured_sources():
    feedback_dag(configured)
