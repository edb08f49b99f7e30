"""mart.indicator_value, mart.score_766 and mart.rank_gap on a small warehouse built by hand in
``core`` (tests/tthc/mart_fixture.py). Every expected value is counted by hand in the comments
from the dossiers listed here, not by the code under test."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import psycopg
import pytest
from mart_fixture import (
    COMMUNE_A,
    COMMUNE_B,
    COMMUNE_C,
    DEPARTMENT,
    DISTRICT_1,
    DISTRICT_2,
    NEW_1,
    NEW_2,
    OFFICE_1,
    P_ECERT,
    P_FEE2,
    P_FREE,
    PROVINCE,
    insert_dossier,
    insert_feedback,
    insert_reference,
)

from tthc import indicators, warehouse

pytestmark = pytest.mark.integration

ALL_CODES = [
    "RECEIVED",
    "FINISHED",
    "ON_TIME_FINISHED",
    "LATE_FINISHED",
    "LATE_NO_APOLOGY",
    "NO_DUE_DATE",
    "ON_TIME_766",
    "AVG_WORKING_DAYS",
    "ONLINE_SHARE",
    "FULL_ONLINE_SHARE",
    "ONLINE_PAYMENT",
    "TTHC_WITH_FEE_DATA",
    "TTHC_PAID_ONLINE",
    "RESULT_DIGITIZED",
    "E_RESULT",
    "COMPONENT_DIGITIZED",
    "REUSE",
    "CITIZEN_STORE",
    "VNEID",
    "E_CERT_COPY",
    "SYNC_RATE",
    "PAKN_ON_TIME",
    "PAKN_SATISFACTION",
    "DOSSIER_SATISFACTION",
]


def build(conn: psycopg.Connection) -> None:
    insert_reference(conn)
    # ---- commune A, March 2024 (P_FEE: fee procedure, paper result, fully online) ----
    # d1: early (ends 7 March, promised 8 March); online, paid online, e-result, digitized,
    # reused, VNeID, synced; 3 working days (5, 6, 7 March).
    insert_dossier(
        conn,
        "d1",
        COMMUNE_A,
        channel=2,
        received_at="2024-03-04 08:00",
        due_at="2024-03-08 17:00",
        finished_at="2024-03-07 10:00",
        timeliness="early",
        has_positive_fee=True,
        online_payment=1,
        has_electronic_result=True,
        has_digitized_component=True,
        has_reused_component=True,
        vneid_verified=True,
        synced_to_portal=True,
        rating=1,
    )
    # d2: one supplement answered after 2 days: ends 10 March, adjusted 8 March 08:00 <= promised
    # 8 March 17:00, same day: on time; 3 working days (6, 7, 8 March); digitized but paper
    # procedure without e-result: not COMPONENT_DIGITIZED.
    insert_dossier(
        conn,
        "d2",
        COMMUNE_A,
        status=9,
        received_at="2024-03-05 08:00",
        due_at="2024-03-08 17:00",
        finished_at="2024-03-10 08:00",
        supplement_count=1,
        supplement_pause=timedelta(days=2),
        timeliness="on_time",
        has_positive_fee=True,
        has_digitized_component=True,
        synced_to_portal=True,
    )
    # d3: two supplements (answered, 2 days in all), done before the promised date: LATE by the
    # portal's rule; has an apology slip; online, paid on the provincial gateway, citizen store;
    # adjusted end 13 March: 2 working days (12, 13).
    insert_dossier(
        conn,
        "d3",
        COMMUNE_A,
        channel=2,
        received_at="2024-03-11 08:00",
        due_at="2024-03-20 17:00",
        finished_at="2024-03-15 08:00",
        supplement_count=2,
        supplement_pause=timedelta(days=2),
        timeliness="late",
        has_apology=True,
        has_positive_fee=True,
        online_payment=2,
        has_citizen_store_component=True,
        synced_to_portal=True,
    )
    # d4: late without apology; received Friday 8 March, ended Thursday 14 March: 4 working days
    # (11, 12, 13, 14: the weekend does not count); a PAKN is about it (f1).
    insert_dossier(
        conn,
        "d4",
        COMMUNE_A,
        received_at="2024-03-08 08:00",
        due_at="2024-03-13 17:00",
        finished_at="2024-03-14 09:00",
        timeliness="late",
        has_positive_fee=True,
        synced_to_portal=True,
    )
    # d5: no promised date (NO_DUE_DATE), free procedure, digitized, rated unsatisfied; 1 working day.
    insert_dossier(
        conn,
        "d5",
        COMMUNE_A,
        procedure_code=P_FREE,
        received_at="2024-03-12 08:00",
        finished_at="2024-03-13 08:00",
        has_digitized_component=True,
        rating=0,
        synced_to_portal=True,
    )
    # d6: open at the end of March, promised 5 April: on track; online, reused.
    insert_dossier(
        conn,
        "d6",
        COMMUNE_A,
        status=4,
        channel=2,
        received_at="2024-03-20 08:00",
        due_at="2024-04-05 17:00",
        has_positive_fee=True,
        has_reused_component=True,
    )
    # d7: open with an unanswered supplement, promised 28 March: past due at the end of March.
    insert_dossier(
        conn,
        "d7",
        COMMUNE_A,
        status=5,
        received_at="2024-03-21 08:00",
        due_at="2024-03-28 17:00",
        supplement_count=1,
        open_supplement_at="2024-03-22 08:00",
        has_positive_fee=True,
    )
    # d8: received 31 March 23:59 local time (16:59 UTC): March; open, on track; online, VNeID.
    insert_dossier(
        conn,
        "d8",
        COMMUNE_A,
        status=2,
        channel=2,
        received_at="2024-03-31 23:59",
        due_at="2024-04-10 17:00",
        vneid_verified=True,
    )
    # d12: e-certified copy, no promised date, online, e-result, digitized; 0 working days.
    insert_dossier(
        conn,
        "d12",
        COMMUNE_A,
        procedure_code=P_ECERT,
        channel=2,
        received_at="2024-03-18 08:00",
        finished_at="2024-03-18 15:00",
        has_electronic_result=True,
        has_digitized_component=True,
    )
    # d9: received 31 December 2023 23:59 local time: December 2023 / year 2023; finished
    # 2 January 2024 on time (promised 5 January).
    insert_dossier(
        conn,
        "d9",
        COMMUNE_A,
        received_at="2023-12-31 23:59",
        due_at="2024-01-05 17:00",
        finished_at="2024-01-02 10:00",
        timeliness="early",
    )
    # not in D: submitted but not received (status 1), refused at reception (status 3).
    insert_dossier(conn, "d10", COMMUNE_A, status=1, received_at=None)
    insert_dossier(conn, "d11", COMMUNE_A, status=3, received_at="2024-03-20 08:00")
    # a deleted dossier leaves the facts: only its tombstone remains, it must count nowhere.
    conn.execute(
        "INSERT INTO core.dossier_tombstone (ma_ho_so, source_updated_at, batch_id) VALUES ('dx', now(), 0)"
    )

    # ---- commune B (split into two new communes on 2025-07-01) ----
    # d13: free procedure, online, on time, digitized; a PAKN is about it (f5).
    insert_dossier(
        conn,
        "d13",
        COMMUNE_B,
        procedure_code=P_FREE,
        channel=2,
        received_at="2024-03-05 08:00",
        due_at="2024-03-07 17:00",
        finished_at="2024-03-06 08:00",
        timeliness="early",
        has_digitized_component=True,
    )
    # d17: fee procedure without a fee line yet, open, promised 20 April: on track.
    insert_dossier(
        conn,
        "d17",
        COMMUNE_B,
        procedure_code=P_FEE2,
        status=2,
        received_at="2024-03-07 08:00",
        due_at="2024-04-20 17:00",
    )
    # ---- district office ----
    # d14: late with apology, paid online (gateway).
    insert_dossier(
        conn,
        "d14",
        OFFICE_1,
        received_at="2024-03-01 08:00",
        due_at="2024-03-15 17:00",
        finished_at="2024-03-29 08:00",
        timeliness="late",
        has_apology=True,
        has_positive_fee=True,
        online_payment=2,
    )
    # d18: P_FEE2 with a fee line, not paid online, open, promised 25 March: past due.
    insert_dossier(
        conn,
        "d18",
        OFFICE_1,
        procedure_code=P_FEE2,
        status=4,
        received_at="2024-03-20 08:00",
        due_at="2024-03-25 17:00",
        has_positive_fee=True,
    )
    # ---- a department and the other district's commune ----
    insert_dossier(
        conn,
        "d15",
        DEPARTMENT,
        received_at="2024-03-02 08:00",
        due_at="2024-03-10 17:00",
        finished_at="2024-03-04 08:00",
        timeliness="early",
        has_positive_fee=True,
        online_payment=1,
    )
    insert_dossier(
        conn,
        "d16",
        COMMUNE_C,
        procedure_code=P_FREE,
        received_at="2024-03-02 08:00",
        due_at="2024-03-06 17:00",
        finished_at="2024-03-04 08:00",
        timeliness="early",
    )
    # ---- after the reform: a new commune ----
    insert_dossier(
        conn,
        "d19",
        NEW_2,
        procedure_code=P_FREE,
        received_at="2025-08-05 08:00",
        due_at="2025-08-08 17:00",
        finished_at="2025-08-06 08:00",
        timeliness="early",
    )

    # ---- PAKN of commune A, March 2024 ----
    insert_feedback(
        conn, "f1", COMMUNE_A, "2024-03-15 08:00", "2024-03-25 17:00", "2024-03-20 08:00", 1, "d4"
    )
    insert_feedback(
        conn, "f2", COMMUNE_A, "2024-03-16 08:00", "2024-03-26 17:00", "2024-03-28 08:00", 1
    )  # overdue
    insert_feedback(
        conn, "f3", COMMUNE_A, "2024-03-25 08:00", "2024-04-05 17:00", None, None
    )  # open, in time in March
    insert_feedback(
        conn, "f4", COMMUNE_A, "2024-03-20 08:00", "2024-03-30 17:00", "2024-03-29 08:00", 0
    )  # unhappy
    insert_feedback(
        conn, "f5", COMMUNE_B, "2024-03-10 08:00", "2024-03-20 17:00", "2024-03-12 08:00", 1, "d13"
    )


@pytest.fixture(scope="module")
def mart(make_database):
    dsn = make_database("indicators")
    with warehouse.connect(dsn=dsn) as conn:
        build(conn)
        conn.commit()
        indicators.refresh(conn, date(2023, 1, 1), date(2026, 1, 1))
    return dsn


def values(dsn, unit, period_type, start, scheme="as_recorded") -> dict[str, tuple]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            """SELECT indicator_code, numerator, denominator, ratio, score
               FROM mart.indicator_value
               WHERE unit_code = %s AND period_type = %s AND period_start = %s AND unit_scheme = %s""",
            (unit, period_type, start, scheme),
        ).fetchall()
    return {
        code: (numerator, denominator, ratio, score) for code, numerator, denominator, ratio, score in rows
    }


def pairs(found: dict[str, tuple]) -> dict[str, tuple]:
    return {code: (v[0], v[1]) for code, v in found.items()}


MARCH = date(2024, 3, 1)


def test_every_indicator_of_the_spec_for_every_unit_and_period(mart):
    with psycopg.connect(mart) as conn:
        codes = {row[0] for row in conn.execute("SELECT DISTINCT indicator_code FROM mart.indicator_value")}
        per_cell = conn.execute("""SELECT DISTINCT count(*) FROM mart.indicator_value
                                   GROUP BY period_type, period_start, unit_code, unit_scheme""").fetchall()
        kinds = conn.execute("""SELECT period_type, count(DISTINCT period_start) FROM mart.indicator_value
                                WHERE period_start >= '2024-01-01' AND period_start < '2025-01-01'
                                GROUP BY 1 ORDER BY 1""").fetchall()
    assert codes == set(ALL_CODES)
    assert per_cell == [(len(ALL_CODES),)]
    assert dict(kinds) == {"half": 2, "month": 12, "quarter": 4, "year": 1}


def test_commune_march_by_hand(mart):
    found = pairs(values(mart, COMMUNE_A, "month", MARCH))
    assert found == {
        "RECEIVED": (9, None),  # d1-d8, d12 (d9 is December, d10/d11 not received)
        "FINISHED": (6, None),  # d1, d2, d3, d4, d5, d12
        "ON_TIME_FINISHED": (2, 4),  # d1 early, d2 on time after its pause / d1-d4
        "LATE_FINISHED": (2, None),  # d3 (two supplements), d4
        "LATE_NO_APOLOGY": (1, None),  # d4
        "NO_DUE_DATE": (2, None),  # d5, d12
        "ON_TIME_766": (4, 7),  # finished: 2 of 4; open at 1 April: d6, d8 on track of d6, d7, d8
        "AVG_WORKING_DAYS": (13, 6),  # 3 + 3 + 2 + 4 + 1 + 0 working days over 6
        "ONLINE_SHARE": (5, 9),  # d1, d3, d6, d8, d12
        "FULL_ONLINE_SHARE": (5, 8),  # all but d5 (P_FREE is partly online)
        "ONLINE_PAYMENT": (2, 6),  # d1, d3 / fee lines d1, d2, d3, d4, d6, d7
        "TTHC_WITH_FEE_DATA": (1, 1),  # P_FEE
        "TTHC_PAID_ONLINE": (1, 1),  # P_FEE
        "RESULT_DIGITIZED": (2, 6),  # d1, d12 / all six finished have status 9 or 10
        "E_RESULT": (1, 7),  # d1 / P_FEE dossiers d1-d4, d6-d8
        "COMPONENT_DIGITIZED": (3, 9),  # d1 (e-result), d5 and d12 (no paper result); not d2
        "REUSE": (2, 9),  # d1, d6
        "CITIZEN_STORE": (1, 9),  # d3
        "VNEID": (2, 9),  # d1, d8
        "E_CERT_COPY": (1, 1),  # the commune itself offers it (d12)
        "SYNC_RATE": (5, 9),  # d1-d5
        "PAKN_ON_TIME": (3, 4),  # f1, f4 handled in time, f3 open and not yet due
        "PAKN_SATISFACTION": (2, 4),  # f1, f3 (f2 overdue, f4 unhappy)
        "DOSSIER_SATISFACTION": (3, 6),  # d1, d2, d12 (d3/d4 late, d4 has a PAKN, d5 rated 0)
    }


def test_commune_march_ratios_and_scores(mart):
    found = values(mart, COMMUNE_A, "month", MARCH)
    assert found["ON_TIME_FINISHED"][2] == Decimal(1) / 2
    assert found["RECEIVED"][2] is None and found["RECEIVED"][3] is None
    assert found["ON_TIME_766"][3] == Decimal("11.43")  # 20 x 4/7 = 11.428...
    assert found["FULL_ONLINE_SHARE"][3] == Decimal("12")  # 5/8 = 62.5% >= 50%: full
    assert found["ONLINE_PAYMENT"][3] == Decimal("2.00")  # 6 x 2/6
    assert found["REUSE"][3] == Decimal("0.56")  # 2 x (2/9) / 0.8 = 0.5555...
    assert found["DOSSIER_SATISFACTION"][3] == Decimal("3.33")  # 6 x 0.5 / 0.9
    assert found["PAKN_ON_TIME"][3] == Decimal("4.50")  # 6 x 3/4
    assert round(found["AVG_WORKING_DAYS"][2], 6) == round(Decimal(13) / 6, 6)
    assert found["AVG_WORKING_DAYS"][3] is None


def test_district_rolls_up_its_office_and_communes(mart):
    found = pairs(values(mart, DISTRICT_1, "month", MARCH))
    assert found["RECEIVED"] == (13, None)  # A 9 + B 2 (d13, d17) + office 2 (d14, d18)
    assert found["ONLINE_PAYMENT"] == (3, 8)  # A 2/6 + d14 paid, d18 not
    assert found["TTHC_WITH_FEE_DATA"] == (2, 2)  # P_FEE (A), P_FEE2 (d18 has a fee line; d17 not)
    assert found["TTHC_PAID_ONLINE"] == (1, 2)  # only P_FEE was paid online
    assert found["E_CERT_COPY"] == (1, 2)  # A offers it, B does not
    assert found["ON_TIME_766"] == (6, 11)  # A 4/7 + B 2/2 (d13, d17) + office 0/2 (d14, d18)
    assert found["PAKN_ON_TIME"] == (4, 5)  # A 3/4 + f5
    assert found["PAKN_SATISFACTION"] == (3, 5)
    assert found["DOSSIER_SATISFACTION"] == (3, 8)  # d13 has a PAKN, d14 is late


def test_zero_denominators_and_no_pakn(mart):
    found = values(mart, DISTRICT_2, "month", MARCH)  # only d16: free, paper-less, no PAKN
    assert found["ONLINE_PAYMENT"][:3] == (0, 0, None) and found["ONLINE_PAYMENT"][3] == 0
    assert found["E_RESULT"][:3] == (0, 0, None) and found["E_RESULT"][3] == 0
    assert found["PAKN_ON_TIME"][:3] == (0, 0, None) and found["PAKN_ON_TIME"][3] == 6  # full: no PAKN
    assert found["PAKN_SATISFACTION"][3] == 6
    empty = values(mart, DEPARTMENT, "month", date(2024, 5, 1))
    assert empty["RECEIVED"][:2] == (0, None) and empty["ON_TIME_766"][:3] == (0, 0, None)


def test_december_31_late_evening_is_december(mart):
    assert values(mart, COMMUNE_A, "month", date(2023, 12, 1))["RECEIVED"][0] == 1
    assert values(mart, COMMUNE_A, "year", date(2023, 1, 1))["RECEIVED"][0] == 1
    assert values(mart, COMMUNE_A, "month", date(2024, 1, 1))["RECEIVED"][0] == 0
    assert values(mart, COMMUNE_A, "year", date(2024, 1, 1))["RECEIVED"][0] == 9
    # open at the end of 2023 with a promised date after it: on track
    assert pairs(values(mart, COMMUNE_A, "year", date(2023, 1, 1)))["ON_TIME_766"] == (1, 1)
    january = pairs(values(mart, COMMUNE_A, "month", date(2024, 1, 1)))
    assert january["FINISHED"] == (1, None) and january["ON_TIME_FINISHED"] == (1, 1)


def test_non_additive_indicators_are_judged_per_period(mart):
    year = pairs(values(mart, COMMUNE_A, "year", date(2024, 1, 1)))
    # finished in 2024 with a promised date: d9, d1, d2 on time; d3, d4 late. Open on 1 January
    # 2025: d6, d7, d8, all past their promised dates -> 3 / 8 (not the sum of the months).
    assert year["ON_TIME_766"] == (3, 8)
    # f3 is still open at the end of the year and past its deadline: no longer in time.
    assert year["PAKN_ON_TIME"] == (2, 4) and year["PAKN_SATISFACTION"] == (1, 4)
    quarter = pairs(values(mart, COMMUNE_A, "quarter", date(2024, 1, 1)))
    assert quarter["ON_TIME_766"] == (5, 8)  # d9 + March's 4/7; open at 1 April as in March
    assert quarter["E_CERT_COPY"] == (1, 1)  # a commune once, not once per month


def test_province_and_schemes(mart):
    recorded = pairs(values(mart, PROVINCE, "month", MARCH))
    current = pairs(values(mart, PROVINCE, "month", MARCH, "current"))
    assert recorded["RECEIVED"] == (15, None)  # district 1: 13, department d15, commune C d16
    assert current == {**recorded, "E_CERT_COPY": (1, 2)}  # today's communes: NEW_1 offers (A's d12)
    assert recorded["E_CERT_COPY"] == (1, 3)  # communes A, B, C as they were
    # A (one successor) and B (split: the first successor by code) both go to NEW_1; C to NEW_2.
    assert pairs(values(mart, NEW_1, "month", MARCH, "current"))["RECEIVED"] == (11, None)
    assert pairs(values(mart, NEW_2, "month", MARCH, "current"))["RECEIVED"] == (1, None)
    # the dissolved units are not in the current scheme; the new ones are not in 2024 as recorded
    assert values(mart, DISTRICT_1, "month", MARCH, "current") == {}
    assert values(mart, NEW_1, "month", MARCH) == {}


def test_unit_dissolved_on_2025_07_01(mart):
    as_recorded_2025 = values(mart, PROVINCE, "year", date(2025, 1, 1))
    assert as_recorded_2025["RECEIVED"][0] == 1  # d19
    assert values(mart, COMMUNE_A, "year", date(2025, 1, 1)) != {}  # valid until 30 June
    # dissolved: after 30 June it only shows what is still recorded on it, here its three dossiers
    # still open (d6, d7, d8), which the province's ON_TIME_766 counts too
    after = pairs(values(mart, COMMUNE_A, "half", date(2025, 7, 1)))
    assert after["RECEIVED"] == (0, None) and after["ON_TIME_766"] == (0, 3)
    assert values(mart, COMMUNE_C, "half", date(2025, 7, 1)) == {}  # nothing left: no row
    assert pairs(values(mart, NEW_2, "half", date(2025, 7, 1)))["RECEIVED"] == (1, None)
    with psycopg.connect(mart) as conn:
        rules = dict(conn.execute("SELECT unit_code, rule FROM mart.unit_attribution").fetchall())
    assert rules[COMMUNE_A] == "single_successor" and rules[COMMUNE_B] == "first_successor_by_code"
    assert rules[OFFICE_1] == "common_ancestor" and rules[NEW_1] == "itself"


def test_main_successor_can_be_configured(make_database):
    dsn = make_database("indicators_main")
    with warehouse.connect(dsn=dsn) as conn:
        build(conn)
        conn.execute(
            "INSERT INTO mart.lineage_main VALUES (%s, %s, 'most of its territory')", (COMMUNE_B, NEW_2)
        )
        conn.commit()
        indicators.refresh(conn, MARCH, date(2024, 4, 1))
    assert pairs(values(dsn, NEW_1, "month", MARCH, "current"))["RECEIVED"] == (9, None)
    assert pairs(values(dsn, NEW_2, "month", MARCH, "current"))["RECEIVED"] == (3, None)


def test_scorecard_ranks_and_road_to_the_next_rank(mart):
    with psycopg.connect(mart) as conn:
        cards = conn.execute(
            """SELECT unit_code, total_score, max_available, max_score, rank_in_level,
                                       units_in_level, band_code, transparency_score, not_scored
                                FROM mart.score_766 WHERE period_type = 'month' AND period_start = %s
                                  AND unit_scheme = 'as_recorded' AND unit_type = 'HUYEN'
                                ORDER BY rank_in_level""",
            (MARCH,),
        ).fetchall()
        item_sum = conn.execute(
            """SELECT sum(score) FROM mart.indicator_value
                                   WHERE period_type = 'month' AND period_start = %s AND unit_code = %s
                                     AND unit_scheme = 'as_recorded'""",
            (MARCH, cards[1][0]),
        ).fetchone()[0]
        gaps = conn.execute(
            """SELECT indicator_code, numerator, denominator, score, max_score, gap_points,
                                      extra_needed_alone, extra_in_plan, next_rank
                               FROM mart.rank_gap WHERE period_type = 'month' AND period_start = %s
                                 AND unit_scheme = 'as_recorded' AND unit_code = %s""",
            (MARCH, cards[1][0]),
        ).fetchall()
        advice = conn.execute(
            """SELECT advice_vi FROM mart.bi_next_rank WHERE period_type = 'month'
                                 AND period_start = %s AND unit_scheme = 'as_recorded' AND unit_code = %s""",
            (MARCH, cards[1][0]),
        ).fetchone()[0]

        def score(code, numerator, denominator):
            return conn.execute(
                "SELECT mart.score_indicator(%s, %s, %s, '2024-03-31')", (code, numerator, denominator)
            ).fetchone()[0]

        # the levers, checked against the scoring function: k closes the gap alone, k - 1 does not
        for code, numerator, denominator, item_score, _max_score, gap, alone, _plan, next_rank in gaps:
            assert next_rank == 1
            if alone is None:
                continue
            assert score(code, numerator + alone, denominator) >= item_score + gap, code
            if alone > 0:
                assert score(code, numerator + alone - 1, denominator) < item_score + gap, code
    assert [c[4] for c in cards] == [1, 2] and {c[5] for c in cards} == {2}
    assert cards[0][1] > cards[1][1]
    assert cards[1][1] == item_sum
    assert {c[2] for c in cards} == {86} and {c[3] for c in cards} == {100}
    assert "1.1-1.3 (12 điểm)" in cards[0][8]
    planned = [(code, plan) for code, *_, plan, _next in gaps if plan]
    assert planned, "a plan closes the gap"
    assert "lên hạng 1/2" in advice or "không đủ" in advice


def test_invariants_hold_after_a_refresh(mart):
    with warehouse.connect(dsn=mart) as conn:
        assert indicators.invariant_violations(conn) == []


def test_invariants_catch_a_broken_rollup(make_database):
    dsn = make_database("indicators_broken")
    with warehouse.connect(dsn=dsn) as conn:
        build(conn)
        conn.commit()
        indicators.refresh(conn, MARCH, date(2024, 4, 1))
        conn.execute(
            """UPDATE mart.indicator_value SET numerator = numerator + 1
                        WHERE unit_code = %s AND indicator_code = 'RECEIVED' AND period_type = 'month'
                          AND unit_scheme = 'as_recorded'""",
            (DISTRICT_1,),
        )
        conn.execute(
            """UPDATE mart.indicator_value SET ratio = 1.5
                        WHERE unit_code = %s AND indicator_code = 'VNEID' AND period_type = 'year'""",
            (COMMUNE_A,),
        )
        checks = {row["check_name"] for row in indicators.invariant_violations(conn)}
    assert {"rollup_not_additive", "ratio_outside_0_1"} <= checks


def test_incremental_refresh_of_one_month_replaces_only_its_periods(make_database):
    dsn = make_database("indicators_incremental")
    with warehouse.connect(dsn=dsn) as conn:
        build(conn)
        conn.commit()
        indicators.refresh(conn, date(2024, 1, 1), date(2025, 1, 1))
        conn.commit()
        before = dict(
            conn.execute(
                """SELECT period_type || period_start, computed_at FROM mart.indicator_value
                                      WHERE unit_code = %s AND indicator_code = 'RECEIVED'
                                        AND unit_scheme = 'as_recorded'""",
                (COMMUNE_A,),
            ).fetchall()
        )
        # a new dossier in March (its change stamped in March): only March, Q1, H1, 2024 move
        from mart_fixture import local

        insert_dossier(conn, "d20", COMMUNE_A, status=2, received_at="2024-03-25 08:00")
        conn.execute(
            "UPDATE core.fact_dossier SET source_updated_at = %s WHERE ma_ho_so = 'd20'",
            (local("2024-03-25 08:00"),),
        )
        conn.commit()
        indicators.refresh(conn, MARCH, date(2024, 4, 1))
        conn.commit()
        after = dict(
            conn.execute(
                """SELECT period_type || period_start, computed_at FROM mart.indicator_value
                                     WHERE unit_code = %s AND indicator_code = 'RECEIVED'
                                       AND unit_scheme = 'as_recorded'""",
                (COMMUNE_A,),
            ).fetchall()
        )
        assert indicators.invariant_violations(conn) == []
    changed = {key for key in after if after[key] != before.get(key)}
    assert changed == {"month2024-03-01", "quarter2024-01-01", "half2024-01-01", "year2024-01-01"}
    assert pairs(values(dsn, COMMUNE_A, "year", date(2024, 1, 1)))["RECEIVED"] == (10, None)
    assert pairs(values(dsn, COMMUNE_A, "month", MARCH))["RECEIVED"] == (10, None)


def test_an_event_driven_refresh_also_covers_batches_no_refresh_has_covered(make_database):
    """A lost asset event must not leave its window stale: the next event-driven refresh widens to
    every loaded batch that no refresh has covered (mart.refreshed_batch)."""
    from mart_fixture import local

    dsn = make_database("indicators_ledger")
    with warehouse.connect(dsn=dsn) as conn:
        build(conn)
        conn.commit()
        batches = {}
        for name, start, end in (
            ("january", "2024-01-01 00:00", "2024-02-01 00:00"),
            ("march", "2024-03-01 00:00", "2024-04-01 00:00"),
        ):
            batches[name] = conn.execute(
                """INSERT INTO raw.batch (entity, endpoint, window_start, window_end, record_count, checksum, status)
                   VALUES ('dossier', '/api/v1/hoso', %s, %s, 0, '', 'loaded') RETURNING batch_id""",
                (local(start), local(end)),
            ).fetchone()[0]
        insert_dossier(conn, "d21", COMMUNE_A, status=2, received_at="2024-01-20 08:00")
        conn.execute(
            "UPDATE core.fact_dossier SET source_updated_at = %s WHERE ma_ho_so = 'd21'",
            (local("2024-01-20 08:00"),),
        )
        conn.commit()
        # March's event arrived, January's was lost: a conf-like refresh of March covers March only ...
        indicators.refresh(conn, MARCH, date(2024, 4, 1))
        covered = {row[0] for row in conn.execute("SELECT batch_id FROM mart.refreshed_batch")}
        assert covered == {batches["march"]}
        conn.commit()  # a refresh runs in a transaction of its own
        # ... an event-driven one covers January too, and January's figures move.
        indicators.refresh(conn, MARCH, date(2024, 4, 1), include_pending=True)
        covered = {row[0] for row in conn.execute("SELECT batch_id FROM mart.refreshed_batch")}
        assert covered == {batches["march"], batches["january"]}
    assert pairs(values(dsn, COMMUNE_A, "month", date(2024, 1, 1)))["RECEIVED"][0] > 0


def test_bi_reader_reads_mart_only(mart):
    with psycopg.connect(mart) as conn:
        can = dict(
            conn.execute("""SELECT s, has_schema_privilege('bi_reader', s, 'USAGE')
                                   FROM unnest(ARRAY['mart', 'core', 'raw', 'staging', 'quality']) AS s""").fetchall()
        )
        views = conn.execute("""SELECT bool_and(has_table_privilege('bi_reader', c.oid, 'SELECT'))
                                FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                                WHERE n.nspname = 'mart' AND c.relkind IN ('r', 'v')""").fetchone()[0]
        conn.execute("SET ROLE bi_reader")
        advice = conn.execute("SELECT count(*) FROM mart.bi_next_rank").fetchone()[0]
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT count(*) FROM core.fact_dossier")
    assert can == {"mart": True, "core": False, "raw": False, "staging": False, "quality": False}
    assert views and advice > 0


def test_dossiers_open_at_a_period_end_are_counted_however_long_they_stay_open(make_database):
    """ON_TIME_766's open part finds short-lived dossiers through their reception in the 45 days
    before the end and the others through an index of their own (include/sql/schema/V004__core.sql):
    every case on both sides of that split, and at the edges of "received before the end, not
    finished before the end", counted by hand. Promised 1 May: every open one is on track."""
    dsn = make_database("open_at_end")
    cases = [  # code, received, finished, status, open at the end of March (1 April 00:00)
        ("o1", "2024-03-20 08:00", "2024-04-03 10:00", 10, True),  # short-lived, finished after the end
        ("o2", "2024-01-10 08:00", "2024-04-03 10:00", 10, True),  # open 84 days, finished after the end
        ("o3", "2023-12-01 08:00", None, 4, True),  # still being handled
        ("o4", "2024-02-10 08:00", "2024-02-20 10:00", 10, False),  # short-lived, finished before
        ("o5", "2023-12-01 08:00", "2024-02-20 10:00", 10, False),  # long-lived, finished before
        (
            "o6",
            "2024-03-31 23:00",
            "2024-04-01 00:00",
            10,
            True,
        ),  # finished at the end itself: (received, end]
        ("o7", "2024-04-01 00:00", None, 4, False),  # received at the end itself: not before it
        ("o8", "2024-02-16 00:00", "2024-04-01 00:00", 10, True),  # open exactly 45 days: the reception side
        ("o9", "2024-02-15 23:59", "2024-04-01 00:00", 10, True),  # a minute longer: the long-open side
        ("o10", "2024-03-01 08:00", None, 3, False),  # refused at the desk: never counted
        ("o11", "2024-03-25 08:00", None, 8, False),  # finished status without a date: not open
    ]
    with warehouse.connect(dsn=dsn) as conn:
        insert_reference(conn)
        for code, received, finished, status, _ in cases:
            insert_dossier(
                conn,
                code,
                COMMUNE_A,
                received_at=received,
                finished_at=finished,
                status=status,
                due_at="2024-05-01 17:00",
            )
        conn.commit()
        indicators.refresh(conn, MARCH, date(2024, 4, 1))
        conn.commit()
    open_at_end = sum(counted for *_, counted in cases)
    assert pairs(values(dsn, COMMUNE_A, "month", MARCH))["ON_TIME_766"] == (open_at_end, open_at_end)


def test_a_load_committed_during_a_refresh_is_left_whole_to_the_next_one(make_database, monkeypatch):
    """Loads of several sources commit while a refresh runs: every step of one refresh reads the
    same snapshot of core, so nothing of a load committed meanwhile is half in it (an open dossier
    in the open-at-end part of ON_TIME_766 while its finished siblings are not in the months), and
    the next refresh takes it whole."""
    dsn = make_database("indicators_snapshot")
    with warehouse.connect(dsn=dsn) as conn:
        build(conn)
        conn.commit()
        indicators.refresh(conn, MARCH, date(2024, 4, 1))
    before = {unit: values(dsn, unit, "month", MARCH) for unit in (COMMUNE_A, PROVINCE)}
    run_sql = indicators.warehouse.run_sql

    def run_and_load_meanwhile(conn, path, params=None):
        rows = run_sql(conn, path, params)
        if path == "marts/leaf_month.sql":  # another source's load commits now
            with psycopg.connect(dsn, autocommit=True) as other:
                for n in range(3):
                    insert_dossier(
                        other,
                        f"late-{n}",
                        COMMUNE_A,
                        received_at="2024-03-05 09:00",
                        due_at="2024-03-08 17:00",
                        finished_at="2024-03-20 10:00" if n else None,
                        status=10 if n else 4,
                        timeliness="late" if n else None,
                    )
        return rows

    monkeypatch.setattr(indicators.warehouse, "run_sql", run_and_load_meanwhile)
    with warehouse.connect(dsn=dsn) as conn:
        indicators.refresh(conn, MARCH, date(2024, 4, 1))
    monkeypatch.setattr(indicators.warehouse, "run_sql", run_sql)
    assert {unit: values(dsn, unit, "month", MARCH) for unit in before} == before
    with warehouse.connect(dsn=dsn) as conn:
        indicators.refresh(conn, MARCH, date(2024, 4, 1))
        assert indicators.invariant_violations(conn) == []
    after = values(dsn, COMMUNE_A, "month", MARCH)
    assert after["RECEIVED"][0] == before[COMMUNE_A]["RECEIVED"][0] + 3
    assert after["ON_TIME_766"] != before[COMMUNE_A]["ON_TIME_766"]
