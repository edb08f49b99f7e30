"""Alerts that reach people, through real Airflow runs (``airflow dags test``): a real SMTP server
(aiosmtpd) and a real webhook HTTP server, both started here, named by the connections
``smtp_default`` and ``tthc_alert_webhook`` in the environment."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from pipeline_support import simulated_source
from quality_helpers import fetch

from simulator.generator import SimulationConfig, build_province

pytestmark = [pytest.mark.integration, pytest.mark.slow]
WINDOW = {"start": "2024-05-01", "end": "2024-06-01"}


def channels(smtp_server, webhook_server, tmp_path) -> dict[str, str]:
    return {
        "AIRFLOW_CONN_SMTP_DEFAULT": smtp_server.connection,
        "AIRFLOW_CONN_TTHC_ALERT_WEBHOOK": webhook_server.connection,
        "TTHC_DATA_DOCS_DIR": str(tmp_path / "data_docs"),
    }


def wait_for(predicate, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not predicate() and time.monotonic() < deadline:
        time.sleep(0.1)


def test_a_rejected_batch_gives_one_email_and_one_webhook_call(
    make_database, run_dag_allowing_failure, smtp_server, webhook_server, tmp_path
):
    # Four in ten dossiers with a status outside 1..10: far above the 20 % quarantine threshold.
    province = build_province(
        SimulationConfig(dossiers_per_year=20_000, defect_shares={"status_in_domain": 0.4})
    )
    dsn = make_database("alert_batch_rule")
    env = channels(smtp_server, webhook_server, tmp_path)
    with simulated_source(province) as (_, source):
        run_dag_allowing_failure("tthc_reference", source=source, warehouse_dsn=dsn, env=env)
        result = run_dag_allowing_failure(
            "tthc_dossiers", source=source, warehouse_dsn=dsn, conf=WINDOW, env=env, expect_failure=True
        )
    wait_for(lambda: smtp_server.messages and webhook_server.calls)

    batches = fetch(
        dsn, "SELECT batch_id, status, status_reason, record_count FROM raw.batch WHERE entity = 'dossier'"
    )
    assert len(batches) == 1, batches
    batch_id, status, reason, records = batches[0]
    assert status == "rejected" and "quarantined_share" in reason
    assert fetch(dsn, "SELECT count(*) FROM core.fact_dossier")[0][0] == 0, "nothing reaches core"
    assert fetch(dsn, "SELECT count(*) FROM quality.quarantine WHERE batch_id = %s", (batch_id,))[0][0] == 0

    assert len(smtp_server.messages) == 1, [m["Subject"] for m in smtp_server.messages]
    assert len(webhook_server.calls) == 1, webhook_server.calls
    mail = smtp_server.messages[0]
    body = mail.get_body(preferencelist=("plain",)).get_content()
    hook = webhook_server.calls[0]
    assert hook["path"] == "/hooks/tthc" and set(hook["body"]) == {"text"}
    assert f"batch {batch_id}" in mail["Subject"] and "quarantined_share" in mail["Subject"]
    for text in (body, hook["body"]["text"]):
        assert "load_dossiers" in text  # what failed
        assert "2024-05-01" in text and "2024-06-01" in text  # which window
        assert "Units (records): H35" in text  # which units
        assert f"Records: {records} extracted" in text  # how many records
        assert "status_in_domain:" in text  # top failing rules with counts
        assert "Log file: " in text and "task_id=load_dossiers" in text  # where to look
        page = next(
            line.split("Data Docs: ", 1)[1] for line in text.splitlines() if "Data Docs: file://" in line
        )
        assert Path(page.removeprefix("file://")).is_file()
    assert "rejected" in result.stdout + result.stderr


def test_a_task_failing_after_its_retries_alerts_once(
    make_database, run_dag_allowing_failure, smtp_server, webhook_server, tmp_path
):
    dsn = make_database("alert_retries")
    unreachable = dsn.replace("port=5432", "port=1") if "port=5432" in dsn else dsn + " port=1"
    env = {**channels(smtp_server, webhook_server, tmp_path), "AIRFLOW__CORE__DEFAULT_TASK_RETRY_DELAY": "0"}
    # Both tasks of the DAG read the warehouse: each fails after its retry, and each alerts once.
    result = run_dag_allowing_failure(
        "tthc_freshness", warehouse_dsn=unreachable, env=env, expect_failure=True
    )
    wait_for(lambda: len(smtp_server.messages) >= 2 and len(webhook_server.calls) >= 2)
    output = result.stdout + result.stderr
    assert output.count("up_for_retry") >= 1 or "UP_FOR_RETRY" in output.upper(), "the task was retried"
    assert len(smtp_server.messages) == 2 and len(webhook_server.calls) == 2
    assert sorted(mail["Subject"].split(" failed")[0].split()[-1] for mail in smtp_server.messages) == [
        "tthc_freshness.check_freshness",
        "tthc_freshness.check_mart_freshness",
    ]
    assert all("after 2 attempt(s)" in call["body"]["text"] for call in webhook_server.calls)


def test_an_alerting_error_crosses_a_process_boundary_whole():
    """A process pool (the benchmarks) or a supervisor pickles a task's exception: it must come
    back with its subject and lines, not fail to rebuild and hide the real error."""
    import pickle

    from tthc.quality.alerts import BatchRejectedError, MergeRefusedError

    for error in (
        BatchRejectedError("[tthc] batch 7 rejected", ["volume: 3 records", "see Data Docs"]),
        MergeRefusedError("[tthc] unit batch 9 refused", ["H91.001: two names"]),
    ):
        copy = pickle.loads(pickle.dumps(error))
        assert type(copy) is type(error)
        assert (copy.alert_subject, copy.alert_lines, str(copy)) == (
            error.alert_subject,
            error.alert_lines,
            str(error),
        )
