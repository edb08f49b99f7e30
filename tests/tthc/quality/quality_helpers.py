"""Helpers of the quality-gate tests: land raw batches and load reference data without Airflow."""

from __future__ import annotations

import json

import psycopg

from tthc import warehouse


def land(
    dsn: str,
    entity: str,
    records: list[dict],
    *,
    window=None,
    endpoint: str | None = None,
    source_id: str = "lai_chau",
) -> int:
    """A raw batch of ``records`` of a source, as extraction would land it; returns its id."""
    from tthc.entities import ENTITIES

    spec = ENTITIES[entity]
    with warehouse.connect(dsn=dsn) as conn:
        batch_id = conn.execute(
            """INSERT INTO raw.batch (source_id, entity, endpoint, window_start, window_end, record_count, checksum)
               VALUES (%s, %s, %s, %s, %s, %s, 'test') RETURNING batch_id""",
            (source_id, entity, endpoint or spec.endpoint, *(window or (None, None)), len(records)),
        ).fetchone()[0]
        warehouse.copy_rows(
            conn,
            "raw.record",
            ("batch_id", "ordinal", "record_key", "payload"),
            (
                (batch_id, n, record.get(spec.key_field) or None, json.dumps(record, ensure_ascii=False))
                for n, record in enumerate(records, start=1)
            ),
        )
    return batch_id


def load_reference_directly(dsn: str, province) -> None:
    """Units, procedures and the calendar into core without Airflow or HTTP (fast tests)."""
    from datetime import date

    from tthc.calendar import WorkingCalendar
    from tthc.load import load_batch

    load_batch(land(dsn, "unit", province.units), dsn=dsn)
    load_batch(land(dsn, "procedure", province.procedures), dsn=dsn)
    days = WorkingCalendar.default().days(date(2020, 1, 1), date(2026, 12, 31))
    with psycopg.connect(dsn) as conn:
        conn.execute("CREATE TEMP TABLE incoming_day (LIKE core.dim_date) ON COMMIT DROP")
        warehouse.copy_rows(
            conn,
            "incoming_day",
            ("day", "is_working_day", "holiday_name", "lunar_date", "source"),
            ((d.day, d.is_working_day, d.holiday_name, d.lunar_date, d.source) for d in days),
        )
        warehouse.run_sql(conn, "core/merge_calendar.sql")


def fetch(dsn: str, sql: str, params=None) -> list[tuple]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(sql, params).fetchall()
