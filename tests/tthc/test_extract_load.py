"""Extract and load, exactly once: over real HTTP from the simulator (faults on or off) into a real
PostgreSQL, through the same task functions the DAGs call."""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from datetime import date, timedelta

import psycopg
import pytest
from pipeline_support import SMALL_VOLUME, source_connection_json, warehouse_connection_json

from simulator.generator import SimulationConfig, build_province
from simulator.server import FaultConfig, run_in_thread
from simulator.store import format_source_instant
from tthc import PROJECT_ROOT, tasks
from tthc.staging.dossier import CHILD_LISTS
from tthc.staging.values import parse_int, parse_numeric, text_or_none
from tthc.windows import Window, parse_moment

pytestmark = pytest.mark.integration

WINDOW = Window(parse_moment("2024-01-01"), parse_moment("2024-03-01"))
FAULTS = FaultConfig(
    server_error_share=0.10,
    too_many_requests_share=0.05,
    envelope_error_share=0.03,
    retry_after_s=1,
    slow_share=0.05,
    slow_s=0.3,
    token_lifetime_s=2,
    update_during_extraction_share=0.2,
    seed=7,
)


@pytest.fixture(scope="module")
def province():
    return build_province(SimulationConfig(dossiers_per_year=SMALL_VOLUME))


@contextmanager
def pipeline_env(server, dsn: str):
    """The connections the task functions read, pointed at this test's source and warehouse."""
    saved = {k: os.environ.get(k) for k in ("AIRFLOW_CONN_TTHC_SOURCE", "AIRFLOW_CONN_TTHC_WAREHOUSE")}
    os.environ["AIRFLOW_CONN_TTHC_SOURCE"] = source_connection_json(server)
    os.environ["AIRFLOW_CONN_TTHC_WAREHOUSE"] = warehouse_connection_json(dsn)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def load_reference() -> None:
    tasks.load(tasks.extract("unit"))
    tasks.load(tasks.extract("procedure"))


def extract_and_load(window: Window) -> list[int]:
    return [audit["batch_id"] for audit in extract_and_load_audits(window)]


def extract_and_load_audits(window: Window) -> list[dict]:
    batch_ids = [tasks.extract("dossier", part) for part in tasks.plan_windows(window)]
    return [tasks.load(batch_id) for batch_id in batch_ids]


def fetch(dsn: str, sql: str, params=None) -> list[tuple]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(sql, params).fetchall()


TABLE_DIGESTS = {
    table: f"SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM {table} t"
    for table in (
        "core.fact_dossier",
        "core.dossier_document",
        "core.dossier_fee",
        "core.dossier_result",
        "core.dossier_supplement",
        "core.dossier_step",
        "core.dossier_tombstone",
    )
}


def content_digests(dsn: str) -> dict[str, tuple]:
    """Each core table's rows, minus the bookkeeping columns that say when/which batch wrote them and the
    warehouse's own dossier ids (handed out in arrival order, so they differ between runs)."""
    digests = {}
    with psycopg.connect(dsn) as conn:
        for table, query in TABLE_DIGESTS.items():
            columns = [
                row[0]
                for row in conn.execute(
                    "SELECT column_name FROM information_schema.columns WHERE table_schema || '.' || table_name = %s "
                    "AND column_name NOT IN ('batch_id', 'merged_at', 'deleted_at', 'dossier_id') ORDER BY ordinal_position",
                    (table,),
                )
            ]
            projection = f"(SELECT ROW({', '.join(columns)}) FROM (SELECT 1) x)"
            digests[table] = conn.execute(query.replace("t::text", f"{projection}::text")).fetchone()
    return digests


def test_faults_change_nothing_in_core_or_the_indicators(province, make_database, pseudonym_key):
    clean_dsn, faulty_dsn = make_database("clean"), make_database("faulty")
    credentials = {"client_id": "t-" + secrets.token_hex(3), "client_secret": secrets.token_urlsafe(12)}
    with run_in_thread(province, **credentials) as server, pipeline_env(server, clean_dsn):
        load_reference()
        extract_and_load(WINDOW)
        tasks.refresh_indicators(date(2024, 1, 1), date(2024, 3, 1))
    with run_in_thread(province, FAULTS, **credentials) as server, pipeline_env(server, faulty_dsn):
        load_reference()
        extract_and_load(WINDOW)
        # Records updated during the extraction took the source clock (after the simulation's
        # "now") and left the window: the next window, from then on, has them.
        moved = Window(parse_moment(province.config.now.isoformat()), parse_moment(server.now().isoformat()))
        assert extract_and_load(moved), "the fault run updated records during the extraction"
        tasks.refresh_indicators(date(2024, 1, 1), date(2024, 3, 1))
        source_codes = {r["MaHoSo"] for r in server.store.dossiers if str(r.get("DaXoa")) != "1"}
    clean_codes = {row[0] for row in fetch(clean_dsn, "SELECT ma_ho_so FROM core.fact_dossier")}
    faulty_codes = [row[0] for row in fetch(faulty_dsn, "SELECT ma_ho_so FROM core.fact_dossier")]
    assert len(faulty_codes) == len(set(faulty_codes)), "no duplicate"
    assert set(faulty_codes) == clean_codes, "no loss, nothing extra"
    assert clean_codes <= source_codes
    indicator_query = """SELECT period_type, period_start, unit_code, indicator_code, numerator, denominator
                         FROM mart.indicator_value ORDER BY 1, 2, 3, 4"""
    assert fetch(faulty_dsn, indicator_query) == fetch(clean_dsn, indicator_query)


@pytest.fixture(scope="module")
def window_loaded(province, make_database, pseudonym_key) -> tuple[str, list[int], dict[str, dict]]:
    """WINDOW extracted and loaded once into a fresh warehouse, for the tests that only read it: the
    warehouse, its batch ids, and the simulator's dossiers by code."""
    dsn = make_database("window_loaded")
    with (
        run_in_thread(province, client_id="t", client_secret=secrets.token_urlsafe(12)) as server,
        pipeline_env(server, dsn),
    ):
        load_reference()
        batch_ids = extract_and_load(WINDOW)
        source = {code: r for r in server.store.dossiers if (code := text_or_none(r.get("MaHoSo")))}
    return dsn, batch_ids, source


def test_the_facts_read_their_flags_and_supplement_count_off_the_source_lists(window_loaded):
    """The figures the merge derives from a dossier's child lists, for every dossier loaded, against
    the lists the simulator served (the typer's readings of the values, the definitions of
    docs/indicators.md: a fee line above zero, a result with a file, a reused or citizen-store document)."""
    dsn, _, source = window_loaded

    def items(record: dict, source_list: str) -> list[dict]:
        return record.get(source_list) or []

    facts = fetch(
        dsn,
        """SELECT ma_ho_so, has_positive_fee, has_electronic_result, has_reused_component,
                                 has_citizen_store_component, supplement_count FROM core.fact_dossier""",
    )
    expected = []
    for code, *_ in facts:
        record = source[code]
        expected.append(
            (
                code,
                any((parse_numeric(fee.get("Gia")) or 0) > 0 for fee in items(record, "DanhSachLePhi")),
                any(
                    text_or_none(result.get("DuongDanTepTinKetQua"))
                    for result in items(record, "DanhSachGiayToKetQua")
                ),
                any(
                    parse_int(document.get("DuocTaiSuDung")) == 1 for document in items(record, "TaiLieuNop")
                ),
                any(
                    parse_int(document.get("DuocLayTuKhoDMQG")) == 1
                    for document in items(record, "TaiLieuNop")
                ),
                len(items(record, "DanhSachHoSoBoSung")),
            )
        )
    assert len(facts) > 1000
    assert sorted(facts) == sorted(expected)
    for flag in range(1, 5):  # each flag takes both values here, so a constant one would fail
        assert {row[flag] for row in facts} == {True, False}
    assert len({row[5] for row in facts}) > 1


def test_a_batch_hands_out_its_new_dossier_ids_in_its_own_order(window_loaded):
    """The merge inserts the facts and their child lists in staging's order, which is the batch's order,
    without sorting them (core/merge_dossier.sql): that only reaches the keys in order if the new ids
    follow the ordinals."""
    dsn, batch_ids, _ = window_loaded
    for batch_id in batch_ids:
        facts = fetch(
            dsn,
            """SELECT fact.dossier_id, record.ordinal
                              FROM core.fact_dossier AS fact
                              JOIN raw.record AS record ON record.batch_id = fact.batch_id
                                                       AND record.record_key = fact.ma_ho_so
                              WHERE fact.batch_id = %s""",
            (batch_id,),
        )
        assert len(facts) > 500 and len({ordinal for _, ordinal in facts}) == len(facts), batch_id
        assert sorted(facts) == sorted(facts, key=lambda fact: fact[1]), batch_id


def _iso(value: str) -> str:
    from simulator.store import parse_source_instant

    return parse_source_instant(value).isoformat()


def test_running_a_window_twice_leaves_every_table_unchanged(province, make_database, pseudonym_key):
    dsn = make_database("twice")
    with (
        run_in_thread(province, client_id="t", client_secret=secrets.token_urlsafe(12)) as server,
        pipeline_env(server, dsn),
    ):
        load_reference()
        extract_and_load(WINDOW)
        tasks.refresh_indicators(date(2024, 1, 1), date(2024, 3, 1))
        before = content_digests(dsn)
        second = extract_and_load(WINDOW)
    assert content_digests(dsn) == before
    audits = fetch(dsn, "SELECT loaded, unchanged FROM quality.run_audit WHERE batch_id = ANY(%s)", (second,))
    assert audits and all(loaded == unchanged for loaded, unchanged in audits), "a re-run writes nothing"


STAGING_BYTES = """SELECT sum(pg_relation_size(format('%I.%I', schemaname, relname)))::bigint
                   FROM pg_stat_user_tables WHERE schemaname = 'staging'"""


def test_staging_space_is_reused_as_the_same_window_is_loaded_again_and_again(
    province, make_database, pseudonym_key
):
    """Every batch deletes its staging rows once published. The server runs without autovacuum, so
    unless the load reclaims that space itself, each re-run adds its batch's dead rows to staging."""
    dsn = make_database("staging_space")
    month = Window(parse_moment("2024-01-01"), parse_moment("2024-02-01"))
    with (
        run_in_thread(province, client_id="t", client_secret=secrets.token_urlsafe(12)) as server,
        pipeline_env(server, dsn),
    ):
        load_reference()
        sizes = []
        for _ in range(4):
            batch_ids = extract_and_load(month)
            sizes.append(fetch(dsn, STAGING_BYTES)[0][0])
    assert fetch(dsn, "SELECT count(*) FROM staging.dossier_step")[0][0] == 0
    rows_of_last = fetch(
        dsn, "SELECT sum(record_count) FROM raw.batch WHERE batch_id = ANY(%s)", (batch_ids,)
    )[0][0]
    assert rows_of_last > 100, "the month must be big enough for its staging rows to take space"
    # Reused, staging stays the size of one batch (give or take a page); not reclaimed, four loads
    # leave four batches of dead rows.
    assert sizes[-1] < 1.25 * sizes[0], f"staging grew with every load of the same month: {sizes} bytes"


STAGING_READS = """SELECT relname, coalesce(seq_scan, 0) + coalesce(idx_scan, 0) FROM pg_stat_user_tables
                   WHERE schemaname = 'staging' AND relname LIKE %s ORDER BY relname"""
FACTS_INSERTED = (
    "SELECT n_tup_ins FROM pg_stat_user_tables WHERE schemaname = 'core' AND relname = 'fact_dossier'"
)


def test_a_load_reads_no_other_batch_in_staging(province, make_database, pseudonym_key):
    """A backfill's extractions run ahead of its loads, so staging holds batches that wait for theirs.
    A query that cannot tell which partition holds its batch reads every one of them (the merge did,
    joined on a column instead of the batch id): nothing in a test, a lot in a backfill. Caught here
    by the scans of a waiting batch's tables while another batch loads."""
    dsn = make_database("staging_reads")
    with (
        run_in_thread(province, client_id="t", client_secret=secrets.token_urlsafe(12)) as server,
        pipeline_env(server, dsn),
    ):
        load_reference()
        loaded, waiting = (tasks.extract("dossier", part) for part in tasks.plan_windows(WINDOW))
        pattern = f"%\\_b{waiting}"
        before, inserted_before = fetch(dsn, STAGING_READS, (pattern,)), fetch(dsn, FACTS_INSERTED)[0][0]
        tasks.load(loaded)
        # Server processes report their table reads when they end or go idle, at most once a second:
        # wait until the merge's inserts are reported (all at once: one transaction), and with them
        # any read it made.
        deadline = time.monotonic() + 10
        while fetch(dsn, FACTS_INSERTED)[0][0] == inserted_before and time.monotonic() < deadline:
            time.sleep(0.2)
        assert fetch(dsn, FACTS_INSERTED)[0][0] - inserted_before > 1000
        time.sleep(1.5)  # the quality gate's own connections, closed by then, report as they end
        after = fetch(dsn, STAGING_READS, (pattern,))
    assert len(after) == 6, f"the waiting batch's six staging tables: {after}"
    assert after == before, "a load read another batch's staging rows"


CORE_STATISTICS = """SELECT stat.relname, rel.reltuples FROM pg_stat_user_tables AS stat
                      JOIN pg_class AS rel ON rel.oid = stat.relid WHERE stat.schemaname = 'core'"""


def test_loads_keep_the_statistics_of_core_fresh_without_autovacuum(province, make_database, pseudonym_key):
    """Without statistics the planner takes a never-analyzed dimension for empty and the rules
    that join it run nested loops; the loads analyze what they outdated, by autovacuum's rule."""
    dsn = make_database("core_statistics")
    with psycopg.connect(dsn, autocommit=True) as conn:  # this server's autovacuum, or any, stays out
        for (table,) in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'core'").fetchall():
            conn.execute(
                psycopg.sql.SQL("ALTER TABLE {} SET (autovacuum_enabled = false)").format(
                    psycopg.sql.Identifier("core", table)
                )
            )
    with (
        run_in_thread(province, client_id="t", client_secret=secrets.token_urlsafe(12)) as server,
        pipeline_env(server, dsn),
    ):
        load_reference()
        extract_and_load(Window(parse_moment("2024-01-01"), parse_moment("2024-02-01")))
        facts_after_january = fetch(dsn, "SELECT count(*) FROM core.fact_dossier")[0][0]
        steps_after_january = fetch(dsn, "SELECT count(*) FROM core.dossier_step")[0][0]
        extract_and_load(Window(parse_moment("2024-02-01"), parse_moment("2024-03-01")))
    estimated = dict(fetch(dsn, CORE_STATISTICS))
    for table in ("dim_unit", "dim_procedure", "unit_closure"):
        assert estimated[table] == fetch(dsn, f"SELECT count(*) FROM core.{table}")[0][0], table
    # February's load analyzed what January's had written before its rules and merge ran.
    assert facts_after_january > 100
    assert estimated["fact_dossier"] == facts_after_january
    # The child lists are analyzed from a small sample (V004__core.sql): the row count
    # their plans need is still there.
    assert steps_after_january > 1000
    assert abs(estimated["dossier_step"] - steps_after_january) <= 0.1 * steps_after_january
    bounds = fetch(
        dsn,
        """SELECT max(array_length(histogram_bounds::text::text[], 1)) FROM pg_stats
                          WHERE schemaname = 'core' AND tablename = 'dossier_step'""",
    )[0][0]
    assert bounds is not None and bounds <= 11  # a statistics target of 10: 10 buckets
    # The columns the marts filter and group by keep their statistics; the keyed-hash tokens,
    # which nothing filters by, carry none (they were most of the facts' ANALYZE).
    described = {
        column
        for (column,) in fetch(
            dsn, "SELECT attname FROM pg_stats WHERE schemaname = 'core' AND tablename = 'fact_dossier'"
        )
    }
    assert {"received_at", "finished_at", "competent_unit_code", "procedure_code", "status"} <= described
    assert not {column for column in described if column.endswith("_token")}


def test_out_of_order_and_deleted_versions_end_in_the_right_state(province, make_database, pseudonym_key):
    """Versions of one dossier come through the real API; batches are then replayed out of order."""
    dsn = make_database("versions")
    with (
        run_in_thread(province, client_id="t", client_secret=secrets.token_urlsafe(12)) as server,
        pipeline_env(server, dsn),
    ):
        load_reference()
        first = extract_and_load(WINDOW)
        record = next(
            r
            for r in server.store.dossiers
            if r.get("MaHoSo")
            and str(r.get("KetQuaDanhGia")) == "1"
            and str(r.get("DaXoa")) == "0"
            and WINDOW.start <= parse_moment(_iso(r["NgayCapNhat"])) < WINDOW.end
        )
        code = record["MaHoSo"]

        def new_version(**changes) -> list[int]:
            time.sleep(1.1)  # the source clock has whole seconds: a strictly newer NgayCapNhat
            moment = parse_moment(server.now().replace(microsecond=0).isoformat())
            server.store.update(
                {**record, **changes, "NgayCapNhat": format_source_instant(moment.replace(tzinfo=None))}
            )
            audits = extract_and_load_audits(Window(moment, moment + timedelta(seconds=1)))
            # The asset event names the units whose figures moved: this dossier's unit, only.
            assert [audit["units_changed"] for audit in audits] == [[record["MaDonViXuLy"]]]
            return [audit["batch_id"] for audit in audits]

        def child_keys() -> list[tuple]:
            """(list, dossier id, code, rows) of every child row written for the dossier's code."""
            return fetch(
                dsn,
                " UNION ALL ".join(
                    f"SELECT '{table}', dossier_id, ma_ho_so, count(*) FROM core.{table} WHERE ma_ho_so = %(code)s "
                    "GROUP BY dossier_id, ma_ho_so"
                    for table in CHILD_LISTS
                )
                + " ORDER BY 1",
                {"code": code},
            )

        assert fetch(dsn, "SELECT rating FROM core.fact_dossier WHERE ma_ho_so = %s", (code,)) == [(1,)]
        [(dossier_id,)] = fetch(dsn, "SELECT dossier_id FROM core.fact_dossier WHERE ma_ho_so = %s", (code,))
        children = child_keys()
        assert children and {row_id for _, row_id, _, _ in children} == {
            dossier_id
        }  # each child row under its dossier
        second = new_version(KetQuaDanhGia=0)  # the applicant changed their rating
        assert fetch(dsn, "SELECT rating FROM core.fact_dossier WHERE ma_ho_so = %s", (code,)) == [(0,)]
        # A new version keeps the dossier's id, and its child lists are written again under it.
        assert fetch(dsn, "SELECT dossier_id FROM core.fact_dossier WHERE ma_ho_so = %s", (code,)) == [
            (dossier_id,)
        ]
        assert child_keys() == children

        for batch_id in first:  # an older version arriving late changes nothing, and moves no unit
            assert tasks.load(batch_id)["units_changed"] == []
        assert fetch(dsn, "SELECT rating FROM core.fact_dossier WHERE ma_ho_so = %s", (code,)) == [(0,)]

        new_version(KetQuaDanhGia=0, DaXoa=1)
        assert fetch(dsn, "SELECT count(*) FROM core.fact_dossier WHERE ma_ho_so = %s", (code,)) == [(0,)]
        assert fetch(dsn, "SELECT count(*) FROM core.dossier_tombstone WHERE ma_ho_so = %s", (code,)) == [
            (1,)
        ]
        assert fetch(dsn, "SELECT dossier_id FROM core.dossier_tombstone WHERE ma_ho_so = %s", (code,)) == [
            (dossier_id,)
        ]
        assert child_keys() == []

        for batch_id in [*second, *first]:  # replaying older, live versions cannot resurrect it
            tasks.load(batch_id)
        assert fetch(dsn, "SELECT count(*) FROM core.fact_dossier WHERE ma_ho_so = %s", (code,)) == [(0,)]

        new_version(KetQuaDanhGia=0, DaXoa=0)  # restored in the source: back, under the id it had
        assert fetch(dsn, "SELECT dossier_id FROM core.fact_dossier WHERE ma_ho_so = %s", (code,)) == [
            (dossier_id,)
        ]
        assert fetch(dsn, "SELECT count(*) FROM core.dossier_tombstone WHERE ma_ho_so = %s", (code,)) == [
            (0,)
        ]
        assert child_keys() == children


LOADER = """
import sys
from tthc.load import load_batch
load_batch(int(sys.argv[1]), dsn=sys.argv[2])
"""


def test_a_load_killed_in_its_merge_leaves_the_same_tables_as_an_uninterrupted_one(
    province, make_database, pseudonym_key
):
    killed_dsn, reference_dsn = make_database("killed"), make_database("uninterrupted")
    for dsn in (killed_dsn, reference_dsn):
        with (
            run_in_thread(province, client_id="t", client_secret=secrets.token_urlsafe(12)) as server,
            pipeline_env(server, dsn),
        ):
            load_reference()
            batch_id = tasks.extract("dossier", WINDOW.as_dict())
    tasks_env = dict(os.environ, PYTHONPATH=f"{PROJECT_ROOT / 'plugins'}:{PROJECT_ROOT}")

    # Hold a lock the merge needs after it has already deleted and rewritten part of core, so the
    # loader is caught in the middle of its transaction, then kill it.
    with psycopg.connect(killed_dsn) as blocker:
        blocker.execute("LOCK TABLE core.dossier_tombstone IN ACCESS EXCLUSIVE MODE")
        loader = subprocess.Popen([sys.executable, "-c", LOADER, str(batch_id), killed_dsn], env=tasks_env)
        try:
            _wait_for(
                lambda: (
                    fetch(
                        killed_dsn,
                        """SELECT count(*) FROM pg_stat_activity
                                                   WHERE wait_event_type = 'Lock' AND query LIKE '%%changed_dossier%%'""",
                    )[0][0]
                    == 1
                ),
                what="the merge to block on the tombstone lock",
            )
            os.kill(loader.pid, signal.SIGKILL)
            loader.wait(timeout=30)
        finally:
            blocker.rollback()
    _wait_for(
        lambda: (
            fetch(
                killed_dsn,
                "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%%changed_dossier%%'"
                " AND pid <> pg_backend_pid()",
            )[0][0]
            == 0
        ),
        what="the killed backend to go",
    )
    assert fetch(killed_dsn, "SELECT count(*) FROM core.fact_dossier") == [(0,)], (
        "nothing of the batch committed"
    )

    subprocess.run([sys.executable, "-c", LOADER, str(batch_id), killed_dsn], env=tasks_env, check=True)
    subprocess.run([sys.executable, "-c", LOADER, str(batch_id), reference_dsn], env=tasks_env, check=True)
    assert content_digests(killed_dsn) == content_digests(reference_dsn)
    assert fetch(killed_dsn, "SELECT extracted, loaded + quarantined FROM quality.run_audit") == fetch(
        reference_dsn, "SELECT extracted, loaded + quarantined FROM quality.run_audit"
    )


def _wait_for(condition, *, what: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_reconciliation_agrees_with_the_source_and_catches_a_lost_record(
    province, make_database, pseudonym_key
):
    dsn = make_database("reconcile")
    with (
        run_in_thread(province, client_id="t", client_secret=secrets.token_urlsafe(12)) as server,
        pipeline_env(server, dsn),
    ):
        load_reference()
        # The whole history the source holds, so every count it publishes can be matched.
        extract_and_load(Window(parse_moment("2022-11-01"), parse_moment(server.now().isoformat())))
        assert tasks.reconcile_with_source(30, "2024-03-01", 0.0, 0)["unit_days"] > 0

        lost = fetch(
            dsn,
            """SELECT ma_ho_so, competent_unit_code FROM core.fact_dossier
                             WHERE received_at >= '2024-02-10' AND received_at < '2024-02-20' LIMIT 1""",
        )[0]
        with psycopg.connect(dsn) as conn:
            conn.execute("DELETE FROM core.fact_dossier WHERE ma_ho_so = %s", (lost[0],))
        from tthc.reconcile import ReconciliationError

        with pytest.raises(ReconciliationError, match=lost[1]):
            tasks.reconcile_with_source(30, "2024-03-01", 0.0, 0)
    recorded = fetch(dsn, "SELECT count(*) FILTER (WHERE NOT within_tolerance) FROM quality.reconciliation")
    assert recorded[0][0] >= 1


def test_the_extraction_lands_pseudonymized_nfc_records_with_their_batch_books(
    province, make_database, pseudonym_key
):
    dsn = make_database("landing")
    with (
        run_in_thread(province, client_id="t", client_secret=secrets.token_urlsafe(12)) as server,
        pipeline_env(server, dsn),
    ):
        batch_id = tasks.extract("dossier", WINDOW.as_dict())
    batch = fetch(
        dsn,
        "SELECT record_count, reported_total, checksum, status FROM raw.batch WHERE batch_id = %s",
        (batch_id,),
    )[0]
    stored = fetch(dsn, "SELECT payload FROM raw.record WHERE batch_id = %s ORDER BY ordinal", (batch_id,))
    assert batch[0] == len(stored) == batch[1] > 0
    assert batch[3] == "landed" and len(batch[2]) == 64
    texts = json.dumps([row[0] for row in stored], ensure_ascii=False)
    import unicodedata

    assert unicodedata.is_normalized("NFC", texts)
    assert all(row[0].get("ChuHoSo", "pii:").startswith("pii:") for row in stored if row[0].get("ChuHoSo"))


def test_the_extraction_reads_its_pages_with_the_cycle_collector_paused(
    province, make_database, pseudonym_key
):
    """tthc.cycles: decoding, masking and typing a page run with the collector paused, and the
    extraction gives it back as it found it."""
    import gc

    from tthc import warehouse
    from tthc.entities import DOSSIER
    from tthc.extract import extract_to_raw
    from tthc.pseudonymize import Pseudonymizer
    from tthc.source_client import SourceClient, SourceSettings

    class WatchedClient(SourceClient):
        def __init__(self, settings):
            super().__init__(settings)
            self.collector_on_per_page: list[bool] = []

        def iter_pages(self, endpoint, **window):
            for page in super().iter_pages(endpoint, **window):
                self.collector_on_per_page.append(gc.isenabled())
                yield page

    dsn = make_database("cycles")
    assert gc.isenabled()
    with (
        run_in_thread(province, client_id="t", client_secret=secrets.token_urlsafe(12)) as server,
        pipeline_env(server, dsn),
        WatchedClient(SourceSettings.from_airflow()) as client,
        warehouse.connect() as conn,
    ):
        batch = extract_to_raw(
            conn,
            client,
            DOSSIER,
            Pseudonymizer(pseudonym_key.encode()),
            window_start=WINDOW.start,
            window_end=WINDOW.end,
        )
        conn.commit()
    assert batch.record_count > 0
    assert client.collector_on_per_page and not any(client.collector_on_per_page)
    assert gc.isenabled()
