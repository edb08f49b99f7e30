"""A dossier batch's own staging tables (tthc.staging.partitions): the same layout as the SQL that
creates them, read by the rules only where they have statistics, and opened, attached and dropped
without holding up other batches."""

from __future__ import annotations

import contextlib
import re
import threading

import psycopg
from staging_helpers import STAGING_TABLES, batch_partitions

from tthc import PROJECT_ROOT, warehouse
from tthc.staging import dossier, partitions


def test_python_and_sql_agree_on_the_staging_tables_and_their_partitions(dsn):
    """The tables, their columns and types, and a batch's partition names are written twice, in
    the staging schema's SQL (which creates and attaches the partitions) and in tthc.staging (which COPYs
    into them and drops them): the two must say the same."""
    with psycopg.connect(dsn) as conn:
        assert conn.execute("SELECT staging.dossier_tables()").fetchone()[0] == list(STAGING_TABLES)
        for table, (columns, types) in dossier.LAYOUT.items():
            assert conn.execute(
                """SELECT array_agg(attname::text ORDER BY attnum), array_agg(format_type(atttypid, NULL) ORDER BY attnum)
                   FROM pg_attribute WHERE attrelid = format('staging.%%I', %s::text)::regclass
                    AND attnum > 0 AND NOT attisdropped""",
                (table,),
            ).fetchone() == (
                list(columns),
                [{"timestamptz": "timestamp with time zone"}.get(t, t) for t in types],
            ), table
            assert (
                partitions.batch_table(table, 73)
                == conn.execute(
                    "SELECT 'staging.' || staging.dossier_partition(%s, 73)", (table,)
                ).fetchone()[0]
            )


def test_the_lists_staged_without_statistics_or_indexes_are_read_by_no_rule(dsn):
    """The load analyzes only the partitions the rules read, and the other lists have no index
    (tthc.partitions.MERGE_ONLY_TABLES): a rule reading one of them would plan blind."""
    rule_sources = [
        *(PROJECT_ROOT / "expectations").glob("*.json"),
        *(PROJECT_ROOT / "include/sql/quality").glob("*.sql"),
        *(PROJECT_ROOT / "include/sql/rules").rglob("*.sql"),
        *(PROJECT_ROOT / "plugins/tthc/quality").glob("*.py"),
    ]
    read = {
        table
        for source in rule_sources
        for table in STAGING_TABLES
        if re.search(rf"\bstaging\.{table}\b", source.read_text(encoding="utf-8"))
    }
    assert read == set(STAGING_TABLES) - partitions.MERGE_ONLY_TABLES
    assert partitions.rule_read_partitions(7) == tuple(
        partitions.batch_table(table, 7) for table in STAGING_TABLES if table in read
    )
    with psycopg.connect(dsn) as conn:
        indexed = {
            row[0]
            for row in conn.execute(
                "SELECT tablename FROM pg_indexes WHERE schemaname = 'staging' AND tablename = ANY(%s)",
                (list(STAGING_TABLES),),
            )
        }
    assert indexed == read


def test_a_batch_being_written_blocks_no_other_and_dropping_one_waits_for_its_readers(dsn):
    """The locks of the partition life cycle: a writer attaching its batch is not held up by a
    load reading another batch, and dropping a batch waits for the readers of staging instead of
    failing them. Real connections, the waits observed in pg_locks/pg_stat_activity."""
    with warehouse.connect(dsn=dsn) as conn:
        for batch_id in (900_001, 900_002):
            partitions.open_batch(conn, batch_id)
            conn.execute(
                "INSERT INTO staging.dossier_b900001 (batch_id, ordinal, unreadable_fields, payload_hash) "
                "VALUES (900001, 1, '{}', 'x')"
            ) if batch_id == 900_001 else None
            partitions.attach_batch(conn, batch_id)
    with psycopg.connect(dsn) as reader, psycopg.connect(dsn, autocommit=True) as writer:
        # a load reading batch 900001 (its transaction keeps the lock on the parent)
        assert reader.execute("SELECT count(*) FROM staging.dossier WHERE batch_id = 900001").fetchone() == (
            1,
        )
        writer.execute("SET lock_timeout = '2s'")  # a writer blocked by the reader would fail here
        with writer.transaction():
            partitions.open_batch(writer, 900_003)
            writer.execute(
                "INSERT INTO staging.dossier_b900003 (batch_id, ordinal, unreadable_fields, payload_hash) "
                "VALUES (900003, 1, '{}', 'y')"
            )
            partitions.attach_batch(writer, 900_003)
        assert batch_partitions(dsn, 900_003) == {table: True for table in STAGING_TABLES}

        with warehouse.connect(dsn=dsn) as dropper:
            dropping = threading.Thread(target=partitions.drop_batch, args=(dropper, 900_002))
            dropping.start()
            try:  # observed while the drop runs; asserted once the reader has let it finish
                dropping.join(timeout=2)
                waited_for_the_reader = dropping.is_alive()
                reader_went_on = reader.execute(
                    "SELECT count(*) FROM staging.dossier WHERE batch_id > 900000"
                ).fetchone() == (2,)
                with psycopg.connect(dsn) as another_load:  # new readers are not queued behind the drop
                    another_load.execute("SET lock_timeout = '2s'")
                    another_load_read = another_load.execute(
                        "SELECT count(*) FROM staging.dossier WHERE batch_id = 900003"
                    ).fetchone() == (1,)
            finally:
                reader.commit()
                dropping.join(timeout=30)
            assert not dropping.is_alive()
    assert waited_for_the_reader and reader_went_on and another_load_read
    assert batch_partitions(dsn, 900_002) == {}
    assert batch_partitions(dsn, 900_001) == {table: True for table in STAGING_TABLES}


def test_dropping_a_batch_finishes_a_detach_that_was_interrupted(dsn):
    """A load killed while its detach waited leaves the partition 'detach pending', which a
    second DETACH ... CONCURRENTLY refuses: drop_batch finalizes it instead."""
    batch_id = 900_100
    with warehouse.connect(dsn=dsn) as conn:
        partitions.open_batch(conn, batch_id)
        partitions.attach_batch(conn, batch_id)
    with psycopg.connect(dsn) as reader, psycopg.connect(dsn, autocommit=True) as detacher:
        reader.execute("SELECT count(*) FROM staging.dossier")  # holds the parent: the detach waits
        pid = detacher.info.backend_pid
        with psycopg.connect(dsn, autocommit=True) as killer:

            def detach():
                with contextlib.suppress(psycopg.errors.QueryCanceled):
                    detacher.execute(
                        "ALTER TABLE staging.dossier DETACH PARTITION staging.dossier_b900100 CONCURRENTLY"
                    )

            thread = threading.Thread(target=detach)
            thread.start()
            for _ in range(100):  # until the detach waits for the reader
                waiting = killer.execute(
                    "SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", (pid,)
                ).fetchone()
                if waiting and waiting[0] == "Lock":
                    break
                thread.join(timeout=0.05)
            killer.execute("SELECT pg_cancel_backend(%s)", (pid,))
            thread.join(timeout=10)
        reader.commit()
        pending = reader.execute(
            "SELECT inhdetachpending FROM pg_inherits WHERE inhrelid = 'staging.dossier_b900100'::regclass"
        ).fetchone()
        reader.commit()
    assert pending == (True,)
    # While it is pending no other partition of the parent can be detached: another batch's drop
    # finalizes it (the sweep of finished loads drops what is left), and goes on with its own.
    with warehouse.connect(dsn=dsn) as conn:
        partitions.open_batch(conn, batch_id + 1)
        partitions.attach_batch(conn, batch_id + 1)
        conn.commit()
        partitions.drop_batch(conn, batch_id + 1)
    assert batch_partitions(dsn, batch_id + 1) == {}
    assert batch_partitions(dsn, batch_id) == {table: table != "dossier" for table in STAGING_TABLES}
    with warehouse.connect(dsn=dsn) as conn:
        partitions.drop_batch(conn, batch_id)
    assert batch_partitions(dsn, batch_id) == {}


def test_loads_dropping_their_batches_at_once_take_turns(dsn):
    """PostgreSQL refuses a second DETACH ... CONCURRENTLY on a parent while one waits: two loads
    dropping their batches while a third load reads staging must both succeed, one after the other."""
    batches = (900_150, 900_151)
    with warehouse.connect(dsn=dsn) as conn:
        for batch_id in batches:
            partitions.open_batch(conn, batch_id)
            partitions.attach_batch(conn, batch_id)
    failures: list[BaseException] = []

    def drop(batch_id: int) -> None:
        try:
            with warehouse.connect(dsn=dsn) as conn:
                partitions.drop_batch(conn, batch_id)
        except BaseException as error:  # reported by the assertion below, not lost in the thread
            failures.append(error)

    with psycopg.connect(dsn) as reader:
        reader.execute("SELECT count(*) FROM staging.dossier")  # the first detach waits for this reader
        first = threading.Thread(target=drop, args=(batches[0],))
        first.start()
        with psycopg.connect(dsn, autocommit=True) as observer:
            for _ in range(200):  # until the first detach has marked its partition pending and waits
                if observer.execute("SELECT count(*) FROM pg_inherits WHERE inhdetachpending").fetchone()[0]:
                    break
                first.join(timeout=0.05)
            second = threading.Thread(target=drop, args=(batches[1],))
            second.start()
            second.join(timeout=1)
            second_waited = second.is_alive()
        reader.commit()
        first.join(timeout=30)
        second.join(timeout=30)
    assert failures == []
    assert second_waited
    assert not first.is_alive() and not second.is_alive()
    assert batch_partitions(dsn, batches[0]) == {} and batch_partitions(dsn, batches[1]) == {}


def test_a_batch_being_extracted_does_not_hold_up_the_drop_of_another(dsn):
    """An extraction's transaction lasts its whole window: until it attaches its partitions, it
    must hold no lock on the parents, or every load's detach would wait for it."""
    with warehouse.connect(dsn=dsn) as conn:
        partitions.open_batch(conn, 900_201)
        partitions.attach_batch(conn, 900_201)
    with psycopg.connect(dsn) as extraction, warehouse.connect(dsn=dsn) as load:
        partitions.open_batch(extraction, 900_202)
        extraction.execute(
            "INSERT INTO staging.dossier_b900202 (batch_id, ordinal, unreadable_fields, payload_hash) "
            "VALUES (900202, 1, '{}', 'z')"
        )
        load.execute("SET statement_timeout = '5s'")  # the detach would otherwise wait for the extraction
        load.commit()
        partitions.drop_batch(load, 900_201)
        partitions.attach_batch(extraction, 900_202)
        extraction.commit()
    assert batch_partitions(dsn, 900_201) == {}
    assert batch_partitions(dsn, 900_202) == {table: True for table in STAGING_TABLES}


def test_partitions_left_by_finished_loads_are_swept_and_no_other(dsn):
    """A load killed after publishing, and never retried, leaves its batch's partitions: the next
    dossier load drops them, but not those of a batch still to be loaded or being loaded again."""
    from tthc.load import drop_finished_staging

    with warehouse.connect(dsn=dsn) as conn:
        batches = {}
        for status in ("loaded", "rejected", "landed", "loaded"):
            batches.setdefault(status, []).append(
                conn.execute(
                    """INSERT INTO raw.batch (entity, endpoint, record_count, checksum, status)
                   VALUES ('dossier', '/api/v1/hoso', 0, '', %s) RETURNING batch_id""",
                    (status,),
                ).fetchone()[0]
            )
        for batch_id in [b for ids in batches.values() for b in ids]:
            partitions.open_batch(conn, batch_id)
            partitions.attach_batch(conn, batch_id)
        conn.commit()
        orphan_child = batches["rejected"][0]  # a drop killed half way: only a child table is left
        conn.execute(f"DROP TABLE staging.dossier_b{orphan_child}, staging.dossier_fee_b{orphan_child}")
        conn.commit()
    finished, reloading = batches["loaded"]
    with psycopg.connect(dsn) as another_load:  # holds the batch it is loading again
        another_load.execute(
            "SELECT pg_advisory_lock(hashtext('tthc.load.batch'), %s::integer)", (reloading,)
        )
        with warehouse.connect(dsn=dsn) as conn:
            assert drop_finished_staging(conn) == [finished, orphan_child]
            # the load goes on (a VACUUM, in autocommit): no transaction left open by a skipped batch
            assert conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    for batch_id in (finished, orphan_child):
        assert batch_partitions(dsn, batch_id) == {}
    for batch_id in (*batches["landed"], reloading):
        assert batch_partitions(dsn, batch_id) == {table: True for table in STAGING_TABLES}
