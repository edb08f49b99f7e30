"""Form 06/VPCP/KSTT as staff hand it in: mart.form_06 built by the real refresh from dossiers
written by hand in ``core`` (tests/tthc/mart_fixture.py), the workbook written and opened again
with openpyxl, every cell of its data rows compared with mart.form_06 (queried here, apart from the
code under test), in both layouts; the same table in the unit report's HTML; the DAG run by
Airflow (``airflow dags test``), by conf and as the schedule's run of 15 June 2024, writing the
files and mailing them to a real SMTP server (aiosmtpd, the ``smtp_server`` fixture)."""

from __future__ import annotations

import json
import re
import sys
from datetime import date, datetime
from pathlib import Path

import psycopg
import pytest
from openpyxl import load_workbook

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/tthc: mart_fixture
from mart_fixture import (  # noqa: E402
    COMMUNE_A,
    COMMUNE_B,
    COMMUNE_C,
    DEPARTMENT,
    DISTRICT_1,
    DISTRICT_2,
    OFFICE_1,
    P_FEE,
    P_FREE,
    PROVINCE,
    insert_dossier,
    insert_reference,
)

from tthc import PROJECT_ROOT, indicators, tasks, warehouse  # noqa: E402
from tthc.report import fmt, load_report_data, parse_period, render_html  # noqa: E402
from tthc.report.form_06 import (  # noqa: E402
    COLUMNS,
    TITLE,
    Form06NotAvailable,
    closed_statutory_periods,
    load_form_06,
    write_workbook,
)

pytestmark = pytest.mark.integration

Q2 = date(2024, 4, 1)
LV01, LV02 = "LV01", "LV02"
FIELD_NAMES = {LV01: "Hộ tịch", LV02: "Đất đai"}
FIRST_DATA_ROW = 11
NUMBER_COLUMNS = "CDEFGHIJKLM"


def build(conn: psycopg.Connection) -> None:
    """Q2 2024: statutory window [2024-03-15, 2024-06-15), calendar [2024-04-01, 2024-07-01)."""
    insert_reference(conn)
    conn.execute(
        "UPDATE core.dim_procedure SET field_code = %s, field_name = %s WHERE procedure_code = %s",
        (LV01, FIELD_NAMES[LV01], P_FEE),
    )
    conn.execute(
        "UPDATE core.dim_procedure SET field_code = %s, field_name = %s WHERE procedure_code = %s",
        (LV02, FIELD_NAMES[LV02], P_FREE),
    )
    fee = dict(procedure_code=P_FEE, field_code=LV01)
    free = dict(procedure_code=P_FREE, field_code=LV02)
    # commune A: x1 online, early; x2 received before the statutory window (carried over), late;
    # x3 in person, no promised date (on time, without due)
    insert_dossier(conn, "x1", COMMUNE_A, **fee, channel=2, received_at="2024-04-02 08:00",
                   due_at="2024-04-05 17:00", finished_at="2024-04-04 10:00", timeliness="early")  # fmt: skip
    insert_dossier(conn, "x2", COMMUNE_A, **fee, received_at="2024-03-10 08:00",
                   due_at="2024-03-20 17:00", finished_at="2024-03-25 10:00", timeliness="late")  # fmt: skip
    insert_dossier(conn, "x3", COMMUNE_A, **free, received_at="2024-05-06 08:00",
                   finished_at="2024-05-08 10:00", timeliness=None)  # fmt: skip
    # commune B: x4 online, open and overdue at the window's end; x5 in person, open, within time
    insert_dossier(conn, "x4", COMMUNE_B, **fee, channel=2, status=4, received_at="2024-06-03 08:00",
                   due_at="2024-06-10 17:00")  # fmt: skip
    insert_dossier(conn, "x5", COMMUNE_B, **fee, status=4, received_at="2024-06-12 08:00",
                   due_at="2024-06-20 17:00")  # fmt: skip
    # district 1: x6 its office, online, on time (finished on the promised day); x7 the district itself, in person, early
    insert_dossier(conn, "x6", OFFICE_1, **free, channel=2, received_at="2024-04-10 08:00",
                   due_at="2024-04-19 17:00", finished_at="2024-04-19 10:00", timeliness="on_time")  # fmt: skip
    insert_dossier(conn, "x7", DISTRICT_1, **free, received_at="2024-05-02 08:00",
                   due_at="2024-05-10 17:00", finished_at="2024-05-03 10:00", timeliness="early")  # fmt: skip
    # department: x8 online, received on the last day, finished after the window: in progress
    insert_dossier(conn, "x8", DEPARTMENT, **fee, channel=2, received_at="2024-06-14 16:00",
                   due_at="2024-06-20 17:00", finished_at="2024-06-15 09:00", timeliness="early")  # fmt: skip
    # commune C (district 2): x9 by post, on time
    insert_dossier(conn, "x9", COMMUNE_C, **free, channel=3, received_at="2024-04-15 08:00",
                   due_at="2024-04-16 17:00", finished_at="2024-04-16 10:00", timeliness="on_time")  # fmt: skip


@pytest.fixture(scope="module")
def dsn(make_database):
    dsn = make_database("form_06")
    with warehouse.connect(dsn=dsn) as conn:
        build(conn)
        conn.commit()
        indicators.refresh(conn, date(2024, 1, 1), date(2025, 1, 1))
    return dsn


def mart_rows(dsn: str, kind: str = "statutory", start: date = Q2, period_type: str = "quarter") -> dict:
    """mart.form_06 as (unit_code, field_code) -> row, for one window, as recorded."""
    with psycopg.connect(dsn, row_factory=psycopg.rows.dict_row) as conn:
        rows = conn.execute(
            """SELECT f.*, u.unit_name FROM mart.form_06 AS f JOIN mart.unit AS u USING (unit_code)
               WHERE period_kind = %s AND period_type = %s AND period_start = %s
                 AND unit_scheme = 'as_recorded'""",
            (kind, period_type, start),
        ).fetchall()
    return {(row["unit_code"], row["field_code"]): row for row in rows}


def numbers(row: dict) -> list[int]:
    return [row[column] for column in COLUMNS]


def minus(row: dict, *others: dict) -> list[int]:
    return [row[c] - sum(o[c] for o in others) for c in COLUMNS]


def add(*lists: list[int]) -> list[int]:
    return [sum(values) for values in zip(*lists, strict=True)]


def sheet_rows(path: Path) -> tuple[object, list[list]]:
    """The sheet and its data rows (from row 11 to the blank row before the notes), as values: STT
    a level's roman numeral, a row's number (int), nothing on the total row."""
    sheet = load_workbook(path).active
    rows = []
    for row in sheet.iter_rows(min_row=FIRST_DATA_ROW, max_col=13, values_only=True):
        if all(value is None for value in row):
            break
        rows.append(list(row))
    return sheet, rows


def assert_numbers_are_ints(sheet, count: int) -> None:
    for r in range(FIRST_DATA_ROW, FIRST_DATA_ROW + count):
        for letter in NUMBER_COLUMNS:
            value = sheet[f"{letter}{r}"].value
            assert type(value) is int, (letter, r, value)


def write(dsn: str, tmp_path: Path, unit: str, period: str = "2024-Q2", **options) -> Path:
    with warehouse.connect(dsn=dsn) as conn:
        form = load_form_06(conn, unit, parse_period(period), **options)
    return write_workbook(form, tmp_path / form.file_name)


def test_the_refresh_counts_q2_as_counted_by_hand(dsn):
    rows = mart_rows(dsn)
    # carried over: x2; received online x1 x4 x6 x8, in person or by post x3 x5 x7 x9; finished
    # early x1 x7, on time x3 (no promised date) x6 x9, late x2; in progress x4 (overdue) x5 x8.
    assert numbers(rows[(PROVINCE, None)]) == [9, 4, 4, 1, 6, 2, 3, 1, 3, 2, 1]
    assert rows[(PROVINCE, None)]["finished_without_due"] == 1
    assert rows[(PROVINCE, None)]["window_start"] == date(2024, 3, 15)
    assert rows[(PROVINCE, None)]["window_end"] == date(2024, 6, 15)
    # commune A by field: LV01 x1 x2, LV02 x3
    assert numbers(rows[(COMMUNE_A, LV01)]) == [2, 1, 0, 1, 2, 1, 0, 1, 0, 0, 0]
    assert numbers(rows[(COMMUNE_A, LV02)]) == [1, 0, 1, 0, 1, 0, 1, 0, 0, 0, 0]
    # calendar Q2 [04-01, 07-01): x2 finished before it, x8 finished in it (early), x4 and x5
    # open and both overdue on 1 July
    assert numbers(mart_rows(dsn, "calendar")[(PROVINCE, None)]) == [8, 4, 4, 0, 6, 3, 3, 0, 2, 0, 2]


def test_one_unit_by_field_every_cell_equals_the_mart(dsn, tmp_path):
    path = write(dsn, tmp_path, COMMUNE_A)  # a commune has no unit below it: layout auto = fields
    assert path.name == "form_06_H35.101.0001_2024-Q2_statutory.xlsx"
    rows = mart_rows(dsn)
    sheet, data = sheet_rows(path)
    assert sheet["B7"].value == "Lĩnh vực, công việc giải quyết theo cấp"
    assert data == [
        [1, FIELD_NAMES[LV01], *numbers(rows[(COMMUNE_A, LV01)])],
        [2, FIELD_NAMES[LV02], *numbers(rows[(COMMUNE_A, LV02)])],
        [None, "Tổng số", *numbers(rows[(COMMUNE_A, None)])],
    ]
    assert_numbers_are_ints(sheet, len(data))
    assert sheet[f"B{FIRST_DATA_ROW + 2}"].font.b and not sheet[f"B{FIRST_DATA_ROW}"].font.b


def test_a_district_by_field_when_asked(dsn, tmp_path):
    path = write(dsn, tmp_path, DISTRICT_1, layout="fields")
    rows = mart_rows(dsn)
    _, data = sheet_rows(path)
    assert data == [
        [1, FIELD_NAMES[LV01], *numbers(rows[(DISTRICT_1, LV01)])],
        [2, FIELD_NAMES[LV02], *numbers(rows[(DISTRICT_1, LV02)])],
        [None, "Tổng số", *numbers(rows[(DISTRICT_1, None)])],
    ]


def test_province_summary_by_level_every_cell_equals_the_mart(dsn, tmp_path):
    path = write(dsn, tmp_path, PROVINCE)  # units below it: layout auto = units
    r = {unit: row for (unit, field), row in mart_rows(dsn).items() if field is None}
    name = {unit: row["unit_name"] for unit, row in r.items()}
    # a district's row is its committee and offices; its communes are rows of the commune level
    district_1 = minus(r[DISTRICT_1], r[COMMUNE_A], r[COMMUNE_B])
    district_2 = minus(r[DISTRICT_2], r[COMMUNE_C])
    assert district_1 == [2, 1, 1, 0, 2, 1, 1, 0, 0, 0, 0]  # x6, x7
    assert district_2 == [0] * 11
    # the province has no dossier of its own: no "(trực tiếp giải quyết)" row
    assert minus(r[PROVINCE], r[DEPARTMENT], r[DISTRICT_1], r[DISTRICT_2]) == [0] * 11
    communes = [numbers(r[COMMUNE_A]), numbers(r[COMMUNE_B]), numbers(r[COMMUNE_C])]
    sheet, data = sheet_rows(path)
    assert sheet["B7"].value == "Tên đơn vị"
    assert data == [
        ["I", "Cấp tỉnh (sở, ban, ngành)", *numbers(r[DEPARTMENT])],
        [1, name[DEPARTMENT], *numbers(r[DEPARTMENT])],
        ["II", "Cấp huyện", *add(district_1, district_2)],
        [1, name[DISTRICT_1], *district_1],
        [2, name[DISTRICT_2], *district_2],
        ["III", "Cấp xã", *add(*communes)],
        [1, name[COMMUNE_A], *communes[0]],
        [2, name[COMMUNE_B], *communes[1]],
        [3, name[COMMUNE_C], *communes[2]],
        [None, "Tổng số", *numbers(r[PROVINCE])],
    ]
    groups = [row[2:] for row in data if row[0] in ("I", "II", "III")]
    assert add(*groups) == data[-1][2:]  # the levels add up to the province
    assert_numbers_are_ints(sheet, len(data))


def test_district_summary_has_its_own_row(dsn, tmp_path):
    path = write(dsn, tmp_path, DISTRICT_1)
    r = {unit: row for (unit, field), row in mart_rows(dsn).items() if field is None}
    own = minus(r[DISTRICT_1], r[OFFICE_1], r[COMMUNE_A], r[COMMUNE_B])
    assert own == [1, 0, 1, 0, 1, 1, 0, 0, 0, 0, 0]  # x7
    _, data = sheet_rows(path)
    assert data == [
        ["I", "Cấp huyện", *add(own, numbers(r[OFFICE_1]))],
        [1, f"{r[DISTRICT_1]['unit_name']} (trực tiếp giải quyết)", *own],
        [2, r[OFFICE_1]["unit_name"], *numbers(r[OFFICE_1])],
        ["II", "Cấp xã", *add(numbers(r[COMMUNE_A]), numbers(r[COMMUNE_B]))],
        [1, r[COMMUNE_A]["unit_name"], *numbers(r[COMMUNE_A])],
        [2, r[COMMUNE_B]["unit_name"], *numbers(r[COMMUNE_B])],
        [None, "Tổng số", *numbers(r[DISTRICT_1])],
    ]


def test_header_merges_print_setup_and_notes(dsn, tmp_path):
    sheet, data = sheet_rows(write(dsn, tmp_path, PROVINCE))
    values = {
        cell.coordinate: cell.value for row in sheet.iter_rows(max_row=10) for cell in row if cell.value
    }
    assert values["A1"] == "Biểu số 06/VPCP/KSTT"
    assert "Thông tư số 01/2020/TT-VPCP" in values["A2"]
    assert values["A3"] == TITLE
    assert TITLE.startswith("TÌNH HÌNH, KẾT QUẢ GIẢI QUYẾT THỦ TỤC HÀNH CHÍNH TẠI CƠ QUAN")
    assert values["J1"] == "Đơn vị báo cáo: Đơn vị H35"
    assert values["A4"] == (
        "Kỳ báo cáo: Quý II năm 2024 (kỳ báo cáo theo Nghị định số 09/2019/NĐ-CP, chốt số liệu ngày 14)"
    )
    assert values["A5"] == "(Số liệu từ ngày 15/03/2024 đến ngày 14/06/2024)"
    assert values["J6"] == "Đơn vị tính: Số hồ sơ TTHC"
    assert {k: values[k] for k in ("A7", "C7", "G7", "K7", "C8", "D8", "F8", "D9", "E9")} == {
        "A7": "STT",
        "C7": "Số hồ sơ nhận giải quyết",
        "G7": "Số hồ sơ đã giải quyết",
        "K7": "Số hồ sơ đang giải quyết",
        "C8": "Tổng số",
        "D8": "Trong kỳ",
        "F8": "Từ kỳ trước",
        "D9": "Trực tuyến",
        "E9": "Trực tiếp, dịch vụ bưu chính",
    }
    assert [values[f"{c}8"] for c in "GHIJKLM"] == [
        "Tổng số",
        "Trả trước hạn",
        "Trả đúng thời hạn",
        "Trả quá hạn",
        "Tổng số",
        "Trong hạn",
        "Quá hạn",
    ]
    assert [sheet.cell(row=10, column=c).value for c in range(1, 14)] == [f"({n})" for n in range(1, 14)]
    merged = {str(r) for r in sheet.merged_cells.ranges}
    assert {"A7:A9", "B7:B9", "C7:F7", "G7:J7", "K7:M7", "C8:C9", "D8:E8", "F8:F9", "A3:M3"} <= merged
    assert {f"{c}8:{c}9" for c in "GHIJKLM"} <= merged
    assert sheet.freeze_panes == "C11"
    assert sheet.page_setup.orientation == "landscape" and sheet.page_setup.fitToWidth == 1
    assert sheet.sheet_properties.pageSetUpPr.fitToPage
    assert sheet.cell(row=FIRST_DATA_ROW, column=1).border.left.style == "thin"
    notes_row = FIRST_DATA_ROW + len(data) + 1
    assert sheet[f"A{notes_row}"].value == "Ghi chú:"
    notes = " ".join(str(sheet[f"A{notes_row + n}"].value) for n in range(1, 8))
    assert "Trong 6 hồ sơ đã giải quyết (cột 7) có 1 hồ sơ không có ngày hẹn trả" in notes
    assert "766/QĐ-TTg" in notes and "bổ sung" in notes


def test_calendar_window(dsn, tmp_path):
    path = write(dsn, tmp_path, PROVINCE, kind="calendar")
    assert path.name == "form_06_H35_2024-Q2_calendar.xlsx"
    sheet, data = sheet_rows(path)
    assert sheet["A4"].value == "Kỳ báo cáo: Quý II năm 2024 (kỳ dương lịch)"
    assert sheet["A5"].value == "(Số liệu từ ngày 01/04/2024 đến ngày 30/06/2024)"
    assert data[-1] == [None, "Tổng số", *numbers(mart_rows(dsn, "calendar")[(PROVINCE, None)])]


def test_no_rows_is_none_and_the_task_names_what_is_missing(dsn, monkeypatch, tmp_path):
    with warehouse.connect(dsn=dsn) as conn:
        assert load_form_06(conn, PROVINCE, parse_period("2022-Q1")) is None
        assert load_form_06(conn, "H35.NOPE", parse_period("2024-Q2")) is None
        with pytest.raises(ValueError, match="unknown layout"):
            load_form_06(conn, PROVINCE, parse_period("2024-Q2"), layout="tree")
    monkeypatch.setenv("AIRFLOW_CONN_TTHC_WAREHOUSE", warehouse.airflow_connection_json(dsn))
    monkeypatch.setenv("TTHC_REPORT_DIR", str(tmp_path))
    with pytest.raises(Form06NotAvailable, match="2022-Q1") as raised:
        tasks.write_form_06(PROVINCE, ["2024-Q2", "2022-Q1"])
    assert "form_06_H35_2024-Q2_statutory.xlsx" in str(raised.value)  # the others were written
    assert (tmp_path / "form_06_H35_2024-Q2_statutory.xlsx").exists()


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2024, 6, 15), ["2024-06", "2024-Q2", "2024-H1"]),
        (date(2024, 5, 15), ["2024-05"]),
        (date(2024, 5, 20), ["2024-05"]),
        (date(2024, 6, 14), ["2024-05"]),  # June's window ends with the 14th: not closed yet
        (date(2024, 12, 15), ["2024-12", "2024-Q4", "2024-H2", "2024"]),
        (date(2025, 1, 15), ["2025-01"]),
    ],
)
def test_windows_closed_by_a_run_day(dsn, day, expected):
    with warehouse.connect(dsn=dsn) as conn:
        assert [p.key for p in closed_statutory_periods(conn, day)] == expected


def test_a_scheduled_run_reports_what_closed(dsn, monkeypatch):
    from airflow.dag_processing.dagbag import DagBag
    from airflow.timetables.base import TimeRestriction

    dag = DagBag(dag_folder=str(PROJECT_ROOT / "dags" / "tthc_statutory_report.py")).dags[
        "tthc_statutory_report"
    ]
    after = datetime.fromisoformat("2024-06-01T00:00:00+07:00")
    run = dag.timetable.next_dagrun_info(
        last_automated_data_interval=None,
        restriction=TimeRestriction(earliest=after, latest=None, catchup=True),
    )
    # the run after 1 June 2024: 15 June, 08:00 local (01:00 UTC), logical date = run time
    run_at = datetime.fromisoformat("2024-06-15T01:00:00+00:00")
    assert run.run_after == run.logical_date == run_at
    monkeypatch.setenv("AIRFLOW_CONN_TTHC_WAREHOUSE", warehouse.airflow_connection_json(dsn))
    assert tasks.form_06_periods(None, run_at) == ["2024-06", "2024-Q2", "2024-H1"]
    assert tasks.form_06_periods("2024-q3", run_at) == ["2024-Q3"]


def test_the_unit_report_shows_the_form(dsn):
    with warehouse.connect(dsn=dsn) as conn:
        data = load_report_data(conn, DISTRICT_1, parse_period("2024-Q2"))
        empty = load_report_data(conn, DISTRICT_1, parse_period("2022-Q1"))
    html = render_html(data)
    table = re.search(r'<table id="form-06" class="form06">(.*?)</table>', html, re.S).group(1)
    assert "Số hồ sơ nhận giải quyết" in table and "Trực tiếp, dịch vụ bưu chính" in table
    assert "Số liệu từ ngày 15/03/2024 đến ngày 14/06/2024" in html
    lines = re.findall(
        r'<tr class="(group|row|total)"[^>]*><td>([^<]*)</td><td>([^<]*)</td>(.*?)</tr>', table, re.S
    )
    assert [(role, number, label) for role, number, label, _ in lines] == [
        (line.role, line.number, line.label) for line in data.form_06.lines
    ]
    assert [line.code for line in data.form_06.lines if line.role == "row"] == [
        DISTRICT_1,
        OFFICE_1,
        COMMUNE_A,
        COMMUNE_B,
    ]
    r = {unit: row for (unit, field), row in mart_rows(dsn).items() if field is None}
    total = re.findall(r'<td class="n">([^<]*)</td>', lines[-1][3])
    assert total == [fmt.number(v) for v in numbers(r[DISTRICT_1])]
    assert "không có ngày hẹn trả" in html
    assert "Chưa có dữ liệu" in re.search(r'id="form-06-missing">([^<]*)<', render_html(empty)).group(1)


SOURCE = json.dumps({"conn_type": "http", "host": "127.0.0.1", "port": 9})  # not read by this DAG


def smtp_connection(smtp_server) -> str:
    """smtp_default for the shared aiosmtpd server (tests/conftest.py), without STARTTLS."""
    connection = json.loads(smtp_server.connection)
    connection["extra"] = {"from_email": "tthc@example.org"}
    return json.dumps(connection)


def test_a_manual_run_writes_the_conf_s_form(dsn, run_dag, tmp_path, monkeypatch):
    monkeypatch.setenv("TTHC_REPORT_DIR", str(tmp_path))
    monkeypatch.delenv("AIRFLOW_CONN_SMTP_DEFAULT", raising=False)
    run_dag(
        "tthc_statutory_report",
        source=SOURCE,
        warehouse_dsn=dsn,
        conf={"unit_code": DISTRICT_1, "period": "2024-Q2", "kind": "calendar", "layout": "fields"},
    )
    assert [p.name for p in tmp_path.iterdir()] == ["form_06_H35.101_2024-Q2_calendar.xlsx"]
    rows = mart_rows(dsn, "calendar")
    _, data = sheet_rows(tmp_path / "form_06_H35.101_2024-Q2_calendar.xlsx")
    assert data == [
        [1, FIELD_NAMES[LV01], *numbers(rows[(DISTRICT_1, LV01)])],
        [2, FIELD_NAMES[LV02], *numbers(rows[(DISTRICT_1, LV02)])],
        [None, "Tổng số", *numbers(rows[(DISTRICT_1, None)])],
    ]


def test_the_scheduled_run_of_15_june_writes_what_closed_and_mails_it(
    dsn, run_dag, smtp_server, tmp_path, monkeypatch
):
    monkeypatch.setenv("TTHC_REPORT_DIR", str(tmp_path))
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", smtp_connection(smtp_server))
    monkeypatch.setenv("TTHC_FORM_06_MAIL_TO", "a@example.org, b@example.org")  # a scheduled run's recipients
    run_dag(
        "tthc_statutory_report", source=SOURCE, warehouse_dsn=dsn, logical_date="2024-06-15T08:00:00+07:00"
    )
    names = [f"form_06_H35_{period}_statutory.xlsx" for period in ("2024-06", "2024-Q2", "2024-H1")]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(names)
    # the quarter: the province's summary by level (the schedule's defaults), its total the mart's
    _, data = sheet_rows(tmp_path / names[1])
    assert data[-1] == [None, "Tổng số", *numbers(mart_rows(dsn)[(PROVINCE, None)])]
    assert [row[1] for row in data if row[0] in ("I", "II", "III")] == [
        "Cấp tỉnh (sở, ban, ngành)",
        "Cấp huyện",
        "Cấp xã",
    ]
    _, half = sheet_rows(tmp_path / names[2])
    h1 = mart_rows(dsn, start=date(2024, 1, 1), period_type="half")[(PROVINCE, None)]
    assert half[-1] == [None, "Tổng số", *numbers(h1)]
    # one mail with the three workbooks
    [message] = smtp_server.messages
    assert message["To"] == "a@example.org, b@example.org"
    assert "Biểu 06/VPCP/KSTT H35" in message["Subject"]
    attachments = {a.get_filename(): a for a in message.iter_attachments()}
    assert sorted(attachments) == sorted(names)
    for name, attachment in attachments.items():
        assert attachment.get_content_type() == (
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        )
        assert attachment.get_content() == (tmp_path / name).read_bytes()


def test_without_recipients_the_mail_is_skipped(monkeypatch):
    monkeypatch.delenv("TTHC_FORM_06_MAIL_TO", raising=False)
    assert tasks.form_06_not_mailed_because(None) == "no mail_to given (nor TTHC_FORM_06_MAIL_TO)"
    monkeypatch.setenv("TTHC_FORM_06_MAIL_TO", "a@example.org")
    assert tasks.form_06_recipients(None) == ["a@example.org"]
    assert tasks.form_06_recipients("b@example.org") == ["b@example.org"]
