"""Checks of the container deployment: docker-compose.yaml, .env.example, Dockerfile, docker/.

No Docker engine is needed. The compose file is validated against the Compose Specification
JSON schema as shipped by the maintained `check-jsonschema` package (its vendored copy of the
compose-spec schema, refreshed with each release), using the `jsonschema` package; then the
wiring between services is checked. The warehouse's init script is run against a throwaway
PostgreSQL cluster when the PostgreSQL server binaries are on PATH.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from importlib import metadata, resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_FILE = ROOT / "docker-compose.yaml"
ENV_EXAMPLE = ROOT / ".env.example"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
WAREHOUSE_INIT = ROOT / "docker" / "warehouse-init"
SOURCES_ENV = ROOT / "docker" / "sources.env"
SOURCES_ENV_EXAMPLE = ROOT / "docker" / "sources.env.example"

AIRFLOW_SERVICES = {
    "airflow-apiserver": "api-server",
    "airflow-scheduler": "scheduler",
    "airflow-dag-processor": "dag-processor",
    "airflow-triggerer": "triggerer",
    "airflow-worker": "celery worker --queues ${TTHC_WORKER_QUEUES:-default}",
    "airflow-worker-north": "celery worker --queues ${TTHC_NORTH_WORKER_QUEUES:-north}",
    "airflow-init": None,
}
WORKERS = ("airflow-worker", "airflow-worker-north")
PROJECT_MOUNTS = ("dags", "plugins", "include", "expectations", "logs", "config")
SECRET_KEY = re.compile(r"(PASSWORD|PASS|SECRET|_KEY|TOKEN)$", re.IGNORECASE)
REFERENCE = re.compile(r"^\$\{[A-Za-z_][A-Za-z0-9_]*(?:[:]?[-?+][^}]*)?\}$")
URL_PASSWORD = re.compile(r"://[^:/@\s]*:([^@\s]*)@")
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


# --- helpers ----------------------------------------------------------------------------------


def interpolate(text: str, env: dict[str, str]) -> str:
    """Compose-style interpolation: $$, $VAR, ${VAR}, ${VAR:-d}, ${VAR-d}, ${VAR:?e}, ${VAR:+a}."""
    out: list[str] = []
    i = 0
    while i < len(text):
        if text[i] != "$":
            out.append(text[i])
            i += 1
            continue
        following = text[i + 1 : i + 2]
        if following == "$":
            out.append("$")
            i += 2
        elif following == "{":
            depth, j = 0, i + 1
            while j < len(text):
                depth += {"{": 1, "}": -1}.get(text[j], 0)
                if depth == 0:
                    break
                j += 1
            else:
                raise ValueError(f"unclosed ${{ in {text!r}")
            out.append(_resolve(text[i + 2 : j], env))
            i = j + 1
        elif match := NAME.match(text, i + 1):
            out.append(env.get(match.group(), ""))
            i = match.end()
        else:
            raise ValueError(f"lone $ in {text!r} (write $$ for a literal $)")
    return "".join(out)


def _resolve(inner: str, env: dict[str, str]) -> str:
    match = re.fullmatch(r"([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])(.*))?", inner, re.DOTALL)
    if not match:
        raise ValueError(f"bad substitution ${{{inner}}}")
    name, operator, argument = match.groups()
    value = env.get(name)
    if operator is None:
        return value or ""
    present = bool(value) if operator.startswith(":") else value is not None
    if operator.endswith("-"):
        return value if present else interpolate(argument, env)
    if operator.endswith("?"):
        if not present:
            raise KeyError(f"{name} is required: {argument}")
        return value
    return interpolate(argument, env) if present else ""


def walk_strings(node: Any, env: dict[str, str]) -> Any:
    if isinstance(node, dict):
        return {key: walk_strings(value, env) for key, value in node.items()}
    if isinstance(node, list):
        return [walk_strings(value, env) for value in node]
    if isinstance(node, str):
        return interpolate(node, env)
    return node


def read_env_file(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        assert sep, f"{path.name}: not KEY=VALUE: {line!r}"
        assert key not in values, f"{path.name}: {key} listed twice"
        values[key] = value
    return values


def environment(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.partition("=")[::2] for item in env)
    return {key: "" if value is None else str(value) for key, value in env.items()}


def mounts(service: dict) -> dict[str, str]:
    """Container path -> source, for the short volume syntax used in this project."""
    result = {}
    for volume in service.get("volumes", []):
        source, target = volume.split(":")[:2]
        result[target] = source
    return result


def command_words(service: dict, key: str) -> list[str]:
    value = service.get(key) or []
    return value.split() if isinstance(value, str) else [str(word) for word in value]


def compose_schema() -> dict:
    try:
        vendored = resources.files("check_jsonschema.builtin_schemas.vendor")
    except ModuleNotFoundError:
        pytest.fail(
            "the compose-spec schema comes from check-jsonschema: pip install check-jsonschema==0.39.0"
        )
    return json.loads((vendored / "compose-spec.json").read_text(encoding="utf-8"))


def schema_errors(document: dict) -> list[str]:
    schema = compose_schema()
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    validator = validator_class(schema, format_checker=validator_class.FORMAT_CHECKER)
    return [
        f"{'/'.join(map(str, error.absolute_path)) or '<root>'}: {error.message}"
        for error in sorted(validator.iter_errors(document), key=lambda e: list(map(str, e.path)))
    ]


# --- fixtures ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def services(compose) -> dict[str, dict]:
    return compose["services"]


@pytest.fixture(scope="module")
def env_example() -> dict[str, str]:
    return read_env_file(ENV_EXAMPLE)


@pytest.fixture(scope="module")
def resolved(compose, env_example) -> dict:
    """The compose file as `docker compose config` would see it with .env copied from the example."""
    return walk_strings(compose, env_example)


# --- the Compose specification ----------------------------------------------------------------


def test_compose_file_matches_the_compose_specification(compose):
    assert schema_errors(compose) == []


def test_compose_file_matches_the_specification_after_interpolation(resolved):
    assert schema_errors(resolved) == []


def variables_used(node: Any) -> set[str]:
    if isinstance(node, dict):
        return set().union(*map(variables_used, node.values()))
    if isinstance(node, list):
        return set().union(*map(variables_used, node))
    if isinstance(node, str):
        return set(re.findall(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)", node.replace("$$", "")))
    return set()


def test_every_variable_is_listed_in_env_example_and_every_entry_is_used(compose, env_example):
    used = variables_used(compose)
    assert sorted(used - env_example.keys()) == [], "add these to .env.example"
    assert sorted(env_example.keys() - used) == [], "unused entries in .env.example"


# --- Airflow services -------------------------------------------------------------------------


def test_airflow_services_use_the_common_image_and_their_own_command(compose, services):
    common = compose["x-airflow-common"]
    assert common["build"] == "."
    for name, command in AIRFLOW_SERVICES.items():
        service = services[name]
        assert service["build"] == common["build"], name
        assert service["image"] == common["image"], name
        if command:
            assert service["command"] == command, name
    assert " ".join(command_words(services["airflow-init"], "entrypoint")) == "/bin/bash"


def test_every_airflow_component_shares_one_jwt_secret_and_the_executor_settings(compose, services):
    common = environment(compose["x-airflow-common"])
    jwt = common["AIRFLOW__API_AUTH__JWT_SECRET"]
    assert REFERENCE.match(jwt), "the JWT secret must come from .env"
    assert common["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    runs_airflow = [
        name
        for name, service in services.items()
        if any(key.startswith("AIRFLOW__") for key in environment(service))
    ]
    assert set(runs_airflow) == set(AIRFLOW_SERVICES)
    for name in runs_airflow:
        env = environment(services[name])
        assert env["AIRFLOW__API_AUTH__JWT_SECRET"] == jwt, name
        assert (
            env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"]
            == common["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"]
        )
        assert env["AIRFLOW__CORE__LOAD_EXAMPLES"] == "false", name


def test_execution_api_url_points_at_the_api_server(compose, services):
    url = environment(compose["x-airflow-common"])["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"]
    match = re.fullmatch(r"http://([\w.-]+):(\d+)/execution/", url)
    assert match, url
    host, port = match.groups()
    assert host == "airflow-apiserver"
    api = services[host]
    assert any(str(p).endswith(f":{port}") for p in api["ports"])
    assert "8080" in " ".join(command_words(api["healthcheck"], "test"))


def test_airflow_services_mount_the_project_folders(services):
    for name in AIRFLOW_SERVICES:
        mounted = mounts(services[name])
        for folder in PROJECT_MOUNTS:
            assert mounted.get(f"/opt/airflow/{folder}") == f"./{folder}", (name, folder)
    for folder in ("dags", "plugins", "include", "expectations"):
        assert (ROOT / folder).is_dir(), folder


def test_admin_is_created_from_env_and_its_password_stays_off_the_host(services):
    init = services["airflow-init"]
    assert REFERENCE.match(environment(init)["AIRFLOW_ADMIN_PASSWORD"])
    assert environment(init)["_AIRFLOW_DB_MIGRATE"] == "true"
    passwords_file = environment(init)["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"]
    folder = str(Path(passwords_file).parent)
    for name in ("airflow-init", "airflow-apiserver"):
        source = mounts(services[name])[folder]
        assert not source.startswith("."), "the passwords file must live on a named volume"


# --- workers: scalable, their Celery queues configuration ------------------------------------


def test_workers_scale(services):
    """`docker compose up --scale airflow-worker=N`: nothing on a worker may be one per host (a
    container name, a published port, a fixed hostname); each replica's hostname is its container's,
    which the healthcheck pings as its Celery node name."""
    for name in WORKERS:
        worker = services[name]
        for fixed in ("container_name", "hostname", "ports"):
            assert fixed not in worker, (name, fixed)
        assert "celery@$${HOSTNAME}" in " ".join(command_words(worker["healthcheck"], "test")), name
        assert "--celery-hostname" not in command_words(worker, "command"), name
    assert "replicas" not in (services["airflow-worker"].get("deploy") or {}), "scale from the command line"


def test_worker_queues_come_from_configuration(compose, env_example):
    def queues(env: dict[str, str], name: str = "airflow-worker") -> str:
        words = command_words(walk_strings(compose, env)["services"][name], "command")
        assert words[:2] == ["celery", "worker"], words
        return words[words.index("--queues") + 1]

    assert queues(env_example) == env_example["TTHC_WORKER_QUEUES"] == "default"
    assert queues({**env_example, "TTHC_WORKER_QUEUES": ""}) == "default"
    assert queues({**env_example, "TTHC_WORKER_QUEUES": "default,north"}) == "default,north"
    assert queues(env_example, "airflow-worker-north") == "north"
    assert queues({**env_example, "TTHC_NORTH_WORKER_QUEUES": "north,son_la"}, "airflow-worker-north") == (
        "north,son_la"
    )


def test_the_regional_worker_is_an_opt_in_copy_of_the_worker(services):
    worker, north = services["airflow-worker"], services["airflow-worker-north"]
    assert north["profiles"] == ["north"]
    assert not worker.get("profiles"), "the default worker always runs"
    for key in ("image", "environment", "volumes", "healthcheck", "depends_on", "env_file", "user"):
        assert north[key] == worker[key], key


def test_every_configured_source_queue_has_a_worker(resolved):
    """The queues of include/reference/sources.yaml are served by some worker with the example's
    settings, and "default" (the loads, every task without a queue of its own) by the worker that
    always runs."""
    from tthc.sources import DEFAULT_SOURCES_FILE, load_sources

    def served(name: str) -> set[str]:
        words = command_words(resolved["services"][name], "command")
        return set(words[words.index("--queues") + 1].split(","))

    assert "default" in served("airflow-worker")
    every = set().union(*map(served, WORKERS))
    for source in load_sources(DEFAULT_SOURCES_FILE):
        assert source.queue in every, (source.id, source.queue)


def test_init_creates_the_pool_of_every_configured_source(resolved):
    script = " ".join(command_words(resolved["services"]["airflow-init"], "command"))
    assert "from tthc.sources import load_sources" in script and "s.pool_slots" in script
    assert "airflow pools import /tmp/tthc-pools.json" in script


def test_sources_file_and_further_connections_reach_every_airflow_service(compose, services):
    common = environment(compose["x-airflow-common"])
    assert common["TTHC_SOURCES_FILE"] == "${TTHC_SOURCES_FILE:-}", "empty: the project's sources.yaml"
    for name in AIRFLOW_SERVICES:
        assert environment(services[name])["TTHC_SOURCES_FILE"] == common["TTHC_SOURCES_FILE"], name
        assert services[name]["env_file"] == [{"path": "./docker/sources.env", "required": False}], name
        # a sources file of one's own goes into a mounted folder (config/ is git-ignored)
        assert mounts(services[name])["/opt/airflow/config"] == "./config", name
    for name, service in services.items():
        if name not in AIRFLOW_SERVICES:
            assert "env_file" not in service, f"{name} gets no source credentials"
    ignored = subprocess.run(["git", "check-ignore", "-q", str(SOURCES_ENV)], cwd=ROOT, check=False)
    assert ignored.returncode == 0, "docker/sources.env must be git-ignored"
    assert "docker/" in DOCKERIGNORE.read_text(encoding="utf-8").split(), "and kept out of the image"
    examples = [
        line.lstrip("# ").partition("=")
        for line in SOURCES_ENV_EXAMPLE.read_text(encoding="utf-8").splitlines()
        if re.match(r"#?\s*AIRFLOW_CONN_", line)
    ]
    assert examples, "docker/sources.env.example shows a connection"
    for key, _, value in examples:
        assert re.fullmatch(r"AIRFLOW_CONN_[A-Z0-9_]+", key), key
        connection = json.loads(value.strip("'"))
        assert connection["conn_type"] == "http"
        assert connection["password"].startswith("change-me"), "placeholders only"


# --- dependencies -----------------------------------------------------------------------------


def test_depends_on_targets_exist_and_conditions_make_sense(services):
    for name, service in services.items():
        for target, rule in (service.get("depends_on") or {}).items():
            assert target in services, f"{name} depends on unknown service {target}"
            condition = rule["condition"]
            if condition == "service_healthy":
                assert "healthcheck" in services[target], f"{target} has no healthcheck"
            if condition == "service_completed_successfully":
                assert services[target].get("restart", "no") == "no", target
            if not service.get("profiles"):
                assert not services[target].get("profiles"), f"{name} needs profiled {target}"


def test_dependency_graph_has_no_cycle(services):
    state: dict[str, str] = {}

    def visit(name: str) -> None:
        assert state.get(name) != "open", f"dependency cycle through {name}"
        if state.get(name) == "done":
            return
        state[name] = "open"
        for target in services[name].get("depends_on") or {}:
            visit(target)
        state[name] = "done"

    for name in services:
        visit(name)


def test_airflow_waits_for_init_and_the_worker_for_its_data_services(services):
    for name in set(AIRFLOW_SERVICES) - {"airflow-init"}:
        depends = services[name]["depends_on"]
        assert depends["airflow-init"]["condition"] == "service_completed_successfully", name
        assert depends["postgres"]["condition"] == "service_healthy", name
        assert depends["redis"]["condition"] == "service_healthy", name
    worker = services["airflow-worker"]["depends_on"]
    for target in ("airflow-apiserver", "warehouse", "simulator"):
        assert worker[target]["condition"] == "service_healthy", target


# --- secrets ----------------------------------------------------------------------------------


def _secret_problems(where: str, key: str, value: str) -> list[str]:
    problems = []
    if SECRET_KEY.search(key) and value and not REFERENCE.match(value):
        problems.append(f"{where}: {key} holds a literal value")
    for password in URL_PASSWORD.findall(value):
        if password and not REFERENCE.match(password):
            problems.append(f"{where}: {key} has a literal password in a URL")
    try:
        parsed = json.loads(value)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict):
        for field, inner in parsed.items():
            if isinstance(inner, str):
                problems += _secret_problems(where, f"{key}.{field}", inner)
    return problems


def test_no_literal_secrets_in_the_compose_file(services):
    problems = []
    for name, service in services.items():
        for key, value in environment(service).items():
            problems += _secret_problems(name, key, value)
    assert problems == []


def test_env_example_holds_placeholders_only(env_example):
    for key, value in env_example.items():
        if SECRET_KEY.search(key):
            assert value.startswith("change-me"), key
        if key.startswith("AIRFLOW_CONN_"):
            assert value == "", key


def test_env_file_is_kept_out_of_git_and_of_the_image():
    ignored = subprocess.run(["git", "check-ignore", "-q", ".env"], cwd=ROOT, check=False)
    assert ignored.returncode == 0, ".env must be git-ignored"
    assert ".env" in DOCKERIGNORE.read_text(encoding="utf-8").split()


# --- connections, warehouse, simulator, BI ----------------------------------------------------


def test_connections_point_at_the_services_with_their_credentials(resolved):
    services = resolved["services"]
    env = environment(services["airflow-worker"])
    source = json.loads(env["AIRFLOW_CONN_TTHC_SOURCE"])
    simulator = services["simulator"]
    sim_env = environment(simulator)
    port = command_words(simulator, "command")[command_words(simulator, "command").index("--port") + 1]
    assert (source["conn_type"], source["host"], str(source["port"])) == ("http", "simulator", port)
    assert source["login"] == sim_env["TTHC_SIM_CLIENT_ID"]
    assert source["password"] == sim_env["TTHC_SIM_CLIENT_SECRET"]
    assert source["extra"]["page_size"] <= 1000

    warehouse = json.loads(env["AIRFLOW_CONN_TTHC_WAREHOUSE"])
    assert (warehouse["conn_type"], warehouse["host"], warehouse["port"]) == ("postgres", "warehouse", 5432)
    assert (warehouse["login"], warehouse["schema"]) == ("etl", "tthc")
    assert warehouse["password"] == environment(services["warehouse"])["WAREHOUSE_ETL_PASSWORD"]

    pseudonym = json.loads(env["AIRFLOW_CONN_TTHC_PSEUDONYM"])
    assert pseudonym["password"] == env["TTHC_PSEUDONYM_KEY"] != ""
    for optional in ("AIRFLOW_CONN_SMTP_DEFAULT", "AIRFLOW_CONN_TTHC_ALERT_WEBHOOK"):
        assert optional in env


def test_warehouse_runs_its_init_folder(services):
    warehouse = services["warehouse"]
    assert warehouse["image"].startswith("postgres:16")
    assert mounts(warehouse)["/docker-entrypoint-initdb.d"] == "./docker/warehouse-init"
    scripts = sorted(p.name for p in WAREHOUSE_INIT.iterdir() if p.suffix in {".sh", ".sql"})
    assert scripts, "nothing for the postgres entrypoint to run"
    env = environment(warehouse)
    for key in ("POSTGRES_PASSWORD", "WAREHOUSE_ETL_PASSWORD", "WAREHOUSE_BI_READER_PASSWORD"):
        assert REFERENCE.match(env[key]), key


def test_simulator_service(compose, services):
    simulator = services["simulator"]
    assert simulator["image"] == compose["x-airflow-common"]["image"]
    words = command_words(simulator, "entrypoint") + command_words(simulator, "command")
    assert " ".join(words) == "python -m simulator --host 0.0.0.0 --port 8765"
    assert "http://localhost:8765/health" in command_words(simulator["healthcheck"], "test")
    assert {"TTHC_SIM_CLIENT_ID", "TTHC_SIM_CLIENT_SECRET"} <= environment(simulator).keys()


def test_bi_is_behind_a_profile_and_reads_as_bi_reader(services):
    profiled = {name for name, service in services.items() if service.get("profiles")}
    assert profiled == {"metabase", "metabase-setup", "airflow-worker-north"}
    for name in profiled - {"airflow-worker-north"}:
        assert services[name]["profiles"] == ["bi"], name
    setup = environment(services["metabase-setup"])
    assert setup["MB_WAREHOUSE_USER"] == "bi_reader"
    assert (
        setup["MB_WAREHOUSE_PASSWORD"] == environment(services["warehouse"])["WAREHOUSE_BI_READER_PASSWORD"]
    )
    assert (ROOT / "docker" / "metabase" / "setup.py").is_file()


# --- Dockerfile -------------------------------------------------------------------------------


def _dockerfile_instructions() -> list[tuple[str, str]]:
    text = DOCKERFILE.read_text(encoding="utf-8").replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines()]
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1])
        for line in lines
        if line and not line.startswith("#")
    ]


def test_dockerfile_builds_on_the_airflow_version_of_the_project():
    instructions = _dockerfile_instructions()
    bases = [args for op, args in instructions if op == "FROM"]
    assert len(bases) == 1
    match = re.fullmatch(r"apache/airflow:(3\.3\.\d+)-python3\.11", bases[0])
    assert match, bases[0]
    assert match.group(1) == metadata.version("apache-airflow"), "image and venv disagree"
    requirements = ROOT / "requirements.txt"
    if requirements.exists():
        pins = re.findall(r"^apache-airflow==([\w.]+)", requirements.read_text(), re.MULTILINE)
        assert pins in ([], [match.group(1)]), "requirements.txt pins another Airflow"


def test_dockerfile_installs_the_lock_and_copies_the_code():
    instructions = _dockerfile_instructions()
    runs = [args for op, args in instructions if op == "RUN" and "pip install" in args]
    assert len(runs) == 1
    assert re.search(r"-r\s+\S*requirements\.txt", runs[0])
    assert "--no-deps" not in runs[0] and "constraint" not in runs[0]
    # System packages (apt-get, as root) may come first; then the lock is installed before any code.
    order = [
        (op, args) for op, args in instructions if op == "COPY" or (op == "RUN" and "apt-get" not in args)
    ]
    assert "requirements.txt" in order[0][1] and order[1][0] == "RUN", "install before copying code"
    copies = " ".join(args for op, args in instructions if op == "COPY")
    for folder in ("dags", "plugins", "include", "expectations", "simulator"):
        assert re.search(rf"\b{folder}/? /opt/airflow/{folder}/?", copies), folder
    env = " ".join(args for op, args in instructions if op == "ENV")
    value = re.search(r'PYTHONPATH="?([^"\s]+)', env).group(1)
    pythonpath = re.sub(r"\$\{PYTHONPATH:\+:\$\{PYTHONPATH\}\}$", "", value).split(":")
    assert {"/opt/airflow", "/opt/airflow/plugins"} <= set(pythonpath)


def test_dockerfile_installs_what_the_pdf_report_needs():
    """WeasyPrint (the unit report's PDF) loads Pango at run time and needs a font with Vietnamese."""
    runs = " ".join(args for op, args in _dockerfile_instructions() if op == "RUN" and "apt-get" in args)
    for package in ("libpango-1.0-0", "libpangoft2-1.0-0", "fonts-dejavu-core"):
        assert package in runs, package
    users = [args for op, args in _dockerfile_instructions() if op == "USER"]
    assert users and users[-1] == "airflow", "the image must end as the airflow user"


def test_dockerignore_keeps_secrets_out_and_code_in():
    patterns = {
        line.strip()
        for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {".env", ".git/", ".venv/"} <= patterns
    for needed in ("dags", "plugins", "include", "expectations", "simulator", "requirements.txt"):
        assert not any(p.rstrip("/") == needed for p in patterns), needed


# --- the warehouse init, on a real PostgreSQL ------------------------------------------------


def _postgres_tools() -> dict[str, str] | None:
    tools = {name: shutil.which(name) for name in ("initdb", "pg_ctl", "psql")}
    return None if None in tools.values() else tools


@pytest.mark.integration
@pytest.mark.skipif(_postgres_tools() is None, reason="PostgreSQL server binaries not on PATH")
def test_warehouse_init_gives_bi_reader_mart_and_nothing_else():
    tools = _postgres_tools()
    as_server = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    with tempfile.TemporaryDirectory() as tmp:
        if as_server:
            shutil.chown(tmp, user="postgres")
        data = f"{tmp}/data"
        subprocess.run(
            [
                *as_server,
                tools["initdb"],
                "-D",
                data,
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
            ],
            check=True,
            capture_output=True,
        )
        subprocess.run(
            [
                *as_server,
                tools["pg_ctl"],
                "-D",
                data,
                "-w",
                "-l",
                f"{data}/log",
                "-o",
                f"-k {tmp} -c listen_addresses=''",
                "start",
            ],
            check=True,
            capture_output=True,
        )
        base_env = {**os.environ, "PGHOST": tmp, "PGPORT": "5432"}
        try:
            init_env = {
                **base_env,
                "POSTGRES_USER": "postgres",
                "POSTGRES_DB": "postgres",
                "WAREHOUSE_ETL_PASSWORD": "etl-test",
                "WAREHOUSE_BI_READER_PASSWORD": "bi-test",
            }
            subprocess.run(
                ["bash", str(WAREHOUSE_INIT / "01-roles.sh")], env=init_env, check=True, capture_output=True
            )

            def psql(user: str, sql: str) -> subprocess.CompletedProcess:
                return subprocess.run(
                    [
                        tools["psql"],
                        "-X",
                        "-q",
                        "-At",
                        "-v",
                        "ON_ERROR_STOP=1",
                        "-U",
                        user,
                        "-d",
                        "tthc",
                        "-c",
                        sql,
                    ],
                    env=base_env,
                    capture_output=True,
                    text=True,
                    check=False,
                )

            migration = psql(
                "etl",
                "CREATE SCHEMA IF NOT EXISTS mart; CREATE SCHEMA core;"
                "CREATE TABLE core.secret (x int); INSERT INTO core.secret VALUES (1);"
                "CREATE TABLE mart.kpi (x int); INSERT INTO mart.kpi VALUES (2);"
                "CREATE VIEW mart.kpi_view AS SELECT x FROM mart.kpi;"
                "CREATE TABLE public.other (x int);",
            )
            assert migration.returncode == 0, migration.stderr
            assert psql("bi_reader", "SELECT x FROM kpi").stdout.strip() == "2"
            assert psql("bi_reader", "SELECT x FROM mart.kpi_view").stdout.strip() == "2"
            for forbidden in (
                "SELECT * FROM core.secret",
                "SELECT * FROM public.other",
                "INSERT INTO mart.kpi VALUES (3)",
                "CREATE TEMP TABLE t (x int)",
                "CREATE SCHEMA mine",
            ):
                assert psql("bi_reader", forbidden).returncode != 0, forbidden
            owner = psql("etl", "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'tthc'")
            assert owner.stdout.strip() == "etl"
        finally:
            subprocess.run(
                [*as_server, tools["pg_ctl"], "-D", data, "-m", "fast", "stop"],
                check=False,
                capture_output=True,
            )


# --- Metabase set-up script, against a stand-in for Metabase's API -----------------------------


def test_metabase_setup_creates_admin_then_data_source_and_can_run_again():
    import importlib.util
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    state: dict[str, Any] = {"admin": None, "databases": [], "calls": []}

    class FakeMetabase(BaseHTTPRequestHandler):
        def log_message(self, *args):  # keep pytest output clean
            pass

        def reply(self, body: Any, status: int = 200) -> None:
            raw = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def do_GET(self):
            state["calls"].append(("GET", self.path))
            if self.path == "/api/health":
                return self.reply({"status": "ok"})
            if self.path == "/api/session/properties":
                return self.reply(
                    {
                        "has-user-setup": state["admin"] is not None,
                        "setup-token": None if state["admin"] else "tok",
                    }
                )
            if self.path == "/api/database" and self.headers["X-Metabase-Session"] == "s1":
                return self.reply({"data": state["databases"], "total": len(state["databases"])})
            return self.reply({}, 401)

        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            state["calls"].append(("POST", self.path))
            if self.path == "/api/setup" and body["token"] == "tok" and state["admin"] is None:
                state["admin"] = body["user"]
                return self.reply({"id": "s1"})
            if (
                self.path == "/api/session"
                and state["admin"]
                and (body["username"], body["password"])
                == (state["admin"]["email"], state["admin"]["password"])
            ):
                return self.reply({"id": "s1"})
            if self.path == "/api/database" and self.headers["X-Metabase-Session"] == "s1":
                state["databases"].append(body)
                return self.reply({"id": len(state["databases"]), **body})
            return self.reply({}, 400)

    spec = importlib.util.spec_from_file_location("metabase_setup", ROOT / "docker/metabase/setup.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)

    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeMetabase)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        env = {
            "MB_URL": f"http://127.0.0.1:{server.server_port}",
            "MB_ADMIN_EMAIL": "a@example.org",
            "MB_ADMIN_PASSWORD": "pw",
            "MB_WAREHOUSE_HOST": "warehouse",
            "MB_WAREHOUSE_PORT": "5432",
            "MB_WAREHOUSE_DB": "tthc",
            "MB_WAREHOUSE_USER": "bi_reader",
            "MB_WAREHOUSE_PASSWORD": "r",
        }
        assert module.main(env) == 0
        assert module.main(env) == 0
    finally:
        server.shutdown()
        server.server_close()

    assert state["admin"]["email"] == "a@example.org"
    assert ("POST", "/api/session") in state["calls"]
    [database] = state["databases"]
    assert database["engine"] == "postgres"
    assert database["details"]["user"] == "bi_reader"
    assert database["details"]["schema-filters-patterns"] == "mart"
