"""The daily digest, every working day at 07:00 local time: each unit its own list of the dossiers to
act on, by e-mail, and one summary line per unit on the webhook."""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import Param, dag, get_current_context, task

from tthc import dag_policy
from tthc.timetables import WorkingDayTimetable

DOC = """
### Danh sách hồ sơ cần xử lý (daily watchlist digest)

**When**: 07:00 local time (Asia/Ho_Chi_Minh) on every *working day* of the project's calendar
(`tthc.calendar`, the same days as `core.dim_date`): public holidays, Tết and announced days off
are skipped, Saturdays swapped into working days are included. The schedule is a custom timetable,
`tthc.timetables.WorkingDayTimetable`, registered by the Airflow plugin `plugins/tthc_plugin.py`
(`airflow plugins` lists it; restart the scheduler, DAG processor and API server after changing
it). A cron on weekdays would mail on holidays and miss the swapped Saturdays; a daily run that
skips itself would fill the grid with skipped runs.

**What**: for the run's day D, the lists as of D 07:00: `mart.watchlist_at(D 07:00)` (overdue,
waiting for a supplement, due within 24 h "hỏa tốc", within 72 h "khẩn") and
`mart.late_without_apology_at(D 07:00)` (finished late in the 30 days before, without an apology
slip). Reads the warehouse's core through these functions, so re-running a past day rebuilds that
day's lists whatever was loaded since. The lists are only as fresh as the loads: check
`tthc_freshness` if they look old.

**To whom**: one e-mail per unit (competent unit, `unit_code`) that has entries, none for a unit
without. Subject and body in Vietnamese, plain text and HTML: counts per category, the dossiers
grouped by category (most urgent first, then least time left): mã hồ sơ, thủ tục, bộ phận, hạn trả,
số giờ còn lại; then "Hồ sơ quá hạn chưa có phiếu xin lỗi". The applicant appears only as its
pseudonymized token. Attached: the unit's entries as CSV (UTF-8 with BOM, opens in Excel).
Recipients are the unit's **active** rows of `quality.unit_contact`. To add a contact:

```sql
INSERT INTO quality.unit_contact (unit_code, email, note)
VALUES ('H35.112', 'motcua@namnhun.laichau.gov.vn', 'Bộ phận một cửa huyện Nậm Nhùn');
-- switch one off without losing it:
UPDATE quality.unit_contact SET active = false, updated_at = now()
WHERE unit_code = 'H35.112' AND email = 'motcua@namnhun.laichau.gov.vn';
```

**Fallback**: a unit without an active contact is mailed to the fallback address instead (subject
starts "[Chưa có địa chỉ nhận]"), from the run param `fallback_email`, else the environment
variable `TTHC_DIGEST_FALLBACK_EMAIL` of the workers; the task log has a warning naming those
units. With neither set, those units are not mailed and the task fails after sending the others.

**Webhook** (`tthc_alert_webhook`, optional): one POST per day (at most 50 lines each) with one line
per unit, e.g. `H35.112 Ủy ban nhân dân huyện Nậm Nhùn: 3 quá hạn, 1 chờ bổ sung, 2 hỏa tốc, 5 khẩn`:
one chat message a day instead of one per unit. Mail goes through `smtp_default` (required when
there is anything to mail), as the alerts do.

**Sent-log**: `quality.digest_sent` (day, unit, channel) is read before sending and written right
after each mail / webhook POST succeeds. A re-run of a day sends only what is missing; a re-run of
a finished day sends nothing. To send a unit's digest again, delete its row first:
`DELETE FROM quality.digest_sent WHERE digest_day = '2024-09-03' AND unit_code = 'H35.112';`

**Params**: `day` (YYYY-MM-DD) sends that day's digest instead of the run's own day (a day without
a run, e.g. a manual catch-up); `fallback_email` as above. A manual run without `day` sends the
digest of the local day of its logical date, working day or not.

#### When it fails

* **send_digests** (retried once; the retry sends only what the sent-log lacks):
  `ConfigurationError` names the missing connection (`tthc_warehouse`, or `smtp_default` when
  there is mail to send); `DigestIncompleteError` lists the unit/channel pairs not sent and why
  (an address the SMTP server refused, a failed webhook POST, a unit without contact and no
  fallback): fix the address in `quality.unit_contact`, the connection or the fallback, then clear
  the task. A lost SMTP connection fails the task with the units sent so far recorded. The log
  names every unit mailed, to which addresses, and the units that went to the fallback.
* Nothing in the lists for anyone (no mail at all) is not a failure: check that `tthc_dossiers`
  and `tthc_reference` ran (the task log says how many units had entries).
* A day missing from the grid: the calendar says it is not a working day
  (`SELECT * FROM core.dim_date WHERE day = '...'`), or the scheduler was down (with
  `catchup=False` only the latest missed day runs): trigger with conf `{"day": "YYYY-MM-DD"}`.
"""


@dag(
    dag_id="tthc_watchlist",
    schedule=WorkingDayTimetable(at="07:00", timezone=dag_policy.LOCAL_TZ_NAME),
    start_date=datetime(2024, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=dag_policy.tags("dossiers", "mart", "quality"),
    doc_md=DOC,
    params={
        "day": Param(
            None,
            type=["null", "string"],
            pattern=r"^\d{4}-\d{2}-\d{2}$",
            description="send the digest of this day (YYYY-MM-DD) instead of the run's own",
        ),
        "fallback_email": Param(
            None,
            type=["null", "string"],
            description="address for units without an active contact (else env TTHC_DIGEST_FALLBACK_EMAIL)",
        ),
    },
    default_args=dag_policy.default_args(retries=1),
)
def tthc_watchlist():
    @task
    def send_digests() -> dict:
        from tthc.tasks import send_watchlist_digest

        context = get_current_context()
        params = context["params"]
        moment = params.get("day") or context.get("logical_date") or context["dag_run"].run_after
        return send_watchlist_digest(moment, params.get("fallback_email"))

    send_digests()


tthc_watchlist()
