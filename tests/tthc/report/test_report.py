"""The unit report after a real pipeline run: the simulator (20,000 dossiers a year) over real
HTTP, the DAGs run by Airflow (``airflow dags test``), the report rendered by its own DAG for Nậm
Nhùn (H35.112), first half of 2024. Every figure the HTML shows is compared with ``mart``, queried
here independently of the report's code."""

from __future__ import annotations

import json
import os
import re
import secrets
from datetime import date
from html import unescape
from pathlib import Path

import psycopg
import pytest
from pipeline_support import SMALL_VOLUME, run_pipeline_dags, simulated_source

from simulator.generator import SimulationConfig, build_province
from tthc.report import fmt, load_report_data, parse_period, render_html
from tthc.report.mail import build_message, send_report
from tthc.settings import ConnectionFields

# The module's first test also pays for the pipeline run (four DAGs over twelve months).
pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(1800)]

UNIT, PERIOD = "H35.112", "2024-H1"
HALF = date(2024, 1, 1)
# Every dossier touched in the half (so its figures, 766 scores and late dossiers are complete);
# the trend's 2023 months hold what the half's extraction brought along (compared with mart as is).
WINDOW = {"start": "2024-01-01", "end": "2024-07-01"}
KEY = ("RECEIVED", "FINISHED", "ON_TIME_FINISHED", "RESULT_DIGITIZED", "ONLINE_PAYMENT")


@pytest.fixture(scope="module")
def warehouse_dsn(make_database, run_dag):
    if os.environ.get("TTHC_REPORT_TEST_DSN"):  # iterate on the report against a warehouse loaded before
        yield (
            os.environ["TTHC_REPORT_TEST_DSN"],
            json.dumps({"conn_type": "http", "host": "127.0.0.1", "port": 9}),
        )
        return
    dsn = make_database("report")
    province = build_province(SimulationConfig(dossiers_per_year=SMALL_VOLUME))
    with simulated_source(province) as (_, source):
        run_pipeline_dags(run_dag, source, dsn, WINDOW)
        yield dsn, source


@pytest.fixture(scope="module")
def report_files(warehouse_dsn, run_dag, tmp_path_factory):
    """The report as the DAG writes it."""
    dsn, source = warehouse_dsn
    folder = tmp_path_factory.mktemp("reports")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TTHC_REPORT_DIR", str(folder))
        run_dag("tthc_report", source=source, warehouse_dsn=dsn, conf={"unit_code": UNIT, "period": PERIOD})
    return folder / f"{UNIT}_{PERIOD}.html", folder / f"{UNIT}_{PERIOD}.pdf"


@pytest.fixture(scope="module")
def html(report_files) -> str:
    return report_files[0].read_text(encoding="utf-8")


def mart(dsn: str, sql: str, params=None) -> list[tuple]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(sql, params).fetchall()


def cell(html: str, indicator: str, css_class: str) -> str:
    row = re.search(rf'<tr data-indicator="{indicator}">(.*?)</tr>', html, re.S)
    assert row, f"no row for {indicator}"
    value = re.search(rf'<td class="n {css_class}">(.*?)</td>', row.group(1), re.S)
    return unescape(value.group(1).strip())


def text_of(html: str, element_id: str) -> str:
    match = re.search(rf'<(\w+)[^>]*\bid="{element_id}"[^>]*>(.*?)</\1>', html, re.S)
    assert match, element_id
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", "", match.group(2)))).strip()


def test_files_are_written_html_and_pdf(report_files):
    html_path, pdf_path = report_files
    assert html_path.stat().st_size > 5_000
    assert pdf_path.read_bytes()[:5] == b"%PDF-" and pdf_path.stat().st_size > 10_000


def test_heading_names_the_unit_and_the_period(html, warehouse_dsn):
    dsn, _ = warehouse_dsn
    [(name,)] = mart(dsn, "SELECT unit_name FROM mart.unit WHERE unit_code = %s", (UNIT,))
    assert "Nậm Nhùn" in name
    assert text_of(html, "unit-name") == name
    assert text_of(html, "period") == "6 tháng đầu năm 2024"
    assert '<html lang="vi">' in html


def test_report_figures_equal_the_mart(html, warehouse_dsn):
    dsn, _ = warehouse_dsn
    rows = mart(
        dsn,
        """SELECT indicator_code, numerator, denominator, ratio FROM mart.indicator_value
                        WHERE period_type = 'half' AND period_start = %s AND unit_code = %s
                          AND unit_scheme = 'as_recorded' AND indicator_code = ANY(%s)""",
        (HALF, UNIT, list(KEY)),
    )
    assert {r[0] for r in rows} == set(KEY)
    for code, numerator, denominator, ratio in rows:
        assert cell(html, code, "numerator") == fmt.number(numerator), code
        if ratio is not None and denominator:
            assert cell(html, code, "value") == fmt.percent(ratio), code
            assert cell(html, code, "denominator") == fmt.number(denominator), code
            # the printed percentage is the mart's ratio, and the ratio is numerator / denominator
            assert abs(float(ratio) - float(numerator) / float(denominator)) < 1e-9
        kpi = re.search(rf'data-indicator="{code}" data-kind="\w+">(.*?)</div>', html).group(1)
        assert kpi == (fmt.percent(ratio) if ratio is not None and denominator else fmt.number(numerator))
    payment = next(r for r in rows if r[0] == "ONLINE_PAYMENT")
    digitized = next(r for r in rows if r[0] == "RESULT_DIGITIZED")
    print(
        f"H1 2024, {SMALL_VOLUME}/year: online payment {fmt.percent(payment[3])}, digitized {fmt.percent(digitized[3])}"
    )


def test_trend_covers_the_twelve_months_before_the_end_of_the_period(html, warehouse_dsn):
    dsn, _ = warehouse_dsn
    trend = re.search(r'<div class="charts" id="trend">(.*?)</div>', html, re.S).group(1)
    assert trend.count("<svg") == len(KEY)
    twelve = {f"T{m}/23" for m in range(7, 13)} | {f"T{m}/24" for m in range(1, 7)}
    points = {label for label, _ in re.findall(r"<title>(T\d+/\d\d): ([^<]+)</title>", trend)}
    assert {f"T{m}/24" for m in range(1, 7)} <= points <= twelve  # every month of the half has a point
    axis = set(re.findall(r">(T\d+/\d\d)</text>", trend))
    assert {"T7/23", "T6/24"} <= axis <= twelve
    # the points of the online-payment line are the mart's monthly ratios
    monthly = dict(
        mart(
            dsn,
            """SELECT period_start, ratio FROM mart.indicator_value
                                WHERE period_type = 'month' AND unit_code = %s AND unit_scheme = 'as_recorded'
                                  AND indicator_code = 'ONLINE_PAYMENT' AND period_start >= '2023-07-01'
                                  AND period_start < '2024-07-01'""",
            (UNIT,),
        )
    )
    svg = re.search(r"<svg[^>]*aria-label='Tỷ lệ thanh toán trực tuyến'.*?</svg>", trend, re.S).group(0)
    shown = dict(re.findall(r"<title>(T\d+/\d\d): ([^<]+)</title>", svg))
    for month, ratio in monthly.items():
        if ratio is not None:
            assert shown[f"T{month.month}/{month.year % 100:02d}"] == fmt.percent(float(ratio), 0)


def test_late_dossiers_agree_with_the_on_time_indicator(html, warehouse_dsn):
    dsn, _ = warehouse_dsn
    [(late, finished)] = mart(
        dsn,
        """SELECT sum(late), sum(finished_with_due) FROM mart.late_dossier_by_procedure
                                      WHERE rollup_unit_code = %s AND month >= '2024-01-01' AND month < '2024-07-01'""",
        (UNIT,),
    )
    [(on_time, with_due)] = mart(
        dsn,
        """SELECT numerator, denominator FROM mart.indicator_value
                                         WHERE period_type = 'half' AND period_start = %s AND unit_code = %s
                                           AND unit_scheme = 'as_recorded' AND indicator_code = 'ON_TIME_FINISHED'""",
        (HALF, UNIT),
    )
    assert finished == with_due and late == with_due - on_time
    assert late > 0, "the simulator plants late dossiers"
    summary = text_of(html, "late-total")
    assert f"có {fmt.number(late)} hồ sơ trễ hạn trên {fmt.number(finished)} hồ sơ" in summary
    top = mart(
        dsn,
        """SELECT procedure_code, sum(late) FROM mart.late_dossier_by_procedure
                       WHERE rollup_unit_code = %s AND month >= '2024-01-01' AND month < '2024-07-01'
                       GROUP BY 1 HAVING sum(late) > 0 ORDER BY 2 DESC, 1 LIMIT 1""",
        (UNIT,),
    )
    table = re.search(r'<table id="late-procedure">(.*?)</table>', html, re.S).group(1)
    first_row = re.findall(r"<tr>(.*?)</tr>", table, re.S)[1]
    assert f"({top[0][0]})" in first_row and f'<td class="n">{fmt.number(top[0][1])}</td>' in first_row
    assert '<table id="late-unit">' in html


def test_766_score_and_rank_equal_the_mart_or_say_not_yet(html, warehouse_dsn):
    dsn, _ = warehouse_dsn
    [(exists,)] = mart(dsn, "SELECT to_regclass('mart.score_766') IS NOT NULL")
    if not exists:
        assert "mart.score_766 chưa có" in text_of(html, "score-missing")
        return
    row = mart(
        dsn,
        """SELECT total_score, rank_in_level, units_in_level FROM mart.score_766
                       WHERE period_type = 'half' AND period_start = %s AND unit_code = %s
                         AND unit_scheme = 'as_recorded'""",
        (HALF, UNIT),
    )
    if not row:
        assert "Chưa có dữ liệu" in text_of(html, "score-missing")
        return
    total, rank, units = row[0]
    assert text_of(html, "rank") == f"{rank}/{units}"
    assert f"Tổng điểm: {fmt.number(total, 2)} / 100" in text_of(html, "score-total")
    peers = re.search(r'<table id="peers">(.*?)</table>', html, re.S).group(1)
    assert peers.count("<tr") - 1 == units
    assert '<tr class="me">' in peers


def test_road_to_a_better_rank_or_say_not_yet(html, warehouse_dsn):
    dsn, _ = warehouse_dsn
    [(exists,)] = mart(dsn, "SELECT to_regclass('mart.rank_gap') IS NOT NULL")
    if not exists:
        assert "mart.rank_gap chưa có" in text_of(html, "rank-gap-missing")
        return
    rows = mart(
        dsn,
        """SELECT indicator_code, points_lost, gap_points FROM mart.rank_gap
                        WHERE period_type = 'half' AND period_start = %s AND unit_code = %s
                          AND unit_scheme = 'as_recorded'""",
        (HALF, UNIT),
    )
    if not rows:
        assert "Chưa có dữ liệu" in text_of(html, "rank-gap-missing")
        return
    table = re.search(r'<table id="rank-gap">(.*?)</table>', html, re.S).group(1)
    for code, points_lost, _ in rows:
        row = re.search(rf'<tr data-indicator="{code}">(.*?)</tr>', table, re.S).group(1)
        assert f'<td class="n">{fmt.number(points_lost, 2)}</td>' in row, code
    gap = rows[0][2]
    if gap is not None:
        assert f"cần thêm {fmt.number(gap, 2)} điểm" in text_of(html, "gap")


def test_missing_mart_tables_degrade_to_a_note(warehouse_dsn):
    dsn, _ = warehouse_dsn
    with psycopg.connect(dsn) as conn:  # dropped inside a transaction that is rolled back
        conn.execute("DROP VIEW mart.late_dossier_by_procedure")
        conn.execute("DROP TABLE IF EXISTS mart.rank_gap CASCADE")
        conn.execute("DROP TABLE IF EXISTS mart.score_766 CASCADE")
        data = load_report_data(conn, UNIT, parse_period(PERIOD))
        page = render_html(data)
        conn.rollback()
    # the portal publishes no halves: its section says so in any case (tests/tthc/report/test_report_portal.py)
    assert set(data.missing) == {"score", "late", "rank_gap", "portal"}
    for element, relation in (
        ("score-missing", "mart.score_766"),
        ("late-missing", "mart.late_dossier_by_procedure"),
        ("rank-gap-missing", "mart.rank_gap"),
    ):
        assert text_of(page, element) == f"Chưa có dữ liệu: bảng {relation} chưa có trong kho dữ liệu (mart)."
    assert 'data-indicator="ONLINE_PAYMENT"' in page  # the rest of the report is still there


def test_bi_reader_could_read_everything_the_report_reads(warehouse_dsn):
    """The report reads mart only: run its queries as a role that can read nothing else."""
    dsn, _ = warehouse_dsn
    role = "tthc_report_test_" + secrets.token_hex(3)
    with psycopg.connect(dsn) as conn:
        conn.execute(f"CREATE ROLE {role} NOLOGIN")
        conn.execute(f"GRANT USAGE ON SCHEMA mart TO {role}")
        conn.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA mart TO {role}")
        conn.execute(f"GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA mart TO {role}")
        conn.execute(f"SET ROLE {role}")
        with pytest.raises(psycopg.errors.InsufficientPrivilege), conn.transaction():  # a savepoint
            conn.execute("SELECT 1 FROM core.fact_dossier LIMIT 1")
        data = load_report_data(conn, UNIT, parse_period(PERIOD))
        conn.rollback()  # the role and its grants go with the transaction
    assert data.figures and data.late_total and "late" not in data.missing


@pytest.mark.parametrize(
    ("text", "kind", "start", "end", "label"),
    [
        ("2023", "year", date(2023, 1, 1), date(2024, 1, 1), "năm 2023"),
        ("2024-H1", "half", date(2024, 1, 1), date(2024, 7, 1), "6 tháng đầu năm 2024"),
        ("2024-h2", "half", date(2024, 7, 1), date(2025, 1, 1), "6 tháng cuối năm 2024"),
        ("2024-Q2", "quarter", date(2024, 4, 1), date(2024, 7, 1), "quý II năm 2024"),
        ("2024-3", "month", date(2024, 3, 1), date(2024, 4, 1), "tháng 3 năm 2024"),
    ],
)
def test_periods(text, kind, start, end, label):
    period = parse_period(text)
    assert (period.period_type, period.start, period.end, period.label_vi) == (kind, start, end, label)


def test_vietnamese_number_format():
    assert fmt.percent(0.78141) == "78,14%" and fmt.percent(0.676) == "67,60%"
    assert fmt.number(1234567) == "1.234.567" and fmt.number(17.675, 2) == "17,68"
    assert fmt.percent(None) == fmt.NOT_AVAILABLE


def test_mail_is_skipped_without_connection_and_carries_both_files(tmp_path, monkeypatch):
    monkeypatch.delenv("AIRFLOW_CONN_SMTP_DEFAULT", raising=False)
    html_path, pdf_path = tmp_path / "r.html", tmp_path / "r.pdf"
    html_path.write_text("<p>Nậm Nhùn</p>", encoding="utf-8")
    pdf_path.write_bytes(b"%PDF-1.7 test")
    paths = {"html": html_path, "pdf": pdf_path}
    assert send_report(["a@example.org"], "s", paths, conn=ConnectionFields("smtp_default")) is False
    message = build_message("tthc@example.org", ["a@example.org", "b@example.org"], "Báo cáo", paths)
    assert message["To"] == "a@example.org, b@example.org"
    assert sorted(p.get_filename() for p in message.iter_attachments()) == ["r.html", "r.pdf"]


def test_mail_goes_through_smtp(tmp_path):
    """A minimal SMTP server on a free port receives the message."""
    import socketserver
    import threading

    received: list[bytes] = []

    class Handler(socketserver.StreamRequestHandler):
        def handle(self):
            self.wfile.write(b"220 test\r\n")
            while line := self.rfile.readline():
                command = line.strip().upper()
                if command.startswith((b"EHLO", b"HELO")):
                    self.wfile.write(b"250 test\r\n")
                elif command == b"DATA":
                    self.wfile.write(b"354 go\r\n")
                    body = []
                    while (data := self.rfile.readline()) not in (b".\r\n", b""):
                        body.append(data)
                    received.append(b"".join(body))
                    self.wfile.write(b"250 ok\r\n")
                elif command == b"QUIT":
                    self.wfile.write(b"221 bye\r\n")
                    return
                else:
                    self.wfile.write(b"250 ok\r\n")

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        html_path = tmp_path / "H35.112_2024-H1.html"
        html_path.write_text("<p>Nậm Nhùn</p>", encoding="utf-8")
        conn = ConnectionFields(
            "smtp_default",
            host="127.0.0.1",
            port=server.server_address[1],
            extra={"from_email": "tthc@example.org"},
        )
        assert send_report(["a@example.org"], "Báo cáo", {"html": html_path}, conn=conn) is True
    finally:
        server.shutdown()
        server.server_close()
    assert received and b"H35.112_2024-H1.html" in received[0]


def test_report_reads_only_the_mart_schema():
    source = "\n".join(
        p.read_text(encoding="utf-8")
        for p in (Path(__file__).resolve().parents[3] / "plugins" / "tthc" / "report").glob("*.py")
    )
    # a schema-qualified name, not a module path such as tthc.quality.alerts (its SMTP session)
    schemas = set(re.findall(r"(?<![\w.])(core|raw|staging|quality|meta)\.\w+", source))
    assert schemas == set(), schemas
