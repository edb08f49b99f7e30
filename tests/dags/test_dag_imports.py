"""DAG files import only the DAG-level modules and ``tthc.tasks``: ruff's banned-api rule
(``dags/ruff.toml``) enforces it in ``make lint``, and this test keeps its list complete."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
import tomllib

from tthc import PROJECT_ROOT

DAG_LEVEL = {"tasks", "assets", "dag_parts", "dag_policy", "timetables"}


def banned_modules() -> set[str]:
    config = tomllib.loads((PROJECT_ROOT / "dags" / "ruff.toml").read_text(encoding="utf-8"))
    return set(config["lint"]["flake8-tidy-imports"]["banned-api"])


def test_every_module_below_the_tasks_is_banned_from_dag_files():
    modules = {module.name for module in pkgutil.iter_modules([str(PROJECT_ROOT / "plugins" / "tthc")])}
    assert modules >= DAG_LEVEL
    assert banned_modules() == {f"tthc.{name}" for name in modules - DAG_LEVEL}


def test_a_dag_file_importing_below_the_tasks_fails_the_lint(tmp_path):
    """The rule is live: a DAG file that reaches into the warehouse module is reported."""
    probe = PROJECT_ROOT / "dags" / f"probe_{tmp_path.name}.py"
    probe.write_text("from tthc import warehouse\nfrom tthc.tasks import load\n\nprint(warehouse, load)\n")
    try:
        result = subprocess.run(
            [sys.executable, "-m", "ruff", "check", "--no-cache", str(probe)],
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
        )
    finally:
        probe.unlink()
    assert result.returncode == 1
    assert result.stdout.count("TID251") == 1, result.stdout  # the warehouse import; the tasks one is allowed
    assert "`tthc.warehouse` is banned" in result.stdout
