"""Task wiring shared by the DAGs of a source (reference, dossiers, feedback, reconciliation),
written once, and the configured sources the DAG files are generated from.

``windowed_extract_and_load`` is called inside a ``@dag`` function: it adds the three steps of a
windowed load and returns the planning task, so the DAG can put its own tasks upstream. Like the
DAG files, it only hands Airflow's context to ``tthc.tasks`` and its results back.
"""

from __future__ import annotations

from datetime import date, datetime

from airflow.sdk import Asset, get_current_context, task, task_group

from tthc.settings import LOCAL_TZ, LOCAL_TZ_NAME
from tthc.sources import Source, load_sources

# The start_date of a source's DAGs when its entry names no active_from.
DEFAULT_START = datetime(2023, 1, 1)


def configured_sources() -> tuple[Source, ...]:
    """The sources of ``TTHC_SOURCES_FILE`` (include/reference/sources.yaml): one set of DAGs each."""
    return load_sources()


def source_dag_dates(source: Source) -> dict:
    """``start_date`` of a source's DAGs: its first day of service, if it names one.

    No ``end_date`` for a retired source: Airflow creates no task instance after a DAG's end date,
    so a manual run replaying a retired system's history would run nothing. Its schedule stops
    instead (``source_schedule``), and windows are cut to its days of service.
    """
    return {"start_date": source.start or DEFAULT_START}


def source_calls(source: Source) -> dict:
    """The task arguments of a task that calls the source: its pool, and its Celery queue unless the
    entry leaves it at ``default``, which then means Airflow's own default queue
    (``[operators] default_queue``), whatever that is named on this deployment."""
    return {"pool": source.pool} | ({} if source.queue == "default" else {"queue": source.queue})


def source_schedule(source: Source, kind: str, *, data_interval: bool = False, today: date | None = None):
    """A source DAG's schedule: the source's cron for ``kind`` while it is in service (as a data
    interval timetable for the windowed DAGs), none once its last day of service has passed, so a
    retired system gets no more scheduled runs but can still be run by hand over its history."""
    today = today or datetime.now(LOCAL_TZ).date()
    if source.active_to is not None and today > source.active_to:
        return None
    cron = source.schedule(kind)
    if data_interval:
        from airflow.timetables.interval import CronDataIntervalTimetable

        return CronDataIntervalTimetable(cron, timezone=LOCAL_TZ_NAME)
    return cron


def windowed_extract_and_load(entity: str, label: str, asset: Asset, source: Source):
    """plan_windows → for each month of the window: extract_<label> (in the source's pool, on its
    Celery queue) → load_<label>, each load emitting ``asset`` with its batch's source, window and
    audit. Windows are cut to the source's days of service.

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
            context["params"],
            context.get("data_interval_start"),
            context.get("data_interval_end"),
            source_id=source.id,
        )

    @task(task_id=f"extract_{label}", **source_calls(source))
    def extract_window(window: dict[str, str]) -> int:
        from tthc.tasks import extract

        return extract(entity, window, get_current_context()["run_id"], source_id=source.id)

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


def source_doc(source: Source, doc: str) -> str:
    """A source DAG's ``doc_md``: which system it reads, through what, then the DAG kind's text."""
    served = (
        f"in service {source.active_from or 'since ever'} .. {source.active_to or 'today'}"
        if source.active_from or source.active_to
        else "in service"
    )
    header = (
        f"**Source `{source.id}`**: {source.name}; connection `{source.conn_id}`, pool `{source.pool}`, "
        f"Celery queue `{source.queue}`, {served} (`include/reference/sources.yaml`, `docs/sources.md`). "
        "Where the text below names `tthc_source`, read this source's connection."
    )
    return header + "\n" + doc
