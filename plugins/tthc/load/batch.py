"""The batch a load works on: its row in ``raw.batch``, and the session lock that makes a second
load of the same batch wait for the first."""

from __future__ import annotations

import psycopg

from tthc.quality.batch_rules import BatchInfo

_BATCH_LOCK = "hashtext('tthc.load.batch'), %s::integer"


def read_batch(conn: psycopg.Connection, batch_id: int) -> tuple[BatchInfo, str]:
    """The batch and its status as the load finds it."""
    row = conn.execute(
        """SELECT entity, endpoint, window_start, window_end, record_count, status, source_id
           FROM raw.batch WHERE batch_id = %s""",
        (batch_id,),
    ).fetchone()
    if row is None:
        raise LookupError(f"no raw batch {batch_id}")
    entity, endpoint, window_start, window_end, extracted, status, source_id = row
    return BatchInfo(batch_id, entity, endpoint, window_start, window_end, extracted, source_id), status


def hold(conn: psycopg.Connection, batch_id: int) -> None:
    """Wait for, then hold, the batch's session lock (it outlives transactions)."""
    conn.execute(f"SELECT pg_advisory_lock({_BATCH_LOCK})", (batch_id,))


def try_hold(conn: psycopg.Connection, batch_id: int) -> bool:
    """Hold the batch's lock if no load holds it; commits, so that no transaction stays open."""
    held = conn.execute(f"SELECT pg_try_advisory_lock({_BATCH_LOCK})", (batch_id,)).fetchone()[0]
    conn.commit()
    return held


def release(conn: psycopg.Connection, batch_id: int) -> None:
    conn.execute(f"SELECT pg_advisory_unlock({_BATCH_LOCK})", (batch_id,))
    conn.commit()
