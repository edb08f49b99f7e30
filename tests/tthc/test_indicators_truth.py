"""The indicator SQL against the simulator's ground truth (simulator/truth.py, an independent
numpy implementation of docs/indicators.md) for a province loaded through the real pipeline, and the
planted figures of docs/architecture.md."""

from __future__ import annotations

from datetime import date

import psycopg
import pytest
from pipeline_support import SMALL_VOLUME, run_pipeline_dags, simulated_source

from simulator import defects
from simulator.generator import SimulationConfig, build_province
from tthc import indicators, warehouse

pytestmark = [pytest.mark.integration, pytest.mark.slow]

WINDOW = {"start": "2023-01-01", "end": "2024-07-01"}
UNITS = ["H35.112", "H35.105", "H35.108", "H35", "H35.S03", "H35.112.03434"]
PERIODS = [
    ("year", date(2023, 1, 1), date(2024, 1, 1)),
    ("half", date(2024, 1, 1), date(2024, 7, 1)),
    ("quarter", date(2023, 10, 1), date(2024, 1, 1)),
    ("month", date(2024, 3, 1), date(2024, 4, 1)),
]


@pytest.fixture(scope="module")
def province():
    return build_province(
        SimulationConfig(
            dossiers_per_year=SMALL_VOLUME, defect_shares={rule: 0.002 for rule in defects.RULES}
        )
    )


@pytest.fixture(scope="module")
def loaded(province, make_database, run_dag):
    dsn = make_database("indicators_truth")
    with simulated_source(province) as (_, source):
        run_pipeline_dags(run_dag, source, dsn, WINDOW, ("tthc_reference", "tthc_dossiers", "tthc_feedback"))
    # the refresh itself, as the tthc_indicators DAG calls it (without that DAG's other checks)
    with warehouse.connect(dsn=dsn) as conn:
        indicators.refresh(conn, date.fromisoformat(WINDOW["start"]), date.fromisoformat(WINDOW["end"]))
    return dsn


def test_every_indicator_equals_the_ground_truth(loaded, province):
    mismatches = []
    with psycopg.connect(loaded) as conn:
        for unit in UNITS:
            for period_type, start, end in PERIODS:
                rows = {
                    code: (numerator, denominator)
                    for code, numerator, denominator in conn.execute(
                        """SELECT indicator_code, numerator, denominator FROM mart.indicator_value
                       WHERE unit_code = %s AND period_type = %s AND period_start = %s
                         AND unit_scheme = 'as_recorded'""",
                        (unit, period_type, start),
                    )
                }
                for code, (numerator, denominator) in rows.items():
                    if code == "AVG_WORKING_DAYS":  # not in the simulator's truth
                        continue
                    found = (int(numerator), None if denominator is None else int(denominator))
                    expected = province.truth.indicator(code, unit, start, end)
                    if found != tuple(expected):
                        mismatches.append((unit, period_type, start, code, found, expected))
                assert len(rows) == 24, (unit, period_type, start)
    assert not mismatches


def test_planted_figures(loaded):
    with psycopg.connect(loaded) as conn:

        def ratio(code, period_type, start):
            return conn.execute(
                """SELECT round(100 * ratio, 2) FROM mart.indicator_value
                                   WHERE unit_code = 'H35.112' AND unit_scheme = 'as_recorded'
                                     AND indicator_code = %s AND period_type = %s AND period_start = %s""",
                (code, period_type, start),
            ).fetchone()[0]

        assert float(ratio("ON_TIME_FINISHED", "year", date(2023, 1, 1))) == 99.36
        assert float(ratio("RESULT_DIGITIZED", "half", date(2024, 1, 1))) == 67.60
        assert float(ratio("ONLINE_PAYMENT", "half", date(2024, 1, 1))) == 78.14
        rank = conn.execute("""SELECT rank_in_level, units_in_level FROM mart.score_766
                               WHERE unit_code = 'H35.112' AND unit_scheme = 'as_recorded'
                                 AND period_type = 'year' AND period_start = '2023-01-01'""").fetchone()
    assert rank == (7, 8)


def test_ranks_of_the_districts_agree_with_the_truth(loaded, province):
    with psycopg.connect(loaded) as conn:
        ours = [
            row[0]
            for row in conn.execute(
                """SELECT unit_code FROM mart.score_766 WHERE unit_type = 'HUYEN' AND unit_scheme = 'as_recorded'
                 AND period_type = 'year' AND period_start = '2023-01-01' ORDER BY rank_in_level"""
            )
        ]
    truth = sorted(ours, key=lambda unit: -province.truth.score_766(unit, date(2023, 1, 1), date(2024, 1, 1)))
    assert ours == truth and len(ours) == 8


def test_invariants_hold(loaded):
    with warehouse.connect(dsn=loaded) as conn:
        assert indicators.invariant_violations(conn) == []
