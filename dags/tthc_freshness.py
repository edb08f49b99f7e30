"""Freshness, hourly: alert when no new dossier has arrived for too long during working hours, and
when the indicators have fallen behind the loaded batches."""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import Param, dag, get_current_context, task

from tthc import dag_policy

DOC = """
### Freshness (hourly)

**check_freshness**: for each configured source in service (`include/reference/sources.yaml`; a
retired one is not checked), counts the office hours of working days (`core.dim_date`, office hours
and threshold in `include/reference/quality_thresholds.json` → `freshness`) since that source's
newest dossier in `core.fact_dossier`; above the threshold, one alert per silence of a source
(e-mail `smtp_default`, webhook `tthc_alert_webhook`), naming the source and its dossiers DAG,
remembered in `quality.freshness_alert`. The task returns each source's result by its id.

**check_mart_freshness**: the loaded batches of dossiers and PAKN that no indicator refresh has
covered yet (`quality.unrefreshed_batch`). When the oldest has waited longer than
`mart_freshness.max_lag_minutes` (default 120), one alert per oldest waiting batch. It means the
`tthc_indicators` DAG is not running (paused, failing): fix it, then any asset-triggered run (the
next load's) covers every waiting batch, or trigger it with conf `{"start": ..., "end": ...}`.

Conf `{"now": "..."}` checks as of another moment (tests, replays).

#### When it fails

A stale warehouse does **not** fail these tasks: it sends the freshness alerts above and the run
stays green. A task fails (and alerts once, after its retry) only when it cannot check: the
warehouse is unreachable or not configured (`ConfigurationError` names the connection
`tthc_warehouse`), or a table or view it reads is missing (`core.fact_dossier`, `core.dim_date`,
`quality.unrefreshed_batch`: the warehouse was not migrated; any run of `tthc_reference` or
`tthc_dossiers` migrates it). Read the task log, fix the connection or the server, then clear the
failed task or wait for the next hourly run: the checks only read, apart from remembering the
alerts they sent, so a re-run never alerts twice about the same silence.
"""


@dag(
    dag_id="tthc_freshness",
    schedule="0 * * * *",
    start_date=datetime(2023, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=dag_policy.tags("quality"),
    doc_md=DOC,
    params={
        "now": Param(None, type=["null", "string"], description="check as of (ISO date/time, local time)")
    },
    default_args=dag_policy.default_args(retries=1),
)
def tthc_freshness():
    @task
    def check_freshness() -> dict:
        from tthc.tasks import check_freshness

        return check_freshness(get_current_context()["params"].get("now"))

    @task
    def check_mart_freshness() -> dict:
        from tthc.tasks import check_mart_freshness

        return check_mart_freshness(get_current_context()["params"].get("now"))

    check_freshness()
    check_mart_freshness()


tthc_freshness()
