"""The unit report: one unit, one period, in Vietnamese, as HTML and PDF; mailed on request."""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import Param, dag, get_current_context, task

from tthc.quality.alerts import failure_notifier

DOC = """
### Báo cáo đơn vị (unit report)

Renders, for the unit `unit_code` and the period `period`, the report people read: the report
figures and their trend over the last 12 months, the Decision 766 groups and total with the unit's
rank among its peers, the late dossiers by procedure and by unit, and the road to a better rank.
Reads the warehouse's **mart** schema only.

* **period**: `2023` (year), `2024-H1` / `2024-H2` (half), `2024-Q2` (quarter), `2024-03` (month).
* **Output**: `output/reports/<unit_code>_<period>.html` and `.pdf` (folder: env `TTHC_REPORT_DIR`).
* **mail_to**: comma-separated addresses; sent through the SMTP connection `smtp_default`. No
  address or no connection: the mail task is skipped, the files are still written.
* Sections whose mart tables are not there yet say so ("Chưa có dữ liệu") instead of failing.
"""


@dag(
    dag_id="tthc_report",
    schedule=None,
    start_date=datetime(2023, 1, 1),
    catchup=False,
    max_active_runs=2,
    tags=["tthc", "report", "mart"],
    doc_md=DOC,
    params={
        "unit_code": Param("H35.112", type="string", description="unit code (MaDonVi), e.g. H35.112 = Nậm Nhùn"),
        "period": Param("2024-H1", type="string", pattern=r"^\d{4}(-(H[12]|Q[1-4]|\d{1,2}))?$",
                        description="2023, 2024-H1, 2024-Q2 or 2024-03"),
        "mail_to": Param(None, type=["null", "string"], description="comma-separated recipients (optional)"),
    },
    default_args={"retries": 1, "on_failure_callback": [failure_notifier()]},
)
def tthc_report():
    @task
    def render_report() -> dict[str, str]:
        from tthc import warehouse
        from tthc.report import load_report_data, parse_period, write_report

        params = get_current_context()["params"]
        with warehouse.connect() as conn:
            data = load_report_data(conn, params["unit_code"].strip(), parse_period(params["period"]))
        return {kind: str(path) for kind, path in write_report(data).items()}

    @task
    def mail_report(paths: dict[str, str]) -> bool:
        from pathlib import Path

        from airflow.sdk.exceptions import AirflowSkipException

        from tthc.report.mail import send_report
        from tthc.settings import SMTP_CONN_ID, get_connection

        params = get_current_context()["params"]
        recipients = [r for r in (params.get("mail_to") or "").split(",") if r.strip()]
        if not recipients:
            raise AirflowSkipException("no mail_to given")
        if get_connection(SMTP_CONN_ID, required=False) is None:
            raise AirflowSkipException(f"no {SMTP_CONN_ID} connection")
        subject = f"Báo cáo TTHC {params['unit_code']} {params['period']}"
        return send_report(recipients, subject, {kind: Path(p) for kind, p in paths.items()})

    mail_report(render_report())


tthc_report()
