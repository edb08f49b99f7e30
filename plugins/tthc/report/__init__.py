"""The unit report: for one unit and one period, what the province is scored on, in Vietnamese.

    data = load_report_data(conn, "H35.112", parse_period("2024-H1"))   # reads schema mart only
    paths = write_report(data)            # output/reports/H35.112_2024-H1.html (+ .pdf)

Sections: the report figures with their trend over the last 12 months, the Decision 766 groups and
total with the unit's rank among its peers, the late dossiers by procedure and by unit, and the
road to a better rank. A section whose mart table is not there (yet) renders as a clear
"chưa có dữ liệu" note instead of failing the report.
"""

from tthc.report.data import ReportData, load_report_data
from tthc.report.period import Period, parse_period
from tthc.report.render import render_html, render_pdf, report_dir, write_report

__all__ = [
    "Period",
    "ReportData",
    "load_report_data",
    "parse_period",
    "render_html",
    "render_pdf",
    "report_dir",
    "write_report",
]
