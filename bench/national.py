"""Several provinces at national volume (issue 26): rate, memory, refresh and disk as core grows.

One warehouse is filled source by source, in phases, from simulators over HTTP (one simulator
process and one connection per source, a temp sources file naming them all), with the machinery
of ``bench/pipeline.py``: each phase's extraction and load run as two stage processes joined by a
pipe of batch ids, each with two worker processes (the DAG's pools), so that each stage's max RSS
is measured per phase. After each phase (a checkpoint: ~1M, 3M, 5M, 7M, 10M dossiers) the bench
measures the warehouse's size per schema and per table, the time of ANALYZE of core's tables, a
month's indicator refresh (in a process of its own, for its max RSS), and the sizes of
``core.unit_closure`` and ``mart.indicator_value``; the loads' own step timings give the merge
time per batch as core grows.

In the same run, first, a single-province baseline: Lai Châu's 1M dossiers over its default span,
through the same code, in a database of its own; the national phases' rates are read as ratios
to it (docs/performance.md: rates move with the machine's day; ratios of one run do not).

Each source sends ~52,600 dossiers a month (the baseline's volume: 1M over 19 months), so that
batches are the size of the baseline's and a task's memory can be compared across volumes. The
simulator has five provinces; the volume beyond their default spans comes from the same provinces
over other spans (pieces of a source's history, each a simulator with its own ``--start/--now``
and seed, loaded under the same source id), see ``PLAN``.

Run: ``python -m bench national`` (``--volume 5000000``, ``--deadline 20:45``: no phase starts
that the rate so far says would end after it; ``--volume 200000`` for a smoke run at 1/50 of
the plan's rates). Results: bench/results/national.json and national.md. ``TTHC_BENCH_KEEP=1``
keeps the databases.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import IO

import psutil
import psycopg
import yaml

from tthc import PROJECT_ROOT, devstack, warehouse

RESULTS_DIR = Path(__file__).resolve().parent / "results"
# The baseline's span (Lai Châu's default) and the per-source rate: 1M dossiers over it.
BASELINE_START, BASELINE_NOW = date(2022, 12, 1), date(2024, 7, 1)
BASELINE_YEARS = (BASELINE_NOW - BASELINE_START).days / 365.25
FULL_RATE = 1_000_000 / BASELINE_YEARS  # dossiers a year per source: ~631,600 (~52,600 a month)
PLAN_TOTAL = 10_000_000
DEFAULT_VOLUME = 5_000_000  # what was measured on the development machine (docs/performance.md)

SOURCE_NAMES = {
    "lai_chau": "Hệ thống TTHC tỉnh Lai Châu",
    "son_la_gia": "Hệ thống TTHC tỉnh Sơn Lâm",
    "bac_ha": "Hệ thống TTHC tỉnh Bắc Hà",
    "nam_ha": "Hệ thống TTHC tỉnh Nam Hà",
    "ha_hop": "Hệ thống TTHC tỉnh Hà Hợp",
}


@dataclass(frozen=True)
class Piece:
    """A span of one source's history, served by one simulator process (``--start``/``--now``)."""

    source_id: str
    start: date
    now: date
    seed: int = 766


# Phases, each ending at a checkpoint (dossiers at full rate, approximately). Lai Châu plants its
# figures and takes its default span only; the other provinces take any span (bac_ha and nam_ha
# receive until 2025-06-30, ha_hop from 2025-07-01).
PLAN: tuple[tuple[str, tuple[Piece, ...]], ...] = (
    ("1M", (Piece("bac_ha", date(2024, 7, 1), date(2025, 8, 1)), Piece("nam_ha", date(2024, 12, 1), date(2025, 8, 1)))),
    ("3M", (Piece("son_la_gia", date(2024, 1, 1), date(2026, 1, 1)), Piece("ha_hop", date(2025, 7, 1), date(2026, 10, 1)))),
    ("5M", (Piece("lai_chau", BASELINE_START, BASELINE_NOW), Piece("son_la_gia", date(2022, 6, 1), date(2024, 1, 1), 767))),
    ("7M", (Piece("bac_ha", date(2022, 12, 1), date(2024, 7, 1), 767), Piece("nam_ha", date(2022, 12, 1), date(2024, 12, 1), 767))),
    (
        "10M",
        (
            Piece("bac_ha", date(2021, 1, 1), date(2022, 12, 1), 768),
            Piece("nam_ha", date(2021, 1, 1), date(2022, 12, 1), 768),
            Piece("son_la_gia", date(2026, 1, 1), date(2026, 12, 1), 768),
        ),
    ),
)  # fmt: skip

# The months whose refresh is timed at each checkpoint: March 2025 (bac_ha, nam_ha from the first
# phase, son_la_gia from the second) and March 2024 (in every phase but the first and the last).
REFRESH_MONTHS = ((date(2025, 3, 1), date(2025, 4, 1)), (date(2024, 3, 1), date(2024, 4, 1)))
BASELINE_REFRESH_MONTH = (date(2024, 3, 1), date(2024, 4, 1))

STAGE = """
import json, multiprocessing, os, sys, time, resource
from concurrent.futures import ProcessPoolExecutor, as_completed
from itertools import zip_longest
from tthc import tasks
stage, argument, pipe_fd = sys.argv[1], json.loads(sys.argv[2] or "null"), int(sys.argv[3])
started = time.perf_counter()
workers = ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn"))
if stage == "reference":
    from datetime import date
    result = [tasks.migrate_warehouse()] if argument["migrate"] else []
    for source_id in argument["sources"]:
        result += [tasks.load(tasks.extract("unit", source_id=source_id)),
                   tasks.load(tasks.extract("procedure", source_id=source_id))]
    if argument["migrate"]:
        result.append(tasks.load_calendar(*tasks.calendar_span(date.today())))
elif stage == "extract":  # the sources' months interleaved: each source its own pool in the DAG
    plans = [[(piece["source_id"], window) for window in tasks.run_windows(piece, None, None, source_id=piece["source_id"])]
             for piece in argument]
    order = [task for row in zip_longest(*plans) for task in row if task]
    result = []
    with os.fdopen(pipe_fd, "w") as pipe:
        months = [workers.submit(tasks.extract, "dossier", window, None, source_id) for source_id, window in order]
        for month in as_completed(months):
            result.append(month.result())
            pipe.write(f"{result[-1]}\\n")
            pipe.flush()
elif stage == "refresh":  # as tasks.refresh_indicators, with the CPU of the server's backend measured
    from datetime import date
    import psutil
    from tthc import indicators, warehouse
    with warehouse.connect() as conn:
        backend = psutil.Process(conn.execute("SELECT pg_backend_pid()").fetchone()[0])
        conn.commit()  # a refresh runs in a transaction of its own
        before = sum(backend.cpu_times()[:2])
        rows = indicators.refresh(conn, date.fromisoformat(argument["first"]), date.fromisoformat(argument["last"]))
        conn.commit()
        result = {"rows": rows, "server_cpu_s": sum(backend.cpu_times()[:2]) - before}
else:
    with os.fdopen(pipe_fd) as pipe:
        result = [future.result() for future in [workers.submit(tasks.load, int(line)) for line in pipe]]
workers.shutdown()
usage, workers_usage = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"seconds": time.perf_counter() - started, "result": result,
                  "cpu_s": usage.ru_utime + usage.ru_stime + workers_usage.ru_utime + workers_usage.ru_stime,
                  "max_rss_mb": max(usage.ru_maxrss, workers_usage.ru_maxrss) / 1024,
                  "self_max_rss_mb": usage.ru_maxrss / 1024}))
"""


def _run_stage(
    stage: str, argument, env: dict[str, str], output: IO[str], pipe_fd: int = -1
) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", STAGE, stage, json.dumps(argument, default=str), str(pipe_fd)],
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


def _run_alone(stage: str, argument, env: dict[str, str]) -> dict:
    with tempfile.TemporaryFile("w+") as output:
        return _figures(_run_stage(stage, argument, env, output), output)


def _run_pipelined(pieces: list[dict], env: dict[str, str]) -> tuple[dict, dict, float]:
    read_end, write_end = os.pipe()
    with tempfile.TemporaryFile("w+") as extract_output, tempfile.TemporaryFile("w+") as load_output:
        started = time.perf_counter()
        extract = _run_stage("extract", pieces, env, extract_output, write_end)
        load = _run_stage("load", None, env, load_output, read_end)
        os.close(write_end)
        os.close(read_end)
        extract_figures = _figures(extract, extract_output)
        load_figures = _figures(load, load_output)
        return extract_figures, load_figures, time.perf_counter() - started


def _machine() -> dict:
    return {
        "at": datetime.now().isoformat(timespec="seconds"),
        "uptime": subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "disk_free_gb": round(shutil.disk_usage("/work").free / 1e9, 1),
        "memory_available_gb": round(psutil.virtual_memory().available / 1e9, 1),
    }


def _database(admin_dsn: str, name: str) -> str:
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(
            psycopg.sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(psycopg.sql.Identifier(name))
        )
        conn.execute(psycopg.sql.SQL("CREATE DATABASE {}").format(psycopg.sql.Identifier(name)))
    params = psycopg.conninfo.conninfo_to_dict(admin_dsn) | {"dbname": name}
    return psycopg.conninfo.make_conninfo(**params)


def _drop(admin_dsn: str, dsn: str) -> None:
    name = psycopg.conninfo.conninfo_to_dict(dsn)["dbname"]
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(
            psycopg.sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(psycopg.sql.Identifier(name))
        )


class Simulators:
    """One simulator process per piece, all started at once (their start-up, which renders every
    record, is not timed as the pipeline's: the baseline's is not either), stopped on exit."""

    def __init__(self, pieces: tuple[Piece, ...], rate: float, log_dir: Path) -> None:
        self.pieces, self.rate, self.log_dir = pieces, rate, log_dir
        self.processes: list[subprocess.Popen] = []
        self.connections: dict[str, str] = {}
        self.figures: dict = {}

    def __enter__(self) -> Simulators:
        client_id, client_secret = "bench-" + secrets.token_hex(3), secrets.token_urlsafe(16)
        env = dict(
            os.environ,
            TTHC_SIM_CLIENT_ID=client_id,
            TTHC_SIM_CLIENT_SECRET=client_secret,
            PYTHONPATH=os.pathsep.join([str(PROJECT_ROOT / "plugins"), str(PROJECT_ROOT)]),
        )
        started = time.perf_counter()
        ports = []
        for piece in self.pieces:
            port = devstack.free_port()
            ports.append(port)
            stderr = (self.log_dir / f"simulator_{piece.source_id}_{piece.start}.log").open("w")
            # fmt: off
            self.processes.append(subprocess.Popen(
                [sys.executable, "-m", "simulator", "--host", "127.0.0.1", "--port", str(port),
                 "--province", piece.source_id, "--seed", str(piece.seed), "--start", piece.start.isoformat(),
                 "--now", piece.now.isoformat(), "--dossiers-per-year", str(round(_rate(piece, self.rate)))],
                cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=stderr, text=True,
            ))
            # fmt: on
        try:
            for piece, process, port in zip(self.pieces, self.processes, ports, strict=True):
                if "ready" not in process.stdout.readline():
                    raise RuntimeError(f"the simulator of {piece} did not start (exit code {process.poll()})")
                self.connections[piece.source_id] = json.dumps(
                    {
                        "conn_type": "http",
                        "host": "127.0.0.1",
                        "port": port,
                        "schema": "http",
                        "login": client_id,
                        "password": client_secret,
                        "extra": {"page_size": 1000},
                    }
                )
        except BaseException:
            self.__exit__(None, None, None)
            raise
        self.figures = {
            "start_s": round(time.perf_counter() - started, 1),
            "rss_mb": round(sum(psutil.Process(p.pid).memory_info().rss for p in self.processes) / 2**20),
        }
        return self

    def __exit__(self, *exc) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


def _windows(pieces: tuple[Piece, ...], plan: tuple[Piece, ...]) -> list[dict]:
    """Each piece's extraction window: from the month before its start (a dossier may be
    submitted before it is received), or from where the same source's earlier piece ends, to its now."""
    windows = []
    for piece in pieces:
        start = (piece.start.replace(day=1) - timedelta(days=1)).replace(day=1)
        for other in plan:
            if other.source_id == piece.source_id and other != piece and start < other.now <= piece.start:
                start = other.now
        windows.append(
            {"source_id": piece.source_id, "start": start.isoformat(), "end": piece.now.isoformat()}
        )
    return windows


def _sources_file(directory: Path, source_ids: list[str]) -> Path:
    path = directory / "sources.yaml"
    sources = [{"id": s, "conn_id": f"tthc_source_{s}", "name": SOURCE_NAMES[s]} for s in source_ids]
    path.write_text(yaml.safe_dump({"sources": sources}, allow_unicode=True))
    return path


def _phase(
    pieces: tuple[Piece, ...], plan: tuple[Piece, ...], rate: float, env: dict, log_dir: Path, migrate: bool
) -> dict:
    """Start the pieces' simulators, load their units and procedures, then extract and load their
    dossiers pipelined; the figures of the phase."""
    machine_before = _machine()
    with Simulators(pieces, rate, log_dir) as simulators:
        phase_env = env | {
            f"AIRFLOW_CONN_TTHC_SOURCE_{sid.upper()}": c for sid, c in simulators.connections.items()
        }
        reference = _run_alone(
            "reference", {"migrate": migrate, "sources": sorted({p.source_id for p in pieces})}, phase_env
        )
        extract, load, seconds = _run_pipelined(_windows(pieces, plan), phase_env)
    audits = load["result"]
    dossiers = sum(audit["extracted"] for audit in audits)
    steps: dict[str, float] = {}
    for audit in audits:
        for step, step_seconds in audit["timings"].items():
            steps[step] = steps.get(step, 0.0) + step_seconds
    merge_per_1k = sorted(
        a["timings"].get("merge", 0.0) / a["extracted"] * 1000 for a in audits if a["extracted"]
    )
    return {
        "pieces": [
            {"source_id": p.source_id, "start": str(p.start), "now": str(p.now), "seed": p.seed}
            for p in pieces
        ],
        "simulators": simulators.figures,
        "reference_s": round(reference["seconds"], 1),
        "dossiers": dossiers,
        "batches": len(audits),
        "largest_batch": max((a["extracted"] for a in audits), default=0),
        "quarantined": sum(a["quarantined"] for a in audits),
        "wall_s": round(seconds, 1),
        "dossiers_per_s": round(dossiers / seconds) if seconds else 0,
        "extract_s": round(extract["seconds"], 1),
        "load_s": round(load["seconds"], 1),
        "cpu_s": {"extract_task": round(extract["cpu_s"], 1), "load_task": round(load["cpu_s"], 1)},
        "max_rss_mb": {"extract": round(extract["max_rss_mb"]), "load": round(load["max_rss_mb"])},
        "load_steps_s": {step: round(s, 1) for step, s in sorted(steps.items())},
        # Per batch, so comparable between phases of different sizes: seconds per 1,000 dossiers.
        "merge_s_per_1k_dossiers": {
            "median": round(merge_per_1k[len(merge_per_1k) // 2], 4) if merge_per_1k else None,
            "max": round(merge_per_1k[-1], 4) if merge_per_1k else None,
        },
        "load_steps_s_per_1k_dossiers": {
            step: round(s / dossiers * 1000, 4) for step, s in sorted(steps.items())
        }
        if dossiers
        else {},
        "machine_before": machine_before,
        "machine_after": _machine(),
    }


SIZES = """
SELECT n.nspname, c.relname, c.relkind::text, pg_table_size(c.oid), pg_indexes_size(c.oid),
       pg_total_relation_size(c.oid), c.reltuples::bigint
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'm') AND n.nspname IN ('raw', 'staging', 'core', 'quality', 'mart', 'meta')
"""
INDEXES = """
SELECT i.relname, t.relname, pg_relation_size(i.oid)
FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
JOIN pg_namespace n ON n.oid = t.relnamespace WHERE n.nspname = 'core' ORDER BY 3 DESC
"""


def _checkpoint(dsn: str, env: dict, months: tuple[tuple[date, date], ...]) -> dict:
    """The warehouse as it stands: sizes, ANALYZE times, a month's refresh (twice: the first
    writes the month's rows, the second rewrites them), the closure and the indicator rows."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CHECKPOINT")
        analyze = {}
        tables = [r[0] for r in conn.execute(
            "SELECT relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'core' AND relkind IN ('r', 'p') ORDER BY pg_total_relation_size(c.oid) DESC"
        )]  # fmt: skip
        for table in tables:
            started = time.perf_counter()
            conn.execute(f"ANALYZE core.{table}")
            analyze[table] = round(time.perf_counter() - started, 3)
        core_facts = conn.execute("SELECT count(*) FROM core.fact_dossier").fetchone()[0]
    refresh = []
    for n, (first, last) in enumerate(months):
        # The first month twice (the second run rewrites the rows the first wrote), the others once.
        runs = [
            _run_alone("refresh", {"first": str(first), "last": str(last)}, env)
            for _ in range(2 if n == 0 else 1)
        ]
        with psycopg.connect(dsn) as conn:
            in_month = conn.execute(
                "SELECT count(*) FROM core.fact_dossier WHERE received_at >= %s AND received_at < %s",
                (first, last),
            ).fetchone()[0]
        refresh.append(
            {
                "month": str(first),
                "dossiers_received_in_month": in_month,
                "seconds": [round(r["seconds"], 2) for r in runs],
                # CPU of the refresh's PostgreSQL backend: what the refresh costs whatever else runs
                "server_cpu_s": [round(r["result"]["server_cpu_s"], 2) for r in runs],
                "indicator_rows": runs[0]["result"]["rows"],
                "max_rss_mb": round(max(r["self_max_rss_mb"] for r in runs)),
            }
        )
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(SIZES).fetchall()
        indexes = conn.execute(INDEXES).fetchall()
        closure = conn.execute(
            "SELECT count(*), pg_total_relation_size('core.unit_closure') FROM core.unit_closure"
        ).fetchone()
        indicator = conn.execute(
            "SELECT count(*), pg_total_relation_size('mart.indicator_value') FROM mart.indicator_value"
        ).fetchone()
        units = conn.execute("SELECT count(*) FROM core.dim_unit").fetchone()[0]
        database = conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]
    schemas: dict[str, int] = {}
    for schema, _, _, _, _, total, _ in rows:
        schemas[schema] = schemas.get(schema, 0) + total
    mb = 2**20
    big = sorted(rows, key=lambda r: -r[5])[:25]
    return {
        "core_fact_dossier_rows": core_facts,
        "database_mb": round(database / mb),
        "schema_mb": {s: round(v / mb) for s, v in sorted(schemas.items())},
        "tables": [
            {
                "table": f"{r[0]}.{r[1]}",
                "rows": r[6],
                "table_mb": round(r[3] / mb),
                "indexes_mb": round(r[4] / mb),
            }
            for r in big
        ],
        "core_indexes_mb": {name: round(size / mb, 1) for name, _, size in indexes[:20]},
        "analyze_s": analyze,
        "analyze_core_s": round(sum(analyze.values()), 2),
        "refresh": refresh,
        "unit_closure": {"rows": closure[0], "mb": round(closure[1] / mb, 1)},
        "indicator_value": {"rows": indicator[0], "mb": round(indicator[1] / mb, 1)},
        "units": units,
        "machine": _machine(),
    }


def _env(dsn: str, sources: Path) -> dict[str, str]:
    return devstack.airflow_env() | {
        "AIRFLOW_CONN_TTHC_WAREHOUSE": warehouse.airflow_connection_json(dsn),
        "TTHC_PSEUDONYM_KEY": secrets.token_urlsafe(32),
        "TTHC_SOURCES_FILE": str(sources),
    }


def baseline(volume: int, admin_dsn: str, work: Path) -> dict:
    """Lai Châu alone, ``volume`` dossiers over its default span, through the same code."""
    dsn = _database(admin_dsn, "tthc_national_baseline")
    env = _env(dsn, _sources_file(work, ["lai_chau"]))
    piece = Piece("lai_chau", BASELINE_START, BASELINE_NOW)
    try:
        phase = _phase((piece,), (piece,), volume / BASELINE_YEARS, env, work, migrate=True)
        phase["checkpoint"] = _checkpoint(dsn, env, (BASELINE_REFRESH_MONTH,))
    finally:
        if os.environ.get("TTHC_BENCH_KEEP") != "1":
            _drop(admin_dsn, dsn)
    return phase


def national(
    volume: int, admin_dsn: str, work: Path, deadline: datetime | None, reference_rate: float | None
) -> dict:
    """The plan's phases until ``volume`` dossiers (at 1/50 of the rates for a volume under 1M)."""
    scale = 1.0 if volume >= 1_000_000 else volume / PLAN_TOTAL
    rate = FULL_RATE * scale
    plan = tuple(piece for _, pieces in PLAN for piece in pieces)
    dsn = _database(admin_dsn, "tthc_national")
    env = _env(dsn, _sources_file(work, list(SOURCE_NAMES)))
    phases, stopped = [], None
    try:
        for n, (name, pieces) in enumerate(PLAN):
            expected = sum(_expected(p) for p in pieces) * rate
            if deadline and phases:
                done_s = sum(p["wall_s"] for p in phases)
                done = sum(p["dossiers"] for p in phases)
                last = phases[-1]  # start-up, reference and checkpoint scale with the dossiers (roughly)
                other_s = (last["simulators"]["start_s"] + last["reference_s"]) * expected / last["dossiers"]
                other_s += last["checkpoint_s"] * (done + expected) / done
                projected = datetime.now() + timedelta(seconds=1.1 * (expected / (done / done_s) + other_s))
                if projected > deadline:
                    stopped = f"phase {name} ({round(expected):,} dossiers) projected to end at {projected:%H:%M}, after the deadline {deadline:%H:%M}"
                    print(stopped, flush=True)
                    break
            try:
                phase = _phase(pieces, plan, rate, env, work, migrate=n == 0)
            except RuntimeError as error:  # a failed stage: keep the phases measured so far
                stopped = f"phase {name} failed: {error} (the stages' tracebacks are on stderr)"
                print(stopped, flush=True)
                break
            started = time.perf_counter()
            phase["checkpoint"] = _checkpoint(dsn, env, REFRESH_MONTHS)
            phase["checkpoint_s"] = round(time.perf_counter() - started, 1)
            phase["name"] = name
            phase["cumulative_dossiers"] = sum(p["dossiers"] for p in phases) + phase["dossiers"]
            if reference_rate:
                phase["rate_vs_baseline"] = round(phase["dossiers_per_s"] / reference_rate, 2)
            phases.append(phase)
            print(json.dumps({k: v for k, v in phase.items() if k != "checkpoint"}, default=str), flush=True)
            print(json.dumps(phase["checkpoint"], default=str), flush=True)
            if phase["cumulative_dossiers"] >= volume * 0.97:
                break
    finally:
        if os.environ.get("TTHC_BENCH_KEEP") != "1":
            _drop(admin_dsn, dsn)
    dossiers = sum(p["dossiers"] for p in phases)
    seconds = sum(p["wall_s"] for p in phases)
    return {
        "scale": scale,
        "rate_per_source_per_year": round(rate),
        "phases": phases,
        "dossiers": dossiers,
        "wall_s": round(seconds, 1),
        "dossiers_per_s": round(dossiers / seconds) if seconds else 0,
        "stopped": stopped,
    }


def _rate(piece: Piece, rate: float) -> float:
    # Lai Châu plants its figures, which needs 20,000 dossiers a year or more (smoke runs).
    return max(rate, 25_000) if piece.source_id == "lai_chau" else rate


def _expected(piece: Piece) -> float:
    """Years of reception of a piece (bac_ha and nam_ha receive until 2025-06-30)."""
    end = min(piece.now, date(2025, 7, 1)) if piece.source_id in ("bac_ha", "nam_ha") else piece.now
    return (end - piece.start).days / 365.25


def main(
    volume: int = DEFAULT_VOLUME, baseline_volume: int | None = None, deadline: str | None = None
) -> dict:
    admin_dsn = devstack.local_server_admin_dsn()
    baseline_volume = min(1_000_000, volume) if baseline_volume is None else baseline_volume
    until = None
    if deadline:
        hour, minute = (int(x) for x in deadline.split(":"))
        until = datetime.now().replace(hour=hour, minute=minute, second=0, microsecond=0)
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=PROJECT_ROOT
    )
    figures: dict = {
        "command": "python -m bench national " + " ".join(sys.argv[2:]),
        "commit": commit.stdout.strip(),
        # The code the stages import is the working tree's: changes not committed are named here.
        "uncommitted_at_start": _uncommitted(),
        "machine_start": _machine(),
        "cpus": os.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 1e9, 1),
    }
    with psycopg.connect(admin_dsn) as conn:
        figures["postgres"] = {
            k: conn.execute(f"SHOW {k}").fetchone()[0]
            for k in ("server_version", "data_directory", "shared_buffers", "max_wal_size", "work_mem")
        }
    with tempfile.TemporaryDirectory(prefix="tthc_national_") as directory:
        work = Path(directory)
        if baseline_volume:
            figures["baseline"] = baseline(baseline_volume, admin_dsn, work)
            print(json.dumps(figures["baseline"], default=str), flush=True)
        reference_rate = figures.get("baseline", {}).get("dossiers_per_s")
        figures["national"] = national(volume, admin_dsn, work, until, reference_rate)
        if reference_rate:
            figures["national"]["rate_vs_baseline"] = round(
                figures["national"]["dossiers_per_s"] / reference_rate, 2
            )
    figures["machine_end"] = _machine()
    figures["commit_at_end"] = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=PROJECT_ROOT
    ).stdout.strip()
    figures["uncommitted_at_end"] = _uncommitted()
    RESULTS_DIR.mkdir(exist_ok=True)
    suffix = "" if volume >= 1_000_000 else f"_{volume}"
    (RESULTS_DIR / f"national{suffix}.json").write_text(json.dumps(figures, indent=2, default=str))
    (RESULTS_DIR / f"national{suffix}.md").write_text(report(figures))
    return figures


def _uncommitted() -> list[str]:
    status = subprocess.run(
        ["git", "status", "--short", "plugins", "include", "simulator"],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
    )
    return status.stdout.splitlines()


def _per_million(mb: float, dossiers: int) -> float:
    return round(mb / 1024 / (dossiers / 1e6), 2) if dossiers else 0.0


def report(figures: dict) -> str:
    """bench/results/national.md: the figures as tables."""
    base, nat = figures.get("baseline"), figures["national"]
    lines = [
        "# Several provinces at national volume (issue 26): `python -m bench national`",
        "",
        f"Command: `{figures['command']}`; commit {figures['commit']}; {figures['cpus']} CPUs, "
        f"{figures['memory_gb']} GB; PostgreSQL {figures['postgres']['server_version']} "
        f"(shared_buffers {figures['postgres']['shared_buffers']}, max_wal_size {figures['postgres']['max_wal_size']}).",
        "",
        f"Machine at the start: `{figures['machine_start']['uptime']}`; at the end: `{figures['machine_end']['uptime']}` "
        "(the machine is shared: other engineers' tests ran during the run).",
        "",
        "## End to end, per phase (rate = phase dossiers / wall time of its pipelined extract + load)",
        "",
        "| run | sources | dossiers | cumulative | batches (largest) | wall s | dossiers/s | vs baseline | max RSS extract / load MB | merge s per 1k (median) | load avg before / after |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    rows = ([("baseline (lai_chau alone)", base, base["dossiers"])] if base else []) + [
        (f"national phase {p['name']}", p, p["cumulative_dossiers"]) for p in nat["phases"]
    ]
    for label, p, cumulative in rows:
        sources = ", ".join(f"{x['source_id']} {x['start'][:7]}..{x['now'][:7]}" for x in p["pieces"])
        lines.append(
            f"| {label} | {sources} | {p['dossiers']:,} | {cumulative:,} | {p['batches']} ({p['largest_batch']:,}) | "
            f"{p['wall_s']} | {p['dossiers_per_s']:,} | {p.get('rate_vs_baseline', '1.00' if p is base else '-')} | "
            f"{p['max_rss_mb']['extract']} / {p['max_rss_mb']['load']} | {p['merge_s_per_1k_dossiers']['median']} | "
            f"{p['machine_before']['load_average'][0]} / {p['machine_after']['load_average'][0]} |"
        )
    lines += [
        "",
        f"National, all phases: {nat['dossiers']:,} dossiers in {nat['wall_s']} s of pipeline, "
        f"{nat['dossiers_per_s']:,} dossiers/s"
        + (
            f", {nat.get('rate_vs_baseline')} of the baseline's {base['dossiers_per_s']:,}/s."
            if base
            else "."
        )
        + (f" Stopped: {nat['stopped']}." if nat["stopped"] else ""),
        "",
        "## Checkpoints: disk, ANALYZE, refresh, as core grows",
        "",
        "| after | core facts | database MB | raw / core / mart / quality MB | GB per million: raw / core / mart / all | ANALYZE core s | unit_closure rows | indicator_value rows (MB) | refresh s (month: runs) | refresh max RSS MB |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for label, p, _ in rows:
        c = p["checkpoint"]
        s, n = c["schema_mb"], c["core_fact_dossier_rows"]
        refresh = "; ".join(
            f"{r['month'][:7]} ({r['dossiers_received_in_month']:,} recv): {r['seconds']}"
            + (f", server CPU {r['server_cpu_s']}" if "server_cpu_s" in r else "")
            for r in c["refresh"]
        )
        lines.append(
            f"| {label} | {n:,} | {c['database_mb']:,} | {s.get('raw', 0):,} / {s.get('core', 0):,} / {s.get('mart', 0):,} / {s.get('quality', 0):,} | "
            f"{_per_million(s.get('raw', 0), n)} / {_per_million(s.get('core', 0), n)} / {_per_million(s.get('mart', 0), n)} / "
            f"{_per_million(c['database_mb'], n)} | {c['analyze_core_s']} | {c['unit_closure']['rows']:,} | "
            f"{c['indicator_value']['rows']:,} ({c['indicator_value']['mb']}) | {refresh} | "
            f"{max(r['max_rss_mb'] for r in c['refresh'])} |"
        )
    lines += ["", "## Core's largest indexes (MB) at each checkpoint", ""]
    names = list(rows[-1][1]["checkpoint"]["core_indexes_mb"])[:12] if rows else []
    lines += [
        "| index | " + " | ".join(label for label, _, _ in rows) + " |",
        "| --- |" + " --- |" * len(rows),
    ]
    for name in names:
        lines.append(
            f"| {name} | "
            + " | ".join(str(p["checkpoint"]["core_indexes_mb"].get(name, "-")) for _, p, _ in rows)
            + " |"
        )
    lines += ["", "## Load steps, seconds per 1,000 dossiers, per phase", ""]
    steps = sorted({s for _, p, _ in rows for s in p["load_steps_s_per_1k_dossiers"]})
    lines += [
        "| step | " + " | ".join(label for label, _, _ in rows) + " |",
        "| --- |" + " --- |" * len(rows),
    ]
    for step in steps:
        lines.append(
            f"| {step} | "
            + " | ".join(str(p["load_steps_s_per_1k_dossiers"].get(step, "-")) for _, p, _ in rows)
            + " |"
        )
    lines += ["", "## ANALYZE per core table (s) at each checkpoint", ""]
    tables = list(rows[-1][1]["checkpoint"]["analyze_s"])[:8] if rows else []
    lines += [
        "| table | " + " | ".join(label for label, _, _ in rows) + " |",
        "| --- |" + " --- |" * len(rows),
    ]
    for table in tables:
        lines.append(
            f"| {table} | "
            + " | ".join(str(p["checkpoint"]["analyze_s"].get(table, "-")) for _, p, _ in rows)
            + " |"
        )
    lines += [
        "",
        "Simulator start-up (not in the rates): "
        + "; ".join(
            f"{label}: {p['simulators']['start_s']} s, {p['simulators']['rss_mb']:,} MB"
            for label, p, _ in rows
        )
        + ".",
        "",
        "Raw figures: national.json (same directory).",
        "",
    ]
    return "\n".join(lines)
