"""What each DAG task does, as plain functions of plain values: the DAG files only wire them.

Heavy imports happen inside the functions so that parsing a DAG file stays cheap.
"""

from __future__ import annotations

import logging
from datetime import date, timedelta

from tthc import indicators, warehouse
from tthc.entities import ENTITIES
from tthc.windows import Window

log = logging.getLogger(__name__)


def migrate_warehouse() -> list[str]:
    with warehouse.connect() as conn:
        return warehouse.migrate(conn)


def extract(entity_name: str, window: Window | None = None, airflow_run_id: str | None = None) -> list[int]:
    """Extract one entity into raw; incremental entities one batch per month of the window.

    Returns the raw batch ids, each committed on its own: a failure in month 5 keeps months 1-4
    landed, and the retry extracts month 5 again into a new batch (raw is append-only).
    """
    from tthc.extract import extract_to_raw
    from tthc.pseudonymize import Pseudonymizer
    from tthc.settings import pseudonym_key
    from tthc.source_client import SourceClient, SourceSettings

    entity = ENTITIES[entity_name]
    pseudonymizer = Pseudonymizer(pseudonym_key())
    chunks = list(window.monthly()) if entity.incremental and window else [None]
    batch_ids = []
    with SourceClient(SourceSettings.from_airflow()) as client:
        for chunk in chunks:
            with warehouse.connect() as conn:
                batch = extract_to_raw(
                    conn, client, entity, pseudonymizer,
                    window_start=chunk.start if chunk else None,
                    window_end=chunk.end if chunk else None,
                    airflow_run_id=airflow_run_id,
                )
            batch_ids.append(batch.batch_id)
    return batch_ids


def load(batch_id: int) -> dict:
    from tthc.load import load_batch

    return load_batch(batch_id, dsn=warehouse.warehouse_conninfo()).as_dict()


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


def refresh_indicators(first: date, last_exclusive: date) -> int:
    with warehouse.connect() as conn:
        return indicators.refresh(conn, first, last_exclusive)


def lookback() -> timedelta:
    from tthc.source_client import SourceSettings

    return timedelta(minutes=SourceSettings.from_airflow().lookback_minutes)
