"""Step 4, clean up: staging is transient. Once a batch is published (or rejected, or its load
failed) its staged rows go: a batch with partitions of its own has them dropped whole, the rows of
the shared staging tables are deleted and their space made reusable."""

from __future__ import annotations

import logging

import psycopg

from tthc.entities import Entity
from tthc.load import batch as batch_lock
from tthc.staging import partitions

log = logging.getLogger(__name__)


def clean_up(conn: psycopg.Connection, batch_id: int, entity: Entity) -> None:
    """Remove the batch's staged rows and release the batch's lock (the caller holds it)."""
    conn.rollback()
    shared = (
        ("staging.rule_hit",)
        if entity.staged_in_batch_partitions
        else (*entity.staging_tables, "staging.rule_hit")
    )
    for table in shared:
        conn.execute(
            psycopg.sql.SQL("DELETE FROM {} WHERE batch_id = %s").format(
                psycopg.sql.Identifier(*table.split("."))
            ),
            (batch_id,),
        )
    conn.commit()
    if entity.staged_in_batch_partitions:
        partitions.drop_batch(conn, batch_id)  # under the batch's lock: a second load waits for it
    batch_lock.release(conn, batch_id)
    if entity.staged_in_batch_partitions:
        drop_finished_staging(conn)
    reclaim(conn, shared)


def drop_finished_staging(conn: psycopg.Connection) -> list[int]:
    """Drop the staging partitions of dossier batches whose load is over ('loaded' or 'rejected')
    and that no load holds: those a load killed after publishing left behind and no retry
    dropped. Returns their batch ids."""
    finished = [
        row[0]
        for row in conn.execute(
            """SELECT batch.batch_id
           FROM staging.dossier_batches_staged() AS staged (batch_id)
           JOIN raw.batch AS batch USING (batch_id)
           WHERE batch.status IN ('loaded', 'rejected')
           ORDER BY 1"""
        )
    ]
    conn.commit()
    dropped = []
    for batch_id in finished:
        if not batch_lock.try_hold(conn, batch_id):  # being loaded again, or its own load is dropping it
            continue
        try:
            partitions.drop_batch(conn, batch_id)
            dropped.append(batch_id)
        finally:
            batch_lock.release(conn, batch_id)
    if dropped:
        log.warning("dropped the staging partitions left by earlier loads of batches %s", dropped)
    return dropped


def reclaim(conn: psycopg.Connection, tables: tuple[str, ...]) -> None:
    """Make the space of the rows just deleted from the shared staging tables reusable by the next batch.

    These are queues: every batch inserts and deletes its rows, and without a VACUUM the rule
    queries scan the dead ones. Autovacuum would do it, but a server may run without it, so the
    load does it itself. SKIP_LOCKED: a table another load is analyzing is left to the next load's
    VACUUM. TRUNCATE false: giving pages back needs an exclusive lock that concurrent writers keep
    from it for seconds.
    """
    conn.autocommit = True  # VACUUM cannot run inside a transaction
    try:
        conn.execute(
            psycopg.sql.SQL("VACUUM (SKIP_LOCKED, TRUNCATE false) {}").format(
                psycopg.sql.SQL(", ").join(psycopg.sql.Identifier(*table.split(".")) for table in tables)
            )
        )
    finally:
        conn.autocommit = False
