"""The first path through the pipeline, end to end: the simulator over real HTTP, real Airflow DAG
runs (``airflow dags test``), a real PostgreSQL warehouse. Expected values come from the
simulator's own ground truth, computed by its code from its records, not by the pipeline's SQL."""

from __future__ import annotations

from datetime import date

import psycopg
import pytest
from pipeline_support import SMALL_VOLUME, run_pipeline_dags, simulated_source

from simulator import defects
from simulator.generator import SimulationConfig, build_province

pytestmark = [pytest.mark.integration, pytest.mark.slow]

WINDOW = {"start": "2023-01-01", "end": "2024-07-01"}
DISTRICTS = [f"H35.{gso}" for gso in range(105, 113)]
# Every record rule the simulator can break, each in a few dossiers.
DEFECT_SHARES = {rule: 0.002 for rule in defects.RULES}


@pytest.fixture(scope="module")
def province():
    return build_province(SimulationConfig(dossiers_per_year=SMALL_VOLUME, defect_shares=DEFECT_SHARES))


@pytest.fixture(scope="module")
def pipeline(province, make_database, run_dag):
    """The four DAGs, in order, for the demo window; yields the warehouse DSN."""
    dsn = make_database("pipeline")
    with simulated_source(province) as (_, source):
        run_pipeline_dags(run_dag, source, dsn, WINDOW)
        yield dsn, source


def fetch(dsn: str, sql: str, params=None) -> list[tuple]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(sql, params).fetchall()


def source_dossiers_in_window(province) -> list[dict]:
    from simulator.store import parse_source_instant

    start, end = (date.fromisoformat(WINDOW["start"]), date.fromisoformat(WINDOW["end"]))
    selected = []
    for record in province.iter_dossiers():
        updated = parse_source_instant(record.get("NgayCapNhat"))
        if updated is not None and start <= updated.date() < end:
            selected.append(record)
    return selected


def test_core_holds_exactly_the_live_valid_dossiers_of_the_window(pipeline, province):
    dsn, _ = pipeline
    defective = set(province.truth.defects)
    expected = {
        record["MaHoSo"]
        for record in source_dossiers_in_window(province)
        if record.get("MaHoSo") and str(record.get("DaXoa")) != "1" and record["MaHoSo"] not in defective
    }
    in_core = {row[0] for row in fetch(dsn, "SELECT ma_ho_so FROM core.fact_dossier")}
    assert in_core == expected


def test_deleted_dossiers_are_tombstoned_not_in_the_facts(pipeline, province):
    dsn, _ = pipeline
    deleted = {
        r["MaHoSo"]
        for r in source_dossiers_in_window(province)
        if str(r.get("DaXoa")) == "1" and r["MaHoSo"] not in province.truth.defects
    }
    assert deleted, "the simulator plants deleted dossiers"
    tombstones = {row[0] for row in fetch(dsn, "SELECT ma_ho_so FROM core.dossier_tombstone")}
    assert deleted <= tombstones
    assert not deleted & {row[0] for row in fetch(dsn, "SELECT ma_ho_so FROM core.fact_dossier")}


def test_every_batch_balances_its_books(pipeline):
    dsn, _ = pipeline
    audits = fetch(
        dsn,
        """SELECT b.batch_id, b.record_count, a.extracted, a.loaded, a.quarantined, b.status
                           FROM raw.batch b LEFT JOIN quality.run_audit a USING (batch_id)""",
    )
    assert audits
    for batch_id, record_count, extracted, loaded, quarantined, status in audits:
        assert status == "loaded", batch_id
        assert extracted == record_count == loaded + quarantined, batch_id


def test_each_planted_defect_is_quarantined_under_its_rule(pipeline, province):
    dsn, _ = pipeline
    window_codes = {r.get("MaHoSo") for r in source_dossiers_in_window(province)}
    quarantined = {
        (key, rule)
        for key, rule in fetch(
            dsn, "SELECT record_key, rule FROM quality.quarantine WHERE entity = 'dossier'"
        )
    }
    planted = {code: d for code, d in province.truth.defects.items() if code in window_codes}
    assert {d["rule"] for d in planted.values()} >= set(defects.RULES) - {"dossier_code_present"}
    missed = {code: d["kind"] for code, d in planted.items() if (code, d["rule"]) not in quarantined}
    assert not missed, f"defects not quarantined under their rule: {missed}"


@pytest.mark.parametrize("district", DISTRICTS)
def test_indicators_equal_the_simulators_ground_truth(pipeline, province, district):
    dsn, _ = pipeline
    cells = [
        ("RECEIVED", "year", date(2023, 1, 1), date(2024, 1, 1)),
        ("FINISHED", "year", date(2023, 1, 1), date(2024, 1, 1)),
        ("ON_TIME_FINISHED", "year", date(2023, 1, 1), date(2024, 1, 1)),
        ("ON_TIME_FINISHED", "quarter", date(2023, 10, 1), date(2024, 1, 1)),
        ("RESULT_DIGITIZED", "half", date(2024, 1, 1), date(2024, 7, 1)),
        ("ONLINE_PAYMENT", "half", date(2024, 1, 1), date(2024, 7, 1)),
        ("ONLINE_PAYMENT", "month", date(2024, 3, 1), date(2024, 4, 1)),
    ]
    for code, period_type, start, end in cells:
        row = fetch(
            dsn,
            """SELECT numerator, denominator FROM mart.indicator_value
                            WHERE indicator_code = %s AND period_type = %s AND period_start = %s
                              AND unit_code = %s AND unit_scheme = 'as_recorded'""",
            (code, period_type, start, district),
        )
        assert row, (code, period_type, start, district)
        numerator, denominator = row[0]
        expected = province.truth.indicator(code, district, start, end)
        assert (numerator, denominator) == expected, (code, period_type, start)


def stored_phrases(dsn: str) -> set[str]:
    """Every string stored in raw, quarantine and the dossier facts, with its words and word runs:
    a personal value leaks if it is a stored value or a phrase inside one."""
    phrases: set[str] = set()
    with psycopg.connect(dsn) as conn:
        rows = conn.execute("""
            SELECT value FROM (
                SELECT jsonb_path_query(payload, 'strict $.**') #>> '{}' AS value FROM raw.record
                UNION SELECT jsonb_path_query(payload, 'strict $.**') #>> '{}' FROM quality.quarantine
                UNION SELECT jsonb_path_query(to_jsonb(f), 'strict $.**') #>> '{}' FROM core.fact_dossier f
                UNION SELECT jsonb_path_query(to_jsonb(s), 'strict $.**') #>> '{}' FROM core.dossier_step s
            ) AS stored WHERE value IS NOT NULL""")
        for (value,) in rows:
            words = value.split()
            phrases.add(value)
            for size in range(1, min(len(words), 8) + 1):
                for start in range(len(words) - size + 1):
                    phrases.add(" ".join(words[start : start + size]).strip(",.;:()"))
    return phrases


def test_no_personal_value_is_stored_in_plain_text(pipeline, province):
    dsn, _ = pipeline
    stored = stored_phrases(dsn)
    leaked = [value for value in set(province.truth.personal_values()) if len(value) >= 6 and value in stored]
    assert not leaked, f"{len(leaked)} personal values stored in plain text, e.g. {leaked[:3]}"


def test_running_the_window_again_changes_nothing_in_core(pipeline, run_dag):
    dsn, source = pipeline
    snapshot = """SELECT md5(string_agg(f::text, '' ORDER BY ma_ho_so)) FROM core.fact_dossier f"""
    before = fetch(dsn, snapshot)
    run_dag("tthc_dossiers", source=source, warehouse_dsn=dsn, conf=WINDOW)
    assert fetch(dsn, snapshot) == before
    unchanged = fetch(
        dsn,
        """SELECT sum(loaded), sum(unchanged) FROM quality.run_audit
                              WHERE batch_id IN (
                                  SELECT batch_id FROM raw.batch WHERE airflow_run_id = (
                                      SELECT airflow_run_id FROM raw.batch WHERE entity = 'dossier'
                                      ORDER BY batch_id DESC LIMIT 1))""",
    )
    loaded, unchanged_count = unchanged[0]
    assert loaded == unchanged_count, "a re-run of the same window must write nothing"
