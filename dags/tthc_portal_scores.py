"""Portal scores: what the national portal publishes about the province, stored as published."""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import Param, dag, get_current_context, task

from tthc import dag_policy

DOC = """
### The national portal's published scores, daily

Reads the National Public Service Portal's evaluation API (connection `tthc_portal`; contract and
storage: `docs/portal.md`): for each period, the Decision 766 score of every unit of the province's
tree (`service-results`, rooted at the root of `core.unit_closure`, i.e. the province) and the
items of each of the six groups (`mart.portal_group_map`: one call per group). Writes
`mart.portal_score` (total and group scores per unit) and `mart.portal_metric` (per unit and item
as the portal numbers it: ratio, score, max score, numerator, denominator), **as published, with
history**: a period whose numbers did not change writes nothing; a changed number closes the old
row (`superseded_at`) and adds the new one; what the portal stopped publishing is closed. The
current values: `mart.portal_score_current`, `mart.portal_metric_current`.

**Which periods.** A scheduled run (daily, 05:00 local) fetches the current and the previous
month, quarter and year of its day: the portal revises past periods. Any other by conf:
`{"period": "2023"}`, `{"period": "2024-Q2"}`, `{"period": "2024-03"}`, or a window
`{"start": "2023-01-01", "end": "2024-07-01"}` (every year, quarter and month overlapping it; end
exclusive). `root_unit` overrides the root (default: the root of `core.unit_closure`).

**Rate limit.** One period is fetched at a time (`max_active_tis_per_dag=1`, one run at a time):
the portal answers `429` with `Retry-After` when called too fast; the client waits what it says
(at most 300 s) and retries, as it does 5xx, resets and timeouts (backoff with jitter, up to the
connection's `max_retries`, default 5). The task log shows each retry with the call it was for.

**The gap to the province's own figures.** Each fetch also recomputes `mart.portal_gap` for its
period (same transaction): per unit and item, the province's own figure (all dossiers), the same
indicator over the dossiers it synchronized (`DongBoDVCQG = 1`) only, and the portal's; `explained`
when the synchronized-only figure equals the portal's. The indicator refresh recomputes it too. BI:
`mart.bi_portal_gap`, `mart.bi_portal_summary`; the dossiers behind a gap:
`mart.unsynced_dossiers(unit, period_type, period_start)`.

**The alert** (task `check_gap`, once per run, after all periods, mail and webhook): a unit whose
published total is more than `portal_gap.max_points_below` points (default 1;
`include/reference/quality_thresholds.json`) below its own, as recorded, or an item whose gap is
not explained by synchronization. It names the units, periods and items. What to do: a
synchronization gap is fixed at the source: synchronize the dossiers `mart.unsynced_dossiers`
lists, and the portal's next publication takes them in (the alert says how many points that
brings). A gap not explained by synchronization means the portal counts some synchronized dossiers
differently from the export (dates, status): compare the items in `mart.bi_portal_gap` (`explained`
false) and take it up with the portal's operator. The task does not fail on a finding; it fails
only if the warehouse cannot be read (clear it to re-check).

#### When it fails

Each period is its own task (`fetch_period`, mapped), retried twice, and written in one
transaction: a failed period leaves nothing half-written and the periods done stay done.
* `PortalUnavailableError`: the portal kept answering 5xx/429 or did not answer; the message names
  the endpoint, the period, the root unit and the page. Wait, then clear the failed task (or
  trigger with `{"period": ...}`); raise `max_retries` / `timeout_s` in the connection's extra if
  it is only slow.
* `PortalRequestError` (HTTP 400/404): the portal rejected the call: an endpoint path in
  `mart.portal_group_map` that moved (add a row with a new `valid_from`), or a `page_size` above
  100 in the connection.
* `PortalConfigurationError`: `core.unit_closure` is empty (run `tthc_reference` first) or has
  several roots (give `root_unit`); or no group in force for the period. A warehouse of several
  provinces (the nation `VN` at the root) is fetched province by province, each its own
  transaction: a failure keeps the provinces fetched before it.
* `ConfigurationError`: connection `tthc_portal` or `tthc_warehouse` missing or malformed.
Re-running is always safe: a fetch that finds what is stored writes nothing. The task's return
value (XCom) and log give, per table, rows fetched, new, changed, unchanged and withdrawn.
"""


@dag(
    dag_id="tthc_portal_scores",
    schedule="0 5 * * *",
    start_date=datetime(2023, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=dag_policy.tags("mart", "indicators"),
    doc_md=DOC,
    params={
        "period": Param(
            None, type=["null", "string"], description='one period: "2023", "2024-Q2", "2024-03"'
        ),
        "start": Param(None, type=["null", "string"], description="first day of a window (ISO date)"),
        "end": Param(None, type=["null", "string"], description="day after the window's last one"),
        "root_unit": Param(None, type=["null", "string"], description="root unit (default: the province)"),
    },
    default_args=dag_policy.default_args(retries=2),
)
def tthc_portal_scores():
    @task
    def plan_periods() -> list[str]:
        from tthc.tasks import portal_periods

        context = get_current_context()
        return portal_periods(context["params"], context.get("logical_date"))

    # One period at a time, across runs too: the portal is rate limited.
    @task(max_active_tis_per_dag=1)
    def fetch_period(period: str) -> dict:
        from tthc.tasks import fetch_portal_period

        return fetch_portal_period(period, get_current_context()["params"].get("root_unit"))

    # After every period is fetched (and its gap computed): one alert for the run, if any.
    @task
    def check_gap(periods: list[str]) -> dict:
        from tthc.tasks import check_portal_gap

        return check_portal_gap(periods)

    periods = plan_periods()
    fetched = fetch_period.expand(period=periods)
    fetched >> check_gap(periods)


tthc_portal_scores()
