"""The daily digest (tthc.digest, DAG tthc_watchlist) against a real SMTP server (aiosmtpd) and a
real webhook receiver, started by the tests (tests/conftest.py), on a warehouse with dossiers
written by hand into core (tests/tthc/mart_fixture.py), and the DAG's working-day schedule.

The digest day is Wednesday 2024-06-19: its lists are taken at 07:00 local time (``AT``). Per unit:

- H35.101 (two active addresses): one overdue (due 18/06 17:00: -14.0 h), one waiting for a
  supplement, two due within 24 h (one of them finished at 10:00 that day, after the instant: still
  listed), one due within 72 h, one not due for a week (not listed), and three finished late: one
  without an apology slip in the 30 days before (listed), one with a slip, one 40 days before;
- H35.101.0001 (no contact): one due within 24 h -> the fallback address;
- H35.S01 (only an inactive contact): one overdue -> the fallback address;
- H35.102 (one active, one inactive address): only a late dossier without apology -> mailed;
- H35.102.0003: only a dossier not due for a week -> no mail, no webhook line.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import subprocess
import sys
from datetime import date, datetime, timedelta
from email.message import EmailMessage

import psycopg
import pytest
from mart_fixture import (
    COMMUNE_A,
    COMMUNE_C,
    DEPARTMENT,
    DISTRICT_1,
    DISTRICT_2,
    P_FEE,
    P_FREE,
    insert_dossier,
    insert_reference,
    local,
)

from tthc import PROJECT_ROOT, devstack, digest, tasks
from tthc.devstack import free_port
from tthc.timetables import WorkingDayTimetable

pytestmark = pytest.mark.integration

DAY = date(2024, 6, 19)
AT = local("2024-06-19 07:00")
FALLBACK = "fallback@example.test"
CONTACTS = [  # (unit, email, active)
    (DISTRICT_1, "motcua@h35-101.example.test", True),
    (DISTRICT_1, "lanhdao@h35-101.example.test", True),
    (DISTRICT_2, "motcua@h35-102.example.test", True),
    (DISTRICT_2, "cu@h35-102.example.test", False),
    (DEPARTMENT, "cu@h35-s01.example.test", False),
]
OPEN = dict(status=4, finished_at=None, timeliness=None)
# unit -> the dossiers its digest lists, in the order it lists them (urgency, then hours left)
EXPECTED_ENTRIES = {
    DISTRICT_1: ["d1-overdue", "d1-waiting", "d1-24h-a", "d1-24h-b", "d1-72h"],
    COMMUNE_A: ["a-24h"],
    DEPARTMENT: ["s-overdue"],
    DISTRICT_2: [],
}
EXPECTED_LATE = {DISTRICT_1: ["d1-late"], COMMUNE_A: [], DEPARTMENT: [], DISTRICT_2: ["d2-late"]}
UNITS_WITH_ENTRIES = sorted(EXPECTED_ENTRIES)


def build_warehouse(conn: psycopg.Connection) -> None:
    insert_reference(conn)
    d1 = dict(received_at="2024-06-10 08:00", **OPEN)
    insert_dossier(
        conn, "d1-overdue", DISTRICT_1, due_at="2024-06-18 17:00", applicant_id_token="tok-d1", **d1
    )
    insert_dossier(
        conn,
        "d1-waiting",
        DISTRICT_1,
        due_at="2024-06-25 17:00",
        supplement_count=1,
        open_supplement_at="2024-06-14 09:00",
        **d1,
    )
    insert_dossier(conn, "d1-24h-a", DISTRICT_1, due_at="2024-06-19 11:00", procedure_code=P_FREE, **d1)
    # finished after the digest's instant: open at 07:00, so listed all the same
    insert_dossier(
        conn,
        "d1-24h-b",
        DISTRICT_1,
        received_at="2024-06-10 08:00",
        due_at="2024-06-19 16:00",
        status=10,
        finished_at="2024-06-19 10:00",
        timeliness="on_time",
    )
    insert_dossier(conn, "d1-72h", DISTRICT_1, due_at="2024-06-21 10:00", **d1)
    insert_dossier(conn, "d1-later", DISTRICT_1, due_at="2024-06-26 17:00", **d1)
    late = dict(received_at="2024-06-03 08:00", due_at="2024-06-05 17:00", status=10, timeliness="late")
    insert_dossier(conn, "d1-late", DISTRICT_1, finished_at="2024-06-10 10:00", **late)
    insert_dossier(
        conn, "d1-late-apology", DISTRICT_1, finished_at="2024-06-10 10:00", has_apology=True, **late
    )
    insert_dossier(
        conn,
        "d1-late-old",
        DISTRICT_1,
        received_at="2024-05-01 08:00",
        due_at="2024-05-03 17:00",
        finished_at="2024-05-10 10:00",
        status=10,
        timeliness="late",
    )
    insert_dossier(
        conn, "a-24h", COMMUNE_A, received_at="2024-06-17 08:00", due_at="2024-06-20 06:00", **OPEN
    )
    insert_dossier(
        conn, "s-overdue", DEPARTMENT, received_at="2024-06-03 08:00", due_at="2024-06-17 17:00", **OPEN
    )
    insert_dossier(conn, "d2-late", DISTRICT_2, finished_at="2024-06-18 15:00", procedure_code=P_FEE, **late)
    insert_dossier(
        conn, "c-later", COMMUNE_C, received_at="2024-06-17 08:00", due_at="2024-07-01 17:00", **OPEN
    )
    # the supplement request still open at 07:00, and the office that has the overdue dossier
    conn.execute(
        """INSERT INTO core.dossier_supplement (ma_ho_so, position, requested_at, answered_at, dossier_id)
           SELECT ma_ho_so, 1, %s, NULL, dossier_id FROM core.fact_dossier WHERE ma_ho_so = 'd1-waiting'""",
        (local("2024-06-14 09:00"),),
    )
    for code, position, at, office in (
        ("d1-overdue", 1, "2024-06-10 08:00", "Bộ phận một cửa"),
        ("d1-overdue", 2, "2024-06-11 09:00", "Phòng Tài nguyên và Môi trường"),
        ("d1-overdue", 3, "2024-06-19 09:00", "Lãnh đạo UBND"),  # after the instant: not its office yet
    ):
        conn.execute(
            """INSERT INTO core.dossier_step (ma_ho_so, position, step_at, status, department, dossier_id)
               SELECT ma_ho_so, %s, %s, 4, %s, dossier_id FROM core.fact_dossier WHERE ma_ho_so = %s""",
            (position, local(at), office, code),
        )
    for unit, email, active in CONTACTS:
        conn.execute(
            "INSERT INTO quality.unit_contact (unit_code, email, active) VALUES (%s, %s, %s)",
            (unit, email, active),
        )


@pytest.fixture(scope="module")
def warehouse_dsn(make_database) -> str:
    dsn = make_database("digest")
    with psycopg.connect(dsn) as conn:
        build_warehouse(conn)
    return dsn


@pytest.fixture
def digest_env(warehouse_dsn, smtp_server, webhook_server, monkeypatch):
    """The warehouse, SMTP and webhook connections in the environment; an empty sent-log."""
    from tthc import warehouse

    with psycopg.connect(warehouse_dsn, autocommit=True) as conn:
        conn.execute("DELETE FROM quality.digest_sent")
    monkeypatch.setenv("AIRFLOW_CONN_TTHC_WAREHOUSE", warehouse.airflow_connection_json(warehouse_dsn))
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", smtp_server.connection)
    monkeypatch.setenv("AIRFLOW_CONN_TTHC_ALERT_WEBHOOK", webhook_server.connection)
    monkeypatch.delenv(digest.FALLBACK_ENV, raising=False)
    return warehouse_dsn


def sent_log(dsn: str) -> dict[tuple[str, str], tuple[list[str], int]]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT unit_code, channel, recipients, entries FROM quality.digest_sent WHERE digest_day = %s",
            (DAY,),
        ).fetchall()
    return {(unit, channel): (sorted(recipients), entries) for unit, channel, recipients, entries in rows}


def unit_of(message: EmailMessage) -> str:
    return message["Subject"].removeprefix(digest.NO_CONTACT_PREFIX).split()[1]


def attachment_rows(message: EmailMessage) -> list[dict[str, str]]:
    (part,) = list(message.iter_attachments())
    assert part.get_content_type() == "text/csv"
    assert part.get_filename() == f"ho_so_can_xu_ly_{unit_of(message)}_2024-06-19.csv"
    raw = part.get_payload(decode=True)
    assert raw.startswith(b"\xef\xbb\xbf"), "UTF-8 with BOM, for Excel"
    return list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))


def by_unit(messages: list[EmailMessage]) -> dict[str, EmailMessage]:
    found = {unit_of(m): m for m in messages}
    assert len(found) == len(messages), "one message per unit"
    return found


def test_one_mail_per_unit_with_its_dossiers_one_webhook_line_each_and_nothing_twice(
    digest_env, smtp_server, webhook_server, caplog
):
    caplog.set_level(logging.INFO, logger="tthc.digest")
    outcome = tasks.send_watchlist_digest("2024-06-19", fallback_email=FALLBACK)

    mails = by_unit(smtp_server.messages)
    assert sorted(mails) == UNITS_WITH_ENTRIES  # none for H35.102.0003, whose dossier is not due yet
    assert sorted(outcome["mailed"]) == UNITS_WITH_ENTRIES and outcome["already_mailed"] == []

    # recipients: the active contacts, else the fallback address (named in a warning)
    assert sorted(mails[DISTRICT_1]["To"].split(", ")) == [
        "lanhdao@h35-101.example.test",
        "motcua@h35-101.example.test",
    ]
    assert mails[DISTRICT_2]["To"] == "motcua@h35-102.example.test"
    for unit in (COMMUNE_A, DEPARTMENT):
        assert mails[unit]["To"] == FALLBACK
        assert mails[unit]["Subject"].startswith(digest.NO_CONTACT_PREFIX)
    assert not mails[DISTRICT_1]["Subject"].startswith(digest.NO_CONTACT_PREFIX)
    assert sorted(outcome["to_fallback"]) == sorted([COMMUNE_A, DEPARTMENT])
    (warning,) = [r for r in caplog.records if r.name == "tthc.digest" and r.levelno == logging.WARNING]
    assert "fallback" in warning.getMessage()
    assert warning.getMessage().rsplit(": ", 1)[1].split(", ") == [COMMUNE_A, DEPARTMENT]

    # the right dossiers, most urgent first, in the attachment and in the body
    for unit, message in mails.items():
        rows = attachment_rows(message)
        assert [r["Mã hồ sơ"] for r in rows] == EXPECTED_ENTRIES[unit] + EXPECTED_LATE[unit]
        assert message["Subject"] == (
            (digest.NO_CONTACT_PREFIX if unit in (COMMUNE_A, DEPARTMENT) else "")
            + f"[TTHC] {unit} Đơn vị {unit}: {len(rows)} hồ sơ cần xử lý ngày 19/06/2024"
        )
    rows = {r["Mã hồ sơ"]: r for r in attachment_rows(mails[DISTRICT_1])}
    assert rows["d1-overdue"]["Tình trạng"] == "Quá hạn"
    assert rows["d1-overdue"]["Số giờ còn lại"] == "-14.0"
    assert rows["d1-overdue"]["Hạn trả"] == "2024-06-18 17:00"
    assert rows["d1-overdue"]["Bộ phận"] == "Phòng Tài nguyên và Môi trường"  # its office at 07:00
    assert rows["d1-waiting"]["Tình trạng"] == "Chờ bổ sung"
    assert rows["d1-24h-a"]["Số giờ còn lại"] == "4.0" and rows["d1-24h-a"]["Mã thủ tục"] == P_FREE
    assert rows["d1-72h"]["Tình trạng"].startswith("Khẩn")
    assert rows["d1-late"]["Tình trạng"] == digest.LATE_SECTION
    assert rows["d1-late"]["Ngày trả kết quả"] == "2024-06-10 10:00"
    assert rows["d1-overdue"]["Mã bí danh người nộp"] == "tok-d1"  # the applicant only as its token

    body = mails[DISTRICT_1].get_body(preferencelist=("plain",)).get_content()
    html = mails[DISTRICT_1].get_body(preferencelist=("html",)).get_content()
    order = [
        "== Quá hạn (1) ==",
        "== Chờ bổ sung (1) ==",
        "== Hỏa tốc",
        "== Khẩn",
        f"== {digest.LATE_SECTION} (1) ==",
    ]
    positions = [body.index(heading) for heading in order]
    assert positions == sorted(positions)
    assert "d1-overdue | 1.000001 | Phòng Tài nguyên và Môi trường | 18/06/2024 17:00 | -14,0" in body
    assert "d1-later" not in body and "d1-late-apology" not in body and "d1-late-old" not in body
    assert "Hồ sơ quá hạn chưa có phiếu xin lỗi" in html and "<table" in html and "d1-24h-b" in html
    fallback_body = mails[COMMUNE_A].get_body(preferencelist=("plain",)).get_content()
    assert "địa chỉ dự phòng" in fallback_body

    # the webhook: one POST, one line per unit with entries
    (call,) = webhook_server.calls
    header, *lines = call["body"]["text"].splitlines()
    assert "19/06/2024" in header
    assert lines == [
        f"{DISTRICT_1} Đơn vị {DISTRICT_1}: 1 quá hạn, 1 chờ bổ sung, 2 hỏa tốc, 1 khẩn, "
        "1 quá hạn chưa có phiếu xin lỗi",
        f"{COMMUNE_A} Đơn vị {COMMUNE_A}: 0 quá hạn, 0 chờ bổ sung, 1 hỏa tốc, 0 khẩn",
        f"{DISTRICT_2} Đơn vị {DISTRICT_2}: 0 quá hạn, 0 chờ bổ sung, 0 hỏa tốc, 0 khẩn, "
        "1 quá hạn chưa có phiếu xin lỗi",
        f"{DEPARTMENT} Đơn vị {DEPARTMENT}: 1 quá hạn, 0 chờ bổ sung, 0 hỏa tốc, 0 khẩn",
    ]

    # the sent-log: every send, with its recipients and entries
    log = sent_log(digest_env)
    assert log[(DISTRICT_1, "email")] == (sorted(c[1] for c in CONTACTS[:2]), 6)
    assert log[(COMMUNE_A, "email")] == ([FALLBACK], 1)
    assert {unit for unit, channel in log if channel == "webhook"} == set(UNITS_WITH_ENTRIES)

    # the same day again: nothing is sent twice
    again = tasks.send_watchlist_digest(
        datetime(2024, 6, 19, 0, 0, tzinfo=AT.tzinfo), fallback_email=FALLBACK
    )
    assert len(smtp_server.messages) == 4 and len(webhook_server.calls) == 1
    assert again["mailed"] == [] and again["posted"] == []
    assert sorted(again["already_mailed"]) == sorted(again["already_posted"]) == UNITS_WITH_ENTRIES


def test_a_rerun_after_a_partial_failure_sends_only_what_is_missing(
    digest_env, smtp_server, webhook_server, monkeypatch
):
    # No fallback address and a webhook that refuses connections: the units with contacts are
    # mailed and recorded, the task fails naming what was not sent.
    closed = json.loads(webhook_server.connection) | {"port": free_port()}
    monkeypatch.setenv("AIRFLOW_CONN_TTHC_ALERT_WEBHOOK", json.dumps(closed))
    with pytest.raises(digest.DigestIncompleteError) as failure:
        tasks.send_watchlist_digest("2024-06-19")
    assert f"{COMMUNE_A}/email: no active contact and no fallback address" in str(failure.value)
    assert f"{DISTRICT_1}/webhook: webhook POST failed" in str(failure.value)
    assert sorted(by_unit(smtp_server.messages)) == [DISTRICT_1, DISTRICT_2]
    assert set(sent_log(digest_env)) == {(DISTRICT_1, "email"), (DISTRICT_2, "email")}

    # The retry, with the fallback (from the environment) and the webhook back: only the rest.
    monkeypatch.setenv(digest.FALLBACK_ENV, FALLBACK)
    monkeypatch.setenv("AIRFLOW_CONN_TTHC_ALERT_WEBHOOK", webhook_server.connection)
    outcome = tasks.send_watchlist_digest("2024-06-19")
    assert sorted(outcome["mailed"]) == sorted([COMMUNE_A, DEPARTMENT])
    assert sorted(outcome["already_mailed"]) == [DISTRICT_1, DISTRICT_2]
    assert len(smtp_server.messages) == 4 and sorted(by_unit(smtp_server.messages)) == UNITS_WITH_ENTRIES
    (call,) = webhook_server.calls
    assert len(call["body"]["text"].splitlines()) == 1 + len(UNITS_WITH_ENTRIES)
    assert len(sent_log(digest_env)) == 2 * len(UNITS_WITH_ENTRIES)


def test_a_past_day_is_rebuilt_from_the_timestamps(digest_env, smtp_server, webhook_server):
    """The digest of Monday 17 June lists that day's state: d1-overdue was not late yet (due 18/06
    17:00: 34 h left at 07:00, khẩn), a-24h not received yet."""
    tasks.send_watchlist_digest("2024-06-17", fallback_email=FALLBACK)
    mails = by_unit(smtp_server.messages)
    rows = {r["Mã hồ sơ"]: r for r in attachment_rows_for_day(mails[DISTRICT_1], "2024-06-17")}
    assert (
        rows["d1-overdue"]["Tình trạng"].startswith("Khẩn") and rows["d1-overdue"]["Số giờ còn lại"] == "34.0"
    )
    assert COMMUNE_A not in mails


def attachment_rows_for_day(message: EmailMessage, day: str) -> list[dict[str, str]]:
    (part,) = list(message.iter_attachments())
    assert part.get_filename().endswith(f"_{day}.csv")
    return list(csv.DictReader(io.StringIO(part.get_payload(decode=True).decode("utf-8-sig"))))


def test_no_smtp_connection_is_a_configuration_error(digest_env, monkeypatch):
    from tthc.settings import ConfigurationError

    monkeypatch.delenv("AIRFLOW_CONN_SMTP_DEFAULT")
    with pytest.raises(ConfigurationError, match="smtp_default"):
        tasks.send_watchlist_digest("2024-06-19", fallback_email=FALLBACK)
    assert sent_log(digest_env) == {}


@pytest.mark.slow
def test_the_dag_sends_the_digest_of_its_logical_day(
    digest_env, run_dag, smtp_server, webhook_server, monkeypatch
):
    """``airflow dags test`` (dag.test()) of tthc_watchlist for the logical date 2024-06-19 07:00 local."""
    monkeypatch.setenv(digest.FALLBACK_ENV, FALLBACK)
    result = run_dag("tthc_watchlist", warehouse_dsn=digest_env, logical_date="2024-06-19T07:00:00+07:00")
    assert sorted(by_unit(smtp_server.messages)) == UNITS_WITH_ENTRIES
    assert len(webhook_server.calls) == 1
    assert "without an active address" in result.stdout + result.stderr
    # a second run of the day, as a clear and re-run would: nothing more is sent
    run_dag("tthc_watchlist", warehouse_dsn=digest_env, conf={"day": "2024-06-19"})
    assert len(smtp_server.messages) == 4 and len(webhook_server.calls) == 1


# ---- the schedule: 07:00 local on working days (tthc.calendar) ------------------------------------


def local_slot(text: str) -> datetime:
    return local(text).astimezone(AT.tzinfo)


def next_after(timetable: WorkingDayTimetable, last: str, *, catchup: bool = True):
    from airflow.timetables.base import DataInterval, TimeRestriction

    at = local(last)
    info = timetable.next_dagrun_info(
        last_automated_data_interval=DataInterval(at, at),
        restriction=TimeRestriction(earliest=local("2024-01-01 00:00"), latest=None, catchup=catchup),
    )
    return info.run_after.astimezone(AT.tzinfo), info


@pytest.mark.parametrize(
    ("last", "following"),
    [
        pytest.param("2024-06-14 07:00", "2024-06-17 07:00", id="friday-to-monday"),
        pytest.param("2024-08-30 07:00", "2024-09-04 07:00", id="national-day-2-and-3-september"),
        pytest.param("2024-04-26 07:00", "2024-05-02 07:00", id="swapped-day-off-and-holidays"),
        pytest.param("2024-05-03 07:00", "2024-05-04 07:00", id="swapped-working-saturday"),
        pytest.param("2024-02-07 07:00", "2024-02-15 07:00", id="tet"),
        pytest.param("2024-06-18 07:00", "2024-06-19 07:00", id="next-weekday"),
    ],
)
def test_the_next_run_is_the_next_working_day_at_seven(last, following):
    when, info = next_after(WorkingDayTimetable(), last)
    assert when == local_slot(following)
    assert info.logical_date == info.run_after  # a trigger timetable: the run is for its own 07:00
    assert digest.digest_day(info.logical_date) == when.date()


def test_no_run_on_a_day_off():
    timetable = WorkingDayTimetable()
    runs, last = [], "2024-08-26 07:00"
    for _ in range(8):
        when, _ = next_after(timetable, last)
        runs.append(when.date())
        last = when.strftime("%Y-%m-%d %H:%M")
    assert runs == [date(2024, 8, 27) + timedelta(days=n) for n in (0, 1, 2, 3)] + [
        date(2024, 9, 4) + timedelta(days=n) for n in (0, 1, 2, 5)
    ]
    assert date(2024, 9, 2) not in runs and date(2024, 8, 31) not in runs


def test_without_catchup_only_the_latest_due_day_runs(monkeypatch):
    from tthc import timetables

    # The scheduler comes back on Wednesday 2024-06-19 at 09:00 after a run on Friday the 14th.
    monkeypatch.setattr(timetables.pendulum, "now", lambda tz=None: local("2024-06-19 09:00"))
    when, _ = next_after(WorkingDayTimetable(), "2024-06-14 07:00", catchup=False)
    assert when == local_slot("2024-06-19 07:00")
    # On Saturday the 22nd at 06:00 after Friday's run: Monday 07:00.
    monkeypatch.setattr(timetables.pendulum, "now", lambda tz=None: local("2024-06-22 06:00"))
    when, _ = next_after(WorkingDayTimetable(), "2024-06-21 07:00", catchup=False)
    assert when == local_slot("2024-06-24 07:00")


def test_the_dag_is_scheduled_by_the_plugin_registered_timetable(airflow_home):
    """In a fresh Airflow process with the project's plugins folder, the DAG's timetable serializes
    and comes back (the DAG processor and the scheduler do just that), and ``airflow plugins``
    lists it."""
    env = devstack.airflow_env(home=airflow_home)
    probe = """
from airflow.dag_processing.dagbag import DagBag
from airflow.serialization.serialized_objects import DagSerialization
dag = DagBag(dag_folder="dags/tthc_watchlist.py").dags["tthc_watchlist"]
back = DagSerialization.from_dict(DagSerialization.to_dict(dag)).timetable
print("timetable:", type(back).__module__, type(back).__name__, back.serialize())
"""
    result = subprocess.run(
        [sys.executable, "-c", probe], env=env, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300
    )
    assert (
        "timetable: tthc.timetables WorkingDayTimetable {'at': '07:00', 'timezone': 'Asia/Ho_Chi_Minh'}"
        in (result.stdout)
    ), result.stdout + result.stderr
    plugins = subprocess.run(
        [str(devstack.AIRFLOW_BIN), "plugins", "--output", "json"],
        env=env,
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert "tthc.timetables.WorkingDayTimetable" in plugins.stdout, plugins.stdout + plugins.stderr
