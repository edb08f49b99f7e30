"""core → mart: materialize the indicators for a range of periods."""

from __future__ import annotations

import logging
from datetime import date

import psycopg

from tthc import warehouse

log = logging.getLogger(__name__)


def whole_years(first: date, last_exclusive: date) -> tuple[date, date]:
    """The smallest range of whole years covering [first, last_exclusive): every quarter, half and
    year touched by the range is recomputed from all of its months."""
    end_year = last_exclusive.year if (last_exclusive.month, last_exclusive.day) == (1, 1) else last_exclusive.year + 1
    return date(first.year, 1, 1), date(max(end_year, first.year + 1), 1, 1)


def refresh(conn: psycopg.Connection, first: date, last_exclusive: date) -> int:
    """Recompute every indicator row of the periods in the years touched; one transaction."""
    period_from, period_to = whole_years(first, last_exclusive)
    rows = warehouse.run_sql(
        conn, "marts/indicator_value.sql", {"period_from": period_from, "period_to": period_to}
    )
    count = rows[0][0] if rows else 0
    log.info("indicators refreshed for %s .. %s: %d rows", period_from, period_to, count)
    return count
