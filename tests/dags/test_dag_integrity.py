"""Every DAG file loads, and every DAG in the bag follows the project's conventions
(``tthc.dag_policy``): a doc a new engineer can act on, with a "When it fails" section; tags from
the one set; retries; the failure notifier on every task; an owner."""

from __future__ import annotations

import re
from pathlib import Path
from string import Template

import pytest
from airflow.dag_processing.dagbag import DagBag

from tthc import PROJECT_ROOT, dag_policy

DAGS_DIR = PROJECT_ROOT / "dags"
DAG_FILES = sorted(DAGS_DIR.glob("*.py"))
EXPECTED_DAGS = {
    "tthc_reference",
    "tthc_dossiers",
    "tthc_feedback",
    "tthc_indicators",
    "tthc_reconciliation",
    "tthc_freshness",
    "tthc_report",
    "tthc_watchlist",
    "tthc_statutory_report",
    "tthc_portal_scores",
}

WHEN_IT_FAILS = re.compile(r"^#{1,6}[ \t]+When it fails[ \t]*$", re.MULTILINE)
NEXT_HEADING = re.compile(r"^#{1,6}[ \t]", re.MULTILINE)


def _callbacks(task) -> list:
    callbacks = task.on_failure_callback or []
    return callbacks if isinstance(callbacks, list) else [callbacks]


def policy_violations(dag) -> list[str]:
    """What ``dag`` breaks of the conventions, one readable line each; empty when it follows them."""
    found = []
    doc = dag.doc_md or ""
    if len(doc) <= 200:
        found.append("doc_md: missing or too short for a new engineer to act on")
    heading = WHEN_IT_FAILS.search(doc)
    if heading is None:
        found.append('doc_md: no "When it fails" heading')
    else:
        rest = doc[heading.end() :]
        following = NEXT_HEADING.search(rest)
        if len((rest[: following.start()] if following else rest).strip()) < 100:
            found.append(
                'doc_md: the "When it fails" section says too little (what failed, where to look, '
                "how to re-run)"
            )

    if not dag.tags:
        found.append("tags: none")
    elif unknown := sorted(
        tag for tag in set(dag.tags) - dag_policy.TAGS if not tag.startswith(dag_policy.SOURCE_TAG_PREFIX)
    ):
        found.append(f"tags: {unknown} not in tthc.dag_policy.TAGS")
    if "tthc" not in dag.tags:
        found.append('tags: no "tthc"')

    args = dag.default_args or {}
    owner = args.get("owner")
    if not owner or owner == "airflow":
        found.append(f"default_args: owner {owner!r} (Airflow's default says nobody owns it)")
    exempt = dag.dag_id in dag_policy.WITHOUT_RETRIES
    retries = args.get("retries")
    if exempt and retries != 0:
        found.append(
            f"default_args: retries {retries!r}, but tthc.dag_policy.WITHOUT_RETRIES says it has none"
        )
    if not exempt and not (isinstance(retries, int) and retries >= 1):
        found.append(
            f"default_args: retries {retries!r}, not >= 1 (or listed in tthc.dag_policy.WITHOUT_RETRIES)"
        )

    for task in dag.tasks:
        if not exempt and task.retries < 1:
            found.append(f"{task.task_id}: does not retry transient failures")
        if not any(isinstance(cb, dag_policy.FailureNotifier) for cb in _callbacks(task)):
            found.append(f"{task.task_id}: no failure notifier as on_failure_callback")
        if task.on_retry_callback:
            found.append(f"{task.task_id}: alerts on retry too (one failure, one alert)")
        if task.owner != owner:
            found.append(f"{task.task_id}: owner {task.owner!r}, not the DAG's {owner!r}")
    return found


@pytest.fixture(scope="module")
def dag_bag() -> DagBag:
    return DagBag(dag_folder=str(DAGS_DIR))


def test_no_import_errors(dag_bag):
    assert dag_bag.import_errors == {}


def test_every_dag_file_holds_one_dag_named_after_it(dag_bag):
    assert len(dag_bag.dags) == len(DAG_FILES)
    assert {dag.dag_id: Path(dag.fileloc).name for dag in dag_bag.dags.values()} == {
        path.stem: path.name for path in DAG_FILES
    }


def test_the_pipeline_dags_are_all_there(dag_bag):
    assert set(dag_bag.dag_ids) >= EXPECTED_DAGS
    assert {path.stem for path in DAG_FILES} == EXPECTED_DAGS


@pytest.mark.parametrize("dag_id", [path.stem for path in DAG_FILES])
def test_dag_follows_the_conventions(dag_bag, dag_id):
    dag = dag_bag.dags[dag_id]
    assert policy_violations(dag) == []
    assert dag.doc_md and len(dag.doc_md) > 200, "a new engineer must be able to act on the doc"
    assert "tthc" in dag.tags
    if dag_id not in dag_policy.WITHOUT_RETRIES:
        assert all(task.retries >= 1 for task in dag.tasks), "every task retries transient failures"


def test_the_policy_hands_out_its_own_tags_owner_and_notifier():
    assert dag_policy.tags("quality", "mart") == ["tthc", "quality", "mart"]
    with pytest.raises(ValueError, match="misc"):
        dag_policy.tags("quality", "misc")
    args = dag_policy.default_args(retries=2)
    assert args["owner"] == dag_policy.OWNER != "airflow" and args["retries"] == 2
    assert [type(cb) for cb in args["on_failure_callback"]] == [dag_policy.FailureNotifier]
    assert "on_retry_callback" not in args
    assert set(dag_policy.WITHOUT_RETRIES) <= EXPECTED_DAGS


# A DAG that follows the conventions; each negative case below breaks one of them.
PROBE = Template('''
from datetime import datetime

from airflow.sdk import dag, task

from tthc import dag_policy

DOC = """
### Policy probe

A DAG written by the DAG policy test, to show that the policy catches each convention broken. It
reads nothing and writes nothing; its one task returns at once.

$heading

The task failed: read its log (the alert names it), fix what it says, then clear the task. It
only returns, so re-running it is always safe.
"""


@dag(dag_id="policy_probe", schedule=None, start_date=datetime(2023, 1, 1), catchup=False,
     tags=$tags, doc_md=DOC, default_args=$default_args)
def policy_probe():
    @task
    def probe() -> None:
        return None

    probe()


policy_probe()
''')
CONFORMING = {
    "heading": "#### When it fails",
    "tags": 'dag_policy.tags("quality")',
    "default_args": "dag_policy.default_args(retries=1)",
}


def _probe(tmp_path: Path, **changes: str):
    (tmp_path / "policy_probe.py").write_text(PROBE.substitute({**CONFORMING, **changes}), encoding="utf-8")
    bag = DagBag(dag_folder=str(tmp_path))
    assert bag.import_errors == {}
    return bag.dags["policy_probe"]


def test_a_probe_that_follows_the_conventions_passes(tmp_path):
    assert policy_violations(_probe(tmp_path)) == []


@pytest.mark.parametrize(
    ("changes", "violation"),
    [
        pytest.param(
            {"heading": "**When it fails**:"}, 'no "When it fails" heading', id="bold-not-a-heading"
        ),
        pytest.param(
            {"heading": "#### If something goes wrong"}, 'no "When it fails" heading', id="no-section"
        ),
        pytest.param({"tags": "[]"}, "tags: none", id="no-tags"),
        pytest.param({"tags": '["tthc", "misc"]'}, "['misc'] not in tthc.dag_policy.TAGS", id="unknown-tag"),
        pytest.param({"tags": '["quality"]'}, 'no "tthc"', id="no-tthc-tag"),
        pytest.param(
            {"default_args": '{**dag_policy.default_args(retries=1), "retries": 0}'},
            "not >= 1",
            id="no-retries",
        ),
        pytest.param(
            {"default_args": '{"owner": dag_policy.OWNER, "retries": 1}'},
            "no failure notifier",
            id="no-notifier",
        ),
        pytest.param(
            {"default_args": '{**dag_policy.default_args(retries=1), "owner": "airflow"}'},
            "owner 'airflow'",
            id="airflow-owner",
        ),
        pytest.param(
            {
                "default_args": '{**dag_policy.default_args(retries=1), "on_retry_callback": '
                "[dag_policy.failure_notifier()]}"
            },
            "alerts on retry",
            id="alert-on-retry",
        ),
    ],
)
def test_a_probe_that_breaks_a_convention_is_caught(tmp_path, changes, violation):
    found = policy_violations(_probe(tmp_path, **changes))
    assert any(violation in line for line in found), found


def test_a_dag_file_with_an_unknown_tag_does_not_import(tmp_path):
    (tmp_path / "policy_probe.py").write_text(
        PROBE.substitute({**CONFORMING, "tags": 'dag_policy.tags("misc")'}), encoding="utf-8"
    )
    errors = DagBag(dag_folder=str(tmp_path)).import_errors
    assert len(errors) == 1 and "misc" in next(iter(errors.values()))


def test_incremental_dags_have_a_real_data_interval(dag_bag):
    # A plain cron string would give zero-length intervals in Airflow 3 and extract nothing.
    from airflow.timetables.interval import CronDataIntervalTimetable

    for dag_id in ("tthc_dossiers", "tthc_feedback"):
        assert isinstance(dag_bag.dags[dag_id].timetable, CronDataIntervalTimetable)


def test_indicators_run_on_the_loads_assets(dag_bag):
    condition = dag_bag.dags["tthc_indicators"].timetable.asset_condition
    names = {asset.name for asset in condition.objects}
    assert {"tthc_core_dossiers", "tthc_core_feedback"} <= names
