"""The local stack behind ``make demo``, ``make run`` and ``make airflow``.

It finds a warehouse (``AIRFLOW_CONN_TTHC_WAREHOUSE`` if set, else the PostgreSQL server on
127.0.0.1:5432, else an embedded one started with ``pgserver``), makes the local secrets once
(pseudonymization key, simulator credentials: random, in the git-ignored ``.airflow/``), starts
the simulator unless ``AIRFLOW_CONN_TTHC_SOURCE`` is set, and runs the DAGs through Airflow
(``airflow dags test``) in order.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager, suppress
from datetime import date
from pathlib import Path

import psycopg

from tthc import PROJECT_ROOT, warehouse
from tthc.assets import SOURCE_POOL, SOURCE_POOL_SLOTS

STATE_DIR = PROJECT_ROOT / ".airflow"
DEMO_START, DEMO_END = "2023-01-01", "2024-07-01"
WAREHOUSE_DB = "tthc"


def airflow_env(base: dict[str, str] | None = None, home: Path | None = None) -> dict[str, str]:
    env = dict(base or os.environ)
    home = home or STATE_DIR / "home"
    env.update(
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__DAGS_FOLDER=str(PROJECT_ROOT / "dags"),
        AIRFLOW__CORE__PLUGINS_FOLDER=str(PROJECT_ROOT / "plugins"),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__CORE__UNIT_TEST_MODE="False",
        AIRFLOW__LOGGING__LOGGING_LEVEL=env.get("AIRFLOW__LOGGING__LOGGING_LEVEL", "INFO"),
        PYTHONPATH=os.pathsep.join([str(PROJECT_ROOT / "plugins"), str(PROJECT_ROOT), env.get("PYTHONPATH", "")]),
        # `airflow standalone` starts its components as `airflow ...` from PATH: the venv's own.
        PATH=os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")]),
    )
    return env


def local_secrets() -> dict[str, str]:
    """Random local secrets, made once and kept in .airflow/secrets.json (git-ignored)."""
    path = STATE_DIR / "secrets.json"
    if path.exists():
        return json.loads(path.read_text())
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    values = {
        "TTHC_PSEUDONYM_KEY": secrets.token_urlsafe(32),
        "TTHC_SIM_CLIENT_ID": "tthc-demo-" + secrets.token_hex(4),
        "TTHC_SIM_CLIENT_SECRET": secrets.token_urlsafe(24),
    }
    path.write_text(json.dumps(values))
    path.chmod(0o600)
    return values


def _server_answers(dsn: str) -> bool:
    try:
        with psycopg.connect(dsn, connect_timeout=3):
            return True
    except psycopg.OperationalError:
        return False


def ensure_database(admin_dsn: str, name: str) -> None:
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(psycopg.sql.SQL("CREATE DATABASE {}").format(psycopg.sql.Identifier(name)))


def local_server_admin_dsn() -> str | None:
    """An admin DSN for a PostgreSQL we can use without configuration, starting one if needed
    (``TTHC_ADMIN_DSN`` names another server: the tests and benchmarks create their databases there)."""
    if os.environ.get("TTHC_ADMIN_DSN"):
        return os.environ["TTHC_ADMIN_DSN"]
    local = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
    if _server_answers(local):
        return local
    import pgserver  # the embedded PostgreSQL, shipped in a wheel

    server = pgserver.get_server(str(STATE_DIR / "pgdata"), cleanup_mode=None)
    return server.get_uri()


def warehouse_connection(database: str = WAREHOUSE_DB) -> str:
    """The AIRFLOW_CONN_TTHC_WAREHOUSE value to use (JSON form)."""
    if os.environ.get("AIRFLOW_CONN_TTHC_WAREHOUSE"):
        return os.environ["AIRFLOW_CONN_TTHC_WAREHOUSE"]
    admin = local_server_admin_dsn()
    ensure_database(admin, database)
    params = psycopg.conninfo.conninfo_to_dict(admin)
    return json.dumps({
        "conn_type": "postgres",
        "host": params.get("host") or "127.0.0.1",
        "port": int(params.get("port") or 5432),
        "login": params.get("user") or "postgres",
        "password": params.get("password") or None,
        "schema": database,
    })


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def simulator_process(client_id: str, client_secret: str, extra_args: list[str] | None = None):
    """``python -m simulator`` on a free port; yields the AIRFLOW_CONN_TTHC_SOURCE value."""
    port = free_port()
    env = dict(os.environ, TTHC_SIM_CLIENT_ID=client_id, TTHC_SIM_CLIENT_SECRET=client_secret,
               PYTHONPATH=os.pathsep.join([str(PROJECT_ROOT / "plugins"), str(PROJECT_ROOT)]))
    process = subprocess.Popen(
        [sys.executable, "-m", "simulator", "--host", "127.0.0.1", "--port", str(port), *(extra_args or [])],
        cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, text=True,
    )
    try:
        line = process.stdout.readline()
        if "ready" not in line:
            raise RuntimeError(f"the simulator did not start (exit code {process.poll()})")
        yield json.dumps({
            "conn_type": "http", "host": "127.0.0.1", "port": port, "schema": "http",
            "login": client_id, "password": client_secret, "extra": {"page_size": 1000},
        })
    finally:
        process.terminate()
        with suppress(subprocess.TimeoutExpired):
            process.wait(timeout=10)
        if process.poll() is None:
            process.kill()


def airflow(args: list[str], env: dict[str, str]) -> None:
    command = [str(Path(sys.executable).parent / "airflow"), *args]
    print(f"$ airflow {' '.join(args)}", flush=True)
    subprocess.run(command, env=env, cwd=PROJECT_ROOT, check=True)


def prepare_airflow(env: dict[str, str]) -> None:
    stamp = Path(env["AIRFLOW_HOME"]) / ".migrated"
    if not stamp.exists():
        Path(env["AIRFLOW_HOME"]).mkdir(parents=True, exist_ok=True)
        airflow_bin = str(Path(sys.executable).parent / "airflow")
        subprocess.run([airflow_bin, "db", "migrate"], env=env, cwd=PROJECT_ROOT, check=True,
                       stdout=subprocess.DEVNULL)
        subprocess.run([airflow_bin, "pools", "set", SOURCE_POOL, str(SOURCE_POOL_SLOTS),
                        "concurrent calls to the provincial export API"],
                       env=env, cwd=PROJECT_ROOT, check=True, stdout=subprocess.DEVNULL)
        stamp.touch()


def run_pipeline(start: str, end: str, env: dict[str, str]) -> None:
    """The whole pipeline for [start, end), as real Airflow DAG runs, in dependency order."""
    prepare_airflow(env)
    window = json.dumps({"start": start, "end": end})
    airflow(["dags", "test", "tthc_reference"], env)
    airflow(["dags", "test", "tthc_dossiers", "-c", window], env)
    airflow(["dags", "test", "tthc_feedback", "-c", window], env)
    airflow(["dags", "test", "tthc_indicators", "-c", window], env)


def headline(dsn: str, year: int = 2023, half_start: date = date(2024, 1, 1)) -> list[dict]:
    with warehouse.connect(dsn=dsn) as conn:
        return warehouse.query(conn, "marts/headline_districts.sql",
                               {"year_start": date(year, 1, 1), "half_start": half_start})


def format_headline(rows: list[dict], year: int = 2023, half: str = "H1 2024") -> str:
    def pct(value) -> str:
        return "n/a" if value is None else f"{float(value) * 100:.2f}%"

    def score(row) -> str:
        if row["total_score"] is None:
            return "n/a"
        return f"{float(row['total_score']):.2f}/{float(row['max_available']):.0f}"

    header = (f"{'district':<34} {'on time ' + str(year):>13} {'digitized ' + half:>18} "
              f"{'paid online ' + half:>20} {'766 total ' + str(year):>16} {'rank':>6}")
    lines = [header, "-" * len(header)]
    for row in rows:
        rank = f"{row['rank_in_level']}/{row['units_in_level']}" if row["rank_in_level"] else "n/a"
        lines.append(f"{row['unit_name']:<34} {pct(row['on_time']):>13} {pct(row['result_digitized']):>18} "
                     f"{pct(row['online_payment']):>20} {score(row):>16} {rank:>6}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tthc.devstack")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the whole pipeline for a window")
    run.add_argument("--start", default=DEMO_START)
    run.add_argument("--end", default=DEMO_END)
    run.add_argument("--headline", action="store_true", help="print the districts' headline table")
    sub.add_parser("airflow", help="start Airflow (standalone) with the project's DAGs and connections")
    args = parser.parse_args(argv)
    # A terminated dev stack still stops the simulator it started (finally blocks run on exit).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))

    env = airflow_env()
    local = local_secrets()
    env.setdefault("TTHC_PSEUDONYM_KEY", local["TTHC_PSEUDONYM_KEY"])
    env["AIRFLOW_CONN_TTHC_WAREHOUSE"] = warehouse_connection()
    os.environ.update({k: env[k] for k in ("AIRFLOW_CONN_TTHC_WAREHOUSE", "TTHC_PSEUDONYM_KEY")})

    with _source(env, local) as source:
        env["AIRFLOW_CONN_TTHC_SOURCE"] = source
        if args.command == "airflow":
            prepare_airflow(env)
            airflow(["standalone"], env)
            return 0
        started = time.monotonic()
        run_pipeline(args.start, args.end, env)
        print(f"\npipeline {args.start} .. {args.end} done in {time.monotonic() - started:.0f} s\n")
    if args.headline:
        dsn = warehouse.conninfo(_warehouse_fields())
        print(format_headline(headline(dsn)))
        print(
            "\nWhere next:\n"
            "  BI      : mart.indicator_value, mart.score_766, mart.rank_gap and the labelled views (docs/bi.md)\n"
            "  quality : quality.quarantine, quality.run_audit; Data Docs in .airflow/data_docs/index.html\n"
            "  Airflow : make airflow, then http://localhost:8080 (DAGs tthc_*, with their docs)\n"
            "  report  : trigger tthc_report with {\"unit_code\": \"H35.112\", \"period\": \"2024-H1\"} "
            "-> output/reports/\n"
        )
    return 0


def _warehouse_fields():
    from tthc.settings import WAREHOUSE_CONN_ID, get_connection

    return get_connection(WAREHOUSE_CONN_ID)


@contextmanager
def _source(env: dict[str, str], local: dict[str, str]):
    if os.environ.get("AIRFLOW_CONN_TTHC_SOURCE"):
        yield os.environ["AIRFLOW_CONN_TTHC_SOURCE"]
        return
    with simulator_process(local["TTHC_SIM_CLIENT_ID"], local["TTHC_SIM_CLIENT_SECRET"]) as source:
        yield source


if __name__ == "__main__":
    sys.exit(main())
