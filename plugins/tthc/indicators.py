"""core → mart: materialize the indicators, the 766 scorecard and the rank gaps for a range of periods.

``refresh(conn, first, last_exclusive)`` rewrites every period touched by the range: each month
overlapping it and that month's quarter, half-year and year. Months are first re-aggregated from
``core`` into monthly leaf tables (only the dossiers received or finished in them are read);
quarters, halves and years are then built from the leaf months plus what must be judged per period
(dossiers open at the period's end, distinct procedures, communes, PAKN). Everything runs in one
transaction: readers see the old rows of a period or the new ones, never half.

Definitions and scoring: docs/indicators.md.

Full rebuild of any range, from a shell (uses ``AIRFLOW_CONN_TTHC_WAREHOUSE``)::

    python -m tthc.indicators --start 2023-01-01 --end 2025-01-01
"""

from __future__ import annotations

import argparse
import logging
import time
from datetime import date

import psycopg

from tthc import warehouse

log = logging.getLogger(__name__)

# In order: each file reads the temp tables of the ones before it (same transaction).
REFRESH_STEPS = (
    "marts/refresh_scope.sql",
    "marts/leaf_month.sql",
    "marts/indicator_value.sql",
    "marts/score_766.sql",
    "marts/rank_gap.sql",
    "marts/form_06.sql",
    "marts/watchlist.sql",
)


def refresh(
    conn: psycopg.Connection, first: date, last_exclusive: date, *, include_pending: bool = False
) -> int:
    """Recompute every mart row of the periods touched by [first, last_exclusive) in one
    transaction; returns the number of mart.indicator_value rows written.

    One refresh at a time (the mart's writer lock), and every step reads one snapshot of core
    (REPEATABLE READ): loads of several sources commit while a refresh runs, and steps that read
    core at different moments would put half of such a load in the mart. What a load commits
    meanwhile is the next refresh's (its batches are not marked covered). The lock is a session
    lock taken before the snapshot, so a refresh that waited for another sees what that one wrote.

    On a connection already in a transaction (a test that rolls back, a caller composing steps)
    the refresh is a savepoint of that transaction, at its isolation, and commits nothing.

    ``include_pending`` (asset-triggered runs) widens the range to every loaded batch that no
    refresh has covered yet (``mart.refreshed_batch``), so that a lost asset event heals at the
    next refresh.
    """
    if last_exclusive <= first:
        raise ValueError(f"empty range {first} .. {last_exclusive}")
    if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
        with conn.transaction():
            warehouse.hold_mart_lock(conn)
            return _refresh(conn, first, last_exclusive, include_pending)
    conn.execute("SELECT pg_advisory_lock(hashtext(%s))", (warehouse.MART_LOCK,))
    conn.commit()
    isolation = conn.isolation_level
    try:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        with conn.transaction():
            return _refresh(conn, first, last_exclusive, include_pending)
    finally:
        if not conn.broken:
            conn.isolation_level = isolation
            conn.execute("SELECT pg_advisory_unlock(hashtext(%s))", (warehouse.MART_LOCK,))
            conn.commit()


def _refresh(conn: psycopg.Connection, first: date, last_exclusive: date, include_pending: bool) -> int:
    """The steps of a refresh, in the caller's transaction."""
    timings: dict[str, float] = {}
    written = 0
    if include_pending:
        pending_first, pending_last = warehouse.run_sql(conn, "marts/pending_refresh.sql")[0]
        if pending_first is not None:
            first, last_exclusive = min(first, pending_first), max(last_exclusive, pending_last)
    params = {"first": first, "last_exclusive": last_exclusive}
    warehouse.run_sql(conn, "marts/mark_refreshed.sql", params)
    for step in REFRESH_STEPS:
        started = time.perf_counter()
        rows = warehouse.run_sql(conn, step, params)
        timings[step] = round(time.perf_counter() - started, 3)
        if step == "marts/indicator_value.sql" and rows:
            written = rows[0][0]
    # Last: the gap to the national portal's figures, for the rewritten periods it published
    # (none: nothing to read). The same file the portal's fetch runs (docs/portal.md).
    started = time.perf_counter()
    periods = conn.execute(
        "SELECT coalesce(array_agg(period_type), '{}'), coalesce(array_agg(period_start), '{}') FROM refresh_period"
    ).fetchone()
    warehouse.run_sql(conn, "marts/portal_gap.sql", {"period_types": periods[0], "period_starts": periods[1]})
    timings["marts/portal_gap.sql"] = round(time.perf_counter() - started, 3)
    log.info("indicators refreshed for %s .. %s: %d rows (%s)", first, last_exclusive, written, timings)
    return written


def invariant_violations(conn: psycopg.Connection) -> list[dict]:
    """Rows of include/sql/marts/invariants.sql: empty when the mart is consistent."""
    return warehouse.query(conn, "marts/invariants.sql")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tthc.indicators", description=__doc__.splitlines()[0])
    parser.add_argument("--start", type=date.fromisoformat, required=True, help="first day (ISO date)")
    parser.add_argument("--end", type=date.fromisoformat, required=True, help="day after the last one")
    parser.add_argument("--check", action="store_true", help="run the mart invariants afterwards")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    with warehouse.connect() as conn:
        warehouse.migrate(conn)
        conn.commit()
        started = time.perf_counter()
        written = refresh(conn, args.start, args.end)
        print(
            f"{written} indicator rows for {args.start} .. {args.end} in {time.perf_counter() - started:.1f} s"
        )
        if args.check:
            violations = invariant_violations(conn)
            for violation in violations[:20]:
                print(violation)
            if violations:
                print(f"{len(violations)} invariant violations")
                return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
