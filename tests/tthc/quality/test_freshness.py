"""Freshness checks on a real PostgreSQL, alerting through a real SMTP server and a real webhook
receiver: a silence in the arrival of dossiers, and indicators fallen behind the loaded batches.
Records come from the simulator."""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from quality_helpers import fetch, land, load_reference_directly

from simulator.generator import SimulationConfig, build_province
from tthc import indicators, warehouse
from tthc.load import load_batch
from tthc.quality.freshness import check_freshness, check_mart_freshness

pytestmark = [pytest.mark.integration]
TZ = ZoneInfo("Asia/Ho_Chi_Minh")
MAY = (datetime(2024, 5, 1, tzinfo=TZ), datetime(2024, 6, 1, tzinfo=TZ))


@pytest.fixture(scope="module")
def province():
    return build_province(SimulationConfig(dossiers_per_year=20_000))


@pytest.fixture
def loaded(make_database, province, request) -> tuple[str, int]:
    """A warehouse with reference data and one loaded batch of clean dossiers (window: May 2024)."""
    dsn = make_database("freshness_" + request.node.name[5:25].lower())
    load_reference_directly(dsn, province)
    defective = set(province.truth.defects)
    clean = [
        r
        for r in province.iter_dossiers()
        if r.get("MaHoSo")
        and r["MaHoSo"] not in defective
        and str(r.get("DaXoa")) != "1"
        and str(r.get("NgayCapNhat") or "")[:8].replace("-", "") < "20240601"
    ]
    batch_id = land(dsn, "dossier", clean[:300], window=MAY)
    assert load_batch(batch_id, dsn=dsn).loaded == 300
    return dsn, batch_id


@pytest.fixture
def alerting(monkeypatch, smtp_server, webhook_server):
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", smtp_server.connection)
    monkeypatch.setenv("AIRFLOW_CONN_TTHC_ALERT_WEBHOOK", webhook_server.connection)
    return smtp_server, webhook_server


def alerts_received(smtp_server, webhook_server, expected: int) -> tuple[list, list]:
    deadline = time.monotonic() + 5
    while (
        len(smtp_server.messages) < expected or len(webhook_server.calls) < expected
    ) and time.monotonic() < deadline:
        time.sleep(0.05)
    return smtp_server.messages, webhook_server.calls


def test_a_silence_in_arrivals_alerts_once_and_an_arrival_in_time_does_not(loaded, alerting):
    dsn, _ = loaded
    last = fetch(dsn, "SELECT max(received_at) FROM core.fact_dossier")[0][0]

    in_time = check_freshness(dsn, last + timedelta(minutes=30))
    silent = check_freshness(dsn, last + timedelta(days=7))  # five working days, at least
    still_silent = check_freshness(dsn, last + timedelta(days=7, hours=1))

    assert in_time["fresh"] and not in_time["alerted"]
    assert not silent["fresh"] and silent["alerted"] and silent["silent_working_hours"] > 4
    assert not still_silent["fresh"] and not still_silent["alerted"], "one alert per silence"
    mails, calls = alerts_received(*alerting, expected=1)
    assert len(mails) == 1 and len(calls) == 1
    assert "no new dossier" in mails[0]["Subject"]
    assert "core.fact_dossier" in calls[0]["body"]["text"]


def test_batches_left_out_of_every_refresh_alert_once_past_the_lag_and_clear_after_a_refresh(
    loaded, alerting
):
    dsn, batch_id = loaded
    loaded_at = fetch(dsn, "SELECT loaded_at FROM raw.batch WHERE batch_id = %s", (batch_id,))[0][0]

    soon = check_mart_freshness(dsn, loaded_at + timedelta(minutes=30))
    late = check_mart_freshness(dsn, loaded_at + timedelta(hours=3))
    later = check_mart_freshness(dsn, loaded_at + timedelta(hours=4))
    with warehouse.connect(dsn=dsn) as conn:
        indicators.refresh(conn, date(2024, 5, 1), date(2024, 6, 1))
    refreshed = check_mart_freshness(dsn, loaded_at + timedelta(hours=5))

    assert soon["fresh"] and soon["waiting_batches"] == 1 and not soon["alerted"]
    assert not late["fresh"] and late["alerted"] and late["oldest_batch_id"] == batch_id
    assert late["lag_minutes"] == pytest.approx(180, abs=0.1)
    assert not later["fresh"] and not later["alerted"], "one alert per oldest waiting batch"
    assert refreshed == {"fresh": True, "waiting_batches": 0, "alerted": False}
    mails, calls = alerts_received(*alerting, expected=1)
    assert len(mails) == 1 and len(calls) == 1
    assert "indicators behind core" in mails[0]["Subject"]
    for text in (mails[0].get_body(preferencelist=("plain",)).get_content(), calls[0]["body"]["text"]):
        assert f"batch {batch_id} (dossier)" in text and "tthc_indicators" in text


def test_each_source_is_judged_on_its_own_arrivals(loaded, alerting, tmp_path, monkeypatch):
    """A second system that went quiet alerts, named, while the first one sends in time."""
    from tthc.sources import get_source

    dsn, _ = loaded
    sources = tmp_path / "sources.yaml"
    sources.write_text(
        "sources:\n  - {id: lai_chau, conn_id: tthc_source, name: Lai Châu, dag_id_suffix: ''}\n"
        "  - {id: son_la_gia, conn_id: tthc_source_son_la_gia, name: Sơn Lâm}\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("TTHC_SOURCES_FILE", str(sources))
    last = fetch(dsn, "SELECT max(received_at) FROM core.fact_dossier")[0][0]
    # The second system's dossiers: the 50 oldest of the batch, moved to it (its last a week before).
    with warehouse.connect(dsn=dsn) as conn:
        conn.execute(
            """UPDATE core.fact_dossier SET source_id = 'son_la_gia'
               WHERE dossier_id IN (SELECT dossier_id FROM core.fact_dossier ORDER BY received_at LIMIT 50)"""
        )
        conn.commit()
    moment = last + timedelta(minutes=30)
    first = check_freshness(dsn, moment, get_source("lai_chau"))
    second = check_freshness(dsn, moment, get_source("son_la_gia"))
    assert first["fresh"] and not first["alerted"]
    assert not second["fresh"] and second["alerted"]
    mails, calls = alerts_received(*alerting, expected=1)
    assert len(mails) == 1 and "son_la_gia" in mails[0]["Subject"]
    assert "tthc_dossiers_son_la_gia" in calls[0]["body"]["text"]
    assert fetch(dsn, "SELECT source_id FROM quality.freshness_alert") == [("son_la_gia",)]
