"""Helpers the integration tests share, in a module of its own: test modules import it by name
(``conftest`` is not importable reliably when several exist)."""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager

from simulator.server import FaultConfig, SimulatorServer, run_in_thread
from tthc import warehouse

SMALL_VOLUME = 20_000  # dossiers a year: the smallest volume the simulator can plant its figures in


def warehouse_connection_json(dsn: str) -> str:
    return warehouse.airflow_connection_json(dsn)


def source_connection_json(server) -> str:
    host, port = server.base_url.removeprefix("http://").split(":")
    return json.dumps(
        {
            "conn_type": "http",
            "host": host,
            "port": int(port),
            "schema": "http",
            "login": server.client_id,
            "password": server.client_secret,
            "extra": {"page_size": 1000, "backoff_base_s": 0.05, "backoff_max_s": 0.5},
        }
    )


@contextmanager
def simulated_source(province, faults: FaultConfig | None = None) -> Iterator[tuple[SimulatorServer, str]]:
    """The simulator over real HTTP with fresh credentials; yields it and the value of
    AIRFLOW_CONN_TTHC_SOURCE that points at it."""
    with run_in_thread(
        province,
        faults or FaultConfig(),
        client_id="test-" + secrets.token_hex(4),
        client_secret=secrets.token_urlsafe(16),
    ) as server:
        yield server, source_connection_json(server)


def run_pipeline_dags(
    run_dag: Callable,
    source: str,
    dsn: str,
    window: dict[str, str],
    dag_ids=("tthc_reference", "tthc_dossiers", "tthc_feedback", "tthc_indicators"),
) -> None:
    """The pipeline's DAGs in dependency order, as real Airflow runs; the reference DAG takes the
    lists whole, the others the window."""
    for dag_id in dag_ids:
        run_dag(dag_id, source=source, warehouse_dsn=dsn, conf=None if dag_id == "tthc_reference" else window)


@contextmanager
def environment(values: Mapping[str, str]) -> Iterator[None]:
    """These environment variables set for the block (the connections the task functions read),
    the previous values back afterwards."""
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
