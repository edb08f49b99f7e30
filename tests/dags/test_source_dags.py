"""The DAGs of a source are generated from the sources file: a second source is a line of YAML (and
a connection), with its own DAG ids, pool, Celery queue, schedules and days of service."""

from __future__ import annotations

from datetime import date

import pytest
from airflow.dag_processing.dagbag import DagBag

from tthc import PROJECT_ROOT

SOURCE_DAG_KINDS = ("reference", "dossiers", "feedback", "reconciliation")

TWO_SOURCES = """
sources:
  - id: lai_chau
    conn_id: tthc_source
    name: Lai Châu
    dag_id_suffix: ""
  - id: bac_ha
    conn_id: tthc_source_bac_ha
    name: Hệ thống TTHC tỉnh Bắc Hà (cũ)
    active_to: 2025-06-30
    queue: north
    pool_slots: 2
  - id: son_la_gia
    conn_id: tthc_source_son_la_gia
    name: Hệ thống TTHC tỉnh Sơn Lâm
    schedules: {dossiers: "15 * * * *"}
"""


@pytest.fixture
def two_source_bag(tmp_path, monkeypatch):
    sources = tmp_path / "sources.yaml"
    sources.write_text(TWO_SOURCES, encoding="utf-8")
    monkeypatch.setenv("TTHC_SOURCES_FILE", str(sources))
    bag = DagBag(dag_folder=str(PROJECT_ROOT / "dags"))
    assert bag.import_errors == {}
    return bag


def test_each_source_gets_its_own_dags(two_source_bag):
    for kind in SOURCE_DAG_KINDS:
        assert {f"tthc_{kind}", f"tthc_{kind}_bac_ha"} <= set(two_source_bag.dag_ids)
    # The DAGs over the whole warehouse stay one.
    assert not [dag_id for dag_id in two_source_bag.dag_ids if dag_id.startswith("tthc_indicators_")]


def test_a_source_extracts_through_its_connection_pool_and_queue(two_source_bag):
    dag = two_source_bag.dags["tthc_dossiers_bac_ha"]
    extract = dag.task_dict["extract_dossiers"]
    assert (extract.pool, extract.queue) == ("tthc_source_bac_ha", "north")
    # the loads work on the warehouse, not the source: they stay on the default queue
    assert dag.task_dict["load_dossiers"].queue == "default"
    first = two_source_bag.dags["tthc_dossiers"].task_dict["extract_dossiers"]
    assert (first.pool, first.queue) == ("tthc_source", "default")
    for kind, task_id in (("reference", "extract_units"), ("reconciliation", "reconcile_with_source")):
        task = two_source_bag.dags[f"tthc_{kind}_bac_ha"].task_dict[task_id]
        assert (task.pool, task.queue) == ("tthc_source_bac_ha", "north")
    assert "source:bac_ha" in dag.tags and "source:lai_chau" in two_source_bag.dags["tthc_dossiers"].tags
    assert "`tthc_source_bac_ha`" in dag.doc_md


def test_a_retired_source_gets_no_scheduled_run_but_can_be_run_by_hand(two_source_bag):
    dag = two_source_bag.dags["tthc_dossiers_bac_ha"]  # active_to 2025-06-30, today is later
    assert type(dag.timetable).__name__ == "NullTimetable"
    # no end date: a manual run over its history still gets its task instances
    assert dag.end_date is None and all(task.end_date is None for task in dag.tasks)
    assert two_source_bag.dags["tthc_dossiers"].timetable.summary == "0 * * * *"


def test_a_source_keeps_its_schedule_through_its_last_day():
    from airflow.timetables.interval import CronDataIntervalTimetable

    from tthc.dag_parts import source_schedule
    from tthc.sources import Source

    source = Source("bac_ha", "tthc_source_bac_ha", "B", active_to=date(2025, 6, 30))
    last_day = source_schedule(source, "dossiers", data_interval=True, today=date(2025, 6, 30))
    assert isinstance(last_day, CronDataIntervalTimetable)
    assert source_schedule(source, "reference", today=date(2025, 6, 30)) == "@daily"
    assert source_schedule(source, "reference", today=date(2025, 7, 1)) is None


def test_a_source_schedule_is_its_own(two_source_bag):
    assert two_source_bag.dags["tthc_dossiers_son_la_gia"].timetable.summary == "15 * * * *"
    assert two_source_bag.dags["tthc_dossiers"].timetable.summary == "0 * * * *"


def test_a_bad_sources_file_fails_the_dag_imports_with_its_reason(tmp_path, monkeypatch):
    sources = tmp_path / "sources.yaml"
    sources.write_text(
        "sources:\n  - {id: a, conn_id: c1, name: A}\n  - {id: b, conn_id: c1, name: B}\n", encoding="utf-8"
    )
    monkeypatch.setenv("TTHC_SOURCES_FILE", str(sources))
    errors = DagBag(dag_folder=str(PROJECT_ROOT / "dags")).import_errors
    source_files = {f"tthc_{kind}.py" for kind in SOURCE_DAG_KINDS}
    assert {path.rsplit("/", 1)[-1] for path in errors} == source_files
    assert all("'a' and 'b' have the same conn_id 'c1'" in message for message in errors.values())
