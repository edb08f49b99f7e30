"""The unit report: one unit, one period, in Vietnamese, as HTML and PDF; mailed on request."""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import Param, dag, get_current_context, task

from tthc import dag_policy

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

#### When it fails

An empty or unknown unit does not fail the run: its report says "Chưa có dữ liệu" where figures
are missing, so check `unit_code` and that `tthc_indicators` has refreshed the period.

* **render_report** (retried once): `unknown period` means `period` is not one of the forms above;
  `ConfigurationError` that the connection `tthc_warehouse` is missing; a permission error that
  the report folder (`output/reports/`, env `TTHC_REPORT_DIR`) is not writable. A missing PDF with
  an HTML written is not a failure: the log says WeasyPrint or Pango is not installed.
* **mail_report** (retried once): the SMTP server of `smtp_default` refused or did not answer
  (the log has its reply). The files are already written: send them by hand, or fix the
  connection and clear the task.

Re-run by triggering the DAG again with the same conf (or clearing the failed task): the files are
written again from the mart, which the report only reads.
"""


@dag(
    dag_id="tthc_report",
    schedule=None,
    start_date=datetime(2023, 1, 1),
    catchup=False,
    max_active_runs=2,
    tags=dag_policy.tags("report", "mart"),
    doc_md=DOC,
    params={
        "unit_code": Param(
            "H35.112", type="string", description="unit code (MaDonVi), e.g. H35.112 = Nậm Nhùn"
        ),
        "period": Param(
            "2024-H1",
            type="string",
            pattern=r"^\d{4}(-(H[12]|Q[1-4]|\d{1,2}))?$",
            description="2023, 2024-H1, 2024-Q2 or 2024-03",
        ),
        "mail_to": Param(None, type=["null", "string"], description="comma-separated recipients (optional)"),
    },
    default_args=dag_policy.default_args(retries=1),
)
def tthc_report():
    @task
    def render_report() -> dict[str, str]:
        from tthc.tasks import render_report

        params = get_current_context()["params"]
        return render_report(params["unit_code"], params["period"])

    @task
    def mail_report(paths: dict[str, str]) -> bool:
        from airflow.sdk.exceptions import AirflowSkipException

        from tthc.tasks import mail_report, report_not_mailed_because

        params = get_current_context()["params"]
        if reason := report_not_mailed_because(params.get("mail_to")):
            raise AirflowSkipException(reason)
        return mail_report(paths, params["unit_code"], params["period"], params["mail_to"])

    mail_report(render_report())


tthc_report()
