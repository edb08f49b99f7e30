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
from airflow_stack import AirflowStack, StackError, airflow_stack

from tthc import PROJECT_ROOT

DOSSIER_WINDOW = {"start": "2024-01-01", "end": "2024-03-01"}
SYSTEM_VOLUME = 20_000  # dossiers a year in the simulator: small, still plants every figure
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
    with airflow_stack(dossiers_per_year=SYSTEM_VOLUME, workdir=Path(workdir)) as running:
        yield running


@dataclass
class PipelineRuns:
    runs: dict[str, list[str]] = field(default_factory=dict)  # dag_id -> run ids waited for
    seconds: dict[str, float] = field(default_factory=dict)
    dags: dict[str, dict] = field(default_factory=dict)
    started: float = 0.0


@pytest.fixture(scope="session")
def pipeline(stack: AirflowStack) -> PipelineRuns:
    """reference, then dossiers for DOSSIER_WINDOW (the indicators DAG unpaused first, so the loads'
    asset events trigger it): all through the REST API, all executed by the Celery worker."""
    from tthc.sources import load_sources

    result = PipelineRuns()
    started = time.monotonic()
    result.dags = stack.wait_for_dags()
    for source in load_sources():
        stack.ensure_pool(source.pool, source.pool_slots, "concurrent calls to a source's export API")

    stack.unpause("tthc_reference")
    run_id = stack.trigger("tthc_reference")
    stack.wait_for_run("tthc_reference", run_id, RUN_TIMEOUT_S)
    result.runs["tthc_reference"] = [run_id]
    result.seconds["tthc_reference"] = time.monotonic() - started

    # The indicators DAG is scheduled on the loads' asset events: unpaused first, it must fire.
    stack.unpause("tthc_indicators")
    stack.unpause("tthc_dossiers")
    run_id = stack.trigger("tthc_dossiers", DOSSIER_WINDOW)
    stack.wait_for_run("tthc_dossiers", run_id, RUN_TIMEOUT_S)
    result.runs["tthc_dossiers"] = [run_id]
    result.seconds["tthc_dossiers"] = time.monotonic() - started
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
