"""What each DAG task does, as plain functions of plain values: the DAG files only wire them.

Heavy imports happen inside the functions so that parsing a DAG file stays cheap.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from tthc import indicators, warehouse
from tthc.entities import ENTITIES
from tthc.settings import FIRST_SOURCE_ID
from tthc.sources import Source, get_source, load_sources
from tthc.windows import Window

log = logging.getLogger(__name__)


def migrate_warehouse() -> list[str]:
    """Bring the schema up to date and record the configured sources in ``core.source``."""
    with warehouse.connect() as conn:
        applied = warehouse.migrate(conn)
        sources = json.dumps([source.as_dict() for source in load_sources()])
        warehouse.run_sql(conn, "core/merge_source.sql", {"sources": sources})
        conn.commit()
        return applied


def plan_windows(window: Window) -> list[dict[str, str]]:
    """The extraction windows of a run: its window cut at month boundaries, so a backfill of a
    year is twelve independent tasks that more workers finish sooner."""
    return [part.as_dict() for part in window.monthly()]


def run_windows(
    params: Mapping[str, Any],
    data_interval_start: datetime | None,
    data_interval_end: datetime | None,
    source_id: str = FIRST_SOURCE_ID,
) -> list[dict[str, str]]:
    """The extraction windows of one DAG run of a source: the window of its conf, else its data
    interval widened by the source's lookback (its connection's extra), cut to the source's days
    of service (none for a retired source's window after it) and at month boundaries."""
    from tthc.windows import extraction_window

    source = get_source(source_id)
    window = extraction_window(params, data_interval_start, data_interval_end, lookback(source))
    served = source.clip(window.start, window.end)
    if served is None:
        log.info(
            "source %s is in service %s..%s: nothing of %s..%s to extract",
            source.id,
            source.active_from or "always",
            source.active_to or "now",
            window.start,
            window.end,
        )
        return []
    return plan_windows(Window(*served))


def _source_client(source: Source):
    from tthc.source_client import SourceClient, SourceSettings

    return SourceClient(SourceSettings.from_airflow(source.conn_id))


def extract(
    entity_name: str,
    window: dict[str, str] | None = None,
    airflow_run_id: str | None = None,
    source_id: str = FIRST_SOURCE_ID,
) -> int:
    """Extract one entity of one source (for one window, if incremental) into a new raw batch;
    returns its id.

    Each batch is committed on its own: a failure in month 5 keeps months 1-4 landed, and the
    retry extracts month 5 again into a new batch (raw is append-only).
    """
    from tthc.extract import extract_to_raw
    from tthc.pseudonymize import Pseudonymizer
    from tthc.settings import pseudonym_key
    from tthc.windows import parse_moment

    entity = ENTITIES[entity_name]
    source = get_source(source_id)
    start = parse_moment(window["start"]) if window else None
    end = parse_moment(window["end"]) if window else None
    with _source_client(source) as client, warehouse.connect() as conn:
        batch = extract_to_raw(
            conn,
            client,
            entity,
            Pseudonymizer(pseudonym_key()),
            window_start=start,
            window_end=end,
            airflow_run_id=airflow_run_id,
            source_id=source.id,
        )
    return batch.batch_id


def load(batch_id: int) -> dict:
    from tthc.load import load_batch

    return load_batch(batch_id, dsn=warehouse.warehouse_conninfo()).as_dict()


def calendar_span(today: date) -> tuple[date, date]:
    """The days the working-day calendar holds: from 2000 through the end of the year after next,
    so that due dates promised late in a year, and next year's holidays, are always known."""
    return date(2000, 1, 1), date(today.year + 2, 12, 31)


def load_calendar(first: date, last: date) -> int:
    from tthc.calendar import WorkingCalendar

    days = WorkingCalendar.default().days(first, last)
    with warehouse.connect() as conn:
        conn.execute("CREATE TEMP TABLE incoming_day (LIKE core.dim_date) ON COMMIT DROP")
        warehouse.copy_rows(
            conn,
            "incoming_day",
            ("day", "is_working_day", "holiday_name", "lunar_date", "source"),
            ((d.day, d.is_working_day, d.holiday_name, d.lunar_date, d.source) for d in days),
        )
        changed = warehouse.run_sql(conn, "core/merge_calendar.sql")[0][0]
    log.info("calendar %s .. %s: %d days changed", first, last, changed)
    return changed


def refresh_indicators(first: date, last_exclusive: date, include_pending: bool = False) -> int:
    with warehouse.connect() as conn:
        return indicators.refresh(conn, first, last_exclusive, include_pending=include_pending)


def refresh_indicators_for(params: Mapping[str, Any], asset_events: Mapping[Any, Any]) -> int:
    """The refresh of one indicators run: the days of its conf, else those of the windows its
    triggering asset events name (any objects with the event's ``extra``)."""
    from tthc.windows import refresh_range

    first, last_exclusive = refresh_range(params, asset_events)
    # An event-driven run also covers loaded batches whose own event was lost (mart.refreshed_batch).
    by_conf = bool(params.get("start") and params.get("end"))
    return refresh_indicators(first, last_exclusive, include_pending=not by_conf)


def check_mart() -> dict:
    """The invariants of expectations/mart.json on what the refresh wrote; a break raises an error
    that fails the task without retries (the verdict would not change), so its notifier alerts."""
    from tthc.quality import mart

    return mart.check_mart(warehouse.warehouse_conninfo())


def lookback(source: Source | None = None) -> timedelta:
    from tthc.source_client import SourceSettings

    source = source or get_source(FIRST_SOURCE_ID)
    return timedelta(minutes=SourceSettings.from_airflow(source.conn_id).lookback_minutes)


def reconcile_with_source(
    days: int, end: str | None, max_share: float, max_absolute: int, source_id: str = FIRST_SOURCE_ID
) -> dict:
    from tthc.reconcile import ReconciliationError, describe, reconcile
    from tthc.settings import LOCAL_TZ
    from tthc.windows import parse_moment

    source = get_source(source_id)
    end_day = parse_moment(end).date() if end else datetime.now(LOCAL_TZ).date()
    first_day = end_day - timedelta(days=days)
    with _source_client(source) as client, warehouse.connect() as conn:
        result = reconcile(
            conn,
            client,
            first_day,
            end_day,
            max_share=max_share,
            max_absolute=max_absolute,
            source_id=source.id,
        )
    if result.mismatches:
        raise ReconciliationError(describe(result))
    return {"first_day": str(first_day), "end_day": str(end_day), "unit_days": result.unit_days}


def check_freshness(now: str | None = None) -> dict[str, dict]:
    """For every source in service at the moment checked: alert (once per silence) when no new
    dossier has arrived from it for too long in office hours; ``now`` (ISO, local time) checks as
    of another moment. The result of each source, by its id (a retired source is not checked)."""
    from tthc.quality import freshness
    from tthc.settings import LOCAL_TZ

    moment = freshness.checked_at(now) or datetime.now(LOCAL_TZ)
    dsn = warehouse.warehouse_conninfo()
    return {
        source.id: freshness.check_freshness(dsn, moment, source)
        for source in load_sources()
        if source.clip(moment - timedelta(seconds=1), moment) is not None
    }


def check_mart_freshness(now: str | None = None) -> dict:
    """Alert (once per oldest waiting batch) when loaded batches wait too long for an indicator
    refresh; ``now`` as for ``check_freshness``."""
    from tthc.quality import freshness

    return freshness.check_mart_freshness(warehouse.warehouse_conninfo(), freshness.checked_at(now))


def retry_waiting(source_id: str = FIRST_SOURCE_ID) -> dict | None:
    """Dossiers of the source quarantined for a unit or procedure that is known now, loaded
    through the normal path: the audit of their retry batch, or None when nothing waits."""
    from tthc.load.retry import retry_waiting as load_waiting

    return load_waiting(warehouse.warehouse_conninfo(), source_id=source_id)


def render_report(unit_code: str, period: str) -> dict[str, str]:
    """The unit report for ``period`` (2023, 2024-H1, 2024-Q2, 2024-03), written as files: kind
    (html, pdf) -> path."""
    from tthc.report import load_report_data, parse_period, write_report

    with warehouse.connect() as conn:
        data = load_report_data(conn, unit_code.strip(), parse_period(period))
    return {kind: str(path) for kind, path in write_report(data).items()}


def _recipients(mail_to: str | None) -> list[str]:
    return [r for r in (mail_to or "").split(",") if r.strip()]


def report_not_mailed_because(mail_to: str | None) -> str | None:
    """Why the report will not be mailed (no recipient, no SMTP connection), or None to mail it."""
    from tthc.settings import SMTP_CONN_ID, get_connection

    if not _recipients(mail_to):
        return "no mail_to given"
    if get_connection(SMTP_CONN_ID, required=False) is None:
        return f"no {SMTP_CONN_ID} connection"
    return None


def mail_report(paths: dict[str, str], unit_code: str, period: str, mail_to: str) -> bool:
    """Mail the report's files (``render_report``'s paths) to the comma-separated ``mail_to``."""
    from pathlib import Path

    from tthc.report.mail import send_report

    subject = f"Báo cáo TTHC {unit_code} {period}"
    return send_report(_recipients(mail_to), subject, {kind: Path(p) for kind, p in paths.items()})


# The daily digest (DAG tthc_watchlist) ----------------------------------------------------------


def send_watchlist_digest(moment: datetime | date | str, fallback_email: str | None = None) -> dict:
    """Mail each unit its watchlist of the local day of ``moment`` (the run's logical date, or a
    'YYYY-MM-DD' day), as of 07:00 that day, and post the summary lines; what the sent-log holds
    for that day is not sent again (``tthc.digest``)."""
    from tthc import digest
    from tthc.settings import SMTP_CONN_ID, WEBHOOK_CONN_ID, get_connection

    day = digest.digest_day(moment)
    with warehouse.connect() as conn:
        outcome = digest.send_digests(
            conn,
            day,
            fallback=digest.fallback_address(fallback_email),
            smtp=get_connection(SMTP_CONN_ID, required=False),
            webhook=get_connection(WEBHOOK_CONN_ID, required=False),
        )
    return outcome.as_dict()


# ---- the statutory form 06/VPCP/KSTT (tthc_statutory_report) ----------------------------------


def form_06_periods(period: str | None, run_at: datetime) -> list[str]:
    """The periods a run of tthc_statutory_report writes: the conf's ``period``, else every period
    whose statutory window closed in the month up to the run's local day (on the 15th: the month
    that just closed, with its quarter, half and year when they close with it)."""
    from tthc.report.form_06 import closed_statutory_periods
    from tthc.report.period import parse_period
    from tthc.settings import LOCAL_TZ

    if period and str(period).strip():
        return [parse_period(period).key]
    day = run_at.astimezone(LOCAL_TZ).date() if run_at.tzinfo else run_at.date()
    with warehouse.connect() as conn:
        periods = [p.key for p in closed_statutory_periods(conn, day)]
    log.info("statutory windows closed in the month up to %s: %s", day, ", ".join(periods) or "none")
    return periods


def write_form_06(
    unit_code: str,
    periods: list[str],
    kind: str = "statutory",
    scheme: str = "as_recorded",
    layout: str = "auto",
) -> list[str]:
    """Form 06/VPCP/KSTT of ``unit_code`` for each period, as workbooks in the report folder:
    form_06_<unit>_<period>_<kind>.xlsx (``_current`` appended for that scheme); their paths.
    A period with no row in mart.form_06 fails the task, named, after the others are written."""
    from tthc.report import parse_period, report_dir
    from tthc.report.form_06 import Form06NotAvailable, check_options, load_form_06, write_workbook

    check_options(kind, scheme, layout)
    unit_code = unit_code.strip()
    written, missing = [], []
    with warehouse.connect() as conn:
        for key in periods:
            form = load_form_06(conn, unit_code, parse_period(key), kind=kind, scheme=scheme, layout=layout)
            if form is None:
                missing.append(key)
                continue
            name = (
                form.file_name
                if scheme == "as_recorded"
                else form.file_name.replace(".xlsx", "_current.xlsx")
            )
            written.append(str(write_workbook(form, report_dir() / name)))
            log.info("form 06 written: %s (%s layout, %d lines)", written[-1], form.layout, len(form.lines))
    if missing:
        raise Form06NotAvailable(
            f"mart.form_06 has no row for unit {unit_code!r}, {kind}, {scheme}, period(s) {', '.join(missing)}: "
            "check the unit code, and that tthc_indicators has refreshed those months "
            f"(written: {', '.join(written) or 'nothing'})"
        )
    return written


def form_06_recipients(mail_to: str | None) -> list[str]:
    """The run's ``mail_to``, else env ``TTHC_FORM_06_MAIL_TO`` (for the scheduled runs)."""
    import os

    return _recipients(mail_to) or _recipients(os.environ.get("TTHC_FORM_06_MAIL_TO"))


def form_06_not_mailed_because(mail_to: str | None) -> str | None:
    """Why the workbooks will not be mailed (no recipient, no SMTP connection), or None."""
    recipients = ",".join(form_06_recipients(mail_to))
    reason = report_not_mailed_because(recipients)
    return "no mail_to given (nor TTHC_FORM_06_MAIL_TO)" if reason == "no mail_to given" else reason


def mail_form_06(paths: list[str], unit_code: str, mail_to: str | None) -> bool:
    """Mail ``write_form_06``'s workbooks in one message."""
    from pathlib import Path

    from tthc.report.mail import send_report

    files = {Path(p).stem: Path(p) for p in paths}
    subject = f"Biểu 06/VPCP/KSTT {unit_code}: {', '.join(files)}"
    body = (
        "Biểu số 06/VPCP/KSTT (Thông tư 01/2020/TT-VPCP) đính kèm, một tệp Excel cho mỗi kỳ báo cáo. "
        "Số liệu lấy từ kho dữ liệu TTHC (mart.form_06); cách tính ghi ở cuối mỗi biểu."
    )
    return send_report(form_06_recipients(mail_to), subject, files, body=body)


# ---- the national portal's published scores (tthc_portal_scores) ------------------------------


def portal_periods(params: Mapping[str, Any], logical_date: datetime | None) -> list[str]:
    """The periods a run of tthc_portal_scores fetches, as keys ("2023", "2024-Q2", "2024-03"):
    the conf's ``period``, else the periods overlapping its ``start``/``end``, else the current and
    previous month, quarter and year of the run's local day."""
    from tthc.portal import periods_for_run
    from tthc.settings import LOCAL_TZ

    moment = logical_date or datetime.now(LOCAL_TZ)
    day = moment.astimezone(LOCAL_TZ).date() if moment.tzinfo else moment.date()
    periods = [period.key for period in periods_for_run(params, day)]
    log.info("portal periods to fetch: %s", ", ".join(periods))
    return periods


def fetch_portal_period(period: str, root_unit: str | None = None) -> dict:
    """Fetch what the portal publishes for one period (connection ``tthc_portal``) and store it in
    mart.portal_score / mart.portal_metric, one transaction per province tree: the ``root_unit``
    given, else the province, else (several provinces) each province of the period. The counts of
    what changed; with several trees, each tree's under ``trees``."""
    from tthc.portal import fetch_period, portal_roots
    from tthc.portal_client import PortalClient, PortalPeriod, PortalSettings

    portal_period = PortalPeriod.parse(period)
    given = (root_unit or "").strip() or None
    with PortalClient(PortalSettings.from_airflow()) as client, warehouse.connect() as conn:
        roots = [given] if given else portal_roots(conn, portal_period)
        conn.commit()
        results = [fetch_period(conn, client, portal_period, root).as_dict() for root in roots]
    return results[0] if len(results) == 1 else {"period": portal_period.key, "trees": results}


def check_portal_gap(periods: Sequence[str]) -> dict:
    """After the fetches of one tthc_portal_scores run: one alert (mail and webhook) naming the
    units, periods and items whose published total is more than ``portal_gap.max_points_below``
    (quality thresholds, default 1) below the province's own, or whose gap the unsynchronized
    dossiers do not explain (mart.portal_gap, computed by each fetch). A finding, not a failure."""
    from tthc.portal import gap_findings
    from tthc.quality.alerts import portal_gap_found, send_alert
    from tthc.settings import quality_thresholds

    threshold = float(quality_thresholds().get("portal_gap", {}).get("max_points_below", 1))
    with warehouse.connect() as conn:
        findings = gap_findings(conn, list(periods), threshold)
    result: dict[str, Any] = {"periods": list(periods), "findings": len(findings), "alert": None}
    if findings:
        subject, lines = portal_gap_found(findings, threshold)
        result["alert"] = send_alert(subject, lines)
        result["units"] = sorted({f["unit_code"] for f in findings})
    log.info("portal gap for %s: %d finding(s)", ", ".join(periods), len(findings))
    return result
