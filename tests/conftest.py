"""Shared fixtures: a real PostgreSQL database per test session, the simulator over real HTTP, real
Airflow runs (``airflow dags test``) of the project's DAGs, and the channels mail and webhooks go
to: a real SMTP server (aiosmtpd) and a real webhook HTTP server, each on a free port."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import tempfile
import threading
from email import message_from_bytes
from email.policy import default as default_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
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
    """Runs one DAG through ``airflow dags test`` against the given source (if any) and warehouse,
    for ``logical_date`` if given (else now); ``env`` adds variables (another sources file and its
    connections, say)."""

    def run(
        dag_id: str,
        *,
        source: str | None = None,
        warehouse_dsn: str,
        conf: dict | None = None,
        logical_date: str | None = None,
        env: dict[str, str] | None = None,
    ) -> subprocess.CompletedProcess:
        extra_env = env or {}
        env = devstack.airflow_env(home=airflow_home)
        env.update(
            AIRFLOW_CONN_TTHC_WAREHOUSE=warehouse_connection_json(warehouse_dsn),
            TTHC_PSEUDONYM_KEY=pseudonym_key,
        )
        if source:
            env["AIRFLOW_CONN_TTHC_SOURCE"] = source
        env.update(extra_env)
        command = [str(Path(sys.executable).parent / "airflow"), "dags", "test", dag_id]
        if logical_date:
            command.append(logical_date)
        if conf:
            command += ["-c", json.dumps(conf)]
        result = subprocess.run(
            command, env=env, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=1800
        )
        if result.returncode != 0 or "state=failed" in result.stdout + result.stderr:
            raise AssertionError(f"{dag_id} failed:\n{result.stdout[-6000:]}\n{result.stderr[-6000:]}")
        return result

    return run


class _Inbox:
    def __init__(self) -> None:
        self.messages: list = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.messages.append(
            message_from_bytes(envelope.original_content or envelope.content, policy=default_policy)
        )
        return "250 OK"


@pytest.fixture
def smtp_server():
    from aiosmtpd.controller import Controller

    inbox = _Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=devstack.free_port())
    controller.start()
    inbox.connection = json.dumps(
        {
            "conn_type": "smtp",
            "host": "127.0.0.1",
            "port": controller.port,
            "extra": {
                "from_email": "tthc@example.test",
                "to": "ops@example.test",
                "disable_tls": True,
                "disable_ssl": True,
            },
        }
    )
    try:
        yield inbox
    finally:
        controller.stop()


@pytest.fixture
def webhook_server():
    calls: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's hook name
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            calls.append({"path": self.path, "body": json.loads(body)})
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", devstack.free_port()), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.calls = calls
    server.connection = json.dumps(
        {
            "conn_type": "http",
            "host": "127.0.0.1",
            "port": server.server_port,
            "schema": "http",
            "extra": {"endpoint": "/hooks/tthc"},
        }
    )
    try:
        yield server
    finally:
        server.shutdown()
