"""What each DAG task does, as plain functions of plain values: the DAG files only wire them.

Heavy imports happen inside the functions so that parsing a DAG file stays cheap.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta

from tthc import indicators, warehouse
from tthc.entities import ENTITIES
from tthc.windows import Window

log = logging.getLogger(__name__)


def migrate_warehouse() -> list[str]:
    with warehouse.connect() as conn:
        return warehouse.migrate(conn)


def plan_windows(window: Window) -> list[dict[str, str]]:
    """The extraction windows of a run: its window cut at month boundaries, so a backfill of a
    year is twelve independent tasks that more workers finish sooner."""
    return [part.as_dict() for part in window.monthly()]


def extract(entity_name: str, window: dict[str, str] | None = None, airflow_run_id: str | None = None) -> int:
    """Extract one entity (for one window, if incremental) into a new raw batch; returns its id.

    Each batch is committed on its own: a failure in month 5 keeps months 1-4 landed, and the
    retry extracts month 5 again into a new batch (raw is append-only).
    """
    from tthc.extract import extract_to_raw
    from tthc.pseudonymize import Pseudonymizer
    from tthc.settings import pseudonym_key
    from tthc.source_client import SourceClient, SourceSettings
    from tthc.windows import parse_moment

    entity = ENTITIES[entity_name]
    start = parse_moment(window["start"]) if window else None
    end = parse_moment(window["end"]) if window else None
    with SourceClient(SourceSettings.from_airflow()) as client, warehouse.connect() as conn:
        batch = extract_to_raw(conn, client, entity, Pseudonymizer(pseudonym_key()),
                               window_start=start, window_end=end, airflow_run_id=airflow_run_id)
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
        conn.execute(
            "CREATE TEMP TABLE incoming_day (LIKE core.dim_date) ON COMMIT DROP"
        )
        warehouse.copy_rows(
            conn, "incoming_day", ("day", "is_working_day", "holiday_name", "lunar_date", "source"),
            ((d.day, d.is_working_day, d.holiday_name, d.lunar_date, d.source) for d in days),
        )
        changed = warehouse.run_sql(conn, "core/merge_calendar.sql")[0][0]
    log.info("calendar %s .. %s: %d days changed", first, last, changed)
    return changed


def refresh_indicators(first: date, last_exclusive: date, include_pending: bool = False) -> int:
    with warehouse.connect() as conn:
        return indicators.refresh(conn, first, last_exclusive, include_pending=include_pending)


def lookback() -> timedelta:
    from tthc.source_client import SourceSettings

    return timedelta(minutes=SourceSettings.from_airflow().lookback_minutes)


def reconcile_with_source(days: int, end: str | None, max_share: float, max_absolute: int) -> dict:
    from tthc.reconcile import ReconciliationError, describe, reconcile
    from tthc.source_client import SourceClient, SourceSettings
    from tthc.windows import LOCAL_TZ, parse_moment

    end_day = parse_moment(end).date() if end else datetime.now(LOCAL_TZ).date()
    first_day = end_day - timedelta(days=days)
    with SourceClient(SourceSettings.from_airflow()) as client, warehouse.connect() as conn:
        result = reconcile(conn, client, first_day, end_day, max_share=max_share, max_absolute=max_absolute)
    if result.mismatches:
        raise ReconciliationError(describe(result))
    return {"first_day": str(first_day), "end_day": str(end_day), "unit_days": result.unit_days}
