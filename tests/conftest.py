"""Shared fixtures: a real PostgreSQL database per test session, the simulator over real HTTP, and
real Airflow runs (``airflow dags test``) of the project's DAGs."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import tempfile
from pathlib import Path

# Airflow reads its configuration when first imported: point it at a throwaway home (SQLite
# metadata, the project's DAGs, no examples) before anything imports it.
os.environ.update(
    AIRFLOW_HOME=os.environ.get("TTHC_TEST_AIRFLOW_HOME") or tempfile.mkdtemp(prefix="tthc-airflow-"),
    AIRFLOW__CORE__LOAD_EXAMPLES="False",
    AIRFLOW__CORE__DAGS_FOLDER=str(Path(__file__).resolve().parents[1] / "dags"),
)

import psycopg  # noqa: E402
import pytest  # noqa: E402
from pipeline_support import warehouse_connection_json  # noqa: E402

from tthc import PROJECT_ROOT, devstack, warehouse  # noqa: E402


@pytest.fixture(scope="session")
def pseudonym_key() -> str:
    key = secrets.token_urlsafe(32)
    os.environ["TTHC_PSEUDONYM_KEY"] = key
    return key


@pytest.fixture(scope="session")
def admin_dsn() -> str:
    return devstack.local_server_admin_dsn()


@pytest.fixture(scope="session")
def make_database(admin_dsn):
    """Creates empty, migrated warehouse databases; drops them at the end of the session."""
    created: list[str] = []

    def make(label: str) -> str:
        name = f"tthc_test_{label}_{os.getpid()}"
        with psycopg.connect(admin_dsn, autocommit=True) as conn:
            conn.execute(
                psycopg.sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    psycopg.sql.Identifier(name)
                )
            )
            conn.execute(psycopg.sql.SQL("CREATE DATABASE {}").format(psycopg.sql.Identifier(name)))
        created.append(name)
        params = psycopg.conninfo.conninfo_to_dict(admin_dsn)
        params["dbname"] = name
        dsn = psycopg.conninfo.make_conninfo(**params)
        with warehouse.connect(dsn=dsn) as conn:
            warehouse.migrate(conn)
        return dsn

    yield make
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        for name in created:
            conn.execute(
                psycopg.sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    psycopg.sql.Identifier(name)
                )
            )


@pytest.fixture(scope="session")
def airflow_home(tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("airflow-home")
    devstack.prepare_airflow(devstack.airflow_env(home=home))
    return home


@pytest.fixture(scope="session")
def run_dag(airflow_home, pseudonym_key):
    """Runs one DAG through ``airflow dags test`` against the given source and warehouse."""

    def run(
        dag_id: str, *, source: str, warehouse_dsn: str, conf: dict | None = None
    ) -> subprocess.CompletedProcess:
        env = devstack.airflow_env(home=airflow_home)
        env.update(
            AIRFLOW_CONN_TTHC_SOURCE=source,
            AIRFLOW_CONN_TTHC_WAREHOUSE=warehouse_connection_json(warehouse_dsn),
            TTHC_PSEUDONYM_KEY=pseudonym_key,
        )
        command = [str(Path(sys.executable).parent / "airflow"), "dags", "test", dag_id]
        if conf:
            command += ["-c", json.dumps(conf)]
        result = subprocess.run(
            command, env=env, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=1800
        )
        if result.returncode != 0 or "state=failed" in result.stdout + result.stderr:
            raise AssertionError(f"{dag_id} failed:\n{result.stdout[-6000:]}\n{result.stderr[-6000:]}")
        return result

    return run
