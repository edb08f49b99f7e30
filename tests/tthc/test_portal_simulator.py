"""The portal's scores from the simulator's portal (simulator.portal, served by simulator/server.py
over real HTTP) into a real PostgreSQL warehouse: stored values equal the published ones for every
unit and period fetched, with the portal's habits (a missing group, a missing item) stored as
absent; a refetch writes nothing; a revision keeps the history; 429s are waited out; and the DAG
tthc_portal_scores runs through Airflow. Expected values come from the simulator's Python API."""

from __future__ import annotations

import json
import logging
from contextlib import contextmanager
from datetime import date
from decimal import Decimal

import psycopg
import pytest
from pipeline_support import SMALL_VOLUME

from simulator.generator import SimulationConfig, build_province
from simulator.portal import ITEMS
from simulator.server import FaultConfig, run_in_thread
from tthc import portal, warehouse
from tthc.portal_client import PortalClient, PortalPeriod, PortalSettings

pytestmark = pytest.mark.integration

PERIODS = [PortalPeriod.parse(key) for key in ("2023", "2024-Q2", "2023-07")]
GROUP_OF_COLUMN = {
    "CKMB": "transparency_score",
    "TDGQ": "progress_score",
    "CLGQ": "online_service_score",
    "TTTT": "online_payment_score",
    "MDSH": "digitization_score",
    "MDHL": "satisfaction_score",
}
SCORE_COLUMNS = ("unit_name", *GROUP_OF_COLUMN.values(), "total_score")
METRIC_COLUMNS = ("portal_group", "ratio", "score", "max_score", "numerator", "denominator")


@pytest.fixture(scope="module")
def province():
    return build_province(SimulationConfig(dossiers_per_year=SMALL_VOLUME))


def closure(units: list[dict]) -> list[tuple[str, str, int]]:
    parent = {u["MaDonVi"]: u["MaDonViCha"] for u in units}
    rows = []
    for code in parent:
        ancestor, depth = code, 0
        while ancestor is not None:
            rows.append((ancestor, code, depth))
            ancestor, depth = parent.get(ancestor), depth + 1
    return rows


@pytest.fixture
def dsn(make_database, province):
    dsn = make_database("portal_sim")
    with warehouse.connect(dsn=dsn) as conn:
        warehouse.copy_rows(
            conn, "core.unit_closure", ("ancestor_code", "descendant_code", "depth"), closure(province.units)
        )
    return dsn


@contextmanager
def simulator(province, published=None, **faults):
    with run_in_thread(
        province,
        FaultConfig(**faults),
        client_id="portal-test",
        client_secret="portal-test-secret",
        portal=published,
    ) as server:
        yield server


def fetch(dsn, server, periods=PERIODS, **settings) -> list[portal.PeriodFetch]:
    values = {"base_url": server.base_url, "page_size": 100, "backoff_base_s": 0.005, "backoff_max_s": 0.05}
    with warehouse.connect(dsn=dsn) as conn, PortalClient(PortalSettings(**(values | settings))) as client:
        return [portal.fetch_period(conn, client, period) for period in periods]


def number(value) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def published_scores(published, period: PortalPeriod) -> dict[str, tuple]:
    found = {}
    for row in published.scores(period.period_type, period.start):
        groups = row["groupScores"]
        found[row["departmentCode"]] = (
            row["departmentName"],
            *(number(groups.get(group)) for group in GROUP_OF_COLUMN),
            number(row["totalScore"]),
        )
    return found


def published_metrics(published, period: PortalPeriod) -> dict[tuple[str, str], tuple]:
    found = {}
    for unit_code in published.units(period.period_type, period.start):
        for item in published.metrics(period.period_type, period.start, unit_code):
            found[(unit_code, item["code"])] = (
                item["groupCode"],
                *(number(item[key]) for key in ("ratio", "score", "maxScore", "numerator", "denominator")),
            )
    return found


def stored_scores(dsn, period: PortalPeriod) -> dict[str, tuple]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            f"SELECT unit_code, {', '.join(SCORE_COLUMNS)} FROM mart.portal_score_current "
            "WHERE period_type = %s AND period_start = %s",
            (period.period_type, period.start),
        ).fetchall()
    return {code: tuple(rest) for code, *rest in rows}


def stored_metrics(dsn, period: PortalPeriod) -> dict[tuple[str, str], tuple]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            f"SELECT unit_code, item_code, {', '.join(METRIC_COLUMNS)} FROM mart.portal_metric_current "
            "WHERE period_type = %s AND period_start = %s",
            (period.period_type, period.start),
        ).fetchall()
    return {(unit, item): tuple(rest) for unit, item, *rest in rows}


def all_rows(dsn) -> list[tuple]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(
            """SELECT 's', period_type, period_start, unit_code, '', fetched_at, superseded_at, xmin::text
                 FROM mart.portal_score
               UNION ALL
               SELECT 'm', period_type, period_start, unit_code, item_code, fetched_at, superseded_at, xmin::text
                 FROM mart.portal_metric ORDER BY 1, 2, 3, 4, 5, 6"""
        ).fetchall()


def test_the_item_map_agrees_with_the_portals_items(make_database):
    dsn = make_database("portal_map")
    with psycopg.connect(dsn) as conn:
        stored = conn.execute(
            "SELECT portal_item_code, portal_group, indicator_code FROM mart.portal_item_map WHERE valid_to IS NULL"
        ).fetchall()
    assert sorted(stored) == sorted(ITEMS)


def test_stored_equals_published_then_a_refetch_writes_nothing(dsn, province):
    published = province.portal
    with simulator(province, published) as server:
        first = fetch(dsn, server)
        before = all_rows(dsn)
        second = fetch(dsn, server)
    habits = {"group": 0, "item": 0}
    for period, result in zip(PERIODS, first, strict=True):
        expected_scores = published_scores(published, period)
        expected_metrics = published_metrics(published, period)
        assert len(expected_scores) > 100, "every unit of the tree"
        assert stored_scores(dsn, period) == expected_scores, period.key
        assert stored_metrics(dsn, period) == expected_metrics, period.key
        assert (result.scores.new, result.metrics.new) == (len(expected_scores), len(expected_metrics))
        for unit_code in expected_scores:
            missing_group = published.missing_group(period.period_type, period.start, unit_code)
            missing_item = published.missing_item(period.period_type, period.start, unit_code)
            if missing_group:
                habits["group"] += 1
                column = SCORE_COLUMNS.index(GROUP_OF_COLUMN[missing_group])
                assert stored_scores(dsn, period)[unit_code][column] is None
            if missing_item:
                habits["item"] += 1
                assert (unit_code, missing_item) not in stored_metrics(dsn, period)
    assert habits["group"] and habits["item"], "the portal's habits were met"
    assert all_rows(dsn) == before, "the refetch wrote nothing"
    for result in second:
        assert result.scores.new == result.scores.changed == result.scores.withdrawn == 0
        assert result.metrics.new == result.metrics.changed == result.metrics.withdrawn == 0
        assert (
            result.scores.unchanged == result.scores.fetched
            and result.metrics.unchanged == result.metrics.fetched
        )


def test_a_revised_publication_keeps_the_old_rows_and_adds_the_new(dsn, province):
    before_revision = province.portal
    revised = province.make_portal(disagreements=2)
    cells = set().union(*(d.cells() for d in revised.disagreements))
    periods = sorted({PortalPeriod.containing(pt, ps) for pt, ps, _, _ in cells})
    with simulator(province, before_revision) as server:
        fetch(dsn, server, periods)
    with simulator(province, revised) as server:
        results = fetch(dsn, server, periods)
    changed_cells = set()
    for period in periods:
        assert stored_metrics(dsn, period) == published_metrics(revised, period)
        assert stored_scores(dsn, period) == published_scores(revised, period)
        old, new = published_metrics(before_revision, period), published_metrics(revised, period)
        changed_cells |= {(period.period_type, period.start, *key) for key in new if old.get(key) != new[key]}
    assert changed_cells and changed_cells <= cells
    with psycopg.connect(dsn) as conn:
        history = conn.execute(
            """SELECT period_type, period_start, unit_code, item_code, count(*), count(superseded_at)
               FROM mart.portal_metric GROUP BY 1, 2, 3, 4 HAVING count(*) > 1"""
        ).fetchall()
    assert {(pt, ps, unit, item) for pt, ps, unit, item, _, _ in history} == changed_cells
    assert all((versions, closed) == (2, 1) for *_, versions, closed in history), "old row kept, closed"
    assert sum(r.metrics.changed for r in results) == len(changed_cells)


def test_429s_are_waited_out(dsn, province, caplog):
    caplog.set_level(logging.WARNING, logger="tthc.portal_client")
    published = province.portal
    period = PortalPeriod.parse("2024-Q2")
    with simulator(
        province, published, portal_too_many_requests_share=0.3, retry_after_s=0, seed=3
    ) as server:
        fetch(dsn, server, [period], max_retries=10)
    assert stored_scores(dsn, period) == published_scores(published, period)
    assert stored_metrics(dsn, period) == published_metrics(published, period)
    retries = [r.getMessage() for r in caplog.records if r.name == "tthc.portal_client"]
    assert retries and all("HTTP 429" in m and "retrying in 0.00 s" in m for m in retries)


@pytest.mark.slow
def test_the_dag_fetches_a_period_by_conf(dsn, province, run_dag, monkeypatch):
    published = province.portal
    period = PortalPeriod.parse("2024-Q2")
    with simulator(province, published) as server:
        host, port = server.base_url.removeprefix("http://").split(":")
        monkeypatch.setenv(
            "AIRFLOW_CONN_TTHC_PORTAL",
            json.dumps({"conn_type": "http", "host": host, "port": int(port), "extra": {"page_size": 100}}),
        )
        run_dag("tthc_portal_scores", warehouse_dsn=dsn, conf={"period": period.key})
        before = all_rows(dsn)
        run_dag("tthc_portal_scores", warehouse_dsn=dsn, conf={"period": period.key})
    assert stored_scores(dsn, period) == published_scores(published, period)
    assert stored_metrics(dsn, period) == published_metrics(published, period)
    assert all_rows(dsn) == before
    assert {row[2] for row in before} == {date(2024, 4, 1)}
