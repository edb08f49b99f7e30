"""Schema migrations (tthc.warehouse.migrate): the baseline makes the catalogue of the committed
snapshot, versioned files are applied once and never edited, repeatable files are applied again
when they change, and a warehouse made by the numbered schema files of before is refused."""

from __future__ import annotations

import difflib
import json
import shutil
from pathlib import Path

import psycopg
import pytest

from tthc import PROJECT_ROOT, SQL_DIR, warehouse, warehouse_catalogue

pytestmark = pytest.mark.integration

SNAPSHOT = PROJECT_ROOT / "tests" / "tthc" / "warehouse_catalogue.json"
REPEATABLES = [
    "R__staging_dossier_partitions.sql",
    "R__staging_source_values.sql",
    "R__core_views.sql",
    "R__quality_views.sql",
    "R__mart_functions.sql",
    "R__mart_portal.sql",
    "R__mart_portal_gap.sql",
    "R__mart_views.sql",
    "R__mart_worklists.sql",
]


def expected_catalogue(conn: psycopg.Connection) -> dict:
    """The snapshot, as this server would render it: a server without lz4 keeps pglz for raw
    payloads, and another major version deparses view definitions its own way."""
    expected = json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    lz4 = conn.execute(
        "SELECT 'lz4' = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'"
    )
    if not lz4.fetchone()[0]:
        columns = expected["relations"]["raw.record"]["columns"]
        columns[:] = [column.removesuffix(" COMPRESSION lz4") for column in columns]
    return expected


def without_view_definitions(description: dict) -> dict:
    description = json.loads(json.dumps(description))
    for relation in description["relations"].values():
        relation.pop("definition", None)
    description.pop("server_version")
    return description


def test_the_baseline_makes_the_catalogue_of_the_snapshot(make_database):
    dsn = make_database("catalogue")
    with psycopg.connect(dsn, autocommit=True) as conn:
        actual = warehouse_catalogue.describe(conn, with_rows=True)
        expected = expected_catalogue(conn)
    if actual["server_version"] != expected["server_version"]:
        actual, expected = without_view_definitions(actual), without_view_definitions(expected)
    if actual != expected:
        diff = difflib.unified_diff(
            warehouse_catalogue.to_json(expected).splitlines(),
            warehouse_catalogue.to_json(actual).splitlines(),
            fromfile=str(SNAPSHOT.relative_to(PROJECT_ROOT)),
            tofile="the baseline's catalogue",
            lineterm="",
            n=2,
        )
        pytest.fail(
            "The schema files make another catalogue than the snapshot. If the change is meant, "
            "regenerate the snapshot (python -m tthc.warehouse_catalogue, see its docstring).\n"
            + "\n".join(diff),
            pytrace=False,
        )


def test_migrating_again_applies_nothing(make_database):
    dsn = make_database("migrate_twice")
    with warehouse.connect(dsn=dsn) as conn:
        names = [
            name
            for (name,) in conn.execute("SELECT file_name FROM meta.schema_migration ORDER BY applied_at")
        ]
        assert sorted(names) == sorted(path.name for path in warehouse.migration_files())
        assert warehouse.migrate(conn) == []


def test_files_are_applied_versioned_first_in_version_order_then_the_repeatables_in_folder_order():
    names = [path.name for path in warehouse.migration_files()]
    versioned = [name for name in names if name.startswith("V")]
    assert versioned == sorted(versioned) and versioned[0] == "V001__schemas.sql"
    assert names == versioned + REPEATABLES


@pytest.fixture
def sql_copy(tmp_path, monkeypatch) -> Path:
    """A copy of the schema's folders that the migrations read instead of the repository's."""
    copy = tmp_path / "sql"
    for folder in (warehouse.SCHEMA_DIR, *warehouse.REPEATABLE_DIRS):
        shutil.copytree(folder, copy / folder.relative_to(SQL_DIR))
    monkeypatch.setattr(warehouse, "SCHEMA_DIR", copy / warehouse.SCHEMA_DIR.relative_to(SQL_DIR))
    monkeypatch.setattr(
        warehouse,
        "REPEATABLE_DIRS",
        tuple(copy / folder.relative_to(SQL_DIR) for folder in warehouse.REPEATABLE_DIRS),
    )
    return copy


def test_an_applied_versioned_file_that_changed_is_an_error_naming_it(make_database, sql_copy):
    dsn = make_database("edited_versioned")
    core = sql_copy / "schema" / "V004__core.sql"
    core.write_text(
        core.read_text(encoding="utf-8")
        + "CREATE INDEX fact_dossier_rating_idx ON core.fact_dossier (rating);\n",
        encoding="utf-8",
    )
    with warehouse.connect(dsn=dsn) as conn:
        with pytest.raises(
            warehouse.MigrationError, match=r"V004__core\.sql was edited after it was applied"
        ):
            warehouse.migrate(conn)
        conn.rollback()
        assert conn.execute("SELECT to_regclass('core.fact_dossier_rating_idx')").fetchone() == (None,)


def test_a_new_versioned_file_is_applied_then_every_repeatable_again(make_database, sql_copy):
    dsn = make_database("new_versioned")
    (sql_copy / "schema" / "V999__rating_index.sql").write_text(
        "CREATE INDEX fact_dossier_rating_idx ON core.fact_dossier (rating);\n", encoding="utf-8"
    )
    with warehouse.connect(dsn=dsn) as conn:
        assert warehouse.migrate(conn) == ["V999__rating_index.sql", *REPEATABLES]
        assert conn.execute("SELECT to_regclass('core.fact_dossier_rating_idx')").fetchone() == (
            "core.fact_dossier_rating_idx",
        )
        assert warehouse.migrate(conn) == []


def test_a_versioned_file_older_than_one_applied_is_an_error(make_database, sql_copy):
    dsn = make_database("old_versioned")
    (sql_copy / "schema" / "V000__late.sql").write_text("SELECT 1;\n", encoding="utf-8")
    with (
        warehouse.connect(dsn=dsn) as conn,
        pytest.raises(warehouse.MigrationError, match=r"V000__late\.sql is older"),
    ):
        warehouse.migrate(conn)


def test_a_schema_file_not_named_as_a_version_is_an_error(sql_copy):
    (sql_copy / "schema" / "088_rating_index.sql").write_text("SELECT 1;\n", encoding="utf-8")
    with pytest.raises(warehouse.MigrationError, match=r"088_rating_index\.sql"):
        warehouse.migration_files()


def test_a_changed_repeatable_is_applied_again_with_every_repeatable_after_it(make_database, sql_copy):
    dsn = make_database("changed_repeatable")
    views = sql_copy / "marts" / "views" / "R__mart_views.sql"
    views.write_text(
        views.read_text(encoding="utf-8") + "COMMENT ON VIEW mart.unit IS 'Đơn vị';\n", encoding="utf-8"
    )
    with warehouse.connect(dsn=dsn) as conn:
        # and the worklists' file after it, which reads mart.unit
        assert warehouse.migrate(conn) == ["R__mart_views.sql", "R__mart_worklists.sql"]
        assert conn.execute("SELECT obj_description('mart.unit'::regclass, 'pg_class')").fetchone() == (
            "Đơn vị",
        )
        assert warehouse.migrate(conn) == []

        # A repeatable that others may depend on brings them along.
        values = sql_copy / "staging" / "functions" / "R__staging_source_values.sql"
        values.write_text(
            values.read_text(encoding="utf-8").replace(
                "SELECT nullif(btrim(value), '')", "SELECT nullif(btrim(value), '')  -- blank is absent"
            ),
            encoding="utf-8",
        )
        assert warehouse.migrate(conn) == REPEATABLES[1:]
        assert (
            "blank is absent"
            in conn.execute(
                "SELECT prosrc FROM pg_proc WHERE oid = 'staging.nullif_blank(text)'::regprocedure"
            ).fetchone()[0]
        )


def test_a_warehouse_made_by_the_numbered_schema_files_is_refused(make_database):
    dsn = make_database("numbered_schema")
    with warehouse.connect(dsn=dsn) as conn:
        # The ledger of a warehouse made before the baseline: the numbered files, and no V/R file.
        conn.execute("DELETE FROM meta.schema_migration")
        conn.execute(
            """INSERT INTO meta.schema_migration (file_name, checksum)
                        SELECT name, 'x' FROM unnest(%s::text[]) AS name""",
            (["001_schemas.sql", "002_source_parsing.sql", "010_raw.sql", "083_core_dossier_id.sql"],),
        )
        conn.commit()
        with pytest.raises(warehouse.MigrationError) as refused:
            warehouse.migrate(conn)
        message = str(refused.value)
        assert "001_schemas.sql" in message and "no upgrade path" in message
        assert "Drop the warehouse database and create it again" in message


def test_a_dsn_goes_to_airflow_and_back_unchanged(monkeypatch):
    """The dev stack, the tests and the bench hand the warehouse to Airflow as
    AIRFLOW_CONN_TTHC_WAREHOUSE; what the pipeline reads back is the server and database given."""
    dsn = "host=db.example.vn port=5433 user=etl password=s3cr%t dbname=tthc_x"
    monkeypatch.setenv("AIRFLOW_CONN_TTHC_WAREHOUSE", warehouse.airflow_connection_json(dsn))
    back = psycopg.conninfo.conninfo_to_dict(warehouse.warehouse_conninfo())
    assert {k: back[k] for k in ("host", "port", "user", "password", "dbname")} == {
        "host": "db.example.vn",
        "port": "5433",
        "user": "etl",
        "password": "s3cr%t",
        "dbname": "tthc_x",
    }
    other = psycopg.conninfo.conninfo_to_dict(
        warehouse.conninfo(json_fields(warehouse.airflow_connection_json(dsn, "tthc_other")))
    )
    assert other["dbname"] == "tthc_other"


def json_fields(connection_json: str):
    from tthc.settings import ConnectionFields

    fields = json.loads(connection_json)
    return ConnectionFields(
        conn_id="probe",
        conn_type=fields["conn_type"],
        host=fields["host"],
        port=fields["port"],
        schema=fields["schema"],
        login=fields["login"],
        password=fields["password"],
    )
