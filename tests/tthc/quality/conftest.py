"""Fixtures of the quality-gate tests: a DAG runner that may expect a failure and passes extra
environment, and a warehouse with reference data loaded straight through ``load_batch`` (no Airflow)
for the fast tests. The real SMTP server (aiosmtpd) and webhook HTTP server are in tests/conftest.py."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tthc import PROJECT_ROOT, devstack


def warehouse_connection_json(dsn: str) -> str:
    from tthc import warehouse

    return warehouse.airflow_connection_json(dsn)


@pytest.fixture(scope="session")
def run_dag_allowing_failure(airflow_home, pseudonym_key):
    """Like conftest's ``run_dag``, with extra environment and a failure that may be expected:
    returns (succeeded, CompletedProcess)."""

    def run(
        dag_id: str,
        *,
        warehouse_dsn: str,
        source: str | None = None,
        conf: dict | None = None,
        env: dict[str, str] | None = None,
        expect_failure: bool = False,
    ):
        run_env = devstack.airflow_env(home=airflow_home)
        run_env.update(
            AIRFLOW_CONN_TTHC_WAREHOUSE=warehouse_connection_json(warehouse_dsn),
            TTHC_PSEUDONYM_KEY=pseudonym_key,
        )
        if source:
            run_env["AIRFLOW_CONN_TTHC_SOURCE"] = source
        run_env.update(env or {})
        command = [str(Path(sys.executable).parent / "airflow"), "dags", "test", dag_id]
        if conf:
            command += ["-c", json.dumps(conf)]
        result = subprocess.run(
            command, env=run_env, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=900
        )
        failed = result.returncode != 0 or "state=failed" in result.stdout + result.stderr
        if failed != expect_failure:
            raise AssertionError(
                f"{dag_id}: failed={failed}, expected {expect_failure}:\n"
                f"{result.stdout[-6000:]}\n{result.stderr[-6000:]}"
            )
        return result

    return run
