"""Form 06/VPCP/KSTT as the Excel workbook staff hand in: after each statutory window, or on demand."""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import Param, dag, get_current_context, task
from airflow.timetables.trigger import CronTriggerTimetable

from tthc import dag_policy

DOC = """
### Biểu 06/VPCP/KSTT (statutory form 06, Circular 01/2020/TT-VPCP)

Writes form 06 ("Tình hình, kết quả giải quyết thủ tục hành chính tại cơ quan, đơn vị trực tiếp
giải quyết thủ tục hành chính") for one unit as an Excel workbook laid out like the official form:
title and form number, unit and period header ("Số liệu từ ngày ... đến ngày ..."), the grouped
column headers (received / finished / in progress) with the column numbers (1)..(13), the rows,
a total row "Tổng số" and notes (how many finished dossiers had no promised date, how early /
on time / late are judged). Reads **mart.form_06** only, which `tthc_indicators` fills.

#### When it runs

* **Scheduled**: the 15th of every month at 08:00 local time (Asia/Ho_Chi_Minh), the day after
  the statutory cut-off (Decree 09/2019/NĐ-CP: data are cut off on the 14th, `mart.statutory_cutoff`).
  The run reports every statutory window that closed in the month up to its logical date:
  the month always (the run of 15 June 2024 writes `2024-06` = 15/05–14/06/2024), and the quarter,
  half and year when they close with it (15 June: also `2024-Q2` = 15/03–14/06 and `2024-H1`;
  15 December: `2024-12`, `2024-Q4`, `2024-H2` and `2024` = 15/12/2023–14/12/2024). Scheduled
  runs use the defaults below: the province `H35`, summary by unit.
* **Manual**: trigger with conf `{"unit_code": "H35.112", "period": "2024-Q2"}`; without `period`
  the run reports what closed in the month up to today.

#### Conf (all optional)

| key | default | what |
| --- | --- | --- |
| `unit_code` | `H35` | the unit (MaDonVi) |
| `period` | closed windows | `2024` (year), `2024-H1`, `2024-Q2`, `2024-03` (month) |
| `kind` | `statutory` | `statutory` (Decree 09 window, e.g. Q2 2024 = 15/03–14/06/2024) or `calendar` |
| `layout` | `auto` | `fields` (one unit: a row per field), `units` (summary: the units below it grouped by level, Cấp tỉnh / Cấp huyện / Cấp xã with subtotals), `auto` = `units` when the unit has units below it |
| `scheme` | `as_recorded` | `as_recorded` (units when the dossier was received) or `current` (today's units) |
| `mail_to` | none | comma-separated recipients; else env `TTHC_FORM_06_MAIL_TO` |

#### Outputs

`output/reports/form_06_<unit>_<period>_<kind>.xlsx`, e.g.
`output/reports/form_06_H35_2024-Q2_statutory.xlsx` (folder: env `TTHC_REPORT_DIR`; `_current`
is appended for the current scheme; a re-run overwrites the file). With recipients and an
`smtp_default` connection, one mail carries every workbook of the run; otherwise `mail_forms`
is skipped and the files are still written.

#### When it fails

* **plan_periods**: `unknown period` means the conf's `period` is not one of the forms above;
  `ConfigurationError` that the connection `tthc_warehouse` is missing.
* **write_forms** (retried twice): `Form06NotAvailable` names the unit and periods without a row in
  `mart.form_06`: check `unit_code` (`SELECT unit_code FROM mart.unit`), and that `tthc_indicators`
  has refreshed the window's months (`SELECT DISTINCT period_start FROM mart.form_06 WHERE
  period_kind = 'statutory'`); refresh them with `tthc_indicators` conf `{"start": "2024-03-01",
  "end": "2024-07-01"}`, then clear the task. `unknown kind/scheme/layout` is a conf typo. A
  permission error: the report folder is not writable.
* **mail_forms** (retried twice): the SMTP server of `smtp_default` refused or did not answer (the
  log has its reply). The workbooks are already written: send them by hand, or fix the connection
  and clear the task.

Re-runs are safe: clear a task or trigger again with the same conf; the workbooks are written again
from the mart, which this DAG only reads.
"""


@dag(
    dag_id="tthc_statutory_report",
    schedule=CronTriggerTimetable("0 8 15 * *", timezone=dag_policy.LOCAL_TZ_NAME),
    start_date=datetime(2024, 1, 1),
    catchup=False,
    max_active_runs=2,
    tags=dag_policy.tags("report", "mart"),
    doc_md=DOC,
    params={
        "unit_code": Param("H35", type="string", description="unit code (MaDonVi); H35 = the province"),
        "period": Param(
            None,
            type=["null", "string"],
            pattern=r"^\d{4}(-(H[12]|Q[1-4]|\d{1,2}))?$",
            description="2024, 2024-H1, 2024-Q2 or 2024-03; empty: the windows that just closed",
        ),
        "kind": Param("statutory", enum=["statutory", "calendar"], description="reporting window"),
        "layout": Param("auto", enum=["auto", "fields", "units"], description="rows by field or by unit"),
        "scheme": Param("as_recorded", enum=["as_recorded", "current"], description="unit scheme"),
        "mail_to": Param(None, type=["null", "string"], description="comma-separated recipients (optional)"),
    },
    default_args=dag_policy.default_args(retries=2),
)
def tthc_statutory_report():
    @task
    def plan_periods() -> list[str]:
        from tthc.tasks import form_06_periods

        context = get_current_context()
        run_at = context.get("logical_date") or context["dag_run"].run_after
        return form_06_periods(context["params"].get("period"), run_at)

    @task
    def write_forms(periods: list[str]) -> list[str]:
        from tthc.tasks import write_form_06

        params = get_current_context()["params"]
        return write_form_06(params["unit_code"], periods, params["kind"], params["scheme"], params["layout"])

    @task
    def mail_forms(paths: list[str]) -> bool:
        from airflow.sdk.exceptions import AirflowSkipException

        from tthc.tasks import form_06_not_mailed_because, mail_form_06

        params = get_current_context()["params"]
        if reason := form_06_not_mailed_because(params.get("mail_to")):
            raise AirflowSkipException(reason)
        if not paths:
            raise AirflowSkipException("no workbook written")
        return mail_form_06(paths, params["unit_code"], params.get("mail_to"))

    mail_forms(write_forms(plan_periods()))


tthc_statutory_report()
