"""The life cycle of a dossier batch's own staging tables.

Every dossier batch is staged in partitions of its own, one per staging table, so that a load can
drop its rows whole instead of deleting them from tables other batches are reading: created empty
by ``open_batch``, filled by ``copy_into_batch`` (from the extraction, or again from raw by
``stage_from_raw``), attached by ``attach_batch`` just before the writer commits, and dropped by
``drop_batch`` once the load is done.
"""

from __future__ import annotations

import orjson
import psycopg

from tthc import warehouse
from tthc.cycles import collector_paused
from tthc.staging.dossier import COPY_TYPES, LAYOUT, DossierRows


def batch_table(table: str, batch_id: int) -> str:
    """The partition of staging ``table`` that holds ``batch_id``'s rows (as SQL's
    ``staging.dossier_partition`` names it)."""
    return f"staging.{table}_b{int(batch_id)}"


# The staged lists that only the merge reads, each whole, in a hash join with the batch's changed
# dossiers (core/merge_dossier.sql): no rule looks them up (tests/tthc/staging/test_partitions.py
# holds the suites to that), so they have no index and no statistics.
MERGE_ONLY_TABLES = frozenset({"dossier_document", "dossier_result", "dossier_step"})


def rule_read_partitions(batch_id: int) -> tuple[str, ...]:
    """The batch's partitions that the staging rules read: the ones whose statistics their plans need."""
    return tuple(batch_table(table, batch_id) for table in LAYOUT if table not in MERGE_ONLY_TABLES)


def open_batch(conn: psycopg.Connection, batch_id: int) -> None:
    conn.execute("SELECT staging.open_dossier_batch(%s)", (batch_id,))


def attach_batch(conn: psycopg.Connection, batch_id: int) -> None:
    conn.execute("SELECT staging.attach_dossier_batch(%s)", (batch_id,))


# PostgreSQL lets only one partition of a table wait in DETACH ... CONCURRENTLY: a second detach on
# the same parent fails ("already pending detach"). Loads drop their batches' partitions at the same
# time, so they take turns under this session lock.
_DETACH_LOCK = "hashtext('tthc.staging.detach')"


def drop_batch(conn: psycopg.Connection, batch_id: int) -> None:
    """Drop the batch's partitions. Detached CONCURRENTLY first: a plain DROP or DETACH would lock
    the parents against every other batch's readers and writers. That waits for the transactions
    then reading the parents (another load's rule queries or merge: seconds), and cannot run in a
    transaction, so this works in autocommit, on a connection with no transaction open (it does
    not commit the caller's work for it). A detach that a killed drop left pending, of this batch
    or another, is finalized first: while it is pending no other partition of that table can be
    detached."""
    if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
        raise RuntimeError(
            f"dropping the staging partitions of batch {batch_id} needs a connection with no "
            "transaction open: commit or roll back first"
        )
    conn.autocommit = True
    try:
        conn.execute(f"SELECT pg_advisory_lock({_DETACH_LOCK})")
        try:
            for table in LAYOUT:
                parent = psycopg.sql.Identifier("staging", table)
                for (pending,) in conn.execute(
                    "SELECT inhrelid::regclass::text FROM pg_inherits "
                    "WHERE inhparent = %s::regclass AND inhdetachpending",
                    (f"staging.{table}",),
                ).fetchall():
                    conn.execute(
                        psycopg.sql.SQL("ALTER TABLE {} DETACH PARTITION {} FINALIZE").format(
                            parent, psycopg.sql.SQL(pending)
                        )
                    )  # regclass text: already quoted as needed
                name = batch_table(table, batch_id)
                partition = psycopg.sql.Identifier(*name.split("."))
                if conn.execute(
                    "SELECT 1 FROM pg_inherits WHERE inhrelid = to_regclass(%s)", (name,)
                ).fetchone():
                    conn.execute(
                        psycopg.sql.SQL("ALTER TABLE {} DETACH PARTITION {} CONCURRENTLY").format(
                            parent, partition
                        )
                    )
                conn.execute(psycopg.sql.SQL("DROP TABLE IF EXISTS {}").format(partition))
        finally:
            conn.execute(f"SELECT pg_advisory_unlock({_DETACH_LOCK})")
    finally:
        conn.autocommit = False


def copy_into_batch(conn: psycopg.Connection, rows: DossierRows) -> int:
    """Binary COPY of the collected rows into their batch's staging tables (``open_batch`` made them,
    in this transaction or an earlier one); returns the number of dossier rows written."""
    taken = rows.take()
    for table, table_rows in taken.items():
        if table_rows:
            warehouse.copy_rows(
                conn, batch_table(table, rows.batch_id), LAYOUT[table][0], table_rows, types=COPY_TYPES[table]
            )
    return len(taken["dossier"])


def stage_from_raw(conn: psycopg.Connection, batch_id: int, chunk: int = 2000) -> int:
    """Type a landed batch of dossiers again from raw, unless its staging rows are there already
    (the extraction typed them); returns the number of dossier rows staged now. Leaves the
    batch's partitions attached, in the caller's transaction."""
    if conn.execute(
        "SELECT EXISTS (SELECT 1 FROM staging.dossier WHERE batch_id = %s)", (batch_id,)
    ).fetchone()[0]:
        return 0
    staged = 0
    open_batch(conn, batch_id)
    # A retry batch copies quarantined payloads in SQL, without the hash the extraction computes
    # from the landed text: its records are hashed from their JSONB text here.
    with conn.cursor(name=f"raw_batch_{batch_id}") as cursor, collector_paused():
        cursor.execute(
            """SELECT ordinal, payload::text, coalesce(payload_hash, md5(payload::text))
               FROM raw.record WHERE batch_id = %s ORDER BY ordinal""",
            (batch_id,),
        )
        while records := cursor.fetchmany(chunk):
            rows = DossierRows(batch_id)
            for ordinal, payload, payload_hash in records:
                rows.add(ordinal, orjson.loads(payload), payload_hash)
            staged += copy_into_batch(conn, rows)
    attach_batch(conn, batch_id)
    return staged
