"""The local stack behind ``make demo``, ``make run``, ``make report`` and ``make airflow``.

It finds a warehouse (``AIRFLOW_CONN_TTHC_WAREHOUSE`` if set, else the PostgreSQL server on
127.0.0.1:5432, else an embedded one started with ``pgserver``), makes the local secrets once
(pseudonymization key, simulator credentials: random, in the git-ignored ``.airflow/``), starts
a simulator for each configured source (``include/reference/sources.yaml``) whose connection is
not set (``AIRFLOW_CONN_<CONN_ID>``), serving the province its entry names (and points
``AIRFLOW_CONN_TTHC_PORTAL`` at the first source's simulated national portal unless that is set;
with an external first source and no portal connection the portal's scores are skipped), and runs
the DAGs through Airflow (``airflow dags test``) in order: each source's reference, dossiers and
feedback, then the indicators over all of them. Airflow's own output goes to a log file under
``.airflow/logs/``; the terminal gets one progress line per DAG run and, on a failure, the
failing task's last log lines.

``TTHC_STATE_DIR`` names another folder than ``.airflow/`` for all of this state (secrets, Airflow
home, logs, Data Docs, embedded PostgreSQL): a second dev stack beside the first.
"""

from __future__ import annotations

import argparse
import configparser
import json
import logging
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import IO, TextIO

import psycopg

from tthc import PROJECT_ROOT, warehouse
from tthc.sources import Source, load_sources

STATE_DIR = Path(os.environ.get("TTHC_STATE_DIR") or PROJECT_ROOT / ".airflow").resolve()
DEMO_START, DEMO_END = "2023-01-01", "2024-07-01"
WAREHOUSE_DB = "tthc"
AIRFLOW_BIN = str(Path(sys.executable).parent / "airflow")
REPORT_UNIT, REPORT_PERIOD = "H35.112", "2024-H1"


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
        PYTHONPATH=os.pathsep.join(
            [str(PROJECT_ROOT / "plugins"), str(PROJECT_ROOT), env.get("PYTHONPATH", "")]
        ),
        # `airflow standalone` starts its components as `airflow ...` from PATH: the venv's own.
        PATH=os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")]),
    )
    env.setdefault("TTHC_DATA_DOCS_DIR", str(STATE_DIR / "data_docs"))
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


def warehouse_connection(database: str = WAREHOUSE_DB, *, create: bool = True) -> str:
    """The AIRFLOW_CONN_TTHC_WAREHOUSE value to use (JSON form); ``create``: make the database if
    the local server does not have it yet."""
    if os.environ.get("AIRFLOW_CONN_TTHC_WAREHOUSE"):
        return os.environ["AIRFLOW_CONN_TTHC_WAREHOUSE"]
    admin = local_server_admin_dsn()
    if create:
        ensure_database(admin, database)
    return warehouse.airflow_connection_json(admin, database)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def simulator_process(
    client_id: str, client_secret: str, extra_args: list[str] | None = None, stderr: IO[bytes] | None = None
):
    """``python -m simulator`` on a free port; yields the value of a source connection
    (``AIRFLOW_CONN_TTHC_SOURCE``) that reaches it. Its messages go to ``stderr`` if given (the dev
    stack's log), else to this process's."""
    port = free_port()
    env = dict(
        os.environ,
        TTHC_SIM_CLIENT_ID=client_id,
        TTHC_SIM_CLIENT_SECRET=client_secret,
        PYTHONPATH=os.pathsep.join([str(PROJECT_ROOT / "plugins"), str(PROJECT_ROOT)]),
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "simulator", "--host", "127.0.0.1", "--port", str(port), *(extra_args or [])],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
    )
    try:
        line = process.stdout.readline()
        if "ready" not in line:
            raise RuntimeError(f"the simulator did not start (exit code {process.poll()})")
        yield json.dumps(
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
    finally:
        process.terminate()
        with suppress(subprocess.TimeoutExpired):
            process.wait(timeout=10)
        if process.poll() is None:
            process.kill()


def airflow(args: list[str], env: dict[str, str]) -> None:
    command = [AIRFLOW_BIN, *args]
    print(f"$ airflow {' '.join(args)}", flush=True)
    subprocess.run(command, env=env, cwd=PROJECT_ROOT, check=True)


def prepare_airflow(
    env: dict[str, str], log: IO[bytes] | None = None, sources: Iterable[Source] | None = None
) -> None:
    """Migrates the metadata database of the Airflow home once, and gives every configured source
    its pool (again when the sources' pools changed); the output goes to ``log`` if given."""
    home = Path(env["AIRFLOW_HOME"])
    output = {"stdout": log or subprocess.DEVNULL, "stderr": subprocess.STDOUT if log else None}
    stamp = home / ".migrated"
    if not stamp.exists():
        home.mkdir(parents=True, exist_ok=True)
        subprocess.run([AIRFLOW_BIN, "db", "migrate"], env=env, cwd=PROJECT_ROOT, check=True, **output)
        stamp.touch()
    pools = {
        source.pool: source.pool_slots
        for source in (sources if sources is not None else load_sources(_sources_file(env)))
    }
    pool_stamp = home / ".pools.json"
    if not pool_stamp.exists() or json.loads(pool_stamp.read_text()) != pools:
        pool_file = home / "pools-import.json"
        pool_file.write_text(
            json.dumps(
                {
                    name: {"slots": slots, "description": "concurrent calls to a source's export API"}
                    for name, slots in pools.items()
                }
            )
        )
        subprocess.run(
            [AIRFLOW_BIN, "pools", "import", str(pool_file)], env=env, cwd=PROJECT_ROOT, check=True, **output
        )
        pool_stamp.write_text(json.dumps(pools))


def _sources_file(env: dict[str, str]) -> Path | None:
    return Path(env["TTHC_SOURCES_FILE"]) if env.get("TTHC_SOURCES_FILE") else None


# ---- progress of `airflow dags test` runs ---------------------------------------------------------


@dataclass(frozen=True)
class Stage:
    dag_id: str
    conf: dict[str, str] | None = None


def pipeline_stages(
    start: str, end: str, *, portal: bool = False, sources: Iterable[Source] | None = None
) -> list[Stage]:
    """The whole pipeline for [start, end), in dependency order: each source's reference DAG (the
    lists whole), dossiers and feedback, then the indicators over all of them. ``portal``: then
    the national portal's published scores of every year, quarter and month overlapping the window
    (connection ``tthc_portal``)."""
    window = {"start": start, "end": end}
    stages = []
    for source in sources if sources is not None else load_sources():
        stages += [
            Stage(source.dag_id("reference")),
            Stage(source.dag_id("dossiers"), window),
            Stage(source.dag_id("feedback"), window),
        ]
    stages.append(Stage("tthc_indicators", window))
    if portal:
        stages.append(Stage("tthc_portal_scores", window))
    return stages


FINISHED_STATES = frozenset({"success", "failed", "skipped", "upstream_failed", "removed"})


@dataclass(frozen=True)
class TaskStates:
    """The task instances of one DAG run: mapped tasks count once per expanded index."""

    total: int = 0
    done: int = 0
    retrying: int = 0
    failed: tuple[tuple[str, int], ...] = ()  # (task_id, map_index), first to fail first

    @classmethod
    def from_rows(cls, rows: Iterable[tuple[str, int, str | None]]) -> TaskStates:
        rows = list(rows)
        return cls(
            total=len(rows),
            done=sum(state in FINISHED_STATES for _, _, state in rows),
            retrying=sum(state == "up_for_retry" for _, _, state in rows),
            failed=tuple((task, index) for task, index, state in rows if state == "failed"),
        )


def metadata_url(env: dict[str, str]) -> str:
    """The metadata database of the Airflow home ``env`` names, as Airflow itself would find it."""
    if env.get("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"):
        return env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    home = Path(env["AIRFLOW_HOME"])
    config = configparser.RawConfigParser(strict=False)
    config.read(home / "airflow.cfg")
    return config.get("database", "sql_alchemy_conn", fallback=None) or f"sqlite:///{home / 'airflow.db'}"


class AirflowRuns:
    """DAG runs and task states read from an Airflow metadata database, read only: Airflow keeps
    writing it while the run goes on (SQLite in WAL mode lets a reader in without blocking it)."""

    def __init__(self, url: str):
        from sqlalchemy import create_engine
        from sqlalchemy.pool import NullPool

        if url.startswith("sqlite:///"):
            url = f"sqlite:///file:{url.removeprefix('sqlite:///')}?mode=ro&uri=true"
        self.engine = create_engine(url, poolclass=NullPool)

    def _rows(self, sql: str, params: dict) -> list[tuple] | None:
        from sqlalchemy import text
        from sqlalchemy.exc import SQLAlchemyError

        try:
            with self.engine.connect() as conn:
                return [tuple(row) for row in conn.execute(text(sql), params)]
        except SQLAlchemyError:  # locked for a moment, or not migrated yet: the next poll will do
            return None

    def last_run_id(self) -> int:
        rows = self._rows("SELECT max(id) FROM dag_run", {})
        return (rows[0][0] or 0) if rows else 0

    def task_states(self, dag_id: str, after_run_id: int) -> TaskStates | None:
        """The tasks of the first run of ``dag_id`` made after the run ``after_run_id``."""
        rows = self._rows(
            """
            SELECT ti.task_id, ti.map_index, ti.state
            FROM dag_run AS r
            JOIN task_instance AS ti ON ti.dag_id = r.dag_id AND ti.run_id = r.run_id
            WHERE r.id = (SELECT min(id) FROM dag_run WHERE dag_id = :dag_id AND id > :after)
            ORDER BY ti.end_date, ti.task_id, ti.map_index""",
            {"dag_id": dag_id, "after": after_run_id},
        )
        return None if rows is None else TaskStates.from_rows(rows)


class LandedBatches:
    """Records landed in the warehouse's raw.batch, per entity, since a given batch."""

    def __init__(self, dsn: str):
        self.dsn = dsn
        self.conn: psycopg.Connection | None = None

    def _rows(self, sql: str, params: tuple = ()) -> list[tuple] | None:
        try:
            if self.conn is None or self.conn.closed:
                self.conn = psycopg.connect(self.dsn, autocommit=True, connect_timeout=5)
                # A migration holding raw.batch makes this poll give up, never wait in its queue.
                self.conn.execute("SET lock_timeout = '1s'")
                self.conn.execute("SET statement_timeout = '5s'")
            if not self.conn.execute("SELECT to_regclass('raw.batch') IS NOT NULL").fetchone()[0]:
                return []  # the first DAG run migrates the warehouse
            return self.conn.execute(sql, params).fetchall()
        except psycopg.Error:
            self.close()
            return None

    def last_batch_id(self) -> int:
        rows = self._rows("SELECT max(batch_id) FROM raw.batch")
        return (rows[0][0] or 0) if rows else 0

    def landed_since(self, batch_id: int) -> dict[str, int] | None:
        rows = self._rows(
            "SELECT entity, sum(record_count)::bigint FROM raw.batch WHERE batch_id > %s GROUP BY entity",
            (batch_id,),
        )
        return None if rows is None else {entity: int(count) for entity, count in rows}

    def close(self) -> None:
        if self.conn is not None:
            with suppress(psycopg.Error):
                self.conn.close()
        self.conn = None


ENTITY_NOUNS = {
    "unit": "units",
    "procedure": "procedures",
    "dossier": "dossiers",
    "feedback": "feedback records",
}


def format_elapsed(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def progress_text(
    dag_id: str,
    states: TaskStates | None,
    landed: dict[str, int] | None,
    elapsed: float,
    outcome: str | None = None,
) -> str:
    """One stage on one line: tthc_dossiers    34/36 tasks done · 151,203 dossiers landed · 2m14s"""
    parts = [
        f"{dag_id:<16} "
        + (f"{states.done}/{states.total} tasks done" if states and states.total else "starting")
    ]
    if states and states.retrying:
        parts.append(f"{states.retrying} waiting to retry")
    if states and states.failed:
        parts.append(f"{len(states.failed)} failed")
    counts = [
        f"{landed[entity]:,} {noun}" for entity, noun in ENTITY_NOUNS.items() if (landed or {}).get(entity)
    ]
    if counts:
        parts.append(", ".join(counts) + " landed")
    parts.append(format_elapsed(elapsed))
    if outcome:
        parts.append(outcome)
    return " · ".join(parts)


class ProgressLine:
    """A line that follows a stage: rewritten in place on a terminal; elsewhere (CI, a pipe) a plain
    line when something changed, at most every ``plain_every`` seconds, and the stage's last line."""

    def __init__(
        self,
        stream: TextIO | None = None,
        *,
        tty: bool | None = None,
        plain_every: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.stream = stream or sys.stdout
        self.tty = self.stream.isatty() if tty is None else tty
        self.plain_every = plain_every
        self.clock = clock
        self._key: object = None
        self._printed_at: float | None = None

    def update(self, text: str, key: object = None) -> None:
        if self.tty:
            width = shutil.get_terminal_size((120, 24)).columns - 1
            self.stream.write("\r\x1b[2K" + text[:width])
            self.stream.flush()
            return
        now = self.clock()
        if self._printed_at is None or (key != self._key and now - self._printed_at >= self.plain_every):
            self._key, self._printed_at = key, now
            print(text, file=self.stream, flush=True)

    def done(self, text: str) -> None:
        if self.tty:
            self.stream.write("\r\x1b[2K")
        print(text, file=self.stream, flush=True)
        self._key = self._printed_at = None


@dataclass
class StageResult:
    stage: Stage
    returncode: int
    states: TaskStates
    landed: dict[str, int]
    elapsed: float
    log_path: Path
    log_offset: int  # where this run's output starts in the log (bytes)

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.states.failed


def run_stage(
    stage: Stage,
    env: dict[str, str],
    log_path: Path,
    progress: ProgressLine,
    *,
    warehouse_dsn: str | None = None,
    poll_s: float = 2.0,
) -> StageResult:
    """``airflow dags test`` for one stage, its output appended to ``log_path``, its progress on
    one line (task states from the Airflow home's metadata database, records landed from the
    warehouse)."""
    runs = AirflowRuns(metadata_url(env))
    batches = LandedBatches(warehouse_dsn) if warehouse_dsn else None
    after_run, after_batch = runs.last_run_id(), batches.last_batch_id() if batches else 0
    args = ["dags", "test", stage.dag_id, *(["-c", json.dumps(stage.conf)] if stage.conf else [])]
    states, landed = TaskStates(), {}
    with log_path.open("ab") as log:
        log.write(f"\n===== {datetime.now():%Y-%m-%d %H:%M:%S} $ airflow {' '.join(args)}\n".encode())
        log.flush()
        offset = log.tell()
        started = time.monotonic()
        process = subprocess.Popen(
            [AIRFLOW_BIN, *args],
            env=env,
            cwd=PROJECT_ROOT,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            polled_at = None
            while True:
                finished = process.poll() is not None
                if finished or polled_at is None or time.monotonic() - polled_at >= poll_s:
                    polled_at = time.monotonic()
                    states = runs.task_states(stage.dag_id, after_run) or states
                    landed = (batches.landed_since(after_batch) if batches else None) or landed
                if finished:
                    break
                progress.update(
                    progress_text(stage.dag_id, states, landed, time.monotonic() - started),
                    key=(states, tuple(sorted(landed.items()))),
                )
                with suppress(subprocess.TimeoutExpired):
                    process.wait(timeout=1)
        finally:
            if process.poll() is None:  # interrupted: the run goes with the dev stack
                process.terminate()
                with suppress(subprocess.TimeoutExpired):
                    process.wait(timeout=10)
                if process.poll() is None:
                    process.kill()
            if batches:
                batches.close()
    result = StageResult(
        stage, process.returncode, states, landed, time.monotonic() - started, log_path, offset
    )
    progress.done(
        progress_text(stage.dag_id, states, landed, result.elapsed, "ok" if result.ok else "FAILED")
    )
    return result


def run_pipeline(
    start: str,
    end: str,
    env: dict[str, str],
    log_path: Path,
    *,
    progress: ProgressLine | None = None,
    warehouse_dsn: str | None = None,
    portal: bool = False,
) -> StageResult | None:
    """The whole pipeline for [start, end), as real Airflow DAG runs, in dependency order; stops at
    the first stage that fails and returns it (None when every stage succeeded)."""
    progress = progress or ProgressLine()
    sources = load_sources(_sources_file(env))
    with log_path.open("ab") as log:
        prepare_airflow(env, log, sources)
    for stage in pipeline_stages(start, end, portal=portal, sources=sources):
        result = run_stage(stage, env, log_path, progress, warehouse_dsn=warehouse_dsn)
        if not result.ok:
            return result
    return None


# ---- what a failed run printed ---------------------------------------------------------------------

TASK_START = re.compile(r"\[DAG TEST\] starting task_id=(?P<task_id>\S+) map_index=(?P<map_index>-?\d+)")
LOG_RECORD = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d")
CARETS = re.compile(r"^\s*[\^~]+\s*$")
TASK_FAILED = "Task failed with exception"
LINE_LIMIT = 400


def task_sections(lines: list[str]) -> list[tuple[str, int, int, int]]:
    """Each task try in ``airflow dags test`` output, which runs one task at a time:
    (task_id, map_index, first line, end line)."""
    starts = [(i, m) for i, line in enumerate(lines) if (m := TASK_START.search(line))]
    return [
        (m["task_id"], int(m["map_index"]), i, starts[n + 1][0] if n + 1 < len(starts) else len(lines))
        for n, (i, m) in enumerate(starts)
    ]


def failure_excerpt(lines: list[str], limit: int = 40) -> list[str]:
    """The last ``limit`` lines up to the end of the last traceback (its last line names the
    error), else the last ``limit`` lines; without the lines that only point carets at the
    expression above them, so that more of the traceback fits."""
    failed_at = max((i for i, line in enumerate(lines) if TASK_FAILED in line), default=None)
    end = len(lines)
    if failed_at is not None:
        end = next((i for i in range(failed_at + 1, len(lines)) if LOG_RECORD.match(lines[i])), len(lines))
    kept = [line for line in lines[:end] if not CARETS.match(line)]
    return kept[-limit:]


def failure_summary(result: StageResult, limit: int = 40) -> str:
    """What to read first when a stage failed: the failing task's last log lines and where the
    whole log is."""
    with result.log_path.open("rb") as log:
        first_line = log.read(result.log_offset).count(b"\n") + 1
        lines = log.read().decode("utf-8", errors="replace").splitlines()
    sections = task_sections(lines)
    section = None
    if result.states.failed:
        task_id, map_index = result.states.failed[0]
        section = next((s for s in reversed(sections) if s[:2] == (task_id, map_index)), None)
    else:  # task states unknown: the last try that raised
        section = next(
            (s for s in reversed(sections) if any(TASK_FAILED in line for line in lines[s[2] : s[3]])), None
        )
    dag_id = result.stage.dag_id
    if section:
        task_id, map_index, begin, end = section
        name = task_id if map_index < 0 else f"{task_id}[{map_index}]"
        more = len(result.states.failed) - 1
        head = f"{dag_id}: task {name} failed" + (f" (and {more} more)" if more > 0 else "")
        excerpt = failure_excerpt(lines[begin:end], limit)
        where = f"this task from line {first_line + begin}"
    else:
        head = f"{dag_id}: `airflow dags test {dag_id}` exited with code {result.returncode}"
        excerpt = lines[-limit:]
        where = f"this run from line {first_line}"
    clipped = [line if len(line) <= LINE_LIMIT else line[:LINE_LIMIT] + " …" for line in excerpt]
    return "\n".join(
        [
            f"\n{head}. The last {len(excerpt)} lines of its log:",
            "",
            *("    " + line for line in clipped),
            "",
            f"Full log: {shown(result.log_path)} ({where})",
        ]
    )


def log_tail(log_path: Path, limit: int = 40) -> str:
    lines = log_path.read_bytes().decode("utf-8", errors="replace").splitlines()
    return "\n".join("    " + line[:LINE_LIMIT] for line in lines[-limit:])


def shown(path: Path) -> str:
    """A path as the user would type it from the project folder."""
    with suppress(ValueError):
        return str(path.resolve().relative_to(Path.cwd()))
    return str(path)


def headline(dsn: str, year: int = 2023, half_start: date = date(2024, 1, 1)) -> list[dict]:
    with warehouse.connect(dsn=dsn) as conn:
        return warehouse.query(
            conn, "marts/headline_districts.sql", {"year_start": date(year, 1, 1), "half_start": half_start}
        )


def format_headline(rows: list[dict], year: int = 2023, half: str = "H1 2024") -> str:
    """The districts' headline: the own figures and 766 total, and beside the total the one the
    national portal publishes (scored on the synchronized dossiers only) and the points
    synchronizing the others would bring (own total minus the total over synchronized dossiers)."""

    def pct(value) -> str:
        return "n/a" if value is None else f"{float(value) * 100:.2f}%"

    def score(row) -> str:
        if row["total_score"] is None:
            return "n/a"
        return f"{float(row['total_score']):.2f}/{float(row['max_available']):.0f}"

    def published(row) -> str:
        return "n/a" if row.get("portal_total") is None else f"{float(row['portal_total']):.2f}"

    def from_sync(row) -> str:
        return "n/a" if row.get("points_from_sync") is None else f"{float(row['points_from_sync']):+.2f}"

    header = (
        f"{'district':<34} {'on time ' + str(year):>13} {'digitized ' + half:>18} "
        f"{'paid online ' + half:>20} {'766 total ' + str(year):>16} {'portal ' + str(year):>11} "
        f"{'from sync':>9} {'rank':>6}"
    )
    lines = [header, "-" * len(header)]
    for row in rows:
        rank = f"{row['rank_in_level']}/{row['units_in_level']}" if row["rank_in_level"] else "n/a"
        lines.append(
            f"{row['unit_name']:<34} {pct(row['on_time']):>13} {pct(row['result_digitized']):>18} "
            f"{pct(row['online_payment']):>20} {score(row):>16} {published(row):>11} {from_sync(row):>9} {rank:>6}"
        )
    return "\n".join(lines)


def where_next(log_path: Path | None = None) -> str:
    from tthc.report import report_dir

    data_docs = Path(os.environ.get("TTHC_DATA_DOCS_DIR") or STATE_DIR / "data_docs") / "index.html"
    lines = [
        "Where next:",
        f"  report  : make report UNIT={REPORT_UNIT} PERIOD={REPORT_PERIOD} -> "
        f"{shown(report_dir() / f'{REPORT_UNIT}_{REPORT_PERIOD}.html')} and .pdf (any unit and period)",
        f"  form 06 : make form-06 UNIT={REPORT_UNIT} PERIOD=2024-Q2 -> "
        f"{shown(report_dir() / f'form_06_{REPORT_UNIT}_2024-Q2_statutory.xlsx')} (Excel, as handed in)",
        "  BI      : mart.indicator_value, mart.score_766, mart.rank_gap, mart.watchlist, mart.form_06 and the "
        "labelled views (docs/bi.md)",
        f"  quality : quality.quarantine, quality.run_audit; Data Docs in {shown(data_docs)}",
        "  Airflow : make airflow, then http://localhost:8080 (DAGs tthc_*, with their docs)",
    ]
    if log_path:
        lines.append(f"  logs    : {shown(log_path)} (Airflow's output of this run)")
    return "\n".join(lines)


def describe(conn) -> str:
    """Where a connection points, without its secrets."""
    return f"{conn.host or '127.0.0.1'}:{conn.port or 5432}/{conn.schema or ''}".rstrip("/")


def new_log_path(kind: str) -> Path:
    folder = STATE_DIR / "logs"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{kind}-{datetime.now():%Y%m%d-%H%M%S}.log"


def run_command(
    start: str, end: str, env: dict[str, str], local: dict[str, str], *, with_headline: bool
) -> int:
    """``make demo`` / ``make run``: progress on the terminal, Airflow's output in a log file."""
    log_path = new_log_path("demo" if with_headline else "run")
    print(f"Airflow's output goes to {shown(log_path)}", flush=True)
    fields = _warehouse_fields()
    dsn = warehouse.conninfo(fields)
    print(f"{'warehouse':<16} {describe(fields)}", flush=True)
    progress = ProgressLine()
    started = time.monotonic()
    try:
        with log_path.open("ab") as log, _sources(env, local, log, progress) as first:
            portal = set_portal(env, first, progress)
            failed = run_pipeline(
                start, end, env, log_path, progress=progress, warehouse_dsn=dsn, portal=portal
            )
    except (subprocess.CalledProcessError, RuntimeError) as exc:  # Airflow's setup or the simulator
        print(
            f"\n{exc}. The last lines of the log:\n\n{log_tail(log_path)}\n\nFull log: {shown(log_path)}",
            file=sys.stderr,
        )
        return 1
    except KeyboardInterrupt:  # the Airflow run and the simulator were stopped on the way out
        print(f"\ninterrupted; Airflow's output so far: {shown(log_path)}", file=sys.stderr)
        return 130
    if failed:
        print(failure_summary(failed), file=sys.stderr)
        return 1
    print(f"\npipeline {start} .. {end} done in {format_elapsed(time.monotonic() - started)}\n")
    if with_headline:
        print(format_headline(headline(dsn)) + "\n")
    print(where_next(log_path))
    return 0


def unit_report(unit_code: str, period_text: str) -> int:
    """``make report``: the unit report from the warehouse ``make demo`` filled (found the same way)."""
    from tthc.report import load_report_data, parse_period, write_report

    try:
        period = parse_period(period_text)
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 2
    # Reading a connection imports Airflow, which wants a home: the dev stack's, not ~/airflow.
    os.environ.setdefault("AIRFLOW_HOME", str(STATE_DIR / "home"))
    os.environ["AIRFLOW_CONN_TTHC_WAREHOUSE"] = warehouse_connection(create=False)
    fields = _warehouse_fields()
    try:
        with warehouse.connect(dsn=warehouse.conninfo(fields)) as conn:
            data = load_report_data(conn, unit_code.strip(), period)
    except psycopg.OperationalError as exc:
        reason = str(exc).strip().splitlines()[0]
        print(
            f"cannot read the warehouse {describe(fields)}: {reason}\n"
            "`make demo` (or `make run START=... END=...`) fills it first.",
            file=sys.stderr,
        )
        return 1
    # Airflow, imported to read the connection, logs every library's INFO records to this terminal:
    # keep the PDF renderer's page-by-page notes out of it.
    logging.getLogger().setLevel(logging.WARNING)
    for name in ("weasyprint", "fontTools"):
        logging.getLogger(name).setLevel(logging.ERROR)
    paths = write_report(data)
    print(f"report for {data.unit_name} ({data.unit_code}), {period.label_vi}, from {describe(fields)}:")
    for path in paths.values():
        print(f"  {shown(path)}")
    if "pdf" not in paths:
        print(
            "no PDF: WeasyPrint needs Pango (Debian: libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core)",
            file=sys.stderr,
        )
    if "figures" in data.missing:
        print(
            f"note: the warehouse has no figures for {data.unit_code} in {period.key}: is the unit code "
            "right, and has `make demo` (or `make run` over that period) loaded it?",
            file=sys.stderr,
        )
    return 0


def form_06_workbook(unit_code: str, period_text: str, kind: str) -> int:
    """``make form-06``: form 06/VPCP/KSTT as the Excel workbook staff hand in, from the warehouse
    ``make demo`` filled (found the same way as for ``make report``)."""
    from tthc import tasks
    from tthc.report import parse_period
    from tthc.report.form_06 import Form06NotAvailable

    try:
        period = parse_period(period_text)
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 2
    os.environ.setdefault("AIRFLOW_HOME", str(STATE_DIR / "home"))
    os.environ["AIRFLOW_CONN_TTHC_WAREHOUSE"] = warehouse_connection(create=False)
    fields = _warehouse_fields()
    try:
        paths = tasks.write_form_06(unit_code, [period.key], kind=kind)
    except (Form06NotAvailable, ValueError) as exc:
        print(exc, file=sys.stderr)
        return 1
    except psycopg.OperationalError as exc:
        reason = str(exc).strip().splitlines()[0]
        print(
            f"cannot read the warehouse {describe(fields)}: {reason}\n`make demo` fills it first.",
            file=sys.stderr,
        )
        return 1
    print(f"form 06/VPCP/KSTT for {unit_code}, {period.label_vi} ({kind}), from {describe(fields)}:")
    for path in paths:
        print(f"  {shown(Path(path))}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tthc.devstack")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the whole pipeline for a window")
    run.add_argument("--start", default=DEMO_START)
    run.add_argument("--end", default=DEMO_END)
    run.add_argument("--headline", action="store_true", help="print the districts' headline table")
    report = sub.add_parser("report", help="write the unit report (HTML and PDF) from the local warehouse")
    report.add_argument("--unit", default=REPORT_UNIT, help=f"unit code (MaDonVi), default {REPORT_UNIT}")
    report.add_argument("--period", default=REPORT_PERIOD, help="2023, 2024-H1, 2024-Q2 or 2024-03")
    form = sub.add_parser("form-06", help="write form 06/VPCP/KSTT (Excel) from the local warehouse")
    form.add_argument("--unit", default=REPORT_UNIT, help=f"unit code (MaDonVi), default {REPORT_UNIT}")
    form.add_argument("--period", default=REPORT_PERIOD, help="2023, 2024-H1, 2024-Q2 or 2024-03")
    form.add_argument("--kind", default="statutory", choices=("statutory", "calendar"))
    sub.add_parser("airflow", help="start Airflow (standalone) with the project's DAGs and connections")
    args = parser.parse_args(argv)
    if args.command == "report":
        return unit_report(args.unit, args.period)
    if args.command == "form-06":
        return form_06_workbook(args.unit, args.period, args.kind)
    # A terminated dev stack still stops the simulator it started (finally blocks run on exit).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))

    env = airflow_env()
    local = local_secrets()
    env.setdefault("TTHC_PSEUDONYM_KEY", local["TTHC_PSEUDONYM_KEY"])
    env["AIRFLOW_CONN_TTHC_WAREHOUSE"] = warehouse_connection()
    os.environ.update(
        {k: env[k] for k in ("AIRFLOW_CONN_TTHC_WAREHOUSE", "TTHC_PSEUDONYM_KEY", "TTHC_DATA_DOCS_DIR")}
    )
    # Reading a connection imports Airflow, which wants a home: the dev stack's, not ~/airflow.
    os.environ.setdefault("AIRFLOW_HOME", env["AIRFLOW_HOME"])

    if args.command == "airflow":
        with _sources(env, local) as first:
            set_portal(env, first)
            prepare_airflow(env)
            airflow(["standalone"], env)
        return 0
    return run_command(args.start, args.end, env, local, with_headline=args.headline)


def _warehouse_fields():
    from tthc.settings import WAREHOUSE_CONN_ID, get_connection

    return get_connection(WAREHOUSE_CONN_ID)


def connection_variable(conn_id: str) -> str:
    return f"AIRFLOW_CONN_{conn_id.upper()}"


def simulator_arguments(source: Source) -> list[str]:
    """How the dev stack starts the simulator of a source: the province its entry names (none for
    the first source: the simulator's default, Lai Châu)."""
    province = source.simulator or source.id
    return [] if province == "lai_chau" else ["--province", province]


@contextmanager
def _sources(
    env: dict[str, str],
    local: dict[str, str],
    log: IO[bytes] | None = None,
    progress: ProgressLine | None = None,
):
    """Every configured source's connection in ``env``: the one given in the environment, else a
    simulator started for it (stopped on the way out). Yields the first source's connection."""
    with ExitStack() as stack:
        first = None
        sources = load_sources(_sources_file(env))
        for source in sources:
            variable = connection_variable(source.conn_id)
            label = "simulator" if len(sources) == 1 else source.id
            if os.environ.get(variable):
                value = os.environ[variable]
                if progress:
                    progress.done(
                        f"{'source':<16} {variable}" if len(sources) == 1 else f"{label:<16} {variable}"
                    )
            else:
                started = time.monotonic()
                if progress:
                    progress.update(f"{label:<16} starting the simulator")
                value = stack.enter_context(
                    simulator_process(
                        local["TTHC_SIM_CLIENT_ID"],
                        local["TTHC_SIM_CLIENT_SECRET"],
                        simulator_arguments(source),
                        stderr=log,
                    )
                )
                if progress:
                    address = json.loads(value)
                    progress.done(
                        f"{label:<16} http://{address['host']}:{address['port']} · "
                        f"{format_elapsed(time.monotonic() - started)} · ok"
                    )
            env[variable] = value
            first = first or value
        yield first


PORTAL_PAGE_SIZE = 100  # the portal's largest page (docs/portal.md)


def portal_connection(source: str, *, source_given: bool, portal_given: str | None) -> str | None:
    """The AIRFLOW_CONN_TTHC_PORTAL value for a dev stack whose source connection is ``source``:
    the one given; else, when the dev stack started the simulator, the simulator's own portal
    (served on the export's port, no credentials); else (an external source) none."""
    if portal_given:
        return portal_given
    if source_given:
        return None
    address = json.loads(source)
    return json.dumps(
        {
            "conn_type": "http",
            "host": address["host"],
            "port": address["port"],
            "schema": address.get("schema") or "http",
            "extra": {"page_size": PORTAL_PAGE_SIZE},
        }
    )


def set_portal(env: dict[str, str], source: str, progress: ProgressLine | None = None) -> bool:
    """Sets ``env``'s AIRFLOW_CONN_TTHC_PORTAL (see ``portal_connection``) and says where it points
    on one progress line; returns whether the portal's scores are to be fetched. With several
    sources the scores are skipped: tthc_portal_scores fetches one province's tree a run (conf
    ``root_unit``), and a simulator's portal knows its own province only."""
    given = os.environ.get("AIRFLOW_CONN_TTHC_PORTAL")
    sources = load_sources(_sources_file(env))
    first_variable = connection_variable(sources[0].conn_id)
    value = portal_connection(source, source_given=bool(os.environ.get(first_variable)), portal_given=given)
    if len(sources) > 1:
        value = None
        line = (
            f"skipped: {len(sources)} sources (the portal's scores are fetched per province: docs/portal.md)"
        )
    elif value is None:
        line = f"skipped: {first_variable} is given and AIRFLOW_CONN_TTHC_PORTAL is not"
    if value is None:
        env.pop("AIRFLOW_CONN_TTHC_PORTAL", None)
    else:
        env["AIRFLOW_CONN_TTHC_PORTAL"] = value
        if given:
            line = "AIRFLOW_CONN_TTHC_PORTAL"
        else:
            address = json.loads(value)
            line = f"http://{address['host']}:{address['port']} (the simulator's national portal)"
    if progress:
        progress.done(f"{'portal':<16} {line}")
    return value is not None


if __name__ == "__main__":
    sys.exit(main())
