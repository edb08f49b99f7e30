"""The production-shaped Airflow stack, as local processes, for the system tests.

``airflow_stack()`` starts what docker-compose.yaml runs, without Docker: a fresh metadata database
on the local PostgreSQL, the CeleryExecutor with the local Redis as broker, and the api-server,
scheduler, dag-processor, triggerer and one or more Celery workers as separate processes sharing
one JWT secret; a simulator (``python -m simulator --province ...``) per source of its own sources
file (``TTHC_SOURCES_FILE``, for every process) and a fresh warehouse database. It yields an
``AirflowStack`` that talks to the REST API (v2, JWT from ``/auth/token``) and stops every process,
in its own process group, on exit (SIGTERM, then SIGKILL after a bounded wait), then drops both
databases.

Sources and workers: ``sources`` (``StackSource``) name a *logical* Celery queue each and
``workers`` (``StackWorker``) the logical queues each worker listens on, as ``queue:`` in a sources
file and ``airflow celery worker --queues`` do in production. Each worker reports its own hostname
on the task instances it runs (``AirflowStack.worker_hostnames``), as workers on separate hosts do.

Isolation from anything else on the machine: free ports only, Celery queues named after this stack
(logical "default" is the stack's own queue, every other one ``<that>_<name>``: a worker of another
stack on the same Redis never takes its tasks), its own AIRFLOW_HOME.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
import psycopg
import requests
import yaml

from tthc import PROJECT_ROOT, devstack

AIRFLOW_BIN = str(Path(sys.executable).parent / "airflow")
PIPELINE_DAGS = ("tthc_reference", "tthc_dossiers", "tthc_feedback", "tthc_indicators")
TERMINAL_RUN_STATES = {"success", "failed"}
# A task may decide to skip itself (nothing to do, e.g. no quarantined record to retry); anything
# else than these two is a failure.
OK_TI_STATES = {"success", "skipped"}
MAX_RESTARTS = 2  # per service, see AirflowStack.check_alive


class StackError(RuntimeError):
    """The stack did not come up, or a run did not finish as expected."""


@dataclass(frozen=True)
class StackSource:
    """An entry of the stack's sources file, served by a simulator of its own."""

    id: str
    conn_id: str
    queue: str = "default"  # logical, see the module's docstring
    province: str = "lai_chau"  # python -m simulator --province
    dossiers_per_year: int | None = None  # None: the stack's
    dag_id_suffix: str | None = None  # None: "_<id>" (tthc.sources)
    pool_slots: int = 4


@dataclass(frozen=True)
class StackWorker:
    """A Celery worker process: the logical queues it listens on."""

    queues: tuple[str, ...] = ("default",)
    concurrency: int | None = None  # None: the stack's


# The production default: one source (Lai Châu, the first, keeping its DAG ids), one worker.
DEFAULT_SOURCES = (StackSource("lai_chau", "tthc_source", dag_id_suffix=""),)
DEFAULT_WORKERS = {"celery-worker": StackWorker()}


@dataclass
class Service:
    name: str
    process: subprocess.Popen
    log_path: Path
    args: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    exits: list[int] = field(default_factory=list)  # return codes of the runs restarted after

    def tail(self, chars: int = 4000) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")[-chars:]
        except OSError:
            return ""


@dataclass
class AirflowStack:
    base_url: str
    username: str
    password: str
    home: Path
    env: dict[str, str]
    queue: str
    warehouse_dsn: str
    services: list[Service] = field(default_factory=list)
    sources_file: Path | None = None
    queues: dict[str, str] = field(default_factory=dict)  # logical queue -> the stack's Celery queue
    worker_hostnames: dict[str, str] = field(default_factory=dict)  # worker service -> TI hostname
    worker_queues: dict[str, tuple[str, ...]] = field(default_factory=dict)  # worker -> logical queues
    session: requests.Session = field(default_factory=requests.Session)

    # --- REST API ------------------------------------------------------------------------------

    def login(self) -> str:
        response = requests.post(
            f"{self.base_url}/auth/token",
            timeout=30,
            json={"username": self.username, "password": self.password},
        )
        if response.status_code not in (200, 201):
            raise StackError(f"/auth/token answered {response.status_code}: {response.text[:500]}")
        token = response.json()["access_token"]
        self.session.headers["Authorization"] = f"Bearer {token}"
        return token

    def api(self, method: str, path: str, expect: tuple[int, ...] = (200, 201), **kwargs) -> Any:
        response = self.session.request(method, f"{self.base_url}/api/v2{path}", timeout=60, **kwargs)
        if response.status_code == 401:  # token expired during a long wait
            self.login()
            response = self.session.request(method, f"{self.base_url}/api/v2{path}", timeout=60, **kwargs)
        if response.status_code not in expect:
            raise StackError(f"{method} {path} answered {response.status_code}: {response.text[:1000]}")
        return response.json() if response.content else None

    def import_errors(self) -> list[dict]:
        return self.api("GET", "/importErrors", params={"limit": 100})["import_errors"]

    def ensure_pool(self, name: str, slots: int, description: str = "") -> dict:
        pools = {p["name"]: p for p in self.api("GET", "/pools", params={"limit": 100})["pools"]}
        if name in pools:
            return self.api("PATCH", f"/pools/{name}", json={"name": name, "slots": slots})
        return self.api(
            "POST",
            "/pools",
            json={"name": name, "slots": slots, "description": description, "include_deferred": False},
        )

    def unpause(self, dag_id: str) -> None:
        self.api("PATCH", f"/dags/{dag_id}", json={"is_paused": False})

    def worker_of(self, logical_queue: str) -> str:
        """The hostname of the one worker listening on this logical queue."""
        [name] = [name for name, queues in self.worker_queues.items() if logical_queue in queues]
        return self.worker_hostnames[name]

    def pause(self, dag_id: str) -> None:
        self.api("PATCH", f"/dags/{dag_id}", json={"is_paused": True})

    def trigger(self, dag_id: str, conf: dict | None = None) -> str:
        run = self.api("POST", f"/dags/{dag_id}/dagRuns", json={"logical_date": None, "conf": conf or {}})
        return run["dag_run_id"]

    def runs(self, dag_id: str, **params) -> list[dict]:
        return self.api("GET", f"/dags/{dag_id}/dagRuns", params={"limit": 100, **params})["dag_runs"]

    def run(self, dag_id: str, run_id: str) -> dict:
        return self.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}")

    def task_instances(self, dag_id: str, run_id: str) -> list[dict]:
        return self.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances", params={"limit": 1000})[
            "task_instances"
        ]

    def task_log(self, ti: dict) -> str:
        try_number = max(int(ti.get("try_number") or 1), 1)
        try:
            body = self.api(
                "GET",
                f"/dags/{ti['dag_id']}/dagRuns/{ti['dag_run_id']}/taskInstances/{ti['task_id']}"
                f"/logs/{try_number}",
                params={"map_index": ti.get("map_index", -1), "full_content": "true"},
                headers={"Accept": "application/json"},
            )
        except StackError as exc:
            return f"(no log: {exc})"
        content = body.get("content") if isinstance(body, dict) else body
        if isinstance(content, list):
            lines = []
            for item in content:
                if not isinstance(item, dict):
                    lines.append(str(item))
                    continue
                lines.append(
                    " ".join(str(item[k]) for k in ("timestamp", "level", "event") if item.get(k) is not None)
                )
                for error in item.get("error_detail") or []:  # the exception, with its last frames
                    frames = error.get("frames") or []
                    lines += [
                        f"    {f.get('filename')}:{f.get('lineno')} in {f.get('name')}" for f in frames[-4:]
                    ]
                    lines.append(f"  {error.get('exc_type')}: {error.get('exc_value')}")
            return "\n".join(lines)
        return str(content)

    def wait_for_dags(self, dag_ids=PIPELINE_DAGS, timeout: float = 180) -> dict[str, dict]:
        """Until the dag-processor has parsed and serialized every DAG; fails on import errors."""
        deadline = time.monotonic() + timeout
        while True:
            errors = self.import_errors()
            if errors:
                raise StackError(
                    "DAG import errors:\n"
                    + "\n\n".join(f"{e['filename']}:\n{e['stack_trace']}" for e in errors)
                )
            dags = {d["dag_id"]: d for d in self.api("GET", "/dags", params={"limit": 100})["dags"]}
            if set(dag_ids) <= dags.keys():
                return dags
            if time.monotonic() > deadline:
                raise StackError(
                    f"DAGs not parsed after {timeout:.0f} s: found {sorted(dags)}\n" + self.service_tails()
                )
            self.check_alive()
            time.sleep(2)

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float = 600) -> dict:
        """Until the run is finished; raises with every failed task's log unless it succeeded."""
        deadline = time.monotonic() + timeout
        while True:
            run = self.run(dag_id, run_id)
            tis = self.task_instances(dag_id, run_id)
            if run["state"] in TERMINAL_RUN_STATES:
                break
            if time.monotonic() > deadline:
                raise StackError(
                    f"{dag_id} {run_id} still {run['state']} after {timeout:.0f} s; tasks: "
                    + ", ".join(f"{t['task_id']}[{t['map_index']}]={t['state']}" for t in tis)
                    + "\n"
                    + self.failure_report(dag_id, run_id)
                    + self.service_tails()
                )
            self.check_alive()
            time.sleep(3)
        if run["state"] != "success" or any(ti["state"] not in OK_TI_STATES for ti in tis):
            raise StackError(
                f"{dag_id} {run_id} ended {run['state']}:\n" + self.failure_report(dag_id, run_id)
            )
        return run

    def failure_report(self, dag_id: str, run_id: str) -> str:
        parts = []
        for ti in self.task_instances(dag_id, run_id):
            if ti["state"] not in OK_TI_STATES:
                parts.append(
                    f"--- {ti['task_id']}[{ti['map_index']}] {ti['state']} (try {ti['try_number']})\n"
                    + self.task_log(ti)[-6000:]
                )
        return "\n".join(parts)

    # --- processes -----------------------------------------------------------------------------

    def check_alive(self) -> None:
        """A service that exited is started again, as ``restart: always`` does in
        docker-compose.yaml (at most MAX_RESTARTS times each; its log keeps the exit, and
        ``restarts()`` says which): e.g. a scheduler that could not get a connection from a database
        server whose connection slots other clients took for a moment. Beyond that, raises."""
        for service in self.services:
            if service.process.poll() is not None and len(service.exits) < MAX_RESTARTS:
                service.exits.append(service.process.returncode)
                print(f"{service.name} exited with {service.process.returncode}: started again", flush=True)
                stop_service(service, timeout=10)  # what is left of its process group
                service.process = _spawn(service.args, service.env, service.log_path, append=True)
        dead = [s for s in self.services if s.process.poll() is not None]
        if dead:
            raise StackError(
                "; ".join(f"{s.name} exited with {s.process.returncode}" for s in dead)
                + "\n"
                + "\n".join(f"--- {s.name}\n{s.tail()}" for s in dead)
            )

    def restarts(self) -> dict[str, list[int]]:
        """Service -> return codes of its runs that ended and were started again."""
        return {s.name: s.exits for s in self.services if s.exits}

    def service_tails(self, chars: int = 3000) -> str:
        return "\n".join(f"--- {s.name} ({s.log_path})\n{s.tail(chars)}" for s in self.services)


def _start(name: str, args: list[str], env: dict[str, str], log_dir: Path) -> Service:
    log_path = log_dir / f"{name}.log"
    return Service(name, _spawn(args, env, log_path), log_path, args, env)


def _spawn(args: list[str], env: dict[str, str], log_path: Path, append: bool = False) -> subprocess.Popen:
    with open(log_path, "ab" if append else "wb") as log:
        return subprocess.Popen(
            [AIRFLOW_BIN, *args],
            env=env,
            cwd=PROJECT_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # own process group: stopped as a whole
        )


def _group_members(pgid: int) -> list[psutil.Process]:
    members = []
    for proc in psutil.process_iter(["pid"]):
        with suppress(psutil.Error, ProcessLookupError):
            if os.getpgid(proc.pid) == pgid and proc.status() != psutil.STATUS_ZOMBIE:
                members.append(proc)
    return members


def stop_service(service: Service, timeout: float = 30) -> list[int]:
    """SIGTERM to the service's process group, SIGKILL after ``timeout``; returns pids left over
    (none expected). Only the group this module created is signalled."""
    pgid = service.process.pid
    with suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if service.process.poll() is not None and not _group_members(pgid):
            return []
        time.sleep(0.3)
    with suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)
    with suppress(subprocess.TimeoutExpired):
        service.process.wait(timeout=10)
    time.sleep(0.5)
    return [p.pid for p in _group_members(pgid)]


def _http_ready(url: str, timeout: float, service: Service) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if service.process.poll() is not None:
            raise StackError(f"{service.name} exited with {service.process.returncode}:\n{service.tail()}")
        with suppress(requests.RequestException):
            if requests.get(url, timeout=3).status_code == 200:
                return
        time.sleep(1)
    raise StackError(f"{url} not answering after {timeout:.0f} s:\n{service.tail()}")


def _database(admin_dsn: str, name: str, *, drop: bool = False) -> str:
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        ident = psycopg.sql.Identifier(name)
        conn.execute(psycopg.sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(ident))
        if not drop:
            conn.execute(psycopg.sql.SQL("CREATE DATABASE {}").format(ident))
    params = psycopg.conninfo.conninfo_to_dict(admin_dsn)
    params["dbname"] = name
    return psycopg.conninfo.make_conninfo(**params)


def _sqlalchemy_url(dsn: str, scheme: str) -> str:
    p = psycopg.conninfo.conninfo_to_dict(dsn)
    auth = p.get("user", "postgres") + (f":{p['password']}" if p.get("password") else "")
    return f"{scheme}://{auth}@{p.get('host', '127.0.0.1')}:{p.get('port', 5432)}/{p['dbname']}"


@contextmanager
def airflow_stack(
    *,
    dossiers_per_year: int = 20_000,
    workdir: Path | None = None,
    broker_url: str = "redis://127.0.0.1:6379/0",
    worker_concurrency: int = 4,
    startup_timeout: float = 180,
    sources: tuple[StackSource, ...] = DEFAULT_SOURCES,
    workers: dict[str, StackWorker] | None = None,
) -> Iterator[AirflowStack]:
    workers = workers or DEFAULT_WORKERS
    tag = f"{os.getpid()}_{secrets.token_hex(3)}"
    keep_databases = os.environ.get("TTHC_SYSTEM_KEEP_DATABASES") == "1"  # for a post-mortem
    own_home = workdir is None  # a temporary home is removed after a clean run, kept after a failure
    home = Path(workdir or tempfile.mkdtemp(prefix="tthc-system-"))
    home.mkdir(parents=True, exist_ok=True)
    service_logs = home / "services"
    service_logs.mkdir(exist_ok=True)
    admin_dsn = devstack.local_server_admin_dsn()
    meta_db, warehouse_db = f"tthc_sys_airflow_{tag}", f"tthc_sys_wh_{tag}"

    from cryptography.fernet import Fernet

    username, password = "tthc_tester", secrets.token_urlsafe(16)
    passwords_file = home / "simple_auth_manager_passwords.json"
    passwords_file.write_text(json.dumps({username: password}))
    passwords_file.chmod(0o600)
    api_port = devstack.free_port()
    base_url = f"http://127.0.0.1:{api_port}"
    queue = f"tthc_system_{tag}"
    logical = {"default"} | {s.queue for s in sources} | {q for w in workers.values() for q in w.queues}
    queues = {name: queue if name == "default" else f"{queue}_{name}" for name in sorted(logical)}
    sim_id, sim_secret = "tthc-sys-" + secrets.token_hex(4), secrets.token_urlsafe(24)
    sources_file = home / "sources.yaml"
    sources_file.write_text(
        yaml.safe_dump({"sources": [_entry(s, queues) for s in sources]}), encoding="utf-8"
    )

    with ExitStack() as stack:
        services: list[Service] = []
        databases: list[str] = []

        def drop_databases() -> None:
            if keep_databases:
                print(f"kept databases (TTHC_SYSTEM_KEEP_DATABASES): {', '.join(databases)}")
                return
            for name in databases:
                with suppress(psycopg.Error):
                    _database(admin_dsn, name, drop=True)

        def stop_services() -> None:
            leftovers = {}
            for service in reversed(services):  # worker first, api-server last
                left = stop_service(service)
                if left:
                    leftovers[service.name] = left
            if leftovers:
                raise StackError(f"processes left after shutdown: {leftovers}")

        def forget_queue() -> None:
            """The broker keeps a binding per queue name: remove this stack's (and only its) keys."""
            with suppress(Exception):
                import redis

                client = redis.Redis.from_url(broker_url)
                keys = list(client.scan_iter(match=f"*{queue}*"))
                if keys:
                    client.delete(*keys)
                client.close()

        # ExitStack unwinds in reverse: Airflow's processes stop, then the simulator, then the
        # broker's keys of this stack's queue and the databases.
        stack.callback(drop_databases)
        stack.callback(forget_queue)
        meta_dsn = _database(admin_dsn, meta_db)
        databases.append(meta_db)
        warehouse_dsn = _database(admin_dsn, warehouse_db)
        databases.append(warehouse_db)
        connections = {}
        for source in sources:
            args = ["--dossiers-per-year", str(source.dossiers_per_year or dossiers_per_year)]
            if source.province != "lai_chau":
                args += ["--province", source.province]
            connections[devstack.connection_variable(source.conn_id)] = stack.enter_context(
                devstack.simulator_process(sim_id, sim_secret, args)
            )
        stack.callback(stop_services)

        env = devstack.airflow_env(home=home)
        env.update(
            AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=_sqlalchemy_url(meta_dsn, "postgresql+psycopg2"),
            AIRFLOW__CORE__EXECUTOR="CeleryExecutor",
            AIRFLOW__CELERY__BROKER_URL=broker_url,
            AIRFLOW__CELERY__RESULT_BACKEND=_sqlalchemy_url(meta_dsn, "db+postgresql"),
            AIRFLOW__CELERY__WORKER_CONCURRENCY=str(worker_concurrency),
            AIRFLOW__OPERATORS__DEFAULT_QUEUE=queue,
            AIRFLOW__CORE__FERNET_KEY=Fernet.generate_key().decode(),
            AIRFLOW__API_AUTH__JWT_SECRET=secrets.token_hex(32),
            AIRFLOW__API__SECRET_KEY=secrets.token_hex(32),
            AIRFLOW__API__BASE_URL=base_url,
            AIRFLOW__CORE__EXECUTION_API_SERVER_URL=f"{base_url}/execution/",
            AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION="True",
            AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS=f"{username}:admin",
            AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE=str(passwords_file),
            AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT=str(devstack.free_port()),
            AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT=str(devstack.free_port()),
            AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK="False",
            AIRFLOW_CONN_TTHC_WAREHOUSE=_connection_json(warehouse_dsn),
            TTHC_PSEUDONYM_KEY=secrets.token_urlsafe(32),
            TTHC_SOURCES_FILE=str(sources_file),
            **connections,
        )
        for key in ("AIRFLOW_CONN_SMTP_DEFAULT", "AIRFLOW_CONN_TTHC_ALERT_WEBHOOK", "AIRFLOW_CONFIG"):
            env.pop(key, None)

        migrate = subprocess.run(
            [AIRFLOW_BIN, "db", "migrate"],
            env=env,
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            timeout=600,
        )
        if migrate.returncode != 0:
            raise StackError(
                f"airflow db migrate failed:\n{migrate.stdout[-3000:]}\n{migrate.stderr[-3000:]}"
            )

        api = _start(
            "api-server", ["api-server", "--host", "127.0.0.1", "--port", str(api_port)], env, service_logs
        )
        services.append(api)
        for name, args in (
            ("scheduler", ["scheduler"]),
            ("dag-processor", ["dag-processor"]),
            ("triggerer", ["triggerer"]),
        ):
            services.append(_start(name, args, env, service_logs))
        worker_hostnames = {}
        for n, (name, worker) in enumerate(workers.items()):
            args = [
                "celery",
                "worker",
                "--queues",
                ",".join(queues[q] for q in worker.queues),
                "--concurrency",
                str(worker.concurrency or worker_concurrency),
                "--without-gossip",
                "--without-mingle",
            ]
            worker_env = dict(env)
            if n:  # the first worker keeps Celery's node name celery@<host> and the stack's log port
                args += ["--celery-hostname", f"{name}.{tag}@%h"]
                worker_env["AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT"] = str(devstack.free_port())
            # The hostname its task instances record: one per worker, as on separate machines.
            worker_hostnames[name] = f"{name}.{socket.gethostname()}"
            worker_env.update(
                AIRFLOW__CORE__HOSTNAME_CALLABLE="worker_hostname.hostname",
                TTHC_SYSTEM_WORKER_HOSTNAME=worker_hostnames[name],
                PYTHONPATH=os.pathsep.join([str(Path(__file__).parent), env["PYTHONPATH"]]),
            )
            services.append(_start(name, args, worker_env, service_logs))
        _http_ready(f"{base_url}/api/v2/monitor/health", startup_timeout, api)

        airflow = AirflowStack(
            base_url=base_url,
            username=username,
            password=password,
            home=home,
            env=env,
            queue=queue,
            warehouse_dsn=warehouse_dsn,
            services=services,
            sources_file=sources_file,
            queues=queues,
            worker_hostnames=worker_hostnames,
            worker_queues={name: worker.queues for name, worker in workers.items()},
        )
        airflow.login()
        airflow.check_alive()
        try:
            yield airflow
        except BaseException:
            own_home = False  # keep the services' and tasks' logs for whoever reads the failure
            print(f"Airflow stack logs kept in {home}")
            raise
    if own_home:
        shutil.rmtree(home, ignore_errors=True)


def _entry(source: StackSource, queues: dict[str, str]) -> dict:
    entry = {
        "id": source.id,
        "conn_id": source.conn_id,
        "name": f"{source.id} (simulated, system tests)",
        "queue": queues[source.queue],
        "pool_slots": source.pool_slots,
        "simulator": source.province,
    }
    if source.dag_id_suffix is not None:
        entry["dag_id_suffix"] = source.dag_id_suffix
    return entry


def _connection_json(dsn: str) -> str:
    p = psycopg.conninfo.conninfo_to_dict(dsn)
    return json.dumps(
        {
            "conn_type": "postgres",
            "host": p.get("host", "127.0.0.1"),
            "port": int(p.get("port") or 5432),
            "login": p.get("user", "postgres"),
            "password": p.get("password"),
            "schema": p["dbname"],
        }
    )
