"""Schema migrations (tthc.warehouse.migrate) on a warehouse that holds data."""

from __future__ import annotations

import psycopg

from tthc import warehouse
from tthc.staging import CHILD_LISTS

DOSSIER_ID_MIGRATION = "083_core_dossier_id.sql"


def _back_to_child_lists_keyed_by_code(conn: psycopg.Connection) -> None:
    """The core layout before 083: no dossier ids, child lists keyed by (ma_ho_so, position)."""
    for table in CHILD_LISTS:
        conn.execute(f"ALTER TABLE core.{table} DROP CONSTRAINT {table}_pkey")
        conn.execute(f"ALTER TABLE core.{table} DROP COLUMN dossier_id")
        conn.execute(f"ALTER TABLE core.{table} ADD PRIMARY KEY (ma_ho_so, position)")
    conn.execute("ALTER TABLE core.dossier_tombstone DROP COLUMN dossier_id")
    conn.execute("ALTER TABLE core.fact_dossier DROP COLUMN dossier_id")  # its sequence goes with it
    conn.execute("DELETE FROM meta.schema_migration WHERE file_name = %s", (DOSSIER_ID_MIGRATION,))


def test_a_warehouse_from_before_dossier_ids_keeps_its_rows_and_gets_its_child_lists_keyed_by_id(make_database):
    dsn = make_database("dossier_id_migration")
    codes = ["H01.1-230101-0001", "H01.1-230101-0002", "H01.1-230101-0003"]
    with warehouse.connect(dsn=dsn) as conn:
        _back_to_child_lists_keyed_by_code(conn)
        for code in codes:
            conn.execute(
                """INSERT INTO core.fact_dossier (ma_ho_so, channel, status, has_digitized_component, vneid_verified,
                       online_payment, synced_to_portal, has_apology, supplement_count, supplement_pause,
                       has_positive_fee, has_electronic_result, has_reused_component, has_citizen_store_component,
                       source_updated_at, batch_id)
                   VALUES (%s, 1, 2, false, false, 0, false, false, 0, '0', false, false, false, false, now(), 1)""",
                (code,))
            for position in (1, 2):
                conn.execute("INSERT INTO core.dossier_step (ma_ho_so, position, status) VALUES (%s, %s, 2)",
                             (code, position))
            conn.execute("INSERT INTO core.dossier_fee (ma_ho_so, position, amount) VALUES (%s, 1, 1000)", (code,))
        conn.commit()

        assert DOSSIER_ID_MIGRATION in warehouse.migrate(conn)
        conn.commit()

        fact_ids = dict(conn.execute("SELECT ma_ho_so, dossier_id FROM core.fact_dossier").fetchall())
        assert sorted(fact_ids) == codes and len(set(fact_ids.values())) == len(codes)
        for table in CHILD_LISTS:
            key = conn.execute(
                """SELECT array_agg(attribute.attname ORDER BY key.ordinality)
                   FROM pg_index AS ix
                   CROSS JOIN unnest(ix.indkey) WITH ORDINALITY AS key (attnum, ordinality)
                   JOIN pg_attribute AS attribute ON attribute.attrelid = ix.indrelid AND attribute.attnum = key.attnum
                   WHERE ix.indrelid = %s::regclass AND ix.indisprimary""", (f"core.{table}",)).fetchone()[0]
            assert key == ["dossier_id", "position"], table
        # Every child row now carries its dossier's id, and none was lost.
        children = conn.execute(
            "SELECT ma_ho_so, dossier_id, count(*) FROM core.dossier_step GROUP BY 1, 2 ORDER BY 1").fetchall()
        assert children == [(code, fact_ids[code], 2) for code in codes]
        assert conn.execute("SELECT count(*) FROM core.dossier_fee AS fee JOIN core.fact_dossier AS fact "
                            "USING (dossier_id, ma_ho_so)").fetchone() == (3,)

        # Applying the file again (say, after an edit to it) changes nothing.
        conn.execute((warehouse.SCHEMA_DIR / DOSSIER_ID_MIGRATION).read_text(encoding="utf-8"))
        conn.commit()
        assert dict(conn.execute("SELECT ma_ho_so, dossier_id FROM core.fact_dossier").fetchall()) == fact_ids
        assert conn.execute(
            "SELECT ma_ho_so, dossier_id, count(*) FROM core.dossier_step GROUP BY 1, 2 ORDER BY 1").fetchall() == children
