"""Dossiers typed into staging in Python (tthc.staging): the same reading of source values as the
SQL functions of 002_source_parsing.sql, and the same rows whether the extraction typed them or a
replay typed them again from raw."""

from __future__ import annotations

import contextlib
import copy
import gc
import re
import secrets
import threading
from datetime import UTC, datetime
from decimal import Decimal

import orjson
import psycopg
import pytest
from pipeline_support import source_connection_json, warehouse_connection_json

from simulator import defects
from simulator.generator import SimulationConfig, build_province
from simulator.server import run_in_thread
from tthc import PROJECT_ROOT, staging, tasks, warehouse
from tthc.windows import Window, parse_moment

# Values as they come in a record: well formed, every shape the contract allows, the simulator's
# defects, and the odd ones a source system produces.
TIMESTAMPS = [
    "20240305081500", "2024-03-05 08:15:00", "2024-03-05T08:15:00", "2024-03-05T08:15:00.5",
    "2024-03-05T08:15:00.123456", "2024-03-05T08:15:00Z", "2024-03-05T08:15:00+07:00",
    "2024-03-05T08:15:00-0530", "2024-03-05T08:15:00+07", "2024-03-05T01:15:00.25Z", "19000101000000",
    "19750101120000", "20240229235959", "20230229000000", "20231345000000", "2023-02-30 10:00:00",
    "20240305246000", "20240305085960", "31/12/2023", "abc", "", "   ", " 20240305081500", "2024-03-05",
    "2024-03-05T08:15:00.1234567", 20240305081500, 2024.5, None, True, [], {"d": 1},
]
INTEGERS = ["1", "10", " 7 ", "-1", "0", "007", "1.0", "abc", "", " ", "9999999999", "999999999", 3, -2, 0,
            1.0, 10_000_000_000, True, False, None, [1], {"a": 1}]
NUMERICS = ["15000", "-2000", "12.50", "0", " 5 ", "1e3", "abc", "", "12.", ".5", 15000, -1, 12.5, 0, None, True]


def sql_reading(dsn: str, function: str, values: list) -> list:
    with psycopg.connect(dsn) as conn:
        conn.execute("SET TIME ZONE 'Asia/Ho_Chi_Minh'")
        return [conn.execute(f"SELECT staging.{function}(%s::jsonb->>'v')",
                             (orjson.dumps({"v": value}).decode(),)).fetchone()[0] for value in values]


@pytest.fixture(scope="module")
def dsn(make_database):
    return make_database("staging")


def test_timestamps_read_as_the_sql_function_reads_them(dsn):
    """Python gives the instant in UTC as a naive datetime, which the staging COPY sends as a
    timestamp into timestamptz columns (staging.COPY_TYPES): what lands is the instant SQL reads."""
    readings = [staging.parse_timestamp(v) for v in TIMESTAMPS]
    in_sql = sql_reading(dsn, "parse_source_timestamp", TIMESTAMPS)
    assert [None if r is None else r.replace(tzinfo=UTC) for r in readings] == in_sql
    with psycopg.connect(dsn) as conn:
        conn.execute("SET TIME ZONE 'Asia/Ho_Chi_Minh'")  # the wire must not depend on the session's zone
        conn.execute("CREATE TEMP TABLE landed (ordinal integer, at timestamptz)")
        warehouse.copy_rows(conn, "landed", ("ordinal", "at"), enumerate(readings),
                            types=("integer", staging.COPY_TYPES["dossier"][staging.LAYOUT["dossier"][0].index("received_at")]))
        assert [at for _, at in conn.execute("SELECT * FROM landed ORDER BY ordinal")] == in_sql
    # and the reading is not trivially NULL: the well-formed ones are instants
    assert staging.parse_timestamp("2024-03-05T08:15:00+07:00") == staging.parse_timestamp("20240305081500")
    assert staging.parse_timestamp("20240305081500") == datetime(2024, 3, 5, 1, 15)
    assert sum(r is not None for r in readings) >= 12


def test_whole_numbers_read_as_the_sql_function_reads_them(dsn):
    assert [staging.parse_int(v) for v in INTEGERS] == sql_reading(dsn, "parse_source_int", INTEGERS)


def test_amounts_read_as_the_sql_function_reads_them(dsn):
    """Python gives a whole JSON number as an int and the rest as a Decimal; the staging COPY writes
    either into the numeric column, and what lands is what SQL reads."""
    readings = [staging.parse_numeric(v) for v in NUMERICS]
    in_sql = sql_reading(dsn, "parse_source_numeric", NUMERICS)
    assert readings == in_sql
    assert {type(r) for r in readings} == {int, Decimal, type(None)}
    with psycopg.connect(dsn) as conn:
        conn.execute("CREATE TEMP TABLE landed (ordinal integer, amount numeric)")
        warehouse.copy_rows(conn, "landed", ("ordinal", "amount"), enumerate(readings),
                            types=("integer", staging.COPY_TYPES["dossier_fee"][staging.LAYOUT["dossier_fee"][0].index("amount")]))
        assert [amount for _, amount in conn.execute("SELECT * FROM landed ORDER BY ordinal")] == in_sql


def test_text_is_trimmed_of_spaces_and_blank_is_null(dsn):
    values = [" H35.112 ", "", "   ", "\tx", "Nậm Nhùn", 12, None]
    assert [staging.text_or_none(v) for v in values] == sql_reading(dsn, "nullif_blank", values)


@pytest.fixture(scope="module")
def province():
    return build_province(SimulationConfig(dossiers_per_year=20_000, defect_shares={rule: 0.002 for rule in defects.RULES}))


STAGING_TABLES = tuple(staging.LAYOUT)


def test_python_and_sql_agree_on_the_staging_tables_and_their_partitions(dsn):
    """The tables, their columns and types, and a batch's partition names are written twice, in
    020_staging.sql (which creates and attaches the partitions) and in tthc.staging (which COPYs
    into them and drops them): the two must say the same."""
    with psycopg.connect(dsn) as conn:
        assert conn.execute("SELECT staging.dossier_tables()").fetchone()[0] == list(STAGING_TABLES)
        for table, (columns, types) in staging.LAYOUT.items():
            assert conn.execute(
                """SELECT array_agg(attname::text ORDER BY attnum), array_agg(format_type(atttypid, NULL) ORDER BY attnum)
                   FROM pg_attribute WHERE attrelid = format('staging.%%I', %s::text)::regclass
                    AND attnum > 0 AND NOT attisdropped""", (table,)).fetchone() == (
                list(columns), [{"timestamptz": "timestamp with time zone"}.get(t, t) for t in types]), table
            assert staging.batch_table(table, 73) == conn.execute(
                "SELECT 'staging.' || staging.dossier_partition(%s, 73)", (table,)).fetchone()[0]


def test_the_lists_staged_without_statistics_or_indexes_are_read_by_no_rule(dsn):
    """The load analyzes only the partitions the rules read, and the other lists have no index
    (tthc.staging.MERGE_ONLY_TABLES): a rule reading one of them would plan blind."""
    rule_sources = [*(PROJECT_ROOT / "expectations").glob("*.json"), *(PROJECT_ROOT / "include/sql/quality").glob("*.sql"),
                    *(PROJECT_ROOT / "plugins/tthc/quality").glob("*.py")]
    read = {table for source in rule_sources for table in STAGING_TABLES
            if re.search(rf"\bstaging\.{table}\b", source.read_text(encoding="utf-8"))}
    assert read == set(STAGING_TABLES) - staging.MERGE_ONLY_TABLES
    assert staging.rule_read_partitions(7) == tuple(staging.batch_table(table, 7) for table in STAGING_TABLES
                                                    if table in read)
    with psycopg.connect(dsn) as conn:
        indexed = {row[0] for row in conn.execute(
            "SELECT tablename FROM pg_indexes WHERE schemaname = 'staging' AND tablename = ANY(%s)",
            (list(STAGING_TABLES),))}
    assert indexed == read


def staged_rows(dsn: str, batch_id: int) -> dict[str, list[tuple]]:
    with psycopg.connect(dsn) as conn:
        return {table: conn.execute(f"SELECT * FROM staging.{table} WHERE batch_id = %s ORDER BY ordinal, 3",
                                    (batch_id,)).fetchall() for table in STAGING_TABLES}


def test_the_extraction_and_a_replay_from_raw_stage_the_same_rows(province, dsn, pseudonym_key, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_TTHC_WAREHOUSE", warehouse_connection_json(dsn))
    monkeypatch.setenv("TTHC_PSEUDONYM_KEY", pseudonym_key)
    with run_in_thread(province, client_id="t-" + secrets.token_hex(4), client_secret=secrets.token_urlsafe(16)) as server:
        monkeypatch.setenv("AIRFLOW_CONN_TTHC_SOURCE", source_connection_json(server))
        tasks.migrate_warehouse()
        batch_id = tasks.extract("dossier", Window(parse_moment("2024-02-01"), parse_moment("2024-03-01")).as_dict())

    by_extraction = staged_rows(dsn, batch_id)
    assert len(by_extraction["dossier"]) > 1000 and all(by_extraction[t] for t in STAGING_TABLES)
    # ... in partitions of the batch's own, attached by the extraction
    assert batch_partitions(dsn, batch_id) == {table: True for table in STAGING_TABLES}
    # the defects that make a value unreadable are named, and only where present
    unreadable = {field for row in by_extraction["dossier"] for field in row[-2]}
    assert "NgayNopHoSo" in unreadable
    # every record's shape is judged as it lands: vouched for unless it is one the simulator broke
    with psycopg.connect(dsn) as conn:
        verdicts = conn.execute("SELECT record_key, well_shaped FROM raw.record WHERE batch_id = %s",
                                (batch_id,)).fetchall()
    broken = {code for code, defect in province.truth.defects.items() if defect["rule"] == "record_shape"}
    assert {verdict for _, verdict in verdicts} == {True, False}
    assert {key for key, verdict in verdicts if not verdict} == {key for key, _ in verdicts if key in broken}

    with warehouse.connect(dsn=dsn) as conn:
        assert staging.stage_from_raw(conn, batch_id) == 0  # already staged by the extraction: left alone
        with pytest.raises(RuntimeError, match="no transaction open"):  # it would commit the caller's work
            staging.drop_batch(conn, batch_id)
        conn.commit()
        staging.drop_batch(conn, batch_id)
        assert batch_partitions(dsn, batch_id) == {}
        assert staged_rows(dsn, batch_id) == {table: [] for table in STAGING_TABLES}
        # The replay types with the cycle collector paused, as the extraction does (tthc.cycles).
        collector_on_per_record: list[bool] = []
        add = staging.DossierRows.add

        def watched_add(rows, *record):
            collector_on_per_record.append(gc.isenabled())
            add(rows, *record)

        monkeypatch.setattr(staging.DossierRows, "add", watched_add)
        assert staging.stage_from_raw(conn, batch_id, chunk=500) == len(by_extraction["dossier"])
    assert staged_rows(dsn, batch_id) == by_extraction
    assert batch_partitions(dsn, batch_id) == {table: True for table in STAGING_TABLES}
    assert collector_on_per_record and not any(collector_on_per_record)
    assert gc.isenabled()


ABSENT = object()  # a field left out of a record


def shapes(province) -> list:
    """Dossier records of every shape the record_shape rules tell apart, made from a simulator record."""
    good = next(r for r in province.iter_dossiers() if r.get("MaHoSo") and r["MaHoSo"] not in province.truth.defects
                and all(r.get(name) for name in staging.LIST_FIELDS))

    def variant(**changes) -> dict:
        record = copy.deepcopy(good)
        for name, value in changes.items():
            if value is ABSENT:
                record.pop(name, None)
            else:
                record[name] = value
        return record

    records = [good, [good], "a dossier", 12, None, True, {}]
    # every field of the record left out, and holding a list and an object: the rules' lists of
    # required fields and of child lists are written again in tthc.staging, and a field either copy
    # misses shows up here
    for name in sorted(good):
        records += [variant(**{name: ABSENT}), variant(**{name: [1]}), variant(**{name: {"a": 1}})]
    for name in sorted(staging.REQUIRED_FIELDS):
        records += [variant(**{name: None}), variant(**{name: ""})]
    for name in sorted(staging.LIST_FIELDS):
        records += [variant(**{name: value}) for value in (ABSENT, None, [], ["not an object"], "không có",
                                                            {"a": 1}, 0, False)]
    for name in ("TenTTHC", "NgayHenTra", "KenhThucHien", "a field the contract does not know"):
        records += [variant(**{name: value}) for value in ([], [1], {}, {"a": [1]}, "x", 1.5, None)]
    # personal fields are tokens once masked, whatever they held
    records += [variant(ChuHoSo=["Nguyễn Văn A"]), variant(DiaChi={"xa": "Nậm Hàng"})]
    return records


def test_a_record_vouched_well_shaped_is_one_the_record_shape_rules_pass(province, dsn, pseudonym_key):
    """The extraction vouches for well-shaped records so that the record_shape rules skip their
    payloads: it must vouch for exactly the records those rules, judging in full, let through."""
    from tthc.pseudonymize import Pseudonymizer
    from tthc.quality.suites import load_suite

    pseudonymizer = Pseudonymizer(pseudonym_key.encode())
    records = [pseudonymizer.mask("dossier", r) if type(r) is dict else r for r in shapes(province)]
    vouched = [staging.well_shaped(r) for r in records]
    suite = load_suite("dossier.raw")
    rules = [rule for rule in suite.hit_rules if rule.name == "record_shape"]
    assert len(rules) == 3

    def judged(verdicts: list) -> set[int]:
        """Ordinals the record_shape rules return for the records landed with these verdicts."""
        with psycopg.connect(dsn) as conn:
            batch_id = conn.execute("INSERT INTO raw.batch (entity, endpoint, record_count, checksum) "
                                    "VALUES ('dossier', '/api/v1/hoso', %s, 'test') RETURNING batch_id",
                                    (len(records),)).fetchone()[0]
            warehouse.copy_rows(conn, "raw.record", ("batch_id", "ordinal", "payload", "well_shaped"), (
                (batch_id, n, orjson.dumps(r).decode(), v) for n, (r, v) in enumerate(zip(records, verdicts, strict=True), 1)))
            return {ordinal for rule in rules
                    for ordinal, *_ in conn.execute(suite.bind(rule.unexpected_rows_query, batch_id)).fetchall()}

    judged_in_full = judged([None] * len(records))
    assert {n for n, v in enumerate(vouched, 1) if not v} == judged_in_full
    assert vouched[0] and sum(vouched) > 20 and len(judged_in_full) > 40  # both kinds, the simulator's record good
    # with the extraction's verdicts the rules return the same records, without reading the vouched ones
    assert judged(vouched) == judged_in_full
    assert judged([True] * len(records)) == set()


def batch_partitions(dsn: str, batch_id: int) -> dict[str, bool]:
    """The batch's staging tables that exist -> whether each is attached to its parent."""
    with psycopg.connect(dsn) as conn:
        return {table: attached for table, attached in conn.execute(
            """SELECT parent, EXISTS (SELECT 1 FROM pg_inherits WHERE inhrelid = to_regclass(name))
               FROM unnest(%s::text[]) AS parent, format('staging.%%I', staging.dossier_partition(parent, %s)) AS name
               WHERE to_regclass(name) IS NOT NULL""", (list(STAGING_TABLES), batch_id)).fetchall()}


def test_a_batch_being_written_blocks_no_other_and_dropping_one_waits_for_its_readers(dsn):
    """The locks of the partition life cycle: a writer attaching its batch is not held up by a
    load reading another batch, and dropping a batch waits for the readers of staging instead of
    failing them. Real connections, the waits observed in pg_locks/pg_stat_activity."""
    with warehouse.connect(dsn=dsn) as conn:
        for batch_id in (900_001, 900_002):
            staging.open_batch(conn, batch_id)
            conn.execute("INSERT INTO staging.dossier_b900001 (batch_id, ordinal, unreadable_fields, payload_hash) "
                         "VALUES (900001, 1, '{}', 'x')") if batch_id == 900_001 else None
            staging.attach_batch(conn, batch_id)
    with psycopg.connect(dsn) as reader, psycopg.connect(dsn, autocommit=True) as writer:
        # a load reading batch 900001 (its transaction keeps the lock on the parent)
        assert reader.execute("SELECT count(*) FROM staging.dossier WHERE batch_id = 900001").fetchone() == (1,)
        writer.execute("SET lock_timeout = '2s'")  # a writer blocked by the reader would fail here
        with writer.transaction():
            staging.open_batch(writer, 900_003)
            writer.execute("INSERT INTO staging.dossier_b900003 (batch_id, ordinal, unreadable_fields, payload_hash) "
                           "VALUES (900003, 1, '{}', 'y')")
            staging.attach_batch(writer, 900_003)
        assert batch_partitions(dsn, 900_003) == {table: True for table in STAGING_TABLES}

        with warehouse.connect(dsn=dsn) as dropper:
            dropping = threading.Thread(target=staging.drop_batch, args=(dropper, 900_002))
            dropping.start()
            try:  # observed while the drop runs; asserted once the reader has let it finish
                dropping.join(timeout=2)
                waited_for_the_reader = dropping.is_alive()
                reader_went_on = reader.execute(
                    "SELECT count(*) FROM staging.dossier WHERE batch_id > 900000").fetchone() == (2,)
                with psycopg.connect(dsn) as another_load:  # new readers are not queued behind the drop
                    another_load.execute("SET lock_timeout = '2s'")
                    another_load_read = another_load.execute(
                        "SELECT count(*) FROM staging.dossier WHERE batch_id = 900003").fetchone() == (1,)
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
        staging.open_batch(conn, batch_id)
        staging.attach_batch(conn, batch_id)
    with psycopg.connect(dsn) as reader, psycopg.connect(dsn, autocommit=True) as detacher:
        reader.execute("SELECT count(*) FROM staging.dossier")  # holds the parent: the detach waits
        pid = detacher.info.backend_pid
        with psycopg.connect(dsn, autocommit=True) as killer:
            def detach():
                with contextlib.suppress(psycopg.errors.QueryCanceled):
                    detacher.execute("ALTER TABLE staging.dossier DETACH PARTITION staging.dossier_b900100 CONCURRENTLY")

            thread = threading.Thread(target=detach)
            thread.start()
            for _ in range(100):  # until the detach waits for the reader
                waiting = killer.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone()
                if waiting and waiting[0] == "Lock":
                    break
                thread.join(timeout=0.05)
            killer.execute("SELECT pg_cancel_backend(%s)", (pid,))
            thread.join(timeout=10)
        reader.commit()
        pending = reader.execute("SELECT inhdetachpending FROM pg_inherits "
                                 "WHERE inhrelid = 'staging.dossier_b900100'::regclass").fetchone()
        reader.commit()
    assert pending == (True,)
    # While it is pending no other partition of the parent can be detached: another batch's drop
    # finalizes it (the sweep of finished loads drops what is left), and goes on with its own.
    with warehouse.connect(dsn=dsn) as conn:
        staging.open_batch(conn, batch_id + 1)
        staging.attach_batch(conn, batch_id + 1)
        conn.commit()
        staging.drop_batch(conn, batch_id + 1)
    assert batch_partitions(dsn, batch_id + 1) == {}
    assert batch_partitions(dsn, batch_id) == {table: table != "dossier" for table in STAGING_TABLES}
    with warehouse.connect(dsn=dsn) as conn:
        staging.drop_batch(conn, batch_id)
    assert batch_partitions(dsn, batch_id) == {}


def test_loads_dropping_their_batches_at_once_take_turns(dsn):
    """PostgreSQL refuses a second DETACH ... CONCURRENTLY on a parent while one waits: two loads
    dropping their batches while a third load reads staging must both succeed, one after the other."""
    batches = (900_150, 900_151)
    with warehouse.connect(dsn=dsn) as conn:
        for batch_id in batches:
            staging.open_batch(conn, batch_id)
            staging.attach_batch(conn, batch_id)
    failures: list[BaseException] = []

    def drop(batch_id: int) -> None:
        try:
            with warehouse.connect(dsn=dsn) as conn:
                staging.drop_batch(conn, batch_id)
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
        staging.open_batch(conn, 900_201)
        staging.attach_batch(conn, 900_201)
    with psycopg.connect(dsn) as extraction, warehouse.connect(dsn=dsn) as load:
        staging.open_batch(extraction, 900_202)
        extraction.execute("INSERT INTO staging.dossier_b900202 (batch_id, ordinal, unreadable_fields, payload_hash) "
                           "VALUES (900202, 1, '{}', 'z')")
        load.execute("SET statement_timeout = '5s'")  # the detach would otherwise wait for the extraction
        load.commit()
        staging.drop_batch(load, 900_201)
        staging.attach_batch(extraction, 900_202)
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
            batches.setdefault(status, []).append(conn.execute(
                """INSERT INTO raw.batch (entity, endpoint, record_count, checksum, status)
                   VALUES ('dossier', '/api/v1/hoso', 0, '', %s) RETURNING batch_id""", (status,)).fetchone()[0])
        for batch_id in [b for ids in batches.values() for b in ids]:
            staging.open_batch(conn, batch_id)
            staging.attach_batch(conn, batch_id)
        conn.commit()
        orphan_child = batches["rejected"][0]  # a drop killed half way: only a child table is left
        conn.execute(f"DROP TABLE staging.dossier_b{orphan_child}, staging.dossier_fee_b{orphan_child}")
        conn.commit()
    finished, reloading = batches["loaded"]
    with psycopg.connect(dsn) as another_load:  # holds the batch it is loading again
        another_load.execute("SELECT pg_advisory_lock(hashtext('tthc.load.batch'), %s::integer)", (reloading,))
        with warehouse.connect(dsn=dsn) as conn:
            assert drop_finished_staging(conn) == [finished, orphan_child]
            # the load goes on (a VACUUM, in autocommit): no transaction left open by a skipped batch
            assert conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    for batch_id in (finished, orphan_child):
        assert batch_partitions(dsn, batch_id) == {}
    for batch_id in (*batches["landed"], reloading):
        assert batch_partitions(dsn, batch_id) == {table: True for table in STAGING_TABLES}
