"""Records waiting for reference data get another chance after each reference load.

A dossier quarantined only under ``unit_known`` / ``procedure_known`` (a unit or procedure the
warehouse did not know yet) is retried once every code it names is known: its quarantined payload
is copied into a new raw batch (endpoint ``quality:retry``; raw stays append-only) and loaded
through the normal path (``tthc.load.retry``), so the same rules apply and the new batch balances
its own books. The
original quarantine rows are closed: ``resolution = 'loaded_later'`` (the retry loaded the record)
or ``'retried'`` (the retry quarantined it again: the open row is now the retry batch's).
"""

from __future__ import annotations

import logging

import psycopg

from tthc import warehouse
from tthc.quality.batch_rules import RETRY_ENDPOINT
from tthc.settings import FIRST_SOURCE_ID

log = logging.getLogger(__name__)

WAITING_RULES = ("unit_known", "procedure_known")


def create_retry_batch(
    conn: psycopg.Connection, entity: str = "dossier", source_id: str = FIRST_SOURCE_ID
) -> int | None:
    """Copy the source's retryable quarantined records into a new raw batch of that source; returns
    its id (None: nothing)."""
    rows = warehouse.query(
        conn,
        "quality/retryable_records.sql",
        {"entity": entity, "rules": list(WAITING_RULES), "source_id": source_id},
    )
    if not rows:
        return None
    batch_id = conn.execute(
        """INSERT INTO raw.batch
               (source_id, entity, endpoint, window_start, window_end, record_count, checksum, airflow_run_id)
           VALUES (%s, %s, %s, %s, %s, %s, %s, NULL) RETURNING batch_id""",
        (
            source_id,
            entity,
            RETRY_ENDPOINT,
            min(r["updated_at"] for r in rows),
            max(r["updated_at"] for r in rows),
            len(rows),
            "retry:" + ",".join(f"{r['batch_id']}.{r['ordinal']}" for r in rows[:50]),
        ),
    ).fetchone()[0]
    warehouse.copy_rows(
        conn,
        "raw.record",
        ("batch_id", "ordinal", "record_key", "payload"),
        ((batch_id, n, r["record_key"], r["payload"]) for n, r in enumerate(rows, start=1)),
    )
    warehouse.copy_rows(
        conn,
        "quality.retry_source",
        ("retry_batch_id", "ordinal", "source_batch_id", "source_ordinal"),
        ((batch_id, n, r["batch_id"], r["ordinal"]) for n, r in enumerate(rows, start=1)),
    )
    conn.commit()
    log.info("retry batch %d: %d %s records waiting for reference data", batch_id, len(rows), entity)
    return batch_id


def close_sources(conn: psycopg.Connection, retry_batch_id: int) -> int:
    """Close the original quarantine rows of the records a retry batch carried."""
    closed = conn.execute(
        """UPDATE quality.quarantine AS q
           SET resolved_at = now(), resolved_batch_id = src.retry_batch_id,
               resolution = CASE WHEN EXISTS (SELECT 1 FROM quality.quarantine AS again
                                              WHERE again.batch_id = src.retry_batch_id AND again.ordinal = src.ordinal
                                                AND again.resolved_at IS NULL)
                                 THEN 'retried' ELSE 'loaded_later' END
           FROM quality.retry_source AS src
           WHERE src.retry_batch_id = %s AND q.batch_id = src.source_batch_id AND q.ordinal = src.source_ordinal
             AND q.resolved_at IS NULL""",
        (retry_batch_id,),
    ).rowcount
    conn.commit()
    return closed
