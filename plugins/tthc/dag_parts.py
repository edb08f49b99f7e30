"""Task wiring shared by the windowed DAGs (dossiers, feedback), written once.

Called inside a ``@dag`` function: it adds the three steps of a windowed load and returns the
planning task, so the DAG can put its own tasks upstream. Like the DAG files, it only hands
Airflow's context to ``tthc.tasks`` and its results back.
"""

from __future__ import annotations

from airflow.sdk import Asset, get_current_context, task, task_group

from tthc.assets import SOURCE_POOL


def windowed_extract_and_load(entity: str, label: str, asset: Asset):
    """plan_windows → for each month of the window: extract_<label> (in the source pool) →
    load_<label>, each load emitting ``asset`` with its batch's window and audit.

    The pair is a mapped task group, so a month's load starts as soon as its own extraction has
    landed, while later months are still being extracted: the two use different resources (the
    source and this worker's CPU vs the warehouse), and overlapping them is what makes a backfill
    fast. Task ids keep no group prefix (``extract_<label>``, ``load_<label>``).
    """

    @task
    def plan_windows() -> list[dict[str, str]]:
        from tthc.tasks import run_windows

        context = get_current_context()
        return run_windows(
            context["params"], context.get("data_interval_start"), context.get("data_interval_end")
        )

    @task(task_id=f"extract_{label}", pool=SOURCE_POOL)
    def extract_window(window: dict[str, str]) -> int:
        from tthc.tasks import extract

        return extract(entity, window, get_current_context()["run_id"])

    @task(task_id=f"load_{label}", outlets=[asset])
    def load_batch(batch_id: int) -> dict:
        from tthc.tasks import load

        audit = load(batch_id)
        # The indicators DAG learns from this event which windows changed (asset-triggered runs
        # have no data interval of their own).
        get_current_context()["outlet_events"][asset].extra = {"batch_id": batch_id, **audit}
        return audit

    @task_group(group_id=f"window_{label}", prefix_group_id=False)
    def extract_and_load(window: dict[str, str]) -> None:
        load_batch(extract_window(window))

    windows = plan_windows()
    extract_and_load.expand(window=windows)
    return windows
