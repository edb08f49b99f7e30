"""Alert routing policy over every DAG: each task alerts once when it has failed for good."""

from __future__ import annotations

import pytest
from airflow.dag_processing.dagbag import DagBag

from tthc import PROJECT_ROOT
from tthc.quality.alerts import FailureNotifier, failure_message


@pytest.fixture(scope="module")
def dag_bag() -> DagBag:
    return DagBag(dag_folder=str(PROJECT_ROOT / "dags"))


def test_every_task_alerts_on_failure_and_never_on_retry(dag_bag):
    tthc = [dag for dag in dag_bag.dags.values() if "tthc" in dag.tags]
    assert {"tthc_reference", "tthc_dossiers", "tthc_feedback", "tthc_indicators", "tthc_freshness"} <= {
        dag.dag_id for dag in tthc
    }
    for dag in tthc:
        if dag.dag_id not in {
            "tthc_reference",
            "tthc_dossiers",
            "tthc_feedback",
            "tthc_indicators",
            "tthc_freshness",
        }:
            continue  # DAGs of other issues wire their own alerts
        for task in dag.tasks:
            callbacks = task.on_failure_callback or []
            callbacks = callbacks if isinstance(callbacks, list) else [callbacks]
            assert any(isinstance(cb, FailureNotifier) for cb in callbacks), (dag.dag_id, task.task_id)
            assert not task.on_retry_callback, (dag.dag_id, task.task_id)


def test_the_quality_tasks_are_wired(dag_bag):
    assert "check_mart" in dag_bag.dags["tthc_indicators"].task_dict["refresh_indicators"].downstream_task_ids
    assert "retry_waiting" in dag_bag.dags["tthc_reference"].task_dict["load_reference"].downstream_task_ids


def test_a_failure_message_says_what_where_and_how_many():
    class TI:
        dag_id, task_id, run_id, map_index, try_number = "tthc_dossiers", "load_dossiers", "manual__1", 3, 3
        log_url = "http://airflow/log"

    class Rejected(Exception):
        alert_subject = "[tthc] batch 7 (dossier) rejected: volume"
        alert_lines = ["Records: 5 extracted", "  Data Docs: file:///docs/page.html"]

    subject, lines = failure_message(
        {"ti": TI(), "exception": Rejected("x"), "params": {"start": "2024-05-01", "end": "2024-06-01"}}
    )
    text = "\n".join(lines)
    assert subject == Rejected.alert_subject
    assert "load_dossiers[3]" in text and "2024-05-01 .. 2024-06-01" in text and "Records: 5" in text
    assert "Task log: http://airflow/log" in text and "map_index=3/attempt=3.log" in text
