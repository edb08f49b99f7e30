"""``airflow backfill create`` on the dossiers DAG, in the production-shaped stack, twice: the
scheduler creates one run per hourly data interval, the Celery worker executes them, and the second
backfill (re-processing the completed runs) leaves every core table exactly as the first left it."""

from __future__ import annotations

import subprocess
import time

import psycopg
import pytest
from airflow_stack import AIRFLOW_BIN, StackError

from tthc import PROJECT_ROOT

pytestmark = [pytest.mark.system, pytest.mark.timeout(900)]

# Working hours of a weekday outside the pipeline fixture's window: dossiers change in every hour.
FROM, TO = "2024-03-05T08:00:00+07:00", "2024-03-05T11:00:00+07:00"
RUN_TIMEOUT_S = 480
CORE_TABLES = (
    "core.fact_dossier",
    "core.dossier_document",
    "core.dossier_fee",
    "core.dossier_result",
    "core.dossier_supplement",
    "core.dossier_step",
    "core.dossier_tombstone",
)


def backfill(stack, reprocess: str) -> list[dict]:
    """Runs the CLI, waits until the scheduler has finished the backfill it created, and returns
    the backfill runs of the DAG (both backfills cover the same intervals)."""
    result = subprocess.run(
        [
            AIRFLOW_BIN,
            "backfill",
            "create",
            "--dag-id",
            "tthc_dossiers",
            "--from-date",
            FROM,
            "--to-date",
            TO,
            "--reprocess-behavior",
            reprocess,
            "--max-active-runs",
            "2",
        ],
        env=stack.env,
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    created = max(
        stack.api("GET", "/backfills", params={"dag_id": "tthc_dossiers"})["backfills"], key=lambda b: b["id"]
    )
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while not stack.api("GET", f"/backfills/{created['id']}")["completed_at"]:
        if time.monotonic() > deadline:
            runs = stack.runs("tthc_dossiers", run_type="backfill")
            raise StackError(
                f"backfill {created['id']} not finished: "
                f"{[(r['dag_run_id'], r['state']) for r in runs]}\n{stack.service_tails()}"
            )
        stack.check_alive()
        time.sleep(3)
    runs = stack.runs("tthc_dossiers", run_type="backfill")
    for run in runs:
        stack.wait_for_run("tthc_dossiers", run["dag_run_id"], timeout=30)  # raises with the logs if failed
    return runs


def core_digest(dsn: str) -> dict[str, tuple[int, str]]:
    with psycopg.connect(dsn) as conn:
        return {
            table: conn.execute(
                f"SELECT count(*), coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '') FROM {table} AS t"
            ).fetchone()
            for table in CORE_TABLES
        }


def test_backfill_create_twice_leaves_core_unchanged(stack, indicators):
    before = core_digest(stack.warehouse_dsn)
    first = backfill(stack, "none")
    # One run per hour of [FROM, TO] (the CLI's end is inclusive), each extracting its own interval.
    assert len(first) >= 3
    after_first = core_digest(stack.warehouse_dsn)
    assert after_first["core.fact_dossier"][0] > before["core.fact_dossier"][0]

    with psycopg.connect(stack.warehouse_dsn) as conn:
        last_batch = conn.execute("SELECT max(batch_id) FROM raw.batch").fetchone()[0]
    second = backfill(stack, "completed")
    assert {r["logical_date"] for r in second} >= {r["logical_date"] for r in first}
    with psycopg.connect(stack.warehouse_dsn) as conn:
        # The second backfill did extract and load every interval again ...
        landed, loaded = conn.execute(
            "SELECT count(*), count(*) FILTER (WHERE status = 'loaded') FROM raw.batch "
            "WHERE entity = 'dossier' AND batch_id > %s",
            (last_batch,),
        ).fetchone()
    assert landed >= len(first) and loaded == landed
    # ... and changed nothing.
    assert core_digest(stack.warehouse_dsn) == after_first
