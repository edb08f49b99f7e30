"""The dev stack behind make demo / make run / make report: where it finds its servers, how it
follows an ``airflow dags test`` run on one line and what it prints when one fails (both against
real runs of the project's DAGs), and the report command against a small warehouse built by hand."""

from __future__ import annotations

import io
import json
import os
import re
import sqlite3
from datetime import date
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest
from mart_fixture import (
    COMMUNE_A,
    COMMUNE_C,
    DISTRICT_1,
    DISTRICT_2,
    OFFICE_1,
    P_FREE,
    insert_dossier,
    insert_reference,
)
from pipeline_support import SMALL_VOLUME, simulated_source, warehouse_connection_json

from simulator.generator import SimulationConfig, build_province
from tthc import devstack, indicators, warehouse

# Nothing answers on the discard port: a connection to it is refused at once.
CLOSED = {"host": "127.0.0.1", "port": 9}


def test_admin_dsn_names_another_server_when_asked(monkeypatch):
    # Benchmarks and tests create their databases on the server TTHC_ADMIN_DSN names, without
    # probing 127.0.0.1:5432 or starting the embedded one.
    other = "host=127.0.0.1 port=6543 user=bench dbname=postgres"
    monkeypatch.setenv("TTHC_ADMIN_DSN", other)
    assert devstack.local_server_admin_dsn() == other


def test_admin_dsn_defaults_to_a_server_that_answers(monkeypatch):
    monkeypatch.delenv("TTHC_ADMIN_DSN", raising=False)
    dsn = devstack.local_server_admin_dsn()
    with psycopg.connect(dsn, connect_timeout=5) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)


# ---- the progress line ---------------------------------------------------------------------------


def test_progress_text_says_tasks_done_records_landed_and_time():
    states = devstack.TaskStates(total=36, done=34)
    assert (
        devstack.progress_text("tthc_dossiers", states, {"dossier": 151_203}, 134)
        == "tthc_dossiers    34/36 tasks done · 151,203 dossiers landed · 2m14s"
    )
    assert (
        devstack.progress_text(
            "tthc_reference", devstack.TaskStates(5, 5), {"procedure": 363, "unit": 208}, 14, "ok"
        )
        == "tthc_reference   5/5 tasks done · 208 units, 363 procedures landed · 14s · ok"
    )
    waiting = devstack.TaskStates(total=4, done=1, retrying=1, failed=(("load", 2),))
    assert (
        devstack.progress_text("tthc_feedback", waiting, {}, 3_725, "FAILED")
        == "tthc_feedback    1/4 tasks done · 1 waiting to retry · 1 failed · 1h02m · FAILED"
    )
    assert devstack.progress_text("tthc_indicators", None, None, 0) == "tthc_indicators  starting · 0s"


def test_progress_line_on_a_pipe_prints_plain_lines_when_something_changed():
    clock = iter([0.0, 5.0, 40.0, 41.0, 90.0])
    out = io.StringIO()
    line = devstack.ProgressLine(out, tty=False, plain_every=30, clock=lambda: next(clock))
    line.update("a 0/2", key=0)  # t=0: the first line is printed at once
    line.update("a 1/2", key=1)  # t=5: changed, but too soon after the last line
    line.update("a 1/2", key=1)  # t=40: printed (changed since the last printed line)
    line.update("a 1/2", key=1)  # t=41: unchanged
    line.update("a 1/2 (later)", key=1)  # t=90: unchanged key: nothing new to say
    line.done("a 2/2 · ok")
    assert out.getvalue() == "a 0/2\na 1/2\na 2/2 · ok\n"
    assert "\r" not in out.getvalue() and "\x1b" not in out.getvalue()


def test_progress_line_on_a_terminal_rewrites_one_line():
    out = io.StringIO()
    line = devstack.ProgressLine(out, tty=True)
    line.update("b 0/2")
    line.update("b 1/2")
    line.done("b 2/2 · ok")
    assert out.getvalue() == "\r\x1b[2Kb 0/2\r\x1b[2Kb 1/2\r\x1b[2Kb 2/2 · ok\n"


def test_metadata_url_is_the_one_airflow_uses(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    env = {"AIRFLOW_HOME": str(home)}
    assert devstack.metadata_url(env) == f"sqlite:///{home / 'airflow.db'}"
    (home / "airflow.cfg").write_text(
        "[core]\nx = 1\n[database]\nsql_alchemy_conn = sqlite:////elsewhere.db\n"
    )
    assert devstack.metadata_url(env) == "sqlite:////elsewhere.db"
    env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = "postgresql://airflow@db/airflow"
    assert devstack.metadata_url(env) == "postgresql://airflow@db/airflow"


def test_state_dir_can_be_another_folder(tmp_path, monkeypatch):
    """TTHC_STATE_DIR moves the secrets, Airflow home, logs and Data Docs of a second dev stack."""
    import importlib

    monkeypatch.setenv("TTHC_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.delenv("TTHC_DATA_DOCS_DIR", raising=False)
    try:
        other = importlib.reload(devstack)
        env = other.airflow_env()
        secrets = other.local_secrets()
        assert env["AIRFLOW_HOME"] == str(tmp_path / "state" / "home")
        assert env["TTHC_DATA_DOCS_DIR"] == str(tmp_path / "state" / "data_docs")
        assert json.loads((tmp_path / "state" / "secrets.json").read_text()) == secrets
        assert other.new_log_path("demo").parent == tmp_path / "state" / "logs"
    finally:
        monkeypatch.undo()
        importlib.reload(devstack)


# ---- the national portal's connection ------------------------------------------------------------

SIMULATOR_SOURCE = json.dumps(
    {
        "conn_type": "http",
        "host": "127.0.0.1",
        "port": 43169,
        "schema": "http",
        "login": "id",
        "password": "s",
    }
)


def test_pipeline_stages_fetch_the_portal_s_scores_last_over_the_window():
    window = {"start": "2023-01-01", "end": "2024-07-01"}
    assert [s.dag_id for s in devstack.pipeline_stages(**window)] == [
        "tthc_reference",
        "tthc_dossiers",
        "tthc_feedback",
        "tthc_indicators",
    ]
    stages = devstack.pipeline_stages(**window, portal=True)
    assert stages[:4] == devstack.pipeline_stages(**window)
    assert stages[4] == devstack.Stage("tthc_portal_scores", window)


def test_every_configured_source_runs_before_the_indicators(tmp_path, monkeypatch):
    sources = tmp_path / "sources.yaml"
    sources.write_text(
        "sources:\n  - {id: lai_chau, conn_id: tthc_source, name: L, dag_id_suffix: ''}\n"
        "  - {id: ha_hop, conn_id: tthc_source_ha_hop, name: H, active_from: 2025-07-01}\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("TTHC_SOURCES_FILE", str(sources))
    window = {"start": "2025-01-01", "end": "2026-01-01"}
    assert [s.dag_id for s in devstack.pipeline_stages(**window)] == [
        "tthc_reference",
        "tthc_dossiers",
        "tthc_feedback",
        "tthc_reference_ha_hop",
        "tthc_dossiers_ha_hop",
        "tthc_feedback_ha_hop",
        "tthc_indicators",
    ]
    first, second = devstack.load_sources()
    # the simulator of each: its province (Lai Châu is the simulator's default)
    assert devstack.simulator_arguments(first) == []
    assert devstack.simulator_arguments(second) == ["--province", "ha_hop"]
    assert devstack.connection_variable(second.conn_id) == "AIRFLOW_CONN_TTHC_SOURCE_HA_HOP"


def test_the_simulator_s_portal_is_used_unless_a_portal_is_given(monkeypatch):
    monkeypatch.delenv("AIRFLOW_CONN_TTHC_SOURCE", raising=False)
    monkeypatch.delenv("AIRFLOW_CONN_TTHC_PORTAL", raising=False)
    env, out = {}, io.StringIO()
    assert devstack.set_portal(env, SIMULATOR_SOURCE, devstack.ProgressLine(out, tty=False)) is True
    # the export's host and port, no credentials (the portal's data are public), its largest page
    assert json.loads(env["AIRFLOW_CONN_TTHC_PORTAL"]) == {
        "conn_type": "http",
        "host": "127.0.0.1",
        "port": 43169,
        "schema": "http",
        "extra": {"page_size": 100},
    }
    assert out.getvalue() == "portal           http://127.0.0.1:43169 (the simulator's national portal)\n"

    given = json.dumps({"conn_type": "http", "host": "portal.example", "schema": "https"})
    monkeypatch.setenv("AIRFLOW_CONN_TTHC_PORTAL", given)
    env, out = {}, io.StringIO()
    assert devstack.set_portal(env, SIMULATOR_SOURCE, devstack.ProgressLine(out, tty=False)) is True
    assert env["AIRFLOW_CONN_TTHC_PORTAL"] == given
    assert out.getvalue() == "portal           AIRFLOW_CONN_TTHC_PORTAL\n"

    monkeypatch.setenv("AIRFLOW_CONN_TTHC_SOURCE", '{"conn_type": "http", "host": "export.example"}')
    env = {}
    assert devstack.set_portal(env, os.environ["AIRFLOW_CONN_TTHC_SOURCE"]) is True
    assert env["AIRFLOW_CONN_TTHC_PORTAL"] == given


def test_an_external_source_without_a_portal_skips_the_portal(monkeypatch):
    source = '{"conn_type": "http", "host": "export.example"}'
    monkeypatch.setenv("AIRFLOW_CONN_TTHC_SOURCE", source)
    monkeypatch.delenv("AIRFLOW_CONN_TTHC_PORTAL", raising=False)
    env, out = {"AIRFLOW_CONN_TTHC_PORTAL": "left over"}, io.StringIO()
    assert devstack.set_portal(env, source, devstack.ProgressLine(out, tty=False)) is False
    assert "AIRFLOW_CONN_TTHC_PORTAL" not in env
    assert out.getvalue() == (
        "portal           skipped: AIRFLOW_CONN_TTHC_SOURCE is given and AIRFLOW_CONN_TTHC_PORTAL is not\n"
    )


# ---- real `airflow dags test` runs ---------------------------------------------------------------


@pytest.fixture
def stage_env(airflow_home, pseudonym_key, tmp_path):
    def make(source: dict | str, warehouse_dsn: str | None = None, **extra: str) -> dict[str, str]:
        env = devstack.airflow_env(home=airflow_home)
        env.update(
            AIRFLOW_CONN_TTHC_SOURCE=source
            if isinstance(source, str)
            else json.dumps({"conn_type": "http", **source}),
            AIRFLOW_CONN_TTHC_WAREHOUSE=(
                warehouse_connection_json(warehouse_dsn)
                if warehouse_dsn
                else json.dumps(
                    {"conn_type": "postgres", "login": "postgres", "schema": "tthc_nowhere", **CLOSED}
                )
            ),
            TTHC_PSEUDONYM_KEY=pseudonym_key,
            TTHC_DATA_DOCS_DIR=str(tmp_path / "data_docs"),
            TTHC_REPORT_DIR=str(tmp_path / "reports"),
            **extra,
        )
        return env

    return make


def last_run_tasks(airflow_home: Path, dag_id: str) -> list[tuple[str, int, str]]:
    with sqlite3.connect(airflow_home / "airflow.db") as db:
        return db.execute(
            """SELECT task_id, map_index, state FROM task_instance
                             WHERE dag_id = ? AND run_id = (SELECT run_id FROM dag_run WHERE dag_id = ?
                                                            ORDER BY id DESC LIMIT 1)""",
            (dag_id, dag_id),
        ).fetchall()


@pytest.mark.integration
@pytest.mark.slow
def test_a_dag_run_is_one_progress_line_and_airflow_output_goes_to_the_log(
    stage_env, make_database, airflow_home, tmp_path
):
    dsn = make_database("devstack_progress")
    log_path = tmp_path / "demo.log"
    out = io.StringIO()
    with simulated_source(build_province(SimulationConfig(dossiers_per_year=SMALL_VOLUME))) as (_, source):
        result = devstack.run_stage(
            devstack.Stage("tthc_reference"),
            stage_env(source, dsn),
            log_path,
            devstack.ProgressLine(out, tty=False, plain_every=0),
            warehouse_dsn=dsn,
            poll_s=0.5,
        )
    assert result.ok, devstack.failure_summary(result)

    tasks = last_run_tasks(airflow_home, "tthc_reference")
    assert tasks and {state for _, _, state in tasks} <= {"success", "skipped"}
    with psycopg.connect(dsn) as conn:
        landed = dict(conn.execute("SELECT entity, sum(record_count) FROM raw.batch GROUP BY 1").fetchall())
    assert landed["unit"] > 0 and landed["procedure"] > 0
    lines = out.getvalue().splitlines()
    assert lines[0] == "tthc_reference   starting · 0s"
    assert lines[-1] == (
        f"tthc_reference   {len(tasks)}/{len(tasks)} tasks done · {landed['unit']:,} units, "
        f"{landed['procedure']:,} procedures landed · {devstack.format_elapsed(result.elapsed)} · ok"
    )
    # followed while it ran, one short line at a time; nothing of Airflow's own output
    assert any(
        re.fullmatch(r"tthc_reference   \d+/\d+ tasks done( · .*)? · (\d+m)?\d+s", line)
        for line in lines[1:-1]
    )
    assert all(line.startswith("tthc_reference ") and len(line) < 120 for line in lines)
    log = log_path.read_text(encoding="utf-8")
    assert "$ airflow dags test tthc_reference\n" in log
    assert "[DAG TEST] starting task_id=migrate_warehouse" in log and "DagRun Finished" in log


@pytest.mark.integration
@pytest.mark.slow
def test_a_failed_run_prints_the_failing_task_s_last_log_lines(stage_env, tmp_path):
    """The report DAG against a warehouse nobody answers for: its render task fails twice (one
    retry, no delay), the mail task never runs."""
    log_path = tmp_path / "demo.log"
    log_path.write_text("the output of an earlier stage\n" * 5)
    out = io.StringIO()
    stage = devstack.Stage("tthc_report", {"unit_code": "H35.112", "period": "2024-H1"})
    result = devstack.run_stage(
        stage,
        stage_env(CLOSED, AIRFLOW__CORE__DEFAULT_TASK_RETRY_DELAY="0"),
        log_path,
        devstack.ProgressLine(out, tty=False),
    )
    assert not result.ok and result.returncode != 0
    assert result.states.failed == (("render_report", -1),)
    assert (
        out.getvalue()
        .splitlines()[-1]
        .endswith(" · 1 failed · " + devstack.format_elapsed(result.elapsed) + " · FAILED")
    )

    summary = devstack.failure_summary(result)
    assert "tthc_report: task render_report failed. The last" in summary
    excerpt = [line[4:] for line in summary.splitlines() if line.startswith("    ")]
    assert 10 < len(excerpt) <= 40
    # the try that failed for good, down to the error it raised
    assert excerpt[-2].startswith("psycopg.OperationalError") and "Connection refused" in excerpt[-2]
    assert sum(line.startswith("Traceback (most recent call last)") for line in excerpt) == 1
    assert not any(re.fullmatch(r"\s*\^+\s*", line) for line in excerpt)
    where = re.search(r"Full log: (.+) \(this task from line (\d+)\)$", summary)
    assert where and Path(where.group(1)).resolve() == log_path.resolve()
    log_lines = log_path.read_text(encoding="utf-8").splitlines()
    task_line = int(where.group(2))
    assert "[DAG TEST] starting task_id=render_report map_index=-1" in log_lines[task_line - 1]
    first_try = next(
        i for i, line in enumerate(log_lines) if "[DAG TEST] starting task_id=render_report" in line
    )
    assert task_line - 1 > first_try  # the second try, not the first
    assert excerpt[-1] in log_lines[task_line - 1 :]


# ---- make report ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_warehouse(make_database):
    """Two districts' dossiers of the first half of 2024, by hand, and the mart computed from them."""
    dsn = make_database("devstack_report")
    with warehouse.connect(dsn=dsn) as conn:
        insert_reference(conn)
        insert_dossier(
            conn,
            "r1",
            COMMUNE_A,
            received_at="2024-03-04 08:00",
            due_at="2024-03-08 17:00",
            finished_at="2024-03-07 10:00",
            timeliness="early",
            has_positive_fee=True,
            online_payment=1,
        )
        insert_dossier(
            conn,
            "r2",
            OFFICE_1,
            received_at="2024-02-01 08:00",
            due_at="2024-02-06 17:00",
            finished_at="2024-02-09 09:00",
            timeliness="late",
            has_positive_fee=True,
        )
        insert_dossier(
            conn,
            "r3",
            COMMUNE_C,
            procedure_code=P_FREE,
            received_at="2024-04-02 08:00",
            due_at="2024-04-05 17:00",
            finished_at="2024-04-03 08:00",
            timeliness="early",
        )
        conn.commit()
        indicators.refresh(conn, date(2024, 1, 1), date(2024, 7, 1))
    return dsn


@pytest.mark.integration
def test_report_command_writes_the_unit_report_from_the_warehouse(
    small_warehouse, monkeypatch, tmp_path, capsys
):
    monkeypatch.setenv("AIRFLOW_CONN_TTHC_WAREHOUSE", warehouse_connection_json(small_warehouse))
    monkeypatch.setenv("TTHC_REPORT_DIR", str(tmp_path))
    assert devstack.main(["report", "--unit", DISTRICT_1, "--period", "2024-H1"]) == 0
    printed = capsys.readouterr()
    html_path, pdf_path = tmp_path / f"{DISTRICT_1}_2024-H1.html", tmp_path / f"{DISTRICT_1}_2024-H1.pdf"
    assert printed.out.splitlines()[1:] == [f"  {html_path}", f"  {pdf_path}"]
    assert f"Đơn vị {DISTRICT_1} ({DISTRICT_1}), 6 tháng đầu năm 2024" in printed.out
    assert "note:" not in printed.err
    assert pdf_path.read_bytes()[:5] == b"%PDF-"

    html = html_path.read_text(encoding="utf-8")
    with psycopg.connect(small_warehouse) as conn:
        [(received,)] = conn.execute(
            """SELECT numerator FROM mart.indicator_value
                                        WHERE indicator_code = 'RECEIVED' AND period_type = 'half'
                                          AND period_start = '2024-01-01' AND unit_code = %s
                                          AND unit_scheme = 'as_recorded'""",
            (DISTRICT_1,),
        ).fetchall()
        [(not_scored,)] = conn.execute(
            """SELECT not_scored FROM mart.score_766
                                          WHERE period_type = 'half' AND period_start = '2024-01-01'
                                            AND unit_code = %s AND unit_scheme = 'as_recorded'""",
            (DISTRICT_1,),
        ).fetchall()
    assert received == 2  # r1 (commune A) and r2 (the district office); r3 is the other district's
    assert re.search(r'<tr data-indicator="RECEIVED">.*?<td class="n numerator">2</td>', html, re.S)
    # the leaders' notes say it in words; only the engineers' line names the reference document
    assert "indicators.md" in not_scored
    assert re.findall(r"[\w/]*indicators\.md", html) == ["docs/indicators.md"]
    assert "mart.scoring_rule" not in html and "as_recorded" not in html
    items = re.findall(
        r"<li>(.*?)</li>", re.search(r'id="not-scored">(.*?)</div>', html, re.S).group(1), re.S
    )
    assert [item.split(":")[0] for item in items] == ["Mục 1.1–1.3 (12 điểm)", "Nhóm Số hóa hồ sơ (2 điểm)"]
    assert 'id="notes"' in html and "Quyết định số 766/QĐ-TTg" in html


@pytest.mark.integration
def test_headline_puts_the_portal_s_published_total_beside_the_own_total(small_warehouse):
    """make demo's headline (here over 2024, the year the hand-built warehouse has): each district's
    own 766 total from mart.score_766 and, beside it, the current total the portal publishes."""
    with psycopg.connect(small_warehouse) as conn:
        conn.execute(
            """INSERT INTO mart.portal_score (period_type, period_start, unit_code, unit_name, total_score,
                                              fetched_at, superseded_at)
               VALUES ('year', '2024-01-01', %(unit)s, 'revised since', 70.5, '2024-07-02', '2024-07-03'),
                      ('year', '2024-01-01', %(unit)s, 'published', 41.25, '2024-07-03', NULL),
                      ('quarter', '2024-01-01', %(unit)s, 'another period', 12, '2024-07-03', NULL)""",
            {"unit": DISTRICT_1},
        )
        # the gap the portal's fetch computes (mart.portal_gap), by hand: one item of each district
        conn.execute("DELETE FROM mart.portal_gap")
        conn.execute(
            """INSERT INTO mart.portal_gap (period_type, period_start, unit_code, unit_scheme, item_code,
                                            indicator_code, scoring_item_code, unsynced_dossiers, own_score,
                                            own_synced_score, portal_score, explained, points_from_sync)
               VALUES ('year', '2024-01-01', %s, 'as_recorded', '3.6', 'ONLINE_PAYMENT', '3.6', 7, 4.69, 4.1,
                       4.1, true, 0.59)""",
            (DISTRICT_1,),
        )
    try:
        rows = devstack.headline(small_warehouse, year=2024, half_start=date(2024, 1, 1))
        with psycopg.connect(small_warehouse) as conn:
            expected = {
                unit: values
                for unit, *values in conn.execute(
                    """SELECT own.unit_code, own.total_score, own.max_available, published.total_score,
                              summary.points_from_sync
                       FROM mart.score_766 AS own
                       LEFT JOIN mart.portal_score_current AS published
                           ON published.unit_code = own.unit_code AND published.period_type = 'year'
                          AND published.period_start = '2024-01-01'
                       LEFT JOIN mart.bi_portal_summary AS summary
                           ON summary.unit_code = own.unit_code AND summary.period_type = 'year'
                          AND summary.period_start = '2024-01-01' AND summary.unit_scheme = 'as_recorded'
                       WHERE own.period_type = 'year' AND own.period_start = '2024-01-01'
                         AND own.unit_scheme = 'as_recorded' AND own.unit_type = 'HUYEN'"""
                )
            }
    finally:
        with psycopg.connect(small_warehouse) as conn:
            conn.execute("DELETE FROM mart.portal_score")
            conn.execute("DELETE FROM mart.portal_gap")
    assert {row["unit_code"] for row in rows} == set(expected) == {DISTRICT_1, DISTRICT_2}
    for row in rows:
        assert [row["total_score"], row["max_available"], row["portal_total"], row["points_from_sync"]] == (
            expected[row["unit_code"]]
        )
    assert expected[DISTRICT_1][2:] == [Decimal("41.25"), Decimal("0.59")]
    assert expected[DISTRICT_2][2:] == [None, None]

    table = devstack.format_headline(rows, year=2024).splitlines()
    assert table[0].split()[-6:] == ["2024", "portal", "2024", "from", "sync", "rank"]
    for row in rows:
        [line] = [line for line in table if line.startswith(row["unit_name"])]
        own, published, from_sync = line.split()[-4:-1]
        assert own == f"{float(row['total_score']):.2f}/{float(row['max_available']):.0f}"
        assert (published, from_sync) == (
            ("41.25", "+0.59") if row["unit_code"] == DISTRICT_1 else ("n/a", "n/a")
        )


@pytest.mark.integration
def test_report_command_says_when_there_is_no_warehouse(admin_dsn, monkeypatch, tmp_path, capsys):
    params = psycopg.conninfo.conninfo_to_dict(admin_dsn)
    params["dbname"] = "tthc_test_no_such_warehouse"
    monkeypatch.setenv(
        "AIRFLOW_CONN_TTHC_WAREHOUSE", warehouse_connection_json(psycopg.conninfo.make_conninfo(**params))
    )
    monkeypatch.setenv("TTHC_REPORT_DIR", str(tmp_path))
    assert devstack.main(["report"]) == 1
    err = capsys.readouterr().err
    assert "cannot read the warehouse" in err and "tthc_test_no_such_warehouse" in err and "make demo" in err
    assert not list(tmp_path.iterdir())
    assert devstack.main(["report", "--period", "2024-H3"]) == 2


@pytest.mark.integration
def test_form_06_command_writes_the_workbook_from_the_warehouse(
    small_warehouse, monkeypatch, tmp_path, capsys
):
    import openpyxl

    monkeypatch.setenv("AIRFLOW_CONN_TTHC_WAREHOUSE", warehouse_connection_json(small_warehouse))
    monkeypatch.setenv("TTHC_REPORT_DIR", str(tmp_path))
    assert devstack.main(["form-06", "--unit", DISTRICT_1, "--period", "2024-H1", "--kind", "calendar"]) == 0
    path = tmp_path / f"form_06_{DISTRICT_1}_2024-H1_calendar.xlsx"
    assert capsys.readouterr().out.splitlines()[1:] == [f"  {path}"]
    with psycopg.connect(small_warehouse) as conn:
        [expected] = conn.execute(
            """SELECT received_total, received_online, received_in_person, received_carried_over,
                      finished_total, finished_early, finished_on_time, finished_late,
                      in_progress_total, in_progress_within_time, in_progress_overdue
               FROM mart.form_06
               WHERE period_kind = 'calendar' AND period_type = 'half' AND period_start = '2024-01-01'
                 AND unit_code = %s AND unit_scheme = 'as_recorded' AND field_code IS NULL""",
            (DISTRICT_1,),
        ).fetchall()
    # r1 (commune A, finished early) and r2 (the district office, late); r3 is the other district's
    assert expected == (2, 0, 2, 0, 2, 1, 0, 1, 0, 0, 0)
    sheet = openpyxl.load_workbook(path).active
    [total] = [row for row in sheet.iter_rows(values_only=True) if row[1] == "Tổng số"]
    assert tuple(total[2:13]) == expected

    # a period the warehouse has no form for is said, and nothing is written
    assert devstack.main(["form-06", "--unit", DISTRICT_1, "--period", "2027-Q1"]) == 1
    assert "has no row" in capsys.readouterr().err
    assert not (tmp_path / f"form_06_{DISTRICT_1}_2027-Q1_statutory.xlsx").exists()
