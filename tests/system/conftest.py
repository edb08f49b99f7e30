"""Fixtures of the system tests: the production-shaped Airflow stack (tests/system/airflow_stack.py),
started once per session, and one real run of the pipeline through it.

System tests only run when selected (``pytest tests/system -m system``, ``make test-system``):
they start five Airflow services and take minutes, so plain ``pytest`` skips them.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest
from airflow_stack import PIPELINE_DAGS, AirflowStack, StackError, StackSource, StackWorker, airflow_stack

from tthc import PROJECT_ROOT

DOSSIER_WINDOW = {"start": "2024-01-01", "end": "2024-03-01"}
SYSTEM_VOLUME = 20_000  # dossiers a year in the simulator: small, still plants every figure
# Two sources on two queues, each served by its own Celery worker (test_workers.py): Lai Châu, the
# first source, on the stack's default queue with the worker every other test relies on; a second
# province, small, on queue "north" (its DAGs are tthc_*_son_la_gia), on a worker of its own.
SOURCES = (
    StackSource("lai_chau", "tthc_source", dag_id_suffix=""),
    StackSource(
        "son_la_gia", "tthc_source_son_la_gia", queue="north", province="son_la_gia", dossiers_per_year=3_000
    ),
)
STAGES = ("reference", "dossiers")  # the DAGs of every source the tests run
WORKERS = {
    "celery-worker": StackWorker(("default",)),
    "celery-worker-north": StackWorker(("north",), concurrency=2),
}
RUN_TIMEOUT_S = 480


def pytest_configure(config):
    config.addinivalue_line("markers", "system: starts the real Airflow services as processes (slow)")


def pytest_collection_modifyitems(config, items):
    if "system" in (config.getoption("markexpr") or ""):
        return
    skip = pytest.mark.skip(reason="system test: run with `pytest tests/system -m system` (make test-system)")
    for item in items:
        if item.get_closest_marker("system"):
            item.add_marker(skip)


@pytest.fixture(scope="session")
def stack(tmp_path_factory) -> AirflowStack:
    # The services' logs (<workdir>/services/*.log) and the task logs (<workdir>/logs/) stay there
    # after the run: under pytest's temporary folder (its last three runs are kept), or where
    # TTHC_SYSTEM_WORKDIR says.
    workdir = os.environ.get("TTHC_SYSTEM_WORKDIR") or tmp_path_factory.mktemp("airflow-stack")
    with airflow_stack(
        dossiers_per_year=SYSTEM_VOLUME, workdir=Path(workdir), sources=SOURCES, workers=WORKERS
    ) as running:
        yield running


@dataclass
class PipelineRuns:
    runs: dict[str, list[str]] = field(default_factory=dict)  # dag_id -> run ids waited for
    seconds: dict[str, float] = field(default_factory=dict)
    dags: dict[str, dict] = field(default_factory=dict)
    started: float = 0.0


@pytest.fixture(scope="session")
def pipeline(stack: AirflowStack) -> PipelineRuns:
    """Every source's reference at the same time (each on its own queue's worker), then Lai Châu's
    dossiers for DOSSIER_WINDOW (the indicators DAG unpaused first, so the loads' asset events
    trigger it): all through the REST API, executed by the Celery workers. The second source's
    dossiers are test_workers.py's, with the indicators paused."""
    from tthc.sources import load_sources

    result = PipelineRuns()
    started = time.monotonic()
    sources = load_sources(stack.sources_file)
    result.dags = stack.wait_for_dags([*PIPELINE_DAGS, *(s.dag_id(k) for s in sources for k in STAGES)])
    for source in sources:  # every configured source's pool
        stack.ensure_pool(source.pool, source.pool_slots, "concurrent calls to a source's export API")

    def run_together(dag_ids: list[str], conf: dict | None = None) -> None:
        for dag_id in dag_ids:
            stack.unpause(dag_id)
        run_ids = {dag_id: stack.trigger(dag_id, conf) for dag_id in dag_ids}
        for dag_id, run_id in run_ids.items():
            stack.wait_for_run(dag_id, run_id, RUN_TIMEOUT_S)
            result.runs[dag_id] = [run_id]
            result.seconds[dag_id] = time.monotonic() - started

    run_together([source.dag_id("reference") for source in sources])  # a source's dossiers need it
    # The indicators DAG is scheduled on the loads' asset events: unpaused first, it must fire.
    stack.unpause("tthc_indicators")
    run_together(["tthc_dossiers"], DOSSIER_WINDOW)
    result.started = started
    return result


@pytest.fixture(scope="session")
def indicators(stack: AirflowStack, pipeline: PipelineRuns) -> PipelineRuns:
    """The indicators DAG, run by the asset events of the dossier loads (a separate fixture, so
    that a failure there fails the tests that need the mart, not the UI tests)."""
    dossier_run = pipeline.runs["tthc_dossiers"][0]
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while True:
        runs = wait_for_asset_triggered_runs(stack, "tthc_indicators", max(deadline - time.monotonic(), 1))
        # Done when a refresh has covered every batch the pipeline's run loaded: a refresh triggered
        # by another run's event may finish first, and near-simultaneous events can be lost by the
        # scheduler (the refresh then covers their batches through mart.refreshed_batch).
        with psycopg.connect(stack.warehouse_dsn) as conn:
            uncovered = conn.execute(
                """SELECT count(*) FROM raw.batch AS b
                   WHERE b.airflow_run_id = %s AND b.status = 'loaded'
                     AND NOT EXISTS (SELECT 1 FROM mart.refreshed_batch AS r WHERE r.batch_id = b.batch_id)""",
                (dossier_run,),
            ).fetchone()[0]
        if uncovered == 0:
            break
        if time.monotonic() > deadline:
            raise StackError(
                f"{uncovered} loaded batches of {dossier_run} not covered by an indicator refresh "
                f"after {RUN_TIMEOUT_S} s\n{stack.service_tails()}"
            )
        time.sleep(3)
    pipeline.runs["tthc_indicators"] = runs
    pipeline.seconds["tthc_indicators"] = time.monotonic() - pipeline.started
    return pipeline


def wait_for_asset_triggered_runs(
    stack: AirflowStack, dag_id: str, timeout: float = RUN_TIMEOUT_S
) -> list[str]:
    """Waits until the DAG has at least one asset-triggered run, none is queued or running, and no
    asset event waits for a run: loads finish at different times, so the events of the later ones
    start further runs after the first, and each refreshes its own window."""
    deadline = time.monotonic() + timeout
    while True:
        runs = stack.runs(dag_id)
        triggered = [r for r in runs if r["run_type"] == "asset_triggered"]
        pending = [r for r in runs if r["state"] not in ("success", "failed")]
        waiting = stack.api("GET", f"/dags/{dag_id}/assets/queuedEvents", expect=(200, 404)) or {}
        if triggered and not pending and not waiting.get("queued_events"):
            break
        if time.monotonic() > deadline:
            raise StackError(
                f"{dag_id}: no finished asset-triggered run after {timeout:.0f} s: "
                f"{[(r['dag_run_id'], r['state']) for r in runs]}\n{stack.service_tails()}"
            )
        stack.check_alive()
        time.sleep(3)
    for run in triggered:
        stack.wait_for_run(dag_id, run["dag_run_id"], timeout=30)  # raises with the task logs if failed
    return [r["dag_run_id"] for r in triggered]


@pytest.fixture(scope="session")
def screenshot_dir():
    path = PROJECT_ROOT / "output" / "screenshots"
    path.mkdir(parents=True, exist_ok=True)
    return path
