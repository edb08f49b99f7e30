"""Two sources on two Celery workers with different queues, as "queue:" in a sources file and
``airflow celery worker --queues`` place a province's traffic on workers near its system: Lai Châu
on the stack's default queue (the worker every other test uses), son_la_gia on queue "north",
served only by a second worker process (tests/system/conftest.py: SOURCES, WORKERS). Each worker
records its own hostname on the task instances it runs. The pipeline fixture runs both sources'
reference DAGs at the same time; this module then both sources' dossiers DAGs at the same time.
Every source's extractions must have run on the worker of its queue, everything else on the
default queue, and each source's batches landed under its own ``source_id``.

The indicators DAG is paused for these runs: a refresh that reads core while loads commit can see
them half (plugins/tthc/indicators.py, READ COMMITTED), and its mart check then fails the run; the
indicators are test_airflow_services.py's, over one source."""

from __future__ import annotations

import psycopg
import pytest
from airflow_stack import OK_TI_STATES

from tthc.sources import load_sources

pytestmark = [pytest.mark.system, pytest.mark.timeout(900)]

NORTH_SOURCE = "son_la_gia"
RUN_TIMEOUT_S = 480
WINDOW = {"start": "2024-03-01", "end": "2024-03-08"}  # a week: one window, one batch per source
# The tasks that call a source system: in its pool, on its queue (tthc.dag_parts, the DAG files).
SOURCE_TASKS = {"extract_dossiers", "extract_feedback", "extract_units", "extract_procedures"}
SOURCE_TASKS |= {"reconcile_with_source"}


@pytest.fixture(scope="module")
def sources(stack):
    return {source.id: source for source in load_sources(stack.sources_file)}


@pytest.fixture(scope="module")
def dossier_runs(stack, pipeline, sources) -> dict[str, str]:
    """Both sources' dossiers DAGs for WINDOW, at the same time: source id -> run id."""
    stack.pause("tthc_indicators")
    for source in sources.values():
        stack.unpause(source.dag_id("dossiers"))
    runs = {source.id: stack.trigger(source.dag_id("dossiers"), WINDOW) for source in sources.values()}
    for source in sources.values():
        stack.wait_for_run(source.dag_id("dossiers"), runs[source.id], RUN_TIMEOUT_S)
    return runs


def source_runs(pipeline, dossier_runs, sources) -> list[tuple[object, str, str]]:
    """(source, dag id, run id): the pipeline fixture's reference runs, then dossier_runs."""
    runs = [(s, s.dag_id("reference"), pipeline.runs[s.dag_id("reference")][0]) for s in sources.values()]
    return runs + [(s, s.dag_id("dossiers"), dossier_runs[s.id]) for s in sources.values()]


def all_task_instances(stack) -> list[dict]:
    """Every task instance of the stack, every DAG and run (``~`` wildcards), page by page."""
    tis, offset = [], 0
    while True:
        page = stack.api("GET", "/dags/~/dagRuns/~/taskInstances", params={"limit": 100, "offset": offset})
        tis += page["task_instances"]
        offset += len(page["task_instances"])
        if not page["task_instances"] or offset >= page["total_entries"]:
            return tis


def test_the_stack_has_two_sources_on_two_queues_and_two_workers(stack, sources):
    assert list(sources) == ["lai_chau", NORTH_SOURCE]
    assert sources["lai_chau"].queue == stack.queue == stack.queues["default"]
    assert sources[NORTH_SOURCE].queue == stack.queues["north"] != stack.queue
    assert len(set(stack.worker_hostnames.values())) == len(stack.worker_hostnames) == 2
    north_log = next(s for s in stack.services if s.name == "celery-worker-north").tail(200_000)
    assert stack.queues["north"] in north_log and "ready" in north_log


def test_each_source_extracts_on_the_worker_of_its_queue(stack, sources, pipeline, dossier_runs):
    default_host = stack.worker_of("default")
    for source, dag_id, run_id in source_runs(pipeline, dossier_runs, sources):
        tis = stack.task_instances(dag_id, run_id)
        not_ok = [(ti["task_id"], ti["state"]) for ti in tis if ti["state"] not in OK_TI_STATES]
        assert not not_ok, (dag_id, not_ok)
        extracts = [ti for ti in tis if ti["task_id"] in SOURCE_TASKS]
        assert extracts, (dag_id, sorted({ti["task_id"] for ti in tis}))
        logical = "north" if source.id == NORTH_SOURCE else "default"
        for ti in extracts:
            where = (dag_id, ti["task_id"], ti["map_index"])
            assert ti["state"] == "success", where
            assert ti["queue"] == source.queue, where
            assert ti["pool"] == source.pool, where
            assert ti["hostname"] == stack.worker_of(logical), where
        # Everything else (the loads, the warehouse's migrations) stays on the default queue.
        for ti in tis:
            if ti["task_id"] not in SOURCE_TASKS and ti["state"] == "success":
                assert (ti["queue"], ti["hostname"]) == (stack.queue, default_host), (dag_id, ti["task_id"])


def test_the_north_worker_ran_the_north_sources_calls_only(stack, dossier_runs):
    north_host = stack.worker_of("north")
    tis = all_task_instances(stack)
    on_north = {(ti["dag_id"], ti["task_id"]) for ti in tis if ti["hostname"] == north_host}
    assert on_north, "the north worker ran nothing"
    assert all(dag.endswith(f"_{NORTH_SOURCE}") and task in SOURCE_TASKS for dag, task in on_north), on_north
    # and Lai Châu's calls, from every test of the session, all on the default worker
    lai_chau = [ti for ti in tis if ti["task_id"] in SOURCE_TASKS and not ti["dag_id"].endswith(NORTH_SOURCE)]
    assert lai_chau and {ti["hostname"] for ti in lai_chau if ti["hostname"]} == {stack.worker_of("default")}


def test_each_sources_batches_landed_under_its_own_source(stack, dossier_runs):
    with psycopg.connect(stack.warehouse_dsn) as conn:
        for source_id, run_id in dossier_runs.items():
            batches = conn.execute(
                """SELECT source_id, status, count(*) FROM raw.batch
                   WHERE airflow_run_id = %s AND entity = 'dossier' GROUP BY 1, 2""",
                (run_id,),
            ).fetchall()
            assert [(s, status) for s, status, _ in batches] == [(source_id, "loaded")], (source_id, batches)
        by_source = dict(
            conn.execute("SELECT source_id, count(*) FROM core.fact_dossier GROUP BY 1").fetchall()
        )
        foreign = conn.execute(
            """SELECT count(*) FROM core.fact_dossier
               WHERE source_id = %s AND competent_unit_code NOT LIKE 'H90%%'""",
            (NORTH_SOURCE,),
        ).fetchone()[0]
    assert by_source.get("lai_chau", 0) > 1000 and by_source.get(NORTH_SOURCE, 0) > 10, by_source
    assert foreign == 0
