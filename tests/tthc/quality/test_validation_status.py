"""Warnings do not fail a batch: a staged batch whose only findings are warning rules' rows has
passed with warnings (GX's result, its Data Docs page and ``quality.validation_result``), one with a
quarantine finding has failed, a clean one has passed. Records come from the simulator; which of
them a warning rule judges is what the warehouse's own rules say about them (a probe load)."""

from __future__ import annotations

import copy
import json
import re
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import psycopg
import pytest
from quality_helpers import fetch, land, load_reference_directly

from simulator.generator import SimulationConfig, build_province
from simulator.store import parse_source_instant
from tthc import PROJECT_ROOT
from tthc.load import load_batch
from tthc.quality.gx_runner import _configured_severity

pytestmark = [pytest.mark.integration]
TZ = ZoneInfo("Asia/Ho_Chi_Minh")
WINDOW = (datetime(2024, 6, 3, 9, tzinfo=TZ), datetime(2024, 6, 3, 10, tzinfo=TZ))
PROBE = 200
LATE_PROBE = 40


@pytest.fixture(scope="module")
def province():
    return build_province(SimulationConfig(dossiers_per_year=20_000))


@pytest.fixture(scope="module")
def clean(province):
    """Clean, live dossiers last updated before June 2024 (so no date lies after the window)."""
    defective = set(province.truth.defects)
    return [
        r
        for r in province.iter_dossiers()
        if r.get("MaHoSo")
        and r["MaHoSo"] not in defective
        and str(r.get("DaXoa")) != "1"
        and str(r.get("NgayCapNhat") or "")[:8].replace("-", "") < "20240601"
    ]


@pytest.fixture(scope="module")
def probed(clean, province, make_database) -> tuple[list[dict], dict[str, set[str]]]:
    """Some clean records, and MaHoSo -> the warning rules that judge it, from loading them once.
    Besides the first ones, some that ended late without an apology slip (by a rough reading: that
    they break ``late_has_apology`` and nothing else is for the rules to say)."""
    late = [r for r in clean if str(r.get("CoPhieuXinLoi")) != "1" and _ended_late(r)]
    records = list({r["MaHoSo"]: r for r in clean[:PROBE] + late[:LATE_PROBE]}.values())
    dsn = make_database("status_probe")
    load_reference_directly(dsn, province)
    audit = load_batch(land(dsn, "dossier", records, window=WINDOW), dsn=dsn)
    assert audit.quarantined == 0, audit.failing_rules
    rules: dict[str, set[str]] = {}
    for code, rule in fetch(dsn, "SELECT record_key, rule FROM quality.warning"):
        rules.setdefault(code, set()).add(rule)
    return records, rules


def _ended_late(record: dict) -> bool:
    end, due = (parse_source_instant(record.get(f)) for f in ("NgayKetThucXuLy", "NgayHenTra"))
    if end is None or due is None:
        return False
    supplements = record.get("DanhSachHoSoBoSung") or []
    pause = sum(
        (
            received - requested
            for s in supplements
            if (requested := parse_source_instant(s.get("NgayBoSung"))) is not None
            and (received := parse_source_instant(s.get("NgayTiepNhanBoSung"))) is not None
        ),
        timedelta(0),
    )
    return len(supplements) > 1 or end - pause > due


@pytest.fixture
def quiet(probed) -> list[dict]:
    """Clean records no rule at all finds anything in."""
    records = [r for r in probed[0] if r["MaHoSo"] not in probed[1]]
    assert len(records) >= 41
    return records


@pytest.fixture
def late_without_apology(probed) -> dict:
    """A clean record that finished late without an apology slip, and breaks no other rule."""
    late = [r for r in probed[0] if probed[1].get(r["MaHoSo"]) == {"late_has_apology"}]
    assert late, "the simulator finishes some dossiers late without an apology slip"
    assert str(late[0]["CoPhieuXinLoi"]) != "1"
    return late[0]


@pytest.fixture
def dsn(make_database, province, request, tmp_path, monkeypatch):
    monkeypatch.setenv("TTHC_DATA_DOCS_DIR", str(tmp_path / "data_docs"))
    dsn = make_database("status_" + request.node.name[5:30].lower())
    load_reference_directly(dsn, province)
    return dsn


def verdicts(dsn: str, batch_id: int) -> dict[str, tuple]:
    """suite -> (success, status, the verdict in the stored GX result, Data Docs URL)."""
    rows = fetch(
        dsn,
        "SELECT suite, success, status, (results ->> 'success')::boolean, data_docs_url "
        "FROM quality.validation_result WHERE batch_id = %s",
        (batch_id,),
    )
    return {suite: tuple(rest) for suite, *rest in rows}


def page_text(url: str) -> str:
    """A Data Docs page's text, without its markup."""
    page = Path(url.removeprefix("file://")).read_text(encoding="utf-8")
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))


def test_a_batch_whose_only_finding_is_a_late_dossier_without_apology_passes_with_warnings(
    dsn, quiet, late_without_apology
):
    records = [*quiet[:40], late_without_apology]
    audit = load_batch(land(dsn, "dossier", records, window=WINDOW), dsn=dsn)
    assert audit.extracted == audit.loaded == 41 and audit.quarantined == 0
    assert audit.failing_rules == {} and audit.warnings == {"late_has_apology": 1}
    assert fetch(
        dsn, "SELECT record_key, rule FROM quality.warning WHERE batch_id = %s", (audit.batch_id,)
    ) == [(late_without_apology["MaHoSo"], "late_has_apology")]
    assert fetch(dsn, "SELECT count(*) FROM quality.quarantine")[0][0] == 0
    assert fetch(
        dsn, "SELECT count(*) FROM core.fact_dossier WHERE ma_ho_so = %s", (late_without_apology["MaHoSo"],)
    ) == [(1,)]

    found = verdicts(dsn, audit.batch_id)
    assert {suite: v[:3] for suite, v in found.items()} == {
        "dossier.raw": (True, "passed", True),
        "dossier.staging": (True, "passed_with_warnings", True),
        "dossier.core": (True, "passed", True),
    }
    # The warning expectation is still there, failed, as a warning.
    (results,) = fetch(
        dsn,
        "SELECT results FROM quality.validation_result WHERE batch_id = %s AND suite = 'dossier.staging'",
        (audit.batch_id,),
    )[0]
    failed = [
        (
            r["expectation_config"]["meta"]["rule"],
            r["expectation_config"]["severity"],
            r["result"]["observed_value"],
        )
        for r in results["results"]
        if not r["success"]
    ]
    assert failed == [("late_has_apology", "warning", 1)]

    # Data Docs shows the suite as passed, with the warning expectation on its page.
    page = page_text(found["dossier.staging"][3])
    assert "Status: Succeeded" in page
    assert (
        "Warning: a dossier finished late (the timeliness rule of the merge) without an apology slip" in page
    )


def test_a_batch_with_a_quarantined_record_fails(dsn, quiet):
    broken = {**copy.deepcopy(quiet[40]), "TrangThaiHoSo": 11}
    audit = load_batch(land(dsn, "dossier", [*quiet[:40], broken], window=WINDOW), dsn=dsn)
    assert audit.quarantined == 1 and audit.failing_rules == {"status_in_domain": 1}
    found = verdicts(dsn, audit.batch_id)
    assert found["dossier.staging"][:3] == (False, "failed", False)
    assert found["dossier.core"][:3] == (True, "passed", True)
    assert "Status: Failed" in page_text(found["dossier.staging"][3])


def test_a_clean_batch_passes(dsn, quiet):
    audit = load_batch(land(dsn, "dossier", quiet[:40], window=WINDOW), dsn=dsn)
    assert audit.quarantined == 0 and audit.warnings == {}
    assert {suite: v[:3] for suite, v in verdicts(dsn, audit.batch_id).items()} == {
        suite: (True, "passed", True) for suite in ("dossier.raw", "dossier.staging", "dossier.core")
    }


def test_validations_kept_before_the_status_get_one(make_database):
    """V008 on results kept before it: a run failed only by warning rules passed with warnings
    (success and the stored verdict become true), other runs keep their success."""

    def result(*failed: dict) -> dict:
        return {
            "success": not failed,
            "results": [
                {"success": True, "expectation_config": {"meta": {"rule": "ok"}, "severity": "critical"}},
                *failed,
            ],
        }

    warning = {
        "success": False,
        "expectation_config": {"meta": {"rule": "w", "warning": True}, "severity": "critical"},
    }
    critical = {"success": False, "expectation_config": {"meta": {"rule": "q", "quarantine": True}}}
    raised = {**warning, "exception_info": {"raised_exception": True}}
    kept = {
        "clean": result(),
        "warnings_only": result(warning),
        "critical": result(warning, critical),
        "warning_raised": result(raised),
    }
    migration = (PROJECT_ROOT / "include/sql/schema/V008__validation_status.sql").read_text()
    with psycopg.connect(make_database("status_backfill")) as conn:
        conn.execute(
            "ALTER TABLE quality.validation_result DROP CONSTRAINT validation_result_status_known, "
            "DROP CONSTRAINT validation_result_success_is_no_failure, DROP COLUMN status"
        )
        for suite, results in kept.items():
            conn.execute(
                "INSERT INTO quality.validation_result (suite, success, statistics, results) VALUES (%s, %s, '{}', %s)",
                (suite, results["success"], json.dumps(results)),
            )
        conn.execute(migration)
        rows = conn.execute(
            "SELECT suite, success, status, (results ->> 'success')::boolean FROM quality.validation_result"
        ).fetchall()
    assert {suite: tuple(rest) for suite, *rest in rows} == {
        "clean": (True, "passed", True),
        "warnings_only": (True, "passed_with_warnings", True),
        "critical": (False, "failed", False),
        "warning_raised": (False, "failed", False),
    }


def test_a_severity_must_agree_with_the_rule_kind():
    warning = {"type": "unexpected_rows_expectation", "meta": {"rule": "w", "warning": True}}
    quarantine = {"type": "unexpected_rows_expectation", "meta": {"rule": "q", "quarantine": True}}
    assert _configured_severity("s", warning) == "warning"
    assert _configured_severity("s", {**warning, "severity": "info"}) == "info"
    assert _configured_severity("s", quarantine) == "critical"
    with pytest.raises(ValueError, match="suite s, rule w: severity 'critical'"):
        _configured_severity("s", {**warning, "severity": "critical"})
    with pytest.raises(ValueError, match="rule q: severity 'warning'"):
        _configured_severity("s", {**quarantine, "severity": "warning"})


def test_every_suite_gives_its_warning_rules_severity_warning():
    for path in sorted((PROJECT_ROOT / "expectations").glob("*.json")):
        suite = json.loads(path.read_text(encoding="utf-8"))
        for expectation in suite["expectations"]:
            expected = "warning" if expectation.get("meta", {}).get("warning") else "critical"
            assert expectation.get("severity", "critical") == expected, (path.name, expectation.get("meta"))
