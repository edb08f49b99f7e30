"""The worklists and form 06/VPCP/KSTT (issue 24) on a small warehouse built by hand in ``core``
(tests/tthc/mart_fixture.py): core.dossier_state_at through mart.watchlist_at, mart.watchlist,
mart.late_without_apology, mart.statutory_window and mart.form_06. Every expected value is counted
by hand in the comments from the dossiers listed here, not by the code under test.

Definitions (issue 24, "Definitions"; docs/indicators.md, "Words used"), for a dossier of D and an
instant t, local time: open at t = received before t and not finished before t (finished = status
7-10 with an end date); pause(t) = the answered requests' (answered - requested); due_eff(t) =
NgayHenTra + pause(t); clock(t) = the earliest unanswered request made before t, else t; late at
t = more than one request made before t, or NgayHenTra present and clock(t) > due_eff(t).

The main window is the second quarter of 2024: calendar [2024-04-01, 2024-07-01), statutory
[2024-03-15, 2024-06-15). ``W`` (19 June 2024 12:00) is the watchlist's instant and the end of the
newest loaded dossier window."""

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
    PROVINCE,
    insert_dossier,
    insert_reference,
    insert_step,
    insert_supplement,
    local,
)

from tthc import indicators, warehouse

pytestmark = pytest.mark.integration

W = "2024-06-19 12:00"
F1, F2 = "LV01", "LV02"
DAY = timedelta(days=1)


def build(conn: psycopg.Connection) -> None:
    insert_reference(conn)
    A = COMMUNE_A
    # ---- commune A, second quarter of 2024 ----
    # c1: received 20 March, online: carried over into the calendar quarter, received in the
    # statutory one; finished 5 April, promised 10 April: early.
    insert_dossier(
        conn,
        "c1",
        A,
        field_code=F1,
        channel=2,
        received_at="2024-03-20 08:00",
        due_at="2024-04-10 17:00",
        finished_at="2024-04-05 10:00",
        timeliness="early",
    )
    # c2: online; finished on the promised day, two hours before: on time.
    insert_dossier(
        conn,
        "c2",
        A,
        field_code=F1,
        channel=2,
        received_at="2024-04-02 08:00",
        due_at="2024-04-09 17:00",
        finished_at="2024-04-09 15:00",
        timeliness="on_time",
    )
    # c3: in person, never finished, promised 12 April: overdue from then on.
    insert_dossier(
        conn,
        "c3",
        A,
        field_code=F2,
        status=4,
        received_at="2024-04-03 08:00",
        due_at="2024-04-12 17:00",
    )
    insert_step(conn, "c3", 1, "2024-04-03 08:00", 2, "Bộ phận Một cửa")
    # c4: by post (channel 3 counts as in person); finished 20 May, promised 30 May: early.
    insert_dossier(
        conn,
        "c4",
        A,
        field_code=F2,
        channel=3,
        received_at="2024-04-04 08:00",
        due_at="2024-05-30 17:00",
        finished_at="2024-05-20 09:00",
        timeliness="early",
    )
    # c5: no channel in the source (stored as 1, in person); one supplement, requested 10 April 08:00,
    # answered 13 April 08:00 (pause 3 days): due_eff = 18 April 17:00. Finished 18 April 10:00,
    # after NgayHenTra (15 April) but end - pause = 15 April 10:00 <= 15 April 17:00, same date:
    # on time.
    insert_dossier(
        conn,
        "c5",
        A,
        field_code=F1,
        channel=1,
        received_at="2024-04-08 08:00",
        due_at="2024-04-15 17:00",
        finished_at="2024-04-18 10:00",
        supplement_count=1,
        supplement_pause=3 * DAY,
        timeliness="on_time",
    )
    insert_supplement(conn, "c5", 1, "2024-04-10 08:00", "2024-04-13 08:00")
    # c6: a supplement requested 18 June 08:00 and never answered; promised 20 June 17:00. The clock
    # stopped at the request: not overdue at 1 July although 1 July > the promised date.
    insert_dossier(
        conn,
        "c6",
        A,
        field_code=F1,
        status=5,
        received_at="2024-06-10 08:00",
        due_at="2024-06-20 17:00",
        supplement_count=1,
        open_supplement_at="2024-06-18 08:00",
    )
    insert_supplement(conn, "c6", 1, "2024-06-18 08:00", None)
    # c7: online; two supplements (11 -> 12 April, 15 -> 16 April: pause 2 days), finished 20 April
    # long before its date (30 April): late by the second request.
    insert_dossier(
        conn,
        "c7",
        A,
        field_code=F2,
        channel=2,
        received_at="2024-04-10 08:00",
        due_at="2024-04-30 17:00",
        finished_at="2024-04-20 10:00",
        supplement_count=2,
        supplement_pause=2 * DAY,
        timeliness="late",
    )
    insert_supplement(conn, "c7", 1, "2024-04-11 08:00", "2024-04-12 08:00")
    insert_supplement(conn, "c7", 2, "2024-04-15 08:00", "2024-04-16 08:00")
    # c8: online, open; supplements 5 -> 6 June (1 day) and 20 June (open); promised 30 July. At
    # 15 June one request: within time; from 20 June two: overdue, with its date far away.
    insert_dossier(
        conn,
        "c8",
        A,
        field_code=F1,
        channel=2,
        status=5,
        received_at="2024-06-03 08:00",
        due_at="2024-07-30 17:00",
        supplement_count=2,
        supplement_pause=DAY,
        open_supplement_at="2024-06-20 08:00",
    )
    insert_supplement(conn, "c8", 1, "2024-06-05 08:00", "2024-06-06 08:00")
    insert_supplement(conn, "c8", 2, "2024-06-20 08:00", None)
    # c9: no promised date, no field; finished: on time, and one of finished_without_due.
    insert_dossier(
        conn,
        "c9",
        A,
        status=9,
        received_at="2024-04-22 08:00",
        finished_at="2024-04-25 08:00",
    )
    # c10: no promised date, no field, online, open: within time (never listed).
    insert_dossier(conn, "c10", A, status=4, channel=2, received_at="2024-05-02 08:00")
    # c11: no promised date, open, two supplements (both answered): overdue all the same.
    insert_dossier(
        conn,
        "c11",
        A,
        field_code=F2,
        status=4,
        received_at="2024-05-06 08:00",
        supplement_count=2,
        supplement_pause=2 * DAY,
    )
    insert_supplement(conn, "c11", 1, "2024-05-07 08:00", "2024-05-08 08:00")
    insert_supplement(conn, "c11", 2, "2024-05-09 08:00", "2024-05-10 08:00")
    # c12: finished exactly at 1 July 00:00 local time, the calendar quarter's end: not finished
    # in the quarter but in progress at its end (promised 5 July: within time); carried over into
    # the third quarter and finished early there.
    insert_dossier(
        conn,
        "c12",
        A,
        field_code=F1,
        received_at="2024-06-25 08:00",
        due_at="2024-07-05 17:00",
        finished_at="2024-07-01 00:00",
        timeliness="early",
    )
    # c13: end 9 May 23:30 local (16:30 UTC), promised 10 May 06:00 local (23:00 UTC, 9 May):
    # an earlier local date: early (in UTC both are 9 May).
    insert_dossier(
        conn,
        "c13",
        A,
        field_code=F1,
        received_at="2024-05-06 08:00",
        due_at="2024-05-10 06:00",
        finished_at="2024-05-09 23:30",
        timeliness="early",
    )
    # c14: end 10 May 00:30 local (9 May 17:30 UTC), promised 10 May 17:00: the same local date:
    # on time (in UTC the end falls on an earlier date).
    insert_dossier(
        conn,
        "c14",
        A,
        field_code=F2,
        received_at="2024-05-06 09:00",
        due_at="2024-05-10 17:00",
        finished_at="2024-05-10 00:30",
        timeliness="on_time",
    )
    # c15: late by date, without an apology slip, finished 17 May: more than 30 days before W.
    insert_dossier(
        conn,
        "c15",
        A,
        field_code=F1,
        received_at="2024-05-13 08:00",
        due_at="2024-05-15 17:00",
        finished_at="2024-05-17 08:00",
        timeliness="late",
    )
    # not in D: submitted, not received (status 1); refused at reception (status 3, promised
    # 20 June 12:00: it would be due_24h at W).
    insert_dossier(conn, "c16", A, status=1, field_code=F1)
    insert_dossier(
        conn, "c17", A, status=3, field_code=F1, received_at="2024-04-15 08:00", due_at="2024-06-20 12:00"
    )
    # a deleted dossier: only its tombstone remains (a deleted fact row leaves core.fact_dossier).
    conn.execute(
        """INSERT INTO core.dossier_tombstone (ma_ho_so, source_updated_at, batch_id, dossier_id)
           VALUES ('cx', now(), 0, 999999)"""
    )
    # c18: status 7 (withdrawn) without an end date: never finished, in progress; promised 26 April.
    insert_dossier(
        conn,
        "c18",
        A,
        field_code=F2,
        status=7,
        received_at="2024-04-16 08:00",
        due_at="2024-04-26 17:00",
    )
    # c19: status 8 (stopped) without an end date; promised 30 August.
    insert_dossier(
        conn,
        "c19",
        A,
        field_code=F1,
        status=8,
        received_at="2024-04-17 08:00",
        due_at="2024-08-30 17:00",
    )
    # w3: open, promised 22 June 13:00: 73 hours after W (not listed then).
    insert_dossier(
        conn, "w3", A, field_code=F2, status=2, received_at="2024-06-18 08:00", due_at="2024-06-22 13:00"
    )
    # ---- district office, commune B ----
    # w1: online, promised 20 June 08:00: 20 hours after W; three steps, the last after W.
    insert_dossier(
        conn,
        "w1",
        OFFICE_1,
        field_code=F1,
        channel=2,
        status=4,
        received_at="2024-06-17 08:00",
        due_at="2024-06-20 08:00",
        applicant_id_token="tok-w1",
        applicant_name_token="name-w1",
        applicant_phone_token="phone-w1",
    )
    insert_step(conn, "w1", 1, "2024-06-17 08:00", 2, "Bộ phận Một cửa")
    insert_step(conn, "w1", 2, "2024-06-18 10:00", 4, "Phòng Tư pháp")
    insert_step(conn, "w1", 3, "2024-06-20 09:00", 4, "Lãnh đạo UBND")
    # w2: promised 21 June 17:30: 53.5 hours after W; no steps.
    insert_dossier(
        conn,
        "w2",
        COMMUNE_B,
        field_code=F1,
        status=4,
        received_at="2024-06-17 09:00",
        due_at="2024-06-21 17:30",
    )
    # ---- commune C (district 2): late finishes for the apology list ----
    # l1: late, no apology, finished 10 June (within 30 days of W): listed.
    insert_dossier(
        conn,
        "l1",
        COMMUNE_C,
        field_code=F1,
        received_at="2024-06-01 08:00",
        due_at="2024-06-05 17:00",
        finished_at="2024-06-10 08:00",
        timeliness="late",
    )
    # l2: late with an apology slip: not listed.
    insert_dossier(
        conn,
        "l2",
        COMMUNE_C,
        field_code=F1,
        received_at="2024-06-02 08:00",
        due_at="2024-06-06 17:00",
        finished_at="2024-06-11 08:00",
        timeliness="late",
        has_apology=True,
    )
    # l3: late, no apology, finished 19 May 12:00 = W - 31 days: not listed.
    insert_dossier(
        conn,
        "l3",
        COMMUNE_C,
        field_code=F2,
        received_at="2024-05-14 08:00",
        due_at="2024-05-16 17:00",
        finished_at="2024-05-19 12:00",
        timeliness="late",
    )
    # ---- a department ----
    # dp1: online, finished 18 April, promised 20 April: early.
    insert_dossier(
        conn,
        "dp1",
        DEPARTMENT,
        field_code=F2,
        channel=2,
        received_at="2024-04-10 08:00",
        due_at="2024-04-20 17:00",
        finished_at="2024-04-18 10:00",
        timeliness="early",
    )
    # dp2: no promised date, two supplements, finished 7 June without an apology slip: late by
    # the second request (the form's rule, and "late at t" of the Definitions), although the merge
    # leaves its timeliness NULL (no promised date); so not one of finished_without_due.
    insert_dossier(
        conn,
        "dp2",
        DEPARTMENT,
        field_code=F2,
        received_at="2024-06-01 08:00",
        finished_at="2024-06-07 08:00",
        supplement_count=2,
        supplement_pause=2 * DAY,
    )
    insert_supplement(conn, "dp2", 1, "2024-06-02 08:00", "2024-06-03 08:00")
    insert_supplement(conn, "dp2", 2, "2024-06-04 08:00", "2024-06-05 08:00")
    # ---- across the reorganisation of 2025-07-01 ----
    # r1: commune A (dissolved 30 June 2025, successor NEW_1), open across 1 July, finished early.
    insert_dossier(
        conn,
        "r1",
        A,
        field_code=F1,
        received_at="2025-06-20 08:00",
        due_at="2025-07-10 17:00",
        finished_at="2025-07-08 10:00",
        timeliness="early",
    )
    # r2: the new commune NEW_2, received and finished early in July 2025.
    insert_dossier(
        conn,
        "r2",
        NEW_2,
        field_code=F1,
        received_at="2025-07-15 08:00",
        due_at="2025-07-25 17:00",
        finished_at="2025-07-20 10:00",
        timeliness="early",
    )
    # r3: commune B (split; attributed to NEW_1, the first successor by code), never finished.
    insert_dossier(
        conn,
        "r3",
        COMMUNE_B,
        field_code=F1,
        status=4,
        received_at="2025-06-25 08:00",
        due_at="2025-07-05 17:00",
    )
    # The loaded dossier windows: the newest ends at W. A later landed (not loaded) dossier batch
    # and a later feedback batch do not move the watchlist's instant.
    for entity, end, status in (
        ("dossier", "2024-06-18 12:00", "loaded"),
        ("dossier", W, "loaded"),
        ("dossier", "2024-06-25 12:00", "landed"),
        ("feedback", "2024-06-25 12:00", "loaded"),
    ):
        conn.execute(
            """INSERT INTO raw.batch (entity, endpoint, window_start, window_end, record_count, checksum, status)
               VALUES (%s, 'test', %s, %s, 0, '-', %s)""",
            (entity, local(end) - DAY, local(end), status),
        )


@pytest.fixture(scope="module")
def mart(make_database):
    dsn = make_database("worklists")
    with warehouse.connect(dsn=dsn) as conn:
        build(conn)
        conn.commit()
        indicators.refresh(conn, date(2024, 1, 1), date(2026, 1, 1))
    return dsn


COLUMNS = (
    "received_total",
    "received_carried_over",
    "received_online",
    "received_in_person",
    "finished_total",
    "finished_early",
    "finished_on_time",
    "finished_late",
    "finished_without_due",
    "in_progress_total",
    "in_progress_within_time",
    "in_progress_overdue",
)


def form(
    dsn: str,
    unit: str,
    period_start: date,
    *,
    kind: str = "calendar",
    period_type: str = "quarter",
    scheme: str = "as_recorded",
    field: str | None = None,
) -> dict | None:
    """One row of mart.form_06 as {column: value}, or None when there is none."""
    with psycopg.connect(dsn) as conn:
        row = conn.execute(
            f"""SELECT {", ".join(COLUMNS)} FROM mart.form_06
                WHERE period_kind = %s AND period_type = %s AND period_start = %s AND unit_code = %s
                  AND unit_scheme = %s AND field_code IS NOT DISTINCT FROM %s""",
            (kind, period_type, period_start, unit, scheme, field),
        ).fetchone()
    return None if row is None else dict(zip(COLUMNS, row, strict=True))


def counts(carried, online, in_person, early, on_time, late, without_due, within, overdue) -> dict:
    """A form row from its leaf columns; the totals follow."""
    return {
        "received_total": carried + online + in_person,
        "received_carried_over": carried,
        "received_online": online,
        "received_in_person": in_person,
        "finished_total": early + on_time + late,
        "finished_early": early,
        "finished_on_time": on_time,
        "finished_late": late,
        "finished_without_due": without_due,
        "in_progress_total": within + overdue,
        "in_progress_within_time": within,
        "in_progress_overdue": overdue,
    }


Q2 = date(2024, 4, 1)
Q3 = date(2024, 7, 1)
Q3_2025 = date(2025, 7, 1)


# ---------------------------------------------------------------- form 06, calendar quarter


def test_form_commune_calendar_quarter_by_field(mart):
    # Field LV01 of commune A in [1 April, 1 July): c1, c2, c5, c6, c8, c12, c13, c15, c19.
    # carried over (open at 1 April): c1. Online: c2, c8. In person: c5 (no channel), c6, c12,
    # c13, c15, c19. Finished: c1 early, c2 on time, c5 on time (after its pause), c13 early (local
    # date), c15 late. Open at 1 July: c6 (clock stopped), c12 (finished exactly at 1 July), c19
    # (status 8 without an end, promised 30 August) within time; c8 overdue (two requests).
    assert form(mart, COMMUNE_A, Q2, field=F1) == counts(1, 2, 6, 2, 2, 1, 0, 3, 1)
    # LV02: c3, c4, c7, c11, c14, c18, w3. Online: c7. In person: c3, c4 (post), c11, c14, c18, w3.
    # Finished: c4 early, c14 on time (same local date), c7 late (two requests). Open at 1 July, all
    # overdue: c3, w3 (by date), c11 (two requests, no date), c18 (status 7 without an end).
    assert form(mart, COMMUNE_A, Q2, field=F2) == counts(0, 1, 6, 1, 1, 1, 0, 0, 4)
    # No field: c9 (in person, finished without a promised date: on time) and c10 (online, open, no
    # date: within time). c16 (status 1), c17 (status 3) and the deleted cx count nowhere.
    assert form(mart, COMMUNE_A, Q2, field="") == counts(0, 1, 1, 0, 1, 0, 1, 1, 0)
    # The total row: the three fields added.
    assert form(mart, COMMUNE_A, Q2) == counts(1, 4, 13, 3, 4, 2, 1, 4, 5)


def test_form_field_name_and_window_columns(mart):
    with psycopg.connect(mart) as conn:
        rows = conn.execute(
            """SELECT period_kind, window_start, window_end, field_code, field_name FROM mart.form_06
               WHERE period_type = 'quarter' AND period_start = %s AND unit_code = %s
                 AND unit_scheme = 'as_recorded' ORDER BY period_kind, field_code NULLS FIRST""",
            (Q2, COMMUNE_A),
        ).fetchall()
    calendar = (date(2024, 4, 1), date(2024, 7, 1))
    statutory = (date(2024, 3, 15), date(2024, 6, 15))
    assert rows == [
        ("calendar", *calendar, None, None),
        ("calendar", *calendar, "", "Chưa xác định lĩnh vực"),
        ("calendar", *calendar, F1, F1),  # no field name in the procedure catalogue: the code
        ("calendar", *calendar, F2, F2),
        ("statutory", *statutory, None, None),
        ("statutory", *statutory, "", "Chưa xác định lĩnh vực"),
        ("statutory", *statutory, F1, F1),
        ("statutory", *statutory, F2, F2),
    ]


def test_form_rolls_up_to_district_and_province(mart):
    # Commune B: w2 (in person, open at 1 July past its date). Office: w1 (online, same).
    assert form(mart, COMMUNE_B, Q2) == counts(0, 0, 1, 0, 0, 0, 0, 0, 1)
    assert form(mart, OFFICE_1, Q2) == counts(0, 1, 0, 0, 0, 0, 0, 0, 1)
    # District 1 = commune A + commune B + the office.
    assert form(mart, DISTRICT_1, Q2) == counts(1, 5, 14, 3, 4, 2, 1, 4, 7)
    # District 2 = commune C: l1, l2, l3 in person, all finished late.
    assert form(mart, DISTRICT_2, Q2) == counts(0, 0, 3, 0, 0, 3, 0, 0, 0)
    # Department: dp1 online, early; dp2 in person, late by two requests without a promised date.
    assert form(mart, DEPARTMENT, Q2) == counts(0, 1, 1, 1, 0, 1, 0, 0, 0)
    # Province = district 1 + district 2 + department.
    assert form(mart, PROVINCE, Q2) == counts(1, 6, 18, 4, 4, 6, 1, 4, 7)
    # Per field: LV01 = A's (1, 2, 6 | 2, 2, 1 | 3, 1) + w2 + w1 + l1, l2 (late).
    assert form(mart, PROVINCE, Q2, field=F1) == counts(1, 3, 9, 2, 2, 3, 0, 3, 3)
    # LV02 = A's (0, 1, 6 | 1, 1, 1 | 0, 4) + l3 (late) + dp1 (online, early) + dp2 (late).
    assert form(mart, PROVINCE, Q2, field=F2) == counts(0, 2, 8, 2, 1, 3, 0, 0, 4)
    assert form(mart, PROVINCE, Q2, field="") == counts(0, 1, 1, 0, 1, 0, 1, 1, 0)


def test_finished_exactly_at_the_end_is_carried_over_into_the_next_window(mart):
    # Third quarter of 2024, commune A: open at 1 July, carried over: c3, c6, c8, c10, c11, c12,
    # c18, c19, w3 (9); nothing received. c12 finished at 1 July 00:00, promised 5 July: early.
    # Open at 1 October: c6 (clock stopped at 18 June, before its 20 June date) and c10 (no date)
    # within time; c3, c8 (two requests), c11, c18, c19 (30 August passed), w3 overdue.
    assert form(mart, COMMUNE_A, Q3) == counts(9, 0, 0, 1, 0, 0, 0, 2, 6)
    assert form(mart, COMMUNE_A, Q3, field=F1)["received_carried_over"] == 4  # c6, c8, c12, c19


# ---------------------------------------------------------------- statutory vs calendar


def test_statutory_window_of_the_same_quarter_counts_differently(mart):
    # Statutory Q2 2024 = [15 March, 15 June). Commune A: nothing open at 15 March (c1 is received
    # on 20 March). Received: online c1, c2, c7, c8, c10; in person c3, c4, c5, c6 (10 June), c9,
    # c11, c13, c14, c15, c18, c19 (not c12, w3: after 15 June). Finished in the window: the same
    # nine as in the calendar quarter (c1, c4, c13 early; c2, c5, c9, c14 on time; c7, c15 late).
    # Open at 15 June: c6 (no request yet), c8 (one request so far; due_eff 31 July), c10, c19
    # within time; c3, c11, c18 overdue.
    assert form(mart, COMMUNE_A, Q2, kind="statutory") == counts(0, 5, 11, 3, 4, 2, 1, 4, 3)
    # the calendar quarter, for comparison: counts(1, 4, 13, 3, 4, 2, 1, 4, 5)
    assert form(mart, COMMUNE_A, Q2, kind="statutory") != form(mart, COMMUNE_A, Q2)
    # Province: A + commune C (l1, l2, l3 received and finished late before 15 June) + department
    # (dp1 online early, dp2 late); w1, w2 are received after 15 June.
    assert form(mart, PROVINCE, Q2, kind="statutory") == counts(0, 6, 15, 4, 4, 6, 1, 4, 3)


def test_statutory_month_half_and_year_rows(mart):
    with psycopg.connect(mart) as conn:
        windows = conn.execute(
            """SELECT DISTINCT period_type, period_start, window_start, window_end FROM mart.form_06
               WHERE period_kind = 'statutory' AND period_start IN ('2024-05-01', '2024-07-01', '2024-01-01')
               ORDER BY 1, 2"""
        ).fetchall()
    assert windows == [
        ("half", date(2024, 1, 1), date(2023, 12, 15), date(2024, 6, 15)),
        ("half", date(2024, 7, 1), date(2024, 6, 15), date(2024, 12, 15)),
        ("month", date(2024, 1, 1), date(2023, 12, 15), date(2024, 1, 15)),
        ("month", date(2024, 5, 1), date(2024, 4, 15), date(2024, 5, 15)),
        ("month", date(2024, 7, 1), date(2024, 6, 15), date(2024, 7, 15)),
        ("quarter", date(2024, 1, 1), date(2023, 12, 15), date(2024, 3, 15)),
        ("quarter", date(2024, 7, 1), date(2024, 6, 15), date(2024, 9, 15)),
        ("year", date(2024, 1, 1), date(2023, 12, 15), date(2024, 12, 15)),
    ]
    # Statutory May 2024 = [15 April, 15 May), commune A. Open at 15 April: c3, c4, c5, c7 (c1, c2
    # finished before). Received: c18, c19 (16, 17 April), c9 (22 April), c11, c13, c14, c15 (in
    # person), c10 (online). Finished: c5 (18 April, on time), c7 (late), c9 (on time, no date),
    # c13 (early), c14 (on time). Open at 15 May: c3, c11, c18 overdue; c4, c10, c15 (promised
    # 15 May 17:00), c19 within time.
    assert form(mart, COMMUNE_A, date(2024, 5, 1), kind="statutory", period_type="month") == counts(
        4, 1, 7, 1, 3, 1, 1, 4, 3
    )


def test_statutory_window_function_and_its_configured_cutoff(mart):
    with psycopg.connect(mart) as conn:

        def window(period_type, start):
            return conn.execute(
                "SELECT * FROM mart.statutory_window(%s, %s)", (period_type, start)
            ).fetchone()

        assert window("month", date(2024, 5, 1)) == (date(2024, 4, 15), date(2024, 5, 15))
        assert window("quarter", Q2) == (date(2024, 3, 15), date(2024, 6, 15))
        assert window("half", date(2024, 7, 1)) == (date(2024, 6, 15), date(2024, 12, 15))
        assert window("year", date(2024, 1, 1)) == (date(2023, 12, 15), date(2024, 12, 15))
        # A new cut-off (the 20th) in force from 1 April 2024 moves the windows of the periods that
        # start on or after that day, not the earlier ones.
        conn.execute("INSERT INTO mart.statutory_cutoff VALUES ('2024-04-01', 20, 'test')")
        assert window("quarter", Q2) == (date(2024, 3, 21), date(2024, 6, 21))
        assert window("month", date(2024, 5, 1)) == (date(2024, 4, 21), date(2024, 5, 21))
        assert window("quarter", date(2024, 1, 1)) == (date(2023, 12, 15), date(2024, 3, 15))
        conn.rollback()
        assert window("quarter", Q2) == (date(2024, 3, 15), date(2024, 6, 15))


def test_a_new_cutoff_moves_the_statutory_windows_of_the_form(mart):
    with warehouse.connect(dsn=mart) as conn:
        conn.execute("INSERT INTO mart.statutory_cutoff VALUES ('2024-01-01', 20, 'test')")
        indicators.refresh(conn, date(2024, 3, 1), date(2024, 7, 1))  # a savepoint of this transaction
        row = conn.execute(
            f"""SELECT window_start, window_end, {", ".join(COLUMNS)} FROM mart.form_06
                WHERE period_kind = 'statutory' AND period_type = 'quarter' AND period_start = %s
                  AND unit_code = %s AND unit_scheme = 'as_recorded' AND field_code IS NULL""",
            (Q2, COMMUNE_A),
        ).fetchone()
        label = conn.execute(
            """SELECT DISTINCT period_kind_label FROM mart.bi_form_06
               WHERE period_kind = 'statutory' AND period_type = 'quarter' AND period_start = %s""",
            (Q2,),
        ).fetchall()
        conn.rollback()
    # Statutory Q2 2024 with the 20th: [21 March, 21 June). Commune A: c1 (received 20 March) is
    # carried over. Received: online c2, c7, c8, c10; in person c3, c4, c5, c6, c9, c11, c13, c14,
    # c15, c18, c19, w3 (18 June). Finished: the same nine. Open at 21 June: c6 (clock stopped),
    # c10, c19, w3 (promised 22 June) within time; c3, c8 (second request on 20 June), c11, c18
    # overdue.
    assert row[:2] == (date(2024, 3, 21), date(2024, 6, 21))
    assert dict(zip(COLUMNS, row[2:], strict=True)) == counts(1, 4, 12, 3, 4, 2, 1, 4, 4)
    assert label == [("Kỳ báo cáo (chốt số liệu ngày 20)",)]
    assert form(mart, COMMUNE_A, Q2, kind="statutory") == counts(0, 5, 11, 3, 4, 2, 1, 4, 3)  # rolled back


def test_early_is_judged_on_local_dates_whatever_the_session_time_zone(mart):
    # A refresh in a UTC session: c13 (end 9 May 23:30, promised 10 May 06:00 local) stays early
    # and c14 (end 10 May 00:30, promised 10 May 17:00 local) on time, although their UTC dates
    # say the opposite; the rest of each field's row as in the local-time refresh.
    with warehouse.connect(dsn=mart) as conn:
        conn.execute("SET LOCAL TIME ZONE 'UTC'")
        indicators.refresh(conn, date(2024, 5, 1), date(2024, 6, 1))
        assert conn.execute("SHOW TimeZone").fetchone() == ("UTC",)
        rows = conn.execute(
            f"""SELECT field_code, {", ".join(COLUMNS)} FROM mart.form_06
                WHERE period_kind = 'calendar' AND period_type = 'quarter' AND period_start = %s
                  AND unit_code = %s AND unit_scheme = 'as_recorded' AND field_code IN (%s, %s)""",
            (Q2, COMMUNE_A, F1, F2),
        ).fetchall()
        conn.rollback()
    found = {row[0]: dict(zip(COLUMNS, row[1:], strict=True)) for row in rows}
    assert found == {F1: counts(1, 2, 6, 2, 2, 1, 0, 3, 1), F2: counts(0, 1, 6, 1, 1, 1, 0, 0, 4)}


# ---------------------------------------------------------------- unit schemes, 2025 reorganisation


def test_unit_dissolved_on_2025_07_01_in_both_schemes(mart):
    # Q3 2025 [1 July, 1 October). Commune A (dissolved 30 June 2025), as recorded: carried over r1
    # and its eight dossiers never finished (c3, c6, c8, c10, c11, c18, c19, w3); r1 finished early;
    # open at 1 October: c6, c10 within time, the six others overdue.
    assert form(mart, COMMUNE_A, Q3_2025) == counts(9, 0, 0, 1, 0, 0, 0, 2, 6)
    # Commune B: r3 and w2, open, overdue. District 1: A + B + the office's w1.
    assert form(mart, COMMUNE_B, Q3_2025) == counts(2, 0, 0, 0, 0, 0, 0, 0, 2)
    assert form(mart, DISTRICT_1, Q3_2025) == counts(12, 0, 0, 1, 0, 0, 0, 2, 9)
    # NEW_1 as recorded: nothing was recorded on it, a row of zeros; NEW_2: r2.
    assert form(mart, NEW_1, Q3_2025) == counts(0, 0, 0, 0, 0, 0, 0, 0, 0)
    assert form(mart, NEW_2, Q3_2025) == counts(0, 0, 1, 1, 0, 0, 0, 0, 0)
    assert form(mart, PROVINCE, Q3_2025) == counts(12, 0, 1, 2, 0, 0, 0, 2, 9)
    # Current: A and B (split, the first successor by code) go to NEW_1; the office goes to the
    # province (its work went to communes); C to NEW_2 (nothing open in 2025).
    current = dict(scheme="current")
    assert form(mart, NEW_1, Q3_2025, **current) == counts(11, 0, 0, 1, 0, 0, 0, 2, 8)
    assert form(mart, NEW_2, Q3_2025, **current) == counts(0, 0, 1, 1, 0, 0, 0, 0, 0)
    assert form(mart, PROVINCE, Q3_2025, **current) == form(mart, PROVINCE, Q3_2025)
    assert form(mart, COMMUNE_A, Q3_2025, **current) is None
    assert form(mart, DISTRICT_1, Q3_2025, **current) is None
    # Q2 2024 on today's units: NEW_1 = A (18 received) + B (w2); NEW_2 = C (3); the province alike.
    assert form(mart, NEW_1, Q2, **current)["received_total"] == 19
    assert form(mart, NEW_2, Q2, **current) == form(mart, DISTRICT_2, Q2)
    assert form(mart, PROVINCE, Q2, **current) == form(mart, PROVINCE, Q2)
    assert form(mart, NEW_1, Q2) is None  # not a unit of 2024 as recorded


# ---------------------------------------------------------------- form invariants over the table


def test_every_form_row_balances_and_fields_add_up_to_the_total(mart):
    field_sums = ", ".join(f"coalesce(sum({c}) FILTER (WHERE field_code IS NOT NULL), 0)" for c in COLUMNS)
    total_row = ", ".join(f"(max({c}) FILTER (WHERE field_code IS NULL))::bigint" for c in COLUMNS)
    with warehouse.connect(dsn=mart) as conn:
        rows = conn.execute("SELECT count(*) FROM mart.form_06").fetchone()[0]
        unbalanced = conn.execute(
            """SELECT period_kind, period_type, period_start, unit_code, unit_scheme, field_code
               FROM mart.form_06 WHERE received_total <> finished_total + in_progress_total"""
        ).fetchall()
        mismatched = conn.execute(
            f"""SELECT * FROM (
                    SELECT period_kind, period_type, period_start, unit_code, unit_scheme,
                           ARRAY[{field_sums}] AS fields, ARRAY[{total_row}] AS total
                    FROM mart.form_06 GROUP BY 1, 2, 3, 4, 5) AS g
                WHERE g.fields IS DISTINCT FROM g.total"""
        ).fetchall()
        violations = indicators.invariant_violations(conn)
    assert rows > 0
    assert unbalanced == []
    assert mismatched == []  # every unit has its total row, and its fields add up to it
    assert violations == []


# ---------------------------------------------------------------- the watchlist


def watchlist(dsn: str, at: str) -> dict[str, tuple]:
    """watchlist_at(at) as {ma_ho_so: (category, hours_left, due_at)}."""
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT ma_ho_so, category, hours_left, due_at FROM mart.watchlist_at(%s)", (local(at),)
        ).fetchall()
    return {code: (category, hours, due) for code, category, hours, due in rows}


def test_watchlist_at_w_every_category(mart):
    found = watchlist(mart, W)
    assert found == {
        # overdue by date: hours_left = due_eff - W, 12 April 17:00 -> 19 June 12:00 = 67 days 19 h
        "c3": ("overdue", Decimal("-1627.0"), local("2024-04-12 17:00")),
        # 26 April 17:00 -> 19 June 12:00 = 53 days 19 h (status 7 without an end: still open)
        "c18": ("overdue", Decimal("-1291.0"), local("2024-04-26 17:00")),
        # two requests, no promised date: overdue, no due, no hours
        "c11": ("overdue", None, None),
        # the clock stopped at the request (18 June 08:00): due_eff - clock = 2 days 9 h
        "c6": ("waiting_supplement", Decimal("57.0"), local("2024-06-20 17:00")),
        "w1": ("due_24h", Decimal("20.0"), local("2024-06-20 08:00")),  # 20 h away
        "w2": ("due_72h", Decimal("53.5"), local("2024-06-21 17:30")),  # 2 days 5.5 h away
        # not listed: w3 (73 h away), c8 (one request so far, due 31 July), c10 (no date, not late),
        # c19 (30 August), c17 (refused at reception), every finished dossier, c12 (received later)
    }


def test_watchlist_at_other_instants(mart):
    # 11 April 08:00: c5 waits for its supplement (requested 10 April 08:00; due 15 April 17:00,
    # 5 days 9 h after the request); c3 is 33 h from its date; c7's first request is made at this
    # very instant (not before it): no request yet, its date far away.
    assert watchlist(mart, "2024-04-11 08:00") == {
        "c5": ("waiting_supplement", Decimal("129.0"), local("2024-04-15 17:00")),
        "c3": ("due_72h", Decimal("33.0"), local("2024-04-12 17:00")),
    }
    # 15 April 12:00: c7 has two requests (the second one open since 08:00): overdue although its
    # date (30 April + 1 day of answered pause) is 16 days 9 h after the clock. c5's supplement
    # was answered: due_eff = 18 April 17:00, 77 h away: not listed.
    assert watchlist(mart, "2024-04-15 12:00") == {
        "c7": ("overdue", Decimal("393.0"), local("2024-05-01 17:00")),
        "c3": ("overdue", Decimal("-67.0"), local("2024-04-12 17:00")),
    }
    # c5, finished 18 April 10:00, from the timestamps: 53 h, 9 h, 7 h left; at 10:00 it is not
    # finished *before* the instant, so still open; an hour later it is gone.
    assert watchlist(mart, "2024-04-16 12:00")["c5"] == (
        "due_72h",
        Decimal("53.0"),
        local("2024-04-18 17:00"),
    )
    assert watchlist(mart, "2024-04-18 08:00")["c5"] == ("due_24h", Decimal("9.0"), local("2024-04-18 17:00"))
    assert watchlist(mart, "2024-04-18 10:00")["c5"][:2] == ("due_24h", Decimal("7.0"))
    assert "c5" not in watchlist(mart, "2024-04-18 11:00")
    # c15, finished late 17 May 08:00: overdue the day before, gone after.
    assert watchlist(mart, "2024-05-16 12:00")["c15"] == (
        "overdue",
        Decimal("-19.0"),
        local("2024-05-15 17:00"),
    )
    assert "c15" not in watchlist(mart, "2024-05-17 09:00")
    # 1 July 00:00: c6 still waits (the clock stopped: not overdue, 57 h left when it restarts);
    # c8 has its second request (20 June): overdue with 41 days 9 h to its due_eff (31 July 17:00).
    at_end = watchlist(mart, "2024-07-01 00:00")
    assert at_end["c6"] == ("waiting_supplement", Decimal("57.0"), local("2024-06-20 17:00"))
    assert at_end["c8"] == ("overdue", Decimal("993.0"), local("2024-07-31 17:00"))
    assert {code for code, entry in at_end.items() if entry[0] == "overdue"} == {
        "c3",
        "c8",
        "c11",
        "c18",
        "w1",
        "w2",
        "w3",
    }
    assert set(at_end) == {"c3", "c6", "c8", "c11", "c18", "w1", "w2", "w3"}  # not c10, c12, c19


def test_watchlist_office_unit_and_applicant(mart):
    with psycopg.connect(mart) as conn:
        cursor = conn.execute("SELECT * FROM mart.watchlist_at(%s) ORDER BY ma_ho_so", (local(W),))
        names = [column.name for column in cursor.description]
        rows = {row[0]: dict(zip(names, row, strict=True)) for row in cursor.fetchall()}
        later = conn.execute(
            "SELECT office, category, hours_left FROM mart.watchlist_at(%s) WHERE ma_ho_so = 'w1'",
            (local("2024-06-20 09:00"),),
        ).fetchone()
    assert names == [
        "ma_ho_so",
        "unit_code",
        "unit_name",
        "procedure_code",
        "procedure_name",
        "received_at",
        "due_at",
        "hours_left",
        "office",
        "category",
        "applicant_token",
        "source_id",  # dossier codes are a source system's own (docs/sources.md)
    ]
    w1 = rows["w1"]
    assert w1["source_id"] == "lai_chau"
    # the office of the latest step at or before W (the third step is on 20 June)
    assert w1["office"] == "Phòng Tư pháp"
    assert (w1["unit_code"], w1["unit_name"]) == (OFFICE_1, f"Đơn vị {OFFICE_1}")
    assert w1["received_at"] == local("2024-06-17 08:00")
    assert w1["applicant_token"] == "tok-w1"
    assert not {"name-w1", "phone-w1"} & {value for row in rows.values() for value in row.values()}
    assert rows["c3"]["office"] == "Bộ phận Một cửa" and rows["w2"]["office"] is None
    # a step exactly at the instant counts; w1 is 1 h past its date then
    assert later == ("Lãnh đạo UBND", "overdue", Decimal("-1.0"))


def test_refreshed_watchlist_is_the_one_at_the_newest_loaded_window(mart):
    with psycopg.connect(mart) as conn:
        stored = conn.execute(
            """SELECT as_of, ma_ho_so, unit_code, unit_name, procedure_code, procedure_name, received_at,
                      due_at, hours_left, office, category, applicant_token, source_id
               FROM mart.watchlist ORDER BY ma_ho_so"""
        ).fetchall()
        expected = conn.execute(
            "SELECT %s::timestamptz, * FROM mart.watchlist_at(%s) ORDER BY ma_ho_so", (local(W), local(W))
        ).fetchall()
        labels = conn.execute(
            "SELECT ma_ho_so, category_label, urgency FROM mart.bi_watchlist ORDER BY urgency, ma_ho_so"
        ).fetchall()
        late = conn.execute(
            "SELECT as_of, ma_ho_so, unit_code, finished_at FROM mart.late_without_apology ORDER BY ma_ho_so"
        ).fetchall()
        late_at = conn.execute(
            "SELECT ma_ho_so FROM mart.late_without_apology_at(%s) ORDER BY ma_ho_so", (local(W),)
        ).fetchall()
    assert stored == expected and len(stored) == 6  # as of W, not the later landed or feedback batches
    assert labels == [
        ("c11", "Quá hạn", 1),
        ("c18", "Quá hạn", 1),
        ("c3", "Quá hạn", 1),
        ("c6", "Chờ bổ sung", 2),
        ("w1", "Hỏa tốc (đến hạn trong 24 giờ)", 3),
        ("w2", "Khẩn (đến hạn trong 3 ngày)", 4),
    ]
    # Finished late in the 30 days before W (from 20 May 12:00) without an apology slip: l1
    # (10 June) and dp2 (7 June, late by its two requests); not l2 (apology), not l3 (19 May
    # 12:00, 31 days before), not c15 (17 May).
    assert late == [
        (local(W), "dp2", DEPARTMENT, local("2024-06-07 08:00")),
        (local(W), "l1", COMMUNE_C, local("2024-06-10 08:00")),
    ]
    assert late_at == [("dp2",), ("l1",)]


# ---------------------------------------------------------------- the BI role


def test_bi_reader_calls_the_watchlist_and_reads_the_views_not_core(mart):
    with psycopg.connect(mart) as conn:
        conn.execute("SET ROLE bi_reader")
        assert len(conn.execute("SELECT * FROM mart.watchlist_at(%s)", (local(W),)).fetchall()) == 6
        assert conn.execute("SELECT count(*) FROM mart.bi_watchlist").fetchone()[0] == 6
        assert conn.execute("SELECT count(*) FROM mart.bi_late_without_apology").fetchone()[0] == 2
        assert (
            conn.execute("SELECT count(*) FROM mart.late_without_apology_at(%s)", (local(W),)).fetchone()[0]
            == 2
        )
        row = conn.execute(
            """SELECT period_kind_label, window_start, window_last_day, field_label, received_total
               FROM mart.bi_form_06
               WHERE period_kind = 'statutory' AND period_type = 'quarter' AND period_start = %s
                 AND unit_code = %s AND unit_scheme = 'as_recorded' AND field_code IS NULL""",
            (Q2, PROVINCE),
        ).fetchone()
        assert row == (
            "Kỳ báo cáo (chốt số liệu ngày 14)",
            date(2024, 3, 15),
            date(2024, 6, 14),
            "Tổng số",
            21,
        )
        assert conn.execute("SELECT * FROM mart.statutory_window('quarter', %s)", (Q2,)).fetchone() == (
            date(2024, 3, 15),
            date(2024, 6, 15),
        )
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT count(*) FROM core.fact_dossier")
        conn.rollback()
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SET ROLE bi_reader")
            conn.execute("SELECT * FROM core.dossier_state_at(now())")


def test_a_retired_source_lists_nothing_after_its_last_day(mart):
    """A legacy system's open dossiers went to the system that took over: from the day after its
    active_to (core.source), the watchlist leaves them out; before it, they are listed as ever."""
    with psycopg.connect(mart) as conn:
        conn.execute(
            """INSERT INTO core.source (source_id, source_name, conn_id, active_to)
               VALUES ('lai_chau', 'Lai Châu (cũ)', 'tthc_source', '2024-06-18')
               ON CONFLICT (source_id) DO UPDATE SET active_to = EXCLUDED.active_to"""
        )

        def codes(at: str) -> set[str]:
            return {
                row[0] for row in conn.execute("SELECT ma_ho_so FROM mart.watchlist_at(%s)", (local(at),))
            }

        assert codes(W) == set()
        assert codes("2024-06-18 23:59") == set(watchlist(mart, "2024-06-18 23:59"))
        assert codes("2024-04-11 08:00") == {"c5", "c3"}
        conn.rollback()
    assert watchlist(mart, W)  # the retirement was rolled back: listed again
