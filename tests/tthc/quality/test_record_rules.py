"""Every kind of bad record the simulator plants (34 kinds over 20 rules), through real Airflow runs
against the simulator over real HTTP: each lands in quarantine under its rule, every good record is
loaded, every batch balances, and text sent decomposed (NFD) is stored composed (NFC)."""

from __future__ import annotations

import json
import secrets
import unicodedata
from datetime import date

import pytest
from pipeline_support import source_connection_json
from quality_helpers import fetch

from simulator import defects
from simulator.generator import SimulationConfig, build_province
from simulator.server import run_in_thread
from simulator.store import parse_source_instant

pytestmark = [pytest.mark.integration, pytest.mark.slow]
WINDOW = {"start": "2024-01-01", "end": "2024-07-01"}


@pytest.fixture(scope="module")
def province():
    return build_province(
        SimulationConfig(dossiers_per_year=20_000, defect_shares={rule: 0.002 for rule in defects.RULES})
    )


@pytest.fixture(scope="module")
def in_window(province) -> list[dict]:
    start, end = (date.fromisoformat(WINDOW["start"]), date.fromisoformat(WINDOW["end"]))
    return [
        r
        for r in province.iter_dossiers()
        if (u := parse_source_instant(r.get("NgayCapNhat"))) is not None and start <= u.date() < end
    ]


@pytest.fixture(scope="module")
def loaded(province, make_database, run_dag_allowing_failure):
    dsn = make_database("record_rules")
    with run_in_thread(
        province, client_id="t-" + secrets.token_hex(4), client_secret=secrets.token_urlsafe(16)
    ) as server:
        source = source_connection_json(server)
        run_dag_allowing_failure("tthc_reference", source=source, warehouse_dsn=dsn)
        run_dag_allowing_failure("tthc_dossiers", source=source, warehouse_dsn=dsn, conf=WINDOW)
    return dsn


def test_every_defect_kind_is_quarantined_under_its_rule(loaded, province, in_window):
    codes = {r.get("MaHoSo") for r in in_window}
    planted = {code: d for code, d in province.truth.defects.items() if code in codes}
    kinds = (
        {d["kind"] for d in planted.values()}
        | ({"dossier_code_present:null"} if any(r.get("MaHoSo") is None for r in in_window) else set())
        | ({"dossier_code_present:empty"} if any(r.get("MaHoSo") == "" for r in in_window) else set())
    )
    assert kinds == {kind.name for kind in defects.KINDS}, "the window holds every kind of defect"
    quarantined = set(
        fetch(loaded, "SELECT record_key, rule FROM quality.quarantine WHERE entity = 'dossier'")
    )
    missed = {code: d["kind"] for code, d in planted.items() if (code, d["rule"]) not in quarantined}
    assert not missed, f"defects not quarantined under their rule: {missed}"
    without_code = sum(1 for r in in_window if not r.get("MaHoSo"))
    assert (
        fetch(
            loaded,
            """SELECT count(*) FROM quality.quarantine
                            WHERE rule = 'dossier_code_present'""",
        )[0][0]
        == without_code
        > 0
    )
    twins = sum(1 for d in planted.values() if d["kind"] == "dossier_code_unique:twin")
    assert (
        fetch(loaded, "SELECT count(*) FROM quality.quarantine WHERE rule = 'dossier_code_unique'")[0][0]
        == 2 * twins
    )


def test_every_good_record_is_loaded_and_every_batch_balances(loaded, province, in_window):
    defective = set(province.truth.defects)
    expected = {
        r["MaHoSo"]
        for r in in_window
        if r.get("MaHoSo") and str(r.get("DaXoa")) != "1" and r["MaHoSo"] not in defective
    }
    assert {row[0] for row in fetch(loaded, "SELECT ma_ho_so FROM core.fact_dossier")} == expected
    books = fetch(
        loaded,
        """SELECT b.batch_id, b.status, b.record_count, a.extracted, a.loaded, a.quarantined
                             FROM raw.batch b LEFT JOIN quality.run_audit a USING (batch_id)""",
    )
    for batch_id, status, records, extracted, loaded_count, quarantined in books:
        assert status == "loaded" and records == extracted == loaded_count + quarantined, batch_id
    assert (
        sum(row[5] for row in books if row[5])
        == fetch(loaded, "SELECT count(DISTINCT (batch_id, ordinal)) FROM quality.quarantine")[0][0]
    )


def test_text_sent_decomposed_is_stored_composed(loaded, in_window):
    sent_nfd = [
        r for r in in_window if not unicodedata.is_normalized("NFC", json.dumps(r, ensure_ascii=False))
    ]
    assert sent_nfd, "the simulator sends some records decomposed"
    for table, column in (
        ("raw.record", "payload::text"),
        ("quality.quarantine", "payload::text"),
        ("core.fact_dossier", "concat_ws('|', procedure_name, field_name)"),
        ("core.dossier_step", "concat_ws('|', department)"),
    ):
        assert (
            fetch(loaded, f"SELECT count(*) FROM {table} WHERE {column} IS NOT NFC NORMALIZED")[0][0] == 0
        ), table


def test_validation_results_are_kept_and_rendered(loaded):
    rows = fetch(loaded, "SELECT suite, data_docs_url FROM quality.validation_result")
    assert {suite for suite, _ in rows} == {
        "unit.raw",
        "unit.staging",
        "procedure.raw",
        "procedure.staging",
        "dossier.raw",
        "dossier.staging",
        "dossier.core",
    }
    assert all(url and url.startswith("file://") for _, url in rows)
