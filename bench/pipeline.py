"""Extract and load speed, measured against baselines in the same run.

1. End to end (extract over HTTP from the simulator, land, validate, load) in dossiers per second,
   each stage in its own process so that its peak memory (max RSS) is measured, at two volumes;
   and, as its floor on the day's machine, the same dossiers fetched with the same client and
   COPYed as sent into a bare table (``land_bare``), the pipeline's rate given as a share of it.
2. The load stage against two baselines on the same rows: ``pandas.DataFrame.to_sql`` (default
   method) and a bare ``COPY`` of the typed rows the load writes (dossiers and their child lists),
   in text and in binary format, each into fresh tables without indexes; and, as the floor of any
   load into core, a bare ``COPY`` of the rows the merge wrote straight into core's tables, with
   their indexes.

Run: ``python -m bench pipeline`` (``--volumes 100000 1000000``).
"""

from __future__ import annotations

import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from typing import IO

import orjson
import psutil
import psycopg

from tthc import PROJECT_ROOT, devstack, warehouse
from tthc.staging import dossier, partitions

# The simulator's default span (it plants figures in 2023 and the first half of 2024).
SIM_START, SIM_NOW = date(2022, 12, 1), date(2024, 7, 1)
SIM_YEARS = (SIM_NOW - SIM_START).days / 365.25

# The pipeline as the DAG runs it, stage by stage in processes of their own (the max RSS reported
# for a stage is that of its largest process):
# extract: the months of the window, two at a time, each in its own worker process (the DAG runs
#   up to four, the slots of the tthc_source pool); each batch id goes to the pipe once landed;
# load: the batch ids arriving on the pipe, two at a time, each in its own worker process.
# Run together, they overlap the way the DAG's mapped task group (extract -> load per month) does.
# bare: the extraction's floor, measured after the pipeline on the same simulator (see land_bare).
STAGE = """
import json, multiprocessing, os, sys, time, resource
from concurrent.futures import ProcessPoolExecutor, as_completed
from tthc import tasks
from tthc.windows import Window, parse_moment
stage, argument, pipe_fd = sys.argv[1], sys.argv[2], int(sys.argv[3])
window = Window(parse_moment(json.loads(argument)["start"]), parse_moment(json.loads(argument)["end"])) if argument else None
started = time.perf_counter()
workers = ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn"))
if stage == "reference":  # what tthc_reference loads: the rules judge dossiers against all three
    from datetime import date
    result = [tasks.load(tasks.extract("unit")), tasks.load(tasks.extract("procedure")),
              tasks.load_calendar(*tasks.calendar_span(date.today()))]
elif stage == "extract":
    result = []
    with os.fdopen(pipe_fd, "w") as pipe:
        months = [workers.submit(tasks.extract, "dossier", part) for part in tasks.plan_windows(window)]
        for month in as_completed(months):
            result.append(month.result())
            pipe.write(f"{result[-1]}\\n")
            pipe.flush()
elif stage == "bare":  # the same months fetched and landed as sent: the floor of any extraction
    from bench.pipeline import land_bare
    result = [month.result() for month in [workers.submit(land_bare, part) for part in tasks.plan_windows(window)]]
else:
    with os.fdopen(pipe_fd) as pipe:
        result = [future.result() for future in [workers.submit(tasks.load, int(line)) for line in pipe]]
workers.shutdown()
usage, workers_usage = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"seconds": time.perf_counter() - started, "result": result,
                  "cpu_s": usage.ru_utime + usage.ru_stime + workers_usage.ru_utime + workers_usage.ru_stime,
                  "max_rss_mb": max(usage.ru_maxrss, workers_usage.ru_maxrss) / 1024}))
"""


BARE_TABLE = "bench.landed_dossier"


def land_bare(window: dict[str, str]) -> int:
    """The floor of any extraction on this machine: one month of dossiers fetched over HTTP with
    the pipeline's client (same pages, same parsing) and COPYed, as the source sent them, into a
    table without keys or indexes, two months at a time as the pipeline runs them. Nothing is
    pseudonymized, typed, checked or merged. Returns the records landed."""
    from tthc.cycles import collector_paused
    from tthc.entities import DOSSIER
    from tthc.source_client import SourceClient, SourceSettings
    from tthc.windows import parse_moment

    landed = 0
    # With the cycle collector paused, as the pipeline's extraction runs: a floor the pipeline
    # beats by a trick it does not share would not be a floor.
    with (
        SourceClient(SourceSettings.from_airflow()) as client,
        warehouse.connect() as conn,
        collector_paused(),
    ):
        for page in client.iter_pages(
            DOSSIER.endpoint, start=parse_moment(window["start"]), end=parse_moment(window["end"])
        ):
            landed += warehouse.copy_rows(
                conn, BARE_TABLE, ("payload",), [(orjson.dumps(record).decode(),) for record in page.records]
            )
    return landed


def _cpu_s(times) -> float:
    # Backends end with their connection; the postmaster's children_* times keep what they used.
    return times.user + times.system + times.children_user + times.children_system


def _server_cpu_s() -> float:
    """CPU seconds used so far by the PostgreSQL server's processes (the bench owns the machine
    while it runs)."""
    return sum(
        _cpu_s(process.info["cpu_times"])
        for process in psutil.process_iter(["name", "cpu_times"])
        if process.info["name"] in ("postgres", "postmaster") and process.info["cpu_times"]
    )


def _run_stage(
    stage: str, argument: str, env: dict[str, str], output: IO[str], pipe_fd: int = -1
) -> subprocess.Popen:
    # The stage's output (its task logs, then its figures) goes to a file, not a pipe: a pipe read
    # only when the stage ends fills up while the other stage runs, and every process of the stage
    # then blocks on its next log line (measured: both loads stalled ~50 s until the extraction ended).
    return subprocess.Popen(
        [sys.executable, "-c", STAGE, stage, argument, str(pipe_fd)],
        env=env,
        cwd=PROJECT_ROOT,
        pass_fds=(pipe_fd,) if pipe_fd >= 0 else (),
        stdout=output,
        text=True,
    )


def _figures(process: subprocess.Popen, output: IO[str]) -> dict:
    if process.wait() != 0:
        raise RuntimeError(f"bench stage failed with exit code {process.returncode}")
    output.seek(0)
    return json.loads(output.read().strip().splitlines()[-1])


def _run_alone(stage: str, argument: str, env: dict[str, str]) -> dict:
    with tempfile.TemporaryFile("w+") as output:
        return _figures(_run_stage(stage, argument, env, output), output)


def _run_pipelined(window: dict[str, str], env: dict[str, str]) -> tuple[dict, dict, float]:
    """Extraction and load as two concurrent processes joined by a pipe of batch ids; returns
    both stages' figures and the wall time from the first request to the last commit."""
    read_end, write_end = os.pipe()
    with tempfile.TemporaryFile("w+") as extract_output, tempfile.TemporaryFile("w+") as load_output:
        started = time.perf_counter()
        extract = _run_stage("extract", json.dumps(window), env, extract_output, write_end)
        load = _run_stage("load", "", env, load_output, read_end)
        os.close(write_end)  # the load sees end-of-file when the extraction's copy closes
        os.close(read_end)
        extract_figures = _figures(extract, extract_output)
        load_figures = _figures(load, load_output)
        return extract_figures, load_figures, time.perf_counter() - started


def _database(admin_dsn: str, name: str) -> str:
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(
            psycopg.sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(psycopg.sql.Identifier(name))
        )
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
    extra = [
        "--start",
        SIM_START.isoformat(),
        "--now",
        SIM_NOW.isoformat(),
        "--dossiers-per-year",
        str(round(volume / SIM_YEARS)),
    ]
    with devstack.simulator_process(client_id, client_secret, extra) as source:
        env = devstack.airflow_env() | {
            "AIRFLOW_CONN_TTHC_SOURCE": source,
            "AIRFLOW_CONN_TTHC_WAREHOUSE": warehouse.airflow_connection_json(dsn),
            "TTHC_PSEUDONYM_KEY": secrets.token_urlsafe(32),
        }
        simulator = next(child for child in psutil.Process().children() if "simulator" in child.cmdline())
        _run_alone("reference", "", env)
        simulator_before, server_before = _cpu_s(simulator.cpu_times()), _server_cpu_s()
        window = {"start": "2022-11-01", "end": SIM_NOW.isoformat()}
        extract, load, seconds = _run_pipelined(window, env)
        simulator_cpu, server_cpu = (
            _cpu_s(simulator.cpu_times()) - simulator_before,
            _server_cpu_s() - server_before,
        )
        with warehouse.connect(dsn=dsn) as conn:
            conn.execute("CREATE SCHEMA IF NOT EXISTS bench")
            conn.execute(f"CREATE TABLE {BARE_TABLE} (payload jsonb NOT NULL)")
        simulator_before, server_before = _cpu_s(simulator.cpu_times()), _server_cpu_s()
        bare = _run_alone("bare", json.dumps(window), env)
        bare_simulator_cpu = _cpu_s(simulator.cpu_times()) - simulator_before
        bare_server_cpu = _server_cpu_s() - server_before
        with warehouse.connect(dsn=dsn) as conn:
            conn.execute(f"DROP TABLE {BARE_TABLE}")
    dossiers = sum(audit["extracted"] for audit in load["result"])
    bare_dossiers = sum(bare["result"])
    if bare_dossiers != dossiers:  # a floor over other dossiers would make the share meaningless
        raise RuntimeError(f"the bare run landed {bare_dossiers} dossiers, the pipeline extracted {dossiers}")
    from bench.quality_gate import GATE_STEPS

    steps: dict[str, float] = {}
    for audit in load["result"]:
        for step, step_seconds in audit["timings"].items():
            steps[step] = steps.get(step, 0.0) + step_seconds
    gate_s = sum(steps.get(step, 0.0) for step in GATE_STEPS)
    # Loads overlap each other and the extraction, so the gate's share is of the time the tasks
    # worked (a load waiting for another's merge to publish is not working). These are wall times
    # of processes sharing two cores: the gate's Python (GX) steps lose the most to the others. The
    # budget of issue 4 is checked uncontended, by bench/quality_gate.py.
    task_s = extract["seconds"] + sum(steps.values()) - steps.get("wait_to_publish", 0.0)
    return {
        "volume": volume,
        "dossiers": dossiers,
        "batches": len(load["result"]),
        "wall_s": round(seconds, 1),
        "dossiers_per_s": round(dossiers / seconds),
        "extract_s": round(extract["seconds"], 1),
        "load_s": round(load["seconds"], 1),
        # What the two cores were busy with, in CPU seconds, and per dossier: the two cores are
        # saturated, so the end-to-end rate is the machine's CPU divided by the sum of these.
        "cpu_s": {
            "extract_task": round(extract["cpu_s"], 1),
            "load_task": round(load["cpu_s"], 1),
            "postgres": round(server_cpu, 1),
            "simulator": round(simulator_cpu, 1),
        },
        "cpu_us_per_dossier": {
            "extract_task": round(extract["cpu_s"] / dossiers * 1e6),
            "load_task": round(load["cpu_s"] / dossiers * 1e6),
            "postgres": round(server_cpu / dossiers * 1e6),
            "bare_land_task": round(bare["cpu_s"] / bare_dossiers * 1e6),
            "bare_land_postgres": round(bare_server_cpu / bare_dossiers * 1e6),
        },
        "extract_max_rss_mb": round(extract["max_rss_mb"]),
        "load_max_rss_mb": round(load["max_rss_mb"]),
        # The same dossiers fetched and landed as sent (land_bare), right after, on the same
        # simulator: the pipeline's rate as a share of that floor does not move with the machine's
        # speed of the day the way dossiers/s does.
        "bare_land": {
            "dossiers": bare_dossiers,
            "wall_s": round(bare["seconds"], 1),
            "dossiers_per_s": round(bare_dossiers / bare["seconds"]),
            "cpu_s": {
                "task": round(bare["cpu_s"], 1),
                "postgres": round(bare_server_cpu, 1),
                "simulator": round(bare_simulator_cpu, 1),
            },
        },
        "pipeline_vs_bare_land_speed": round((dossiers / seconds) / (bare_dossiers / bare["seconds"]), 2),
        "load_steps_s": {step: round(step_seconds, 1) for step, step_seconds in steps.items()},
        "quality_gate_s": round(gate_s, 1),
        "quality_gate_share_of_task_wall_time": round(gate_s / task_s, 3),
        "dsn": dsn,
    }


CORE_CHILD_TABLES = (
    "dossier_document",
    "dossier_fee",
    "dossier_result",
    "dossier_supplement",
    "dossier_step",
)


def _delete_merged(conn: psycopg.Connection, batch_id: int) -> None:
    """Delete the rows the merge of ``batch_id`` wrote into core (in the caller's transaction)."""
    for table in CORE_CHILD_TABLES:
        conn.execute(
            f"DELETE FROM core.{table} WHERE dossier_id IN "
            "(SELECT dossier_id FROM core.fact_dossier WHERE batch_id = %s)",
            (batch_id,),
        )
    conn.execute("DELETE FROM core.fact_dossier WHERE batch_id = %s", (batch_id,))


def _forget_merge(conn: psycopg.Connection, batch_id: int) -> None:
    """Take a loaded batch out of core, so that loading it again does the full work (in the
    caller's transaction; the batch's staging partitions are the caller's to open and fill)."""
    _delete_merged(conn, batch_id)
    conn.execute("DELETE FROM quality.run_audit WHERE batch_id = %s", (batch_id,))


def _vacuum_core(dsn: str) -> None:
    """VACUUM core's dossier tables. After the bench deletes a batch's rows to load them again, their
    dead versions hold the very keys the next load inserts: each unique insert into the facts' key
    then visits the dead heap row of its code, and the indexes carry the dead entries. A batch's
    first load never meets them. Left in place they cost the load stage of the largest month
    0.25-0.4 s (2.93-3.12 s against 2.67-2.81 s, three rounds each, alternated), so every measure
    that writes into core starts from core vacuumed."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("VACUUM " + ", ".join(f"core.{table}" for table in ("fact_dossier", *CORE_CHILD_TABLES)))


# The load stage and its baselines are timed this many times, each after a CHECKPOINT, and their
# medians compared: a single round moved by up to 30 % (the merge writes whole index pages to the
# WAL when a checkpoint has just begun, and the server checkpoints every ~20 s of a load), and
# a baseline's median of three by 20 % between two runs of the same hour (the COPY into core: 2.90
# and 3.51 s). A round takes ~30 s: two more cost a minute.
LOAD_STAGE_ROUNDS = 5


def load_stage_against_baselines(dsn: str) -> dict:
    """The load stage of the largest batch against to_sql and a bare COPY of the same typed rows.

    The load stage as the pipeline runs it: the typed rows COPYed (binary) into staging, then the
    load task, whose merge dedupes and writes core. Also measured: the whole load task (with its
    quality gate), and the replay path (a batch typed again from raw by the load).
    """
    with warehouse.connect(dsn=dsn) as conn:
        batch_id, records = conn.execute(
            "SELECT batch_id, record_count FROM raw.batch WHERE entity = 'dossier' ORDER BY record_count DESC LIMIT 1"
        ).fetchone()
        # The batch's typed rows, as the extraction holds them (typing is not timed here).
        typed = dossier.DossierRows(batch_id)
        for ordinal, payload, payload_hash in conn.execute(
            "SELECT ordinal, payload::text, payload_hash FROM raw.record WHERE batch_id = %s ORDER BY ordinal",
            (batch_id,),
        ):
            typed.add(ordinal, orjson.loads(payload), payload_hash)
        rows = {table: list(table_rows) for table, table_rows in typed.take().items()}
        conn.execute("CREATE SCHEMA IF NOT EXISTS bench")

    rounds = [_load_stage_round(dsn, batch_id, rows) for _ in range(LOAD_STAGE_ROUNDS)]
    seconds = {name: statistics.median(each[name] for each in rounds) for name in rounds[0]}
    copy_and_merge, to_sql = seconds["copy_and_merge"], seconds["to_sql"]
    core_rows = int(seconds.pop("core_rows"))
    return {
        "batch_dossiers": records,
        "typed_rows": sum(len(values) for values in rows.values()),
        "rounds": LOAD_STAGE_ROUNDS,
        "bare_copy_s": round(seconds["bare_copy_text"], 2),
        "bare_binary_copy_s": round(seconds["bare_copy_binary"], 2),
        "to_sql_s": round(to_sql, 2),
        # COPY into staging, dedupe, merge into core: the load stage of the pipeline's hot path.
        "copy_and_merge_s": round(copy_and_merge, 2),
        "copy_and_merge_vs_to_sql_speedup": round(to_sql / copy_and_merge, 2),
        "copy_and_merge_vs_bare_copy_speed": round(seconds["bare_copy_text"] / copy_and_merge, 2),
        "copy_and_merge_vs_bare_binary_copy_speed": round(seconds["bare_copy_binary"] / copy_and_merge, 2),
        # The floor of any load into core: the batch's merged rows COPYed straight into core's
        # tables (their indexes and contents as they are), without dedupe or exactly-once.
        "core_rows": core_rows,
        "bare_copy_into_core_s": round(seconds["bare_copy_into_core"], 2),
        "copy_and_merge_vs_bare_copy_into_core_speed": round(
            seconds["bare_copy_into_core"] / copy_and_merge, 2
        ),
        # The same with the quality gate: staging COPY + the whole load task.
        "copy_and_load_task_s": round(seconds["copy_and_load_task"], 2),
        "copy_and_load_task_vs_to_sql_speedup": round(to_sql / seconds["copy_and_load_task"], 2),
        # A replay: the load types the batch again from raw, then merges.
        "replay_and_merge_s": round(seconds["replay_and_merge"], 2),
        # Each measure's fastest and slowest round, in seconds.
        "spread_s": {
            name: [round(min(each[name] for each in rounds), 2), round(max(each[name] for each in rounds), 2)]
            for name in seconds
        },
    }


def _checkpoint(dsn: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CHECKPOINT")


def _load_stage_round(dsn: str, batch_id: int, rows: dict[str, list[tuple]]) -> dict[str, float]:
    """One round of the load stage and each baseline on the batch's typed ``rows``, in seconds (and
    the number of rows the merge wrote into core, ``core_rows``)."""
    import pandas as pd
    import sqlalchemy

    from tthc.load import load_batch
    from tthc.quality.gx_runner import sqlalchemy_url

    seconds = {}
    with warehouse.connect(dsn=dsn) as conn:
        _forget_merge(conn, batch_id)
    _vacuum_core(dsn)
    typed = dossier.DossierRows(batch_id)
    typed.rows = {table: list(values) for table, values in rows.items()}
    _checkpoint(dsn)
    started = time.perf_counter()
    with warehouse.connect(dsn=dsn) as conn:  # as the extraction writes a batch's staging
        partitions.open_batch(conn, batch_id)
        partitions.copy_into_batch(conn, typed)
        partitions.attach_batch(conn, batch_id)
    staging_copy = time.perf_counter() - started
    started = time.perf_counter()
    timings = load_batch(batch_id, dsn=dsn).timings
    seconds["copy_and_load_task"] = staging_copy + time.perf_counter() - started
    seconds["copy_and_merge"] = staging_copy + timings["stage"] + timings["merge"]

    with warehouse.connect(dsn=dsn) as conn:
        _forget_merge(conn, batch_id)
    _vacuum_core(dsn)
    _checkpoint(dsn)
    replay_timings = load_batch(batch_id, dsn=dsn).timings
    seconds["replay_and_merge"] = replay_timings["stage"] + replay_timings["merge"]

    seconds["bare_copy_into_core"], seconds["core_rows"] = _bare_copy_into_core(dsn, batch_id)
    # The binary COPY sends the rows as the load does (dossier.COPY_TYPES: its instants as naive UTC
    # datetimes); the text COPY and to_sql take Python values at face value, so they get the
    # instants as aware datetimes, as a caller of either would hand them.
    instants = {
        table: [
            tuple(value.replace(tzinfo=UTC) if type(value) is datetime else value for value in row)
            for row in values
        ]
        for table, values in rows.items()
    }
    for copy_format in (
        "text",
        "binary",
    ):  # the load's staging COPY is binary; the text one is psql's default
        with warehouse.connect(dsn=dsn) as conn:  # rolled back: the baseline leaves nothing behind
            for table in rows:
                conn.execute(f"DROP TABLE IF EXISTS bench.{table}")
                conn.execute(f"CREATE TABLE bench.{table} (LIKE staging.{table})")
            _checkpoint(dsn)
            started = time.perf_counter()
            for table in rows:
                if copy_format == "binary":
                    warehouse.copy_rows(
                        conn,
                        f"bench.{table}",
                        dossier.LAYOUT[table][0],
                        rows[table],
                        types=dossier.COPY_TYPES[table],
                    )
                else:
                    warehouse.copy_rows(conn, f"bench.{table}", dossier.LAYOUT[table][0], instants[table])
            seconds[f"bare_copy_{copy_format}"] = time.perf_counter() - started
            conn.rollback()

    tables = {
        table: pd.DataFrame(values, columns=dossier.LAYOUT[table][0]) for table, values in instants.items()
    }
    engine = sqlalchemy.create_engine(sqlalchemy_url(dsn))
    _checkpoint(dsn)
    started = time.perf_counter()
    with engine.begin() as connection:
        for table, frame in tables.items():
            frame.to_sql(table, connection, schema="bench", if_exists="replace", index=False)
    seconds["to_sql"] = time.perf_counter() - started
    engine.dispose()
    return seconds


def _bare_copy_into_core(dsn: str, batch_id: int) -> tuple[float, int]:
    """Seconds to COPY the rows the merge wrote for ``batch_id`` straight back into core, and their
    number. The rows are read, deleted and vacuumed away first (as before the load stage), and the
    COPY puts them back: core keeps the batch as the merge wrote it."""
    tables = ("fact_dossier", *CORE_CHILD_TABLES)
    with warehouse.connect(dsn=dsn) as conn:
        merged = {}
        for table in tables:
            scope = (
                "batch_id = %s"
                if table == "fact_dossier"
                else "dossier_id IN (SELECT dossier_id FROM core.fact_dossier WHERE batch_id = %s)"
            )
            cursor = conn.execute(f"SELECT * FROM core.{table} WHERE {scope}", (batch_id,))
            merged[table] = ([column.name for column in cursor.description], cursor.fetchall())
        _delete_merged(conn, batch_id)
    _vacuum_core(dsn)
    _checkpoint(dsn)
    with warehouse.connect(dsn=dsn) as conn:
        started = time.perf_counter()
        for table, (columns, values) in merged.items():
            warehouse.copy_rows(conn, f"core.{table}", columns, values)
        conn.commit()
        seconds = time.perf_counter() - started
    return seconds, sum(len(values) for _, values in merged.values())


def main(volumes: list[int] | None = None) -> dict:
    admin_dsn = devstack.local_server_admin_dsn()
    runs = []
    for volume in volumes or [100_000, 1_000_000]:
        runs.append(end_to_end(volume, admin_dsn))
        print(json.dumps({k: v for k, v in runs[-1].items() if k != "dsn"}), flush=True)
    figures = {
        "end_to_end": [{k: v for k, v in run.items() if k != "dsn"} for run in runs],
        "load_stage": load_stage_against_baselines(runs[-1]["dsn"]),
    }
    if os.environ.get("TTHC_BENCH_KEEP") != "1":
        with psycopg.connect(admin_dsn, autocommit=True) as conn:
            for run in runs:
                name = psycopg.conninfo.conninfo_to_dict(run["dsn"])["dbname"]
                conn.execute(
                    psycopg.sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                        psycopg.sql.Identifier(name)
                    )
                )
    return figures
