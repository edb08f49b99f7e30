"""Form 06/VPCP/KSTT and the watchlist (issue 24, docs/indicators.md) against the simulator's ground
truth (simulator/truth.py: ``GroundTruth.form_06`` and ``watchlist_at``, an independent numpy
implementation of the issue's definitions) for a province loaded through the real pipeline for
2023 and 2024: every cell of ``mart.form_06`` as recorded (every unit, every field and the total
row, calendar months, quarters, halves and years, and the statutory windows inside the loaded data)
and ``mart.watchlist_at`` at several instants."""

from __future__ import annotations

import unicodedata
from datetime import date, datetime
from zoneinfo import ZoneInfo

import psycopg
import pytest
from pipeline_support import SMALL_VOLUME, run_pipeline_dags, simulated_source

from simulator import defects
from simulator.generator import SimulationConfig, build_province
from simulator.truth import FORM_06_COLUMNS
from tthc import indicators, warehouse

pytestmark = [pytest.mark.integration, pytest.mark.slow]

LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")
WINDOW = {"start": "2023-01-01", "end": "2025-01-01"}
FIRST, LAST_EXCLUSIVE = (date.fromisoformat(WINDOW[k]) for k in ("start", "end"))
INSTANTS = [  # local time
    datetime(2023, 6, 15, 7, 0),
    datetime(2023, 11, 20, 9, 45),
    datetime(2024, 3, 1, 0, 0),
    datetime(2024, 6, 28, 16, 30),
    datetime(2024, 10, 15, 14, 5),
    datetime(2024, 12, 31, 23, 59),
]
MONTHS = {"month": 1, "quarter": 3, "half": 6, "year": 12}
STATUTORY_CUTOFF = 14  # Decree 09/2019/NĐ-CP: data up to the 14th of a period's last month


def add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, day.day)


def expected_window(kind: str, period_type: str, start: date) -> tuple[date, date]:
    """The data window of a period: calendar = the period; statutory = from the day after the
    cut-off in the month before the period to the cut-off day of its last month, inclusive."""
    end = add_months(start, MONTHS[period_type])
    if kind == "calendar":
        return start, end
    return (
        add_months(start, -1).replace(day=STATUTORY_CUTOFF + 1),
        add_months(end, -1).replace(day=STATUTORY_CUTOFF + 1),
    )


def expected_periods() -> set[tuple[str, str, date]]:
    """Calendar periods of 2023 and 2024, and the statutory ones (months, quarters, halves, years)
    whose window lies inside the loaded data."""
    periods = set()
    for period_type, months in MONTHS.items():
        for year in (2023, 2024, 2025):
            for month in range(1, 13, months):
                start = date(year, month, 1)
                for kind in ("calendar", "statutory"):
                    window_start, window_end = expected_window(kind, period_type, start)
                    if window_start >= FIRST and window_end <= LAST_EXCLUSIVE:
                        periods.add((kind, period_type, start))
    return periods


@pytest.fixture(scope="module")
def province():
    return build_province(
        SimulationConfig(
            now=datetime(2025, 1, 1),
            dossiers_per_year=SMALL_VOLUME,
            defect_shares={rule: 0.002 for rule in defects.RULES},
        )
    )


@pytest.fixture(scope="module")
def loaded(province, make_database, run_dag):
    dsn = make_database("worklists_truth")
    with simulated_source(province) as (_, source):
        run_pipeline_dags(run_dag, source, dsn, WINDOW, ("tthc_reference", "tthc_dossiers"))
    with warehouse.connect(dsn=dsn) as conn:
        indicators.refresh(conn, FIRST, LAST_EXCLUSIVE)
    return dsn


@pytest.fixture(scope="module")
def form_rows(loaded):
    with psycopg.connect(loaded) as conn:
        cursor = conn.execute(
            f"""SELECT period_kind, period_type, period_start, window_start, window_end, unit_code,
                       field_code, {", ".join(FORM_06_COLUMNS)}
                FROM mart.form_06 WHERE unit_scheme = 'as_recorded'"""
        )
        names = [c.name for c in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor]


def test_form_06_has_every_period(form_rows):
    found = {(r["period_kind"], r["period_type"], r["period_start"]) for r in form_rows}
    assert expected_periods() <= found, sorted(expected_periods() - found)
    windows = {
        (r["period_kind"], r["period_type"], r["period_start"], r["window_start"], r["window_end"])
        for r in form_rows
    }
    wrong = [w for w in windows if w[3:] != expected_window(*w[:3])]
    assert not wrong


def test_every_cell_of_form_06_equals_the_ground_truth(form_rows, province):
    truth = province.truth
    periods = expected_periods()
    compared, mismatches, keys = 0, [], set()
    for row in form_rows:
        period = (row["period_kind"], row["period_type"], row["period_start"])
        if period not in periods:
            continue
        keys.add((*period, row["unit_code"], row["field_code"]))
        expected = truth.form_06(row["unit_code"], row["window_start"], row["window_end"], row["field_code"])
        found = {name: row[name] for name in FORM_06_COLUMNS}
        assert expected["received_total"] == expected["finished_total"] + expected["in_progress_total"]
        compared += 1
        if found != expected:
            diff = {
                name: (found[name], expected[name])
                for name in FORM_06_COLUMNS
                if found[name] != expected[name]
            }
            mismatches.append((*period, row["unit_code"], row["field_code"], diff))
    # and no row the truth has is missing: every unit and field with a non-zero count
    missing = []
    units = [u["MaDonVi"] for u in truth._units]
    for period in sorted(periods):
        window = expected_window(*period)
        for unit in units:
            for field in [None, *truth.field_codes]:
                if (*period, unit, field) in keys:
                    continue
                counts = truth.form_06(unit, *window, field)
                if any(counts.values()):
                    missing.append((*period, unit, field, counts))
    assert compared > 10_000
    assert not mismatches, f"{len(mismatches)} of {compared} rows differ (found, expected): {mismatches[:20]}"
    assert not missing, f"{len(missing)} rows missing: {missing[:20]}"


def _watchlist(dsn: str, at: datetime) -> dict[str, dict]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            """SELECT ma_ho_so, unit_code, category, due_at, hours_left, office
               FROM mart.watchlist_at(%s)""",
            (at.replace(tzinfo=LOCAL),),
        ).fetchall()
    found = {}
    for code, unit, category, due_at, hours_left, office in rows:
        assert code not in found, code
        found[code] = {
            "unit_code": unit,
            "category": category,
            "due_at": None if due_at is None else due_at.astimezone(LOCAL).replace(tzinfo=None),
            "hours_left": hours_left,
            "office": office and unicodedata.normalize("NFC", office),
        }
    return found


@pytest.mark.parametrize(
    "at",
    [pytest.param(at, id=at.strftime("%Y-%m-%dT%H:%M")) for at in INSTANTS],
)
def test_watchlist_at_equals_the_ground_truth(loaded, province, at):
    expected = province.truth.watchlist_at(at)
    for entry in expected.values():
        entry["office"] = entry["office"] and unicodedata.normalize("NFC", entry["office"])
    found = _watchlist(loaded, at)
    assert expected, "no dossier on the truth's watchlist: pick another instant"
    only_found = sorted(set(found) - set(expected))
    only_expected = sorted(set(expected) - set(found))
    differ = {
        code: (found[code], expected[code])
        for code in set(found) & set(expected)
        if found[code] != expected[code]
    }
    assert not (only_found or only_expected or differ), {
        "only in mart.watchlist_at": {c: found[c] for c in only_found[:10]},
        "only in the truth": {c: expected[c] for c in only_expected[:10]},
        "differ (found, expected)": dict(sorted(differ.items())[:10]),
        "counts": (len(found), len(expected), len(only_found), len(only_expected), len(differ)),
    }


def test_watchlist_covers_every_category_and_office_kind(province):
    """The instants exercise the definitions: every category, desk and department offices."""
    entries = [e for at in INSTANTS for e in province.truth.watchlist_at(at).values()]
    assert {e["category"] for e in entries} == {"overdue", "waiting_supplement", "due_24h", "due_72h"}
    offices = {e["office"] for e in entries}
    assert any(o.startswith("Bộ phận tiếp nhận") or o == "Bộ phận Một cửa" for o in offices)
    assert any(o.startswith("Phòng ") for o in offices)
