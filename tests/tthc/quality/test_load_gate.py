"""The gate inside ``load_batch`` on a real PostgreSQL, without Airflow: batch rules stop a batch
before core, records waiting for reference data are retried, warnings are kept, the mart is checked.
Records come from the simulator (its ground truth says which are clean)."""

from __future__ import annotations

import copy
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import psycopg
import pytest
from quality_helpers import fetch, land, load_reference_directly

from simulator.generator import SimulationConfig, build_province
from tthc.load import BatchRejectedError, load_batch

pytestmark = [pytest.mark.integration]
TZ = ZoneInfo("Asia/Ho_Chi_Minh")
# Mondays 09:00-10:00: four weeks of one hourly slot.
SLOTS = [datetime(2024, 6, 3, 9, tzinfo=TZ) + timedelta(weeks=k) for k in range(4)]


@pytest.fixture(scope="module")
def province():
    return build_province(SimulationConfig(dossiers_per_year=20_000))


@pytest.fixture(scope="module")
def clean(province):
    """Clean, live dossiers last updated before June 2024 (so no date lies after the windows)."""
    defective = set(province.truth.defects)
    return [
        r
        for r in province.iter_dossiers()
        if r.get("MaHoSo")
        and r["MaHoSo"] not in defective
        and str(r.get("DaXoa")) != "1"
        and str(r.get("NgayCapNhat") or "")[:8].replace("-", "") < "20240601"
    ]


@pytest.fixture
def dsn(make_database, province, request):
    dsn = make_database("gate_" + request.node.name[5:30].lower())
    load_reference_directly(dsn, province)
    return dsn


def window(start: datetime) -> tuple[datetime, datetime]:
    return start, start + timedelta(hours=1)


def test_a_clean_batch_loads_and_keeps_its_evidence(dsn, clean):
    audit = load_batch(land(dsn, "dossier", clean[:300], window=window(SLOTS[0])), dsn=dsn)
    assert audit.extracted == audit.loaded + audit.quarantined == 300
    assert audit.quarantined == 0, audit.failing_rules
    suites = {
        row[0]
        for row in fetch(
            dsn, "SELECT suite FROM quality.validation_result WHERE batch_id = %s", (audit.batch_id,)
        )
    }
    assert suites == {"dossier.raw", "dossier.staging", "dossier.core"}
    rules = dict(
        fetch(
            dsn, "SELECT rule, passed FROM quality.batch_rule_result WHERE batch_id = %s", (audit.batch_id,)
        )
    )
    assert set(rules) == {"quarantined_share", "volume", "unit_stopped", "column_emptied"}
    assert all(rules.values())
    assert set(audit.warnings) <= {"due_date_matches_time_limit", "late_has_apology"}
    warned = fetch(dsn, "SELECT count(*) FROM quality.warning WHERE batch_id = %s", (audit.batch_id,))[0][0]
    assert warned == sum(audit.warnings.values())


def _rejected(dsn: str, batch_id: int, rule: str):
    status, reason = fetch(
        dsn, "SELECT status, status_reason FROM raw.batch WHERE batch_id = %s", (batch_id,)
    )[0]
    assert status == "rejected" and rule in reason
    assert fetch(dsn, "SELECT count(*) FROM core.fact_dossier WHERE batch_id = %s", (batch_id,))[0][0] == 0
    assert fetch(dsn, "SELECT count(*) FROM quality.quarantine WHERE batch_id = %s", (batch_id,))[0][0] == 0
    assert fetch(dsn, "SELECT count(*) FROM quality.run_audit WHERE batch_id = %s", (batch_id,))[0][0] == 0
    assert fetch(
        dsn,
        """SELECT passed FROM quality.batch_rule_result WHERE batch_id = %s AND rule = %s""",
        (batch_id, rule),
    ) == [(False,)]


def test_too_many_quarantined_records_reject_the_batch_before_core(dsn, clean):
    records = copy.deepcopy(clean[:100])
    for record in records[:30]:
        record["TrangThaiHoSo"] = 0
    batch_id = land(dsn, "dossier", records, window=window(SLOTS[0]))
    with pytest.raises(BatchRejectedError) as error:
        load_batch(batch_id, dsn=dsn)
    _rejected(dsn, batch_id, "quarantined_share")
    text = "\n".join(error.value.alert_lines)
    assert "status_in_domain: 30" in text and "Data Docs: file://" in text


def test_volume_far_below_the_same_hour_of_past_weeks_rejects(dsn, clean):
    for k, slot in enumerate(SLOTS[:3]):
        load_batch(land(dsn, "dossier", clean[k * 60 : (k + 1) * 60], window=window(slot)), dsn=dsn)
    batch_id = land(dsn, "dossier", clean[200:205], window=window(SLOTS[3]))
    with pytest.raises(BatchRejectedError):
        load_batch(batch_id, dsn=dsn)
    _rejected(dsn, batch_id, "volume")


def test_a_unit_that_stopped_sending_rejects(dsn, clean):
    unit = "H35.S01"
    ours = [r for r in clean if r["MaDonViTiepNhan"] == unit]
    others = [r for r in clean if r["MaDonViTiepNhan"] != unit]
    assert len(ours) >= 36
    for k, slot in enumerate(SLOTS[:3]):
        load_batch(
            land(
                dsn,
                "dossier",
                ours[k * 12 : (k + 1) * 12] + others[k * 40 : (k + 1) * 40],
                window=window(slot),
            ),
            dsn=dsn,
        )
    batch_id = land(dsn, "dossier", others[200:250], window=window(SLOTS[3]))
    with pytest.raises(BatchRejectedError) as error:
        load_batch(batch_id, dsn=dsn)
    _rejected(dsn, batch_id, "unit_stopped")
    assert unit in str(error.value)


def test_a_column_that_became_empty_rejects(dsn, clean):
    for k, slot in enumerate(SLOTS[:3]):
        load_batch(land(dsn, "dossier", clean[k * 40 : (k + 1) * 40], window=window(slot)), dsn=dsn)
    records = copy.deepcopy(clean[150:190])
    for record in records:
        record["TrichYeuHoSo"] = ""
    batch_id = land(dsn, "dossier", records, window=window(SLOTS[3]))
    with pytest.raises(BatchRejectedError) as error:
        load_batch(batch_id, dsn=dsn)
    _rejected(dsn, batch_id, "column_emptied")
    assert "summary_token" in str(error.value)


def test_records_waiting_for_a_unit_are_retried_after_the_reference_load(dsn, clean, province):
    from tthc.load.retry import retry_waiting

    unit = "H35.S02"
    with psycopg.connect(dsn) as conn:  # the unit is not known yet
        conn.execute("DELETE FROM core.dim_unit WHERE unit_code = %s", (unit,))
    waiting = [r for r in clean if r["MaDonViXuLy"] == unit][:5]
    batch_id = land(
        dsn, "dossier", waiting + [r for r in clean if r["MaDonViXuLy"] != unit][:60], window=window(SLOTS[0])
    )
    audit = load_batch(batch_id, dsn=dsn)
    assert audit.quarantined == len(waiting) and audit.failing_rules == {"unit_known": len(waiting)}
    assert retry_waiting(dsn) is None, "nothing is retried while the unit is still unknown"

    load_batch(land(dsn, "unit", province.units), dsn=dsn)  # the next reference load brings it
    retried = retry_waiting(dsn)
    assert retried["extracted"] == retried["loaded"] == len(waiting) and retried["quarantined"] == 0
    rows = fetch(
        dsn,
        """SELECT resolved_at IS NOT NULL, resolved_batch_id, resolution FROM quality.quarantine
                         WHERE batch_id = %s""",
        (batch_id,),
    )
    assert rows and all(r == (True, retried["batch_id"], "loaded_later") for r in rows)
    codes = {r["MaHoSo"] for r in waiting}
    assert {
        row[0]
        for row in fetch(
            dsn, "SELECT ma_ho_so FROM core.fact_dossier WHERE ma_ho_so = ANY(%s)", (list(codes),)
        )
    } == codes
    assert fetch(dsn, "SELECT endpoint FROM raw.batch WHERE batch_id = %s", (retried["batch_id"],)) == [
        ("quality:retry",)
    ]


def test_a_corrected_record_resolves_its_quarantine_row(dsn, clean):
    record = copy.deepcopy(clean[0])
    broken = {**record, "TrangThaiHoSo": 11}
    first = land(dsn, "dossier", [broken] + clean[1:40], window=window(SLOTS[0]))
    load_batch(first, dsn=dsn)
    second = land(dsn, "dossier", [record] + clean[41:80], window=window(SLOTS[1]))
    load_batch(second, dsn=dsn)
    assert fetch(
        dsn, "SELECT resolved_batch_id, resolution FROM quality.quarantine WHERE batch_id = %s", (first,)
    ) == [(second, "loaded_later")]


def test_check_mart_fails_on_a_ratio_above_one(dsn):
    from tthc.quality.alerts import MartInvariantError
    from tthc.quality.mart import check_mart

    assert check_mart(dsn)["success"]
    with psycopg.connect(dsn) as conn:
        conn.execute("""INSERT INTO mart.indicator_value (period_type, period_start, unit_code, unit_scheme,
                            indicator_code, numerator, denominator, ratio)
                        VALUES ('month', '2024-01-01', 'H35', 'as_recorded', 'ON_TIME_FINISHED', 3, 2, 1.5)""")
    with pytest.raises(MartInvariantError) as error:
        check_mart(dsn)
    assert "mart_ratio_in_unit_interval" in str(error.value)
    stored = fetch(
        dsn,
        "SELECT success, data_docs_url FROM quality.validation_result WHERE suite = 'mart' "
        "ORDER BY validation_id DESC LIMIT 1",
    )[0]
    assert stored[0] is False and stored[1].startswith("file://")


def test_the_core_checks_find_each_broken_invariant(dsn, clean):
    """dossier.core runs after every merge, which guarantees its invariants: only a core broken on
    purpose shows that each check finds what it is there for, and nothing else."""
    from tthc.quality.gx_runner import validate_table
    from tthc.quality.suites import load_suite

    batch_id = load_batch(land(dsn, "dossier", clean[:300], window=window(SLOTS[0])), dsn=dsn).batch_id
    suite = load_suite("dossier.core")
    assert validate_table(suite, dsn, batch_id).success
    with psycopg.connect(dsn) as conn:
        (judged,) = conn.execute(
            "SELECT ma_ho_so FROM core.fact_dossier WHERE batch_id = %s AND timeliness IS NOT NULL "
            "ORDER BY ma_ho_so LIMIT 1",
            (batch_id,),
        ).fetchone()
        tombstoned, tombstoned_id, children = conn.execute(
            """SELECT fact.ma_ho_so, fact.dossier_id, count(*) FROM core.fact_dossier AS fact
               JOIN core.dossier_step AS step USING (dossier_id)
               WHERE fact.batch_id = %s AND fact.ma_ho_so <> %s
               GROUP BY 1, 2 ORDER BY 1 LIMIT 1""",
            (batch_id, judged),
        ).fetchone()
        (miscounted,) = conn.execute(
            "SELECT ma_ho_so FROM core.fact_dossier WHERE batch_id = %s AND ma_ho_so NOT IN "
            "(%s, %s) ORDER BY ma_ho_so LIMIT 1",
            (batch_id, judged, tombstoned),
        ).fetchone()
        conn.execute("UPDATE core.fact_dossier SET finished_at = NULL WHERE ma_ho_so = %s", (judged,))
        conn.execute(
            "INSERT INTO core.dossier_tombstone (ma_ho_so, source_updated_at, batch_id, dossier_id) "
            "VALUES (%s, now(), %s, %s)",
            (tombstoned, batch_id, tombstoned_id),
        )
        conn.execute(
            "UPDATE core.fact_dossier SET supplement_count = supplement_count + 1 WHERE ma_ho_so = %s",
            (miscounted,),
        )
        other_children = conn.execute(
            """SELECT (SELECT count(*) FROM core.dossier_document WHERE dossier_id = %(id)s)
                    + (SELECT count(*) FROM core.dossier_fee WHERE dossier_id = %(id)s)
                    + (SELECT count(*) FROM core.dossier_result WHERE dossier_id = %(id)s)
                    + (SELECT count(*) FROM core.dossier_supplement WHERE dossier_id = %(id)s)""",
            {"id": tombstoned_id},
        ).fetchone()[0]
    validation = validate_table(suite, dsn, batch_id)
    assert validation.failing_rules() == {
        "core_timeliness_only_when_judged": 1,
        "core_no_tombstoned_fact": 1,
        "core_children_reference_live_facts": children + other_children,
        "core_supplement_count_matches": 1,
    }
