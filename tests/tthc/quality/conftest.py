"""Fixtures of the quality-gate tests: a real SMTP server (aiosmtpd), a real webhook HTTP server,
a DAG runner that may expect a failure and passes extra environment, and a warehouse with
reference data loaded straight through ``load_batch`` (no Airflow) for the fast tests."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from email import message_from_bytes
from email.policy import default as default_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tthc import PROJECT_ROOT, devstack
from tthc.devstack import free_port


def warehouse_connection_json(dsn: str) -> str:
    from tthc import warehouse

    return warehouse.airflow_connection_json(dsn)


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
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
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

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
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
