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

import psutil
import psycopg

from tthc import PROJECT_ROOT, devstack, staging, warehouse

# The simulator's default span (it plants figures in 2023 and the first half of 2024).
SIM_START, SIM_NOW = date(2022, 12, 1), date(2024, 7, 1)
SIM_YEARS = (SIM_NOW - SIM_START).days / 365.25

# One stage of the pipeline in its own process, so that its peak memory (max RSS) is its own.
# extract: lands month after month and writes each batch id to the pipe as soon as it has landed;
# load: loads the batch ids arriving on the pipe, two at a time, each in its own worker process
# (max RSS is that of the largest process). Run together, they overlap the way the DAG's mapped
# task group (extract -> load per month) does.
STAGE = """
import json, os, sys, time, resource
from tthc import tasks
from tthc.windows import Window, parse_moment
stage, argument, pipe_fd = sys.argv[1], sys.argv[2], int(sys.argv[3])
started = time.perf_counter()
if stage == "reference":
    result = [tasks.load(tasks.extract("unit")), tasks.load(tasks.extract("procedure"))]
elif stage == "extract":
    window = Window(parse_moment(json.loads(argument)["start"]), parse_moment(json.loads(argument)["end"]))
    result = []
    with os.fdopen(pipe_fd, "w") as pipe:
        for part in tasks.plan_windows(window):
            result.append(tasks.extract("dossier", part))
            pipe.write(f"{result[-1]}\\n")
            pipe.flush()
else:  # two loads in flight, as two load task instances of the DAG would be
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    with os.fdopen(pipe_fd) as pipe, ProcessPoolExecutor(
            2, mp_context=multiprocessing.get_context("spawn")) as workers:
        result = [future.result() for future in [workers.submit(tasks.load, int(line)) for line in pipe]]
usage, workers_usage = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"seconds": time.perf_counter() - started, "result": result,
                  "cpu_s": usage.ru_utime + usage.ru_stime + workers_usage.ru_utime + workers_usage.ru_stime,
                  "max_rss_mb": max(usage.ru_maxrss, workers_usage.ru_maxrss) / 1024}))
"""


def _cpu_s(times) -> float:
    # Backends end with their connection; the postmaster's children_* times keep what they used.
    return times.user + times.system + times.children_user + times.children_system


def _server_cpu_s() -> float:
    """CPU seconds used so far by the PostgreSQL server's processes (the bench owns the machine
    while it runs)."""
    return sum(_cpu_s(process.info["cpu_times"]) for process in psutil.process_iter(["name", "cpu_times"])
               if process.info["name"] in ("postgres", "postmaster") and process.info["cpu_times"])


def _start_stage(stage: str, argument: str, env: dict[str, str], pipe_fd: int = -1) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", STAGE, stage, argument, str(pipe_fd)], env=env,
                            cwd=PROJECT_ROOT, pass_fds=(pipe_fd,) if pipe_fd >= 0 else (),
                            stdout=subprocess.PIPE, text=True)


def _figures(process: subprocess.Popen) -> dict:
    output, _ = process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"bench stage failed with exit code {process.returncode}")
    return json.loads(output.strip().splitlines()[-1])


def _run_pipelined(window: dict[str, str], env: dict[str, str]) -> tuple[dict, dict, float]:
    """Extraction and load as two concurrent processes joined by a pipe of batch ids; returns
    both stages' figures and the wall time from the first request to the last commit."""
    read_end, write_end = os.pipe()
    started = time.perf_counter()
    extract = _start_stage("extract", json.dumps(window), env, write_end)
    load = _start_stage("load", "", env, read_end)
    os.close(write_end)  # the load sees end-of-file when the extraction's copy closes
    os.close(read_end)
    extract_figures = _figures(extract)
    load_figures = _figures(load)
    return extract_figures, load_figures, time.perf_counter() - started


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
        simulator = next(child for child in psutil.Process().children() if "simulator" in child.cmdline())
        _figures(_start_stage("reference", "", env))
        simulator_before, server_before = _cpu_s(simulator.cpu_times()), _server_cpu_s()
        extract, load, seconds = _run_pipelined({"start": "2022-11-01", "end": SIM_NOW.isoformat()}, env)
        simulator_cpu, server_cpu = _cpu_s(simulator.cpu_times()) - simulator_before, _server_cpu_s() - server_before
    dossiers = sum(audit["extracted"] for audit in load["result"])
    from tthc.load import GATE_STEPS

    steps: dict[str, float] = {}
    for audit in load["result"]:
        for step, step_seconds in audit["timings"].items():
            steps[step] = steps.get(step, 0.0) + step_seconds
    gate_s = sum(steps.get(step, 0.0) for step in GATE_STEPS)
    # Loads overlap each other and the extraction, so the gate's share is of the task time spent.
    task_s = extract["seconds"] + sum(steps.values())
    return {
        "volume": volume, "dossiers": dossiers, "batches": len(load["result"]),
        "wall_s": round(seconds, 1), "dossiers_per_s": round(dossiers / seconds),
        "extract_s": round(extract["seconds"], 1), "load_s": round(load["seconds"], 1),
        # What the two cores were busy with, in CPU seconds.
        "cpu_s": {"extract_task": round(extract["cpu_s"], 1), "load_task": round(load["cpu_s"], 1),
                  "postgres": round(server_cpu, 1), "simulator": round(simulator_cpu, 1)},
        "extract_max_rss_mb": round(extract["max_rss_mb"]), "load_max_rss_mb": round(load["max_rss_mb"]),
        "load_steps_s": {step: round(step_seconds, 1) for step, step_seconds in steps.items()},
        "quality_gate_s": round(gate_s, 1), "quality_gate_share_of_pipeline": round(gate_s / task_s, 3),
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
        for table in ("dossier_document", "dossier_fee", "dossier_result", "dossier_supplement", "dossier_step"):
            conn.execute(f"DELETE FROM core.{table} WHERE ma_ho_so IN "
                         "(SELECT ma_ho_so FROM core.fact_dossier WHERE batch_id = %s)", (batch_id,))
        conn.execute("DELETE FROM core.fact_dossier WHERE batch_id = %s", (batch_id,))
        conn.execute("DELETE FROM quality.run_audit WHERE batch_id = %s", (batch_id,))
    started = time.perf_counter()
    timings = load_batch(batch_id, dsn=dsn).timings
    ours = time.perf_counter() - started
    # The load without its quality gate: raw -> staging, then dedupe and merge into core.
    stage_and_merge = timings["stage"] + timings["merge"]

    # The typed rows the load staged (a published batch's staging rows are gone): typed again, read,
    # rolled back. The same rows for all three ways of writing them.
    rows: dict[str, tuple[list[str], list[tuple]]] = {}
    with warehouse.connect(dsn=dsn) as conn:
        staging.stage_from_raw(conn, batch_id)
        for table in ("dossier", "dossier_document", "dossier_fee", "dossier_result", "dossier_supplement",
                      "dossier_step"):
            cursor = conn.execute(f"SELECT * FROM staging.{table} WHERE batch_id = %s", (batch_id,))
            rows[table] = ([c.name for c in cursor.description], cursor.fetchall())
        conn.rollback()
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
        "bare_copy_s": round(bare_copy, 2), "to_sql_s": round(to_sql, 2),
        # The whole load task: staging, quality gate (rules, GX suites, Data Docs), merge, invariants.
        "load_task_s": round(ours, 2),
        "load_task_vs_to_sql_speedup": round(to_sql / ours, 2),
        "load_task_vs_bare_copy_speed": round(bare_copy / ours, 2),
        # Its staging and merge steps alone (raw -> typed staging rows -> dedupe -> core).
        "stage_and_merge_s": round(stage_and_merge, 2),
        "stage_and_merge_vs_to_sql_speedup": round(to_sql / stage_and_merge, 2),
        "stage_and_merge_vs_bare_copy_speed": round(bare_copy / stage_and_merge, 2),
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
