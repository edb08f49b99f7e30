"""The pipeline run the way production runs it: api-server, scheduler, dag-processor, triggerer and
a Celery worker as separate processes (tests/system/airflow_stack.py), metadata on PostgreSQL, the
CeleryExecutor on Redis, one JWT secret; DAG runs triggered through the REST API."""

from __future__ import annotations

import psycopg
import pytest
from airflow_stack import OK_TI_STATES

pytestmark = [pytest.mark.system, pytest.mark.timeout(900)]


def task_instances(stack, pipeline, dag_id):
    return [ti for run_id in pipeline.runs[dag_id] for ti in stack.task_instances(dag_id, run_id)]


def test_no_dag_import_errors(stack, pipeline):
    assert stack.import_errors() == []
    assert {"tthc_reference", "tthc_dossiers", "tthc_indicators"} <= pipeline.dags.keys()


def test_every_task_of_the_pipeline_succeeded_on_the_celery_worker(stack, pipeline, indicators):
    for dag_id in ("tthc_reference", "tthc_dossiers", "tthc_indicators"):
        tis = task_instances(stack, pipeline, dag_id)
        assert tis, dag_id
        not_ok = [
            (ti["task_id"], ti["map_index"], ti["state"]) for ti in tis if ti["state"] not in OK_TI_STATES
        ]
        assert not not_ok, (dag_id, not_ok)
        ran = [ti for ti in tis if ti["state"] == "success"]
        assert ran, dag_id
        for ti in ran:
            # The queue is this stack's own, served only by its Celery worker.
            assert ti["queue"] == stack.queue, (dag_id, ti["task_id"], ti["queue"])
            assert ti["hostname"], (dag_id, ti["task_id"])
    worker_log = next(s for s in stack.services if s.name == "celery-worker").log_path.read_text(
        errors="replace"
    )
    assert "celery@" in worker_log and "ready" in worker_log


def test_mapped_extract_and_load_ran_per_window(stack, pipeline):
    tis = task_instances(stack, pipeline, "tthc_dossiers")
    loads = [ti for ti in tis if ti["task_id"] == "load_dossiers"]
    assert len(loads) > 1 and all(ti["map_index"] >= 0 for ti in loads), loads
    assert len({ti["map_index"] for ti in loads}) == len(loads)
    extracts = [ti for ti in tis if ti["task_id"] == "extract_dossiers"]
    if any(ti["map_index"] >= 0 for ti in extracts):  # extraction mapped over monthly windows
        assert len(extracts) > 1
        assert {ti["pool"] for ti in extracts} == {"tthc_source"}


def test_source_pool_exists(stack, pipeline):
    pool = stack.api("GET", "/pools/tthc_source")
    assert pool["slots"] >= 1


def test_indicators_ran_on_the_asset_event(stack, indicators):
    runs = [stack.run("tthc_indicators", run_id) for run_id in indicators.runs["tthc_indicators"]]
    assert runs and all(r["run_type"] == "asset_triggered" and r["state"] == "success" for r in runs)


def test_the_warehouse_holds_the_window_and_its_indicators(stack, indicators):
    with psycopg.connect(stack.warehouse_dsn) as conn:
        dossiers = conn.execute("SELECT count(*) FROM core.fact_dossier").fetchone()[0]
        months = conn.execute(
            """SELECT count(DISTINCT period_start) FROM mart.indicator_value
               WHERE period_type = 'month' AND period_start IN ('2024-01-01', '2024-02-01')
                 AND indicator_code = 'RECEIVED' AND unit_code = 'H35.112' AND numerator > 0"""
        ).fetchone()[0]
        unbalanced = conn.execute(
            """SELECT count(*) FROM raw.batch b JOIN quality.run_audit a USING (batch_id)
               WHERE a.extracted <> a.loaded + a.quarantined"""
        ).fetchone()[0]
    assert dossiers > 1000
    assert months == 2
    assert unbalanced == 0


def max_overlap(tis: list[dict]) -> int:
    """How many of these task instances were running at the same moment, at most."""
    events = sorted(
        [(ti["start_date"], 1) for ti in tis] + [(ti["end_date"], -1) for ti in tis],
        key=lambda e: (e[0], e[1]),
    )
    running = peak = 0
    for _, step in events:
        running += step
        peak = max(peak, running)
    return peak


def test_timings_and_parallelism(stack, pipeline):
    """Mostly a report (-rA): when each stage was done, in seconds from the first API call, and how
    many mapped extract/load tasks ran at once on the worker (concurrency 4, pool tthc_source)."""
    tis = [
        ti for ti in task_instances(stack, pipeline, "tthc_dossiers") if ti["start_date"] and ti["end_date"]
    ]
    overlap = {
        task: max_overlap([ti for ti in tis if ti["task_id"] == task])
        for task in ("extract_dossiers", "load_dossiers")
    }
    print({dag: f"{s:.0f} s" for dag, s in pipeline.seconds.items()}, "at most at once:", overlap)
    print("services started again after an exit:", stack.restarts() or "none")
    assert all(n >= 1 for n in overlap.values())
