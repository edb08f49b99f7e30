"""The gap between the national portal's published scores and the province's own (mart.portal_gap,
docs/portal.md "The gap"): a province loaded through the real extract and load tasks from the
simulator over real HTTP, the indicators refreshed, the simulator's portal fetched over real HTTP.
Expected values come from the simulator (its portal and its own dossier table), never from the SQL.

In order (one warehouse for the module): the synchronized-only figures equal the portal's for every
unit, period and item fetched (explained) and the unsynchronized dossiers are counted exactly; the
planted story of Nậm Nhùn 2023; the alert reaches a real SMTP server and webhook naming the unit; a
refetch changes nothing; then a planted disagreement is not explained on exactly its cells."""

from __future__ import annotations

import json
import secrets
from contextlib import contextmanager
from datetime import date

import psycopg
import pytest
from pipeline_support import SMALL_VOLUME, environment, source_connection_json, warehouse_connection_json

from simulator.generator import SimulationConfig, build_province
from simulator.portal import period_end
from simulator.server import FaultConfig, run_in_thread
from simulator.table import to_seconds
from tthc import indicators, portal, tasks, warehouse
from tthc.portal_client import PortalClient, PortalPeriod, PortalSettings
from tthc.windows import Window, parse_moment

pytestmark = [pytest.mark.integration, pytest.mark.slow]

PERIODS = [PortalPeriod.parse(key) for key in ("2023", "2023-Q3", "2023-07", "2024-Q2")]
STORY_UNIT = "H35.112"


@pytest.fixture(scope="module")
def province():
    return build_province(SimulationConfig(dossiers_per_year=SMALL_VOLUME))


def env(**values: str):
    return environment(values)


@contextmanager
def served(province, published=None):
    with run_in_thread(
        province,
        FaultConfig(),
        client_id="gap-" + secrets.token_hex(3),
        client_secret="gap-secret",
        portal=published,
    ) as server:
        yield server


def fetch(dsn, server, periods=PERIODS) -> list[portal.PeriodFetch]:
    settings = PortalSettings(
        base_url=server.base_url, page_size=100, backoff_base_s=0.005, backoff_max_s=0.05
    )
    with warehouse.connect(dsn=dsn) as conn, PortalClient(settings) as client:
        return [portal.fetch_period(conn, client, period) for period in periods]


@pytest.fixture(scope="module")
def loaded(province, make_database, pseudonym_key):
    """The whole simulated span extracted and loaded, the indicators refreshed, PERIODS fetched."""
    dsn = make_database("portal_gap")
    with served(province, province.portal) as server:
        with env(
            AIRFLOW_CONN_TTHC_SOURCE=source_connection_json(server),
            AIRFLOW_CONN_TTHC_WAREHOUSE=warehouse_connection_json(dsn),
        ):
            tasks.load_calendar(date(2022, 1, 1), date(2025, 12, 31))
            tasks.load(tasks.extract("unit"))
            tasks.load(tasks.extract("procedure"))
            window = Window(parse_moment("2022-11-01"), parse_moment("2024-07-02"))
            for entity in ("dossier", "feedback"):
                for part in tasks.plan_windows(window):
                    tasks.load(tasks.extract(entity, part))
        with warehouse.connect(dsn=dsn) as conn:
            indicators.refresh(conn, date(2022, 12, 1), date(2024, 7, 1))
        results = fetch(dsn, server)
    assert all(result.gap_rows > 0 for result in results), "the fetch computed the gap"
    return dsn


def gap_rows(dsn, scheme="as_recorded") -> dict[tuple, dict]:
    with psycopg.connect(dsn, row_factory=psycopg.rows.dict_row) as conn:
        rows = conn.execute("SELECT * FROM mart.portal_gap WHERE unit_scheme = %s", (scheme,)).fetchall()
    return {(r["period_type"], r["period_start"], r["unit_code"], r["item_code"]): r for r in rows}


def unsynced_expected(province, unit_code: str, period: PortalPeriod) -> int:
    truth, t = province.truth, province.table
    start, end = to_seconds(period.start), to_seconds(period_end(period.period_type, period.start))
    received = truth._d & truth._unit_mask(unit_code) & (t.received >= start) & (t.received < end)
    return int((received & (t.synced == 0)).sum())


def test_synced_only_figures_equal_the_portals_and_unsynced_dossiers_are_exact(loaded, province):
    published = province.portal
    rows = gap_rows(loaded)
    mismatches, units_seen = [], set()
    for period in PERIODS:
        units = published.units(period.period_type, period.start)
        for unit in units:
            expected_unsynced = unsynced_expected(province, unit, period)
            for item in published.metrics(period.period_type, period.start, unit):
                row = rows.get((period.period_type, period.start, unit, item["code"]))
                if row is None:
                    mismatches.append((period.key, unit, item["code"], "no row"))
                    continue
                units_seen.add((period.key, unit))
                found = (row["own_synced_numerator"], row["own_synced_denominator"], row["explained"])
                if found != (item["numerator"], item["denominator"], True):
                    mismatches.append((period.key, unit, item["code"], found, item))
                if row["unsynced_dossiers"] != expected_unsynced:
                    mismatches.append(
                        (period.key, unit, "unsynced", row["unsynced_dossiers"], expected_unsynced)
                    )
    assert not mismatches, mismatches[:10]
    assert len(units_seen) == sum(len(published.units(p.period_type, p.start)) for p in PERIODS)
    for row in rows.values():
        assert row["points_from_sync"] == row["own_score"] - row["own_synced_score"]
        if row["portal_score"] is None:  # an item the portal left out for the unit
            assert row["explained"] is None and row["points_not_explained"] is None
        else:
            assert row["points_not_explained"] == row["own_synced_score"] - row["portal_score"]


def test_the_planted_story_shows_in_the_summary(loaded, province):
    story = province.truth.planted["PORTAL_766"]
    with psycopg.connect(loaded, row_factory=psycopg.rows.dict_row) as conn:
        summary = conn.execute(
            """SELECT * FROM mart.bi_portal_summary WHERE unit_code = %s AND unit_scheme = 'as_recorded'
               AND period_type = 'year' AND period_start = '2023-01-01'""",
            (STORY_UNIT,),
        ).fetchone()
        labelled = conn.execute(
            """SELECT period_label, unit_name, item_label, "Điểm Cổng DVCQG công bố" AS published
               FROM mart.bi_portal_gap WHERE unit_code = %s AND unit_scheme = 'as_recorded'
               AND period_type = 'year' AND period_start = '2023-01-01' AND item_code = '3.6'""",
            (STORY_UNIT,),
        ).fetchone()
        scorecard = conn.execute(
            """SELECT total_score FROM mart.score_766 WHERE unit_code = %s AND unit_scheme = 'as_recorded'
               AND period_type = 'year' AND period_start = '2023-01-01'""",
            (STORY_UNIT,),
        ).fetchone()
        listed = conn.execute(
            "SELECT * FROM mart.unsynced_dossiers(%s, 'year', '2023-01-01')", (STORY_UNIT,)
        ).fetchall()
    assert float(summary["portal_total"]) == story["published_total"]
    # the story rounds the unrounded total; the scorecard sums the rounded item scores
    assert summary["own_total"] == scorecard["total_score"]
    assert abs(float(summary["own_total"]) - story["own_total"]) <= 0.05
    assert summary["portal_total"] < summary["own_total"]
    assert summary["points_from_sync"] > 0
    assert summary["own_synced_total"] == summary["portal_total"], "the whole gap is synchronization"
    assert summary["explained"] is True and summary["points_not_explained"] == 0
    assert summary["unsynced_dossiers"] == story["unsynced_dossiers"] == len(listed)
    assert labelled["period_label"] == "Năm 2023" and "Nậm Nhùn" in labelled["unit_name"]
    assert labelled["item_label"] and labelled["published"] is not None
    assert {row["ma_ho_so"] for row in listed} and all(row["received_at"] for row in listed)


def test_the_alert_names_the_unit(loaded, smtp_server, webhook_server):
    with env(
        AIRFLOW_CONN_TTHC_WAREHOUSE=warehouse_connection_json(loaded),
        AIRFLOW_CONN_SMTP_DEFAULT=smtp_server.connection,
        AIRFLOW_CONN_TTHC_ALERT_WEBHOOK=webhook_server.connection,
    ):
        result = tasks.check_portal_gap([p.key for p in PERIODS])
        quiet = None
        with env(TTHC_QUALITY_THRESHOLDS=json.dumps({"portal_gap": {"max_points_below": 100}})):
            quiet = tasks.check_portal_gap([p.key for p in PERIODS])
    assert result["alert"] == {"email": True, "webhook": True}
    assert STORY_UNIT in result["units"]
    assert len(smtp_server.messages) == 1 and len(webhook_server.calls) == 1, "one alert per run"
    message = smtp_server.messages[0]
    body = message.get_body().get_content()
    assert STORY_UNIT in message["subject"] or STORY_UNIT in body
    assert f"- {STORY_UNIT} " in body and "Năm 2023" in body and "3.6" in body
    assert STORY_UNIT in webhook_server.calls[0]["body"]["text"]
    assert quiet == {"periods": [p.key for p in PERIODS], "findings": 0, "alert": None}, "all explained"


def portal_gap_state(dsn) -> list[tuple]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(
            "SELECT g::text, xmin::text FROM mart.portal_gap AS g ORDER BY period_type, period_start, "
            "unit_code, unit_scheme, item_code"
        ).fetchall()


def test_a_refetch_and_a_refresh_with_nothing_changed_change_nothing(loaded, province):
    before = portal_gap_state(loaded)
    with served(province, province.portal) as server:
        fetch(loaded, server)
    with warehouse.connect(dsn=loaded) as conn:
        indicators.refresh(conn, date(2023, 7, 1), date(2023, 8, 1))
    assert portal_gap_state(loaded) == before


def test_a_planted_disagreement_is_not_explained_on_exactly_its_cells(loaded, province, smtp_server):
    revised = province.make_portal(disagreements=2)
    all_cells = set().union(*(d.cells() for d in revised.disagreements))
    periods = sorted({PortalPeriod.containing(pt, ps) for pt, ps, _, _ in all_cells})
    cells = {cell for cell in all_cells if revised.metric(*cell) is not None}  # the habits left out
    with served(province, revised) as server:
        fetch(loaded, server, periods)
    rows = gap_rows(loaded)
    fetched = {(p.period_type, p.start) for p in periods}
    unexplained = {key for key, row in rows.items() if key[:2] in fetched and row["explained"] is False}
    assert unexplained == cells
    for key in cells:
        row = rows[key]
        assert row["own_synced_denominator"] == row["portal_denominator"]
        assert row["own_synced_numerator"] > row["portal_numerator"], "the portal counts them late"
        assert row["points_not_explained"] >= 0
    assert all(rows[k]["explained"] is not False for k in rows if k[:2] in fetched and k not in cells)
    with env(
        AIRFLOW_CONN_TTHC_WAREHOUSE=warehouse_connection_json(loaded),
        AIRFLOW_CONN_SMTP_DEFAULT=smtp_server.connection,
    ):
        result = tasks.check_portal_gap([p.key for p in periods])
    body = smtp_server.messages[0].get_body().get_content()
    assert "NOT explained" in body
    assert {d.unit_code for d in revised.disagreements} <= set(result["units"])
