"""Extract and load speed, measured against baselines in the same run.

1. End to end (extract over HTTP from the simulator, land, validate, load) in dossiers per second,
   each stage in its own process so that its peak memory (max RSS) is measured, at two volumes.
2. The load stage against two baselines on the same rows: ``pandas.DataFrame.to_sql`` (default
   method) and a bare ``COPY`` of the typed rows the load writes (dossiers and their child lists).

Run: ``python -m bench pipeline`` (``--volumes 100000 1000000``).
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
from datetime import date

import psycopg

from tthc import PROJECT_ROOT, devstack, warehouse

# The simulator's default span (it plants figures in 2023 and the first half of 2024).
SIM_START, SIM_NOW = date(2022, 12, 1), date(2024, 7, 1)
SIM_YEARS = (SIM_NOW - SIM_START).days / 365.25

STAGE = """
import json, sys, time, resource
from tthc import tasks
from tthc.windows import Window, parse_moment
stage, argument = sys.argv[1], sys.argv[2]
started = time.perf_counter()
if stage == "reference":
    result = [tasks.load(tasks.extract("unit")), tasks.load(tasks.extract("procedure"))]
elif stage == "extract":
    window = Window(parse_moment(json.loads(argument)["start"]), parse_moment(json.loads(argument)["end"]))
    result = [tasks.extract("dossier", part) for part in tasks.plan_windows(window)]
else:
    result = [tasks.load(batch_id) for batch_id in json.loads(argument)]
print(json.dumps({"seconds": time.perf_counter() - started, "result": result,
                  "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def _run_stage(stage: str, argument: str, env: dict[str, str]) -> dict:
    output = subprocess.run([sys.executable, "-c", STAGE, stage, argument], env=env, cwd=PROJECT_ROOT,
                            check=True, capture_output=True, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def _database(admin_dsn: str, name: str) -> str:
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(psycopg.sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(psycopg.sql.Identifier(name)))
        conn.execute(psycopg.sql.SQL("CREATE DATABASE {}").format(psycopg.sql.Identifier(name)))
    params = psycopg.conninfo.conninfo_to_dict(admin_dsn) | {"dbname": name}
    dsn = psycopg.conninfo.make_conninfo(**params)
    with warehouse.connect(dsn=dsn) as conn:
        warehouse.migrate(conn)
    return dsn


def end_to_end(volume: int, admin_dsn: str) -> dict:
    """About ``volume`` simulated dossiers, extracted and loaded month by month."""
    dsn = _database(admin_dsn, f"tthc_bench_{volume}")
    client_id, client_secret = "bench-" + secrets.token_hex(3), secrets.token_urlsafe(16)
    extra = ["--start", SIM_START.isoformat(), "--now", SIM_NOW.isoformat(),
             "--dossiers-per-year", str(round(volume / SIM_YEARS))]
    with devstack.simulator_process(client_id, client_secret, extra) as source:
        params = psycopg.conninfo.conninfo_to_dict(dsn)
        env = devstack.airflow_env() | {
            "AIRFLOW_CONN_TTHC_SOURCE": source,
            "AIRFLOW_CONN_TTHC_WAREHOUSE": json.dumps({
                "conn_type": "postgres", "host": params.get("host"), "port": int(params.get("port") or 5432),
                "login": params.get("user"), "password": params.get("password"), "schema": params["dbname"]}),
            "TTHC_PSEUDONYM_KEY": secrets.token_urlsafe(32),
        }
        _run_stage("reference", "", env)
        extract = _run_stage("extract", json.dumps({"start": "2022-11-01", "end": SIM_NOW.isoformat()}), env)
    load = _run_stage("load", json.dumps(extract["result"]), env)
    dossiers = sum(audit["extracted"] for audit in load["result"])
    seconds = extract["seconds"] + load["seconds"]
    from tthc.load import GATE_STEPS

    gate_s = sum(audit["timings"].get(step, 0.0) for audit in load["result"] for step in GATE_STEPS)
    return {
        "volume": volume, "dossiers": dossiers,
        "extract_s": round(extract["seconds"], 1), "load_s": round(load["seconds"], 1),
        "dossiers_per_s": round(dossiers / seconds), "extract_max_rss_mb": round(extract["max_rss_mb"]),
        "load_max_rss_mb": round(load["max_rss_mb"]),
        "quality_gate_s": round(gate_s, 1), "quality_gate_share_of_pipeline": round(gate_s / seconds, 3),
        "dsn": dsn,
    }


def load_stage_against_baselines(dsn: str) -> dict:
    """The load stage of the largest batch against to_sql and a bare COPY of the same typed rows."""
    import pandas as pd
    import sqlalchemy

    from tthc.load import load_batch
    from tthc.quality.gx_runner import sqlalchemy_url

    with warehouse.connect(dsn=dsn) as conn:
        batch_id, records = conn.execute(
            "SELECT batch_id, record_count FROM raw.batch WHERE entity = 'dossier' ORDER BY record_count DESC LIMIT 1"
        ).fetchone()
        # Forget the batch's merge so the load does its full work again (its rows are all new).
        conn.execute("DELETE FROM core.fact_dossier WHERE batch_id = %s", (batch_id,))
        conn.execute("DELETE FROM quality.run_audit WHERE batch_id = %s", (batch_id,))
    started = time.perf_counter()
    load_batch(batch_id, dsn=dsn)
    ours = time.perf_counter() - started

    # The typed rows the load wrote to staging: the same rows for all three ways of writing them.
    rows: dict[str, tuple[list[str], list[tuple]]] = {}
    with warehouse.connect(dsn=dsn) as conn:
        for table in ("dossier", "dossier_document", "dossier_fee", "dossier_result", "dossier_supplement",
                      "dossier_step"):
            cursor = conn.execute(f"SELECT * FROM staging.{table}")
            rows[table] = ([c.name for c in cursor.description], cursor.fetchall())
    typed_rows = sum(len(values) for _, values in rows.values())
    tables = {table: pd.DataFrame(values, columns=columns) for table, (columns, values) in rows.items()}

    with warehouse.connect(dsn=dsn) as conn:
        conn.execute("CREATE SCHEMA IF NOT EXISTS bench")
    with warehouse.connect(dsn=dsn) as conn:  # rolled back: the baseline leaves nothing behind
        for table in tables:
            conn.execute(f"DROP TABLE IF EXISTS bench.{table}")
            conn.execute(f"CREATE TABLE bench.{table} (LIKE staging.{table})")
        started = time.perf_counter()
        for table, (columns, values) in rows.items():
            warehouse.copy_rows(conn, f"bench.{table}", columns, values)
        bare_copy = time.perf_counter() - started
        conn.rollback()

    engine = sqlalchemy.create_engine(sqlalchemy_url(dsn))
    started = time.perf_counter()
    with engine.begin() as connection:
        for table, frame in tables.items():
            frame.to_sql(table, connection, schema="bench", if_exists="replace", index=False)
    to_sql = time.perf_counter() - started
    engine.dispose()
    return {
        "batch_dossiers": records, "typed_rows": typed_rows,
        "load_stage_s": round(ours, 2), "bare_copy_s": round(bare_copy, 2), "to_sql_s": round(to_sql, 2),
        "load_vs_to_sql_speedup": round(to_sql / ours, 2), "load_vs_bare_copy_speed": round(bare_copy / ours, 2),
    }


def main(volumes: list[int] | None = None) -> dict:
    admin_dsn = devstack.local_server_admin_dsn()
    runs = []
    for volume in volumes or [100_000, 1_000_000]:
        runs.append(end_to_end(volume, admin_dsn))
        print(json.dumps({k: v for k, v in runs[-1].items() if k != "dsn"}), flush=True)
    figures = {"end_to_end": [{k: v for k, v in run.items() if k != "dsn"} for run in runs],
               "load_stage": load_stage_against_baselines(runs[-1]["dsn"])}
    if os.environ.get("TTHC_BENCH_KEEP") != "1":
        with psycopg.connect(admin_dsn, autocommit=True) as conn:
            for run in runs:
                name = psycopg.conninfo.conninfo_to_dict(run["dsn"])["dbname"]
                conn.execute(psycopg.sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(psycopg.sql.Identifier(name)))
    return figures
