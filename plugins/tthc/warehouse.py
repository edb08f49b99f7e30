"""The one way the pipeline talks to the warehouse: connections, schema migrations, SQL files and
COPY.

SQL lives in ``include/sql/``; this module only finds it, binds parameters and runs it. Files may
hold several statements; they are sent with client-side binding so one file is one round trip and
runs inside the caller's transaction.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

import psycopg

from tthc import SQL_DIR
from tthc.settings import LOCAL_TZ_NAME, WAREHOUSE_CONN_ID, ConnectionFields, get_connection

log = logging.getLogger(__name__)

# Schema migrations, Flyway's model: versioned files V<version>__<what>.sql, applied once each in
# version order and never edited, then repeatable files R__<what>.sql (functions and views),
# applied again whenever they change, from these folders in this order.
SCHEMA_DIR = SQL_DIR / "schema"
REPEATABLE_DIRS = (
    SQL_DIR / "staging" / "functions",
    SQL_DIR / "core" / "views",
    SQL_DIR / "quality" / "views",
    SQL_DIR / "marts" / "views",
)
VERSIONED_FILE = re.compile(r"V(?P<version>[0-9]+)__\w+\.sql")
REPEATABLE_FILE = re.compile(r"R__\w+\.sql")


def conninfo(conn: ConnectionFields) -> str:
    """A libpq connection string from an Airflow connection (host may be a socket directory)."""
    params = {
        "host": conn.host or "127.0.0.1",
        "port": conn.port or 5432,
        "dbname": conn.schema or "postgres",
        "user": conn.login or "postgres",
        "password": conn.password,
        "application_name": "tthc-pipeline",
    }
    for key in ("sslmode", "connect_timeout"):
        if key in conn.extra:
            params[key] = conn.extra[key]
    return psycopg.conninfo.make_conninfo(**{k: v for k, v in params.items() if v not in (None, "")})


def airflow_connection_json(dsn: str, dbname: str | None = None) -> str:
    """The Airflow connection (JSON form, for ``AIRFLOW_CONN_TTHC_WAREHOUSE``) of a libpq DSN, with
    ``dbname`` instead of the DSN's database if given: the inverse of :func:`conninfo`."""
    params = psycopg.conninfo.conninfo_to_dict(dsn)
    return json.dumps(
        {
            "conn_type": "postgres",
            "host": params.get("host") or "127.0.0.1",
            "port": int(params.get("port") or 5432),
            "login": params.get("user") or "postgres",
            "password": params.get("password") or None,
            "schema": dbname or params.get("dbname") or "postgres",
        }
    )


def warehouse_conninfo(conn_id: str = WAREHOUSE_CONN_ID) -> str:
    return conninfo(get_connection(conn_id))


# Settings of every pipeline session. JIT off: a load runs dozens of statements whose row estimates
# are high enough to trigger JIT compilation but which finish in less time than compiling takes.
SESSION_OPTIONS = "-c jit=off"


def session_conninfo(dsn: str) -> str:
    """``dsn`` with the pipeline's session settings added to whatever options it already has."""
    options = psycopg.conninfo.conninfo_to_dict(dsn).get("options")
    if options and SESSION_OPTIONS in str(options):
        return dsn
    return psycopg.conninfo.make_conninfo(
        dsn, options=f"{options} {SESSION_OPTIONS}" if options else SESSION_OPTIONS
    )


@contextmanager
def connect(conn_id: str = WAREHOUSE_CONN_ID, *, dsn: str | None = None):
    """A psycopg 3 connection with the pipeline's session settings; commits on success, rolls back
    on error."""
    with psycopg.connect(session_conninfo(dsn or warehouse_conninfo(conn_id))) as conn:
        # Timestamps in the warehouse are timestamptz; sessions speak local time so that casts to
        # date and period boundaries follow Vietnamese days.
        conn.execute(psycopg.sql.SQL("SET TIME ZONE {}").format(psycopg.sql.Literal(LOCAL_TZ_NAME)))
        conn.commit()  # the setting stays for the session; the caller starts with no transaction open
        yield conn


@cache
def sql_text(relative_path: str) -> str:
    path = SQL_DIR / relative_path
    if not path.is_file():
        raise FileNotFoundError(f"no SQL file {path}")
    return path.read_text(encoding="utf-8")


def run_sql(
    conn: psycopg.Connection, relative_path: str, params: Mapping[str, Any] | None = None
) -> list[tuple] | None:
    """Run one SQL file with named parameters; returns the rows of its last statement that
    returned rows (a file ends with a SELECT when it has something to report)."""
    with psycopg.ClientCursor(conn) as cursor:
        cursor.execute(sql_text(relative_path), params or {})
        last_rows = None
        while True:
            if cursor.description is not None:
                last_rows = cursor.fetchall()
            if not cursor.nextset():
                return last_rows


def query(
    conn: psycopg.Connection, relative_path: str, params: Mapping[str, Any] | None = None
) -> list[dict]:
    """Rows of a SELECT file as dicts."""
    with psycopg.ClientCursor(conn, row_factory=psycopg.rows.dict_row) as cursor:
        cursor.execute(sql_text(relative_path), params or {})
        return cursor.fetchall()


def copy_rows(
    conn: psycopg.Connection,
    table: str,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    types: Sequence[str] | None = None,
) -> int:
    """COPY rows into ``table``: the fast path for every bulk write. With the columns' PostgreSQL
    ``types``, the COPY is binary: no text formatting and parsing of timestamps and numbers."""
    statement = psycopg.sql.SQL("COPY {} ({}) FROM STDIN{}").format(
        psycopg.sql.Identifier(*table.split(".")),
        psycopg.sql.SQL(", ").join(psycopg.sql.Identifier(c) for c in columns),
        psycopg.sql.SQL(" (FORMAT BINARY)" if types else ""),
    )
    count = 0
    with conn.cursor() as cursor, cursor.copy(statement) as copy:
        if types:
            copy.set_types(types)
        for row in rows:
            copy.write_row(row)
            count += 1
    return count


# Orders the writers of the refreshed mart (an indicator refresh, a portal fetch's gap): one at a
# time, each seeing what the one before it committed.
MART_LOCK = "tthc.indicators.refresh"


def hold_mart_lock(conn: psycopg.Connection) -> None:
    """Wait for, then hold until the end of the transaction, the mart's writer lock."""
    conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (MART_LOCK,))


def analyze(
    conn: psycopg.Connection, tables: Sequence[str], *, lock: str, statistics_target: int | None = None
) -> None:
    """ANALYZE ``tables`` (schema-qualified names) and commit, one caller holding ``lock`` at a time:
    two ANALYZEs of one table at once can fail with "tuple concurrently updated".
    ``statistics_target`` overrides ``default_statistics_target`` for this ANALYZE only."""
    conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (lock,))
    if statistics_target is not None:
        conn.execute("SELECT set_config('default_statistics_target', %s, true)", (str(statistics_target),))
    conn.execute(
        psycopg.sql.SQL("ANALYZE {}").format(
            psycopg.sql.SQL(", ").join(psycopg.sql.Identifier(*table.split(".")) for table in tables)
        )
    )
    conn.commit()


def analyze_stale(conn: psycopg.Connection, schema: str = "core") -> list[str]:
    """ANALYZE the tables of ``schema`` whose statistics the loads have outdated; returns them.

    Autovacuum's own rule: more rows changed since the last ANALYZE than 50 + 10 % of the table.
    Autovacuum would do it, but a server may run without it (the one this project is tested on
    does), and then the planner keeps believing a dimension it has never analyzed is empty and
    plans nested loops over it. Commits. The lock is taken before the tables
    are chosen, so that two loads do not both find one table stale and analyze it twice.
    """
    lock = f"tthc.analyze_stale.{schema}"
    conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (lock,))
    stale = [
        f"{schema}.{row[0]}"
        for row in conn.execute(
            """SELECT stat.relname FROM pg_stat_user_tables AS stat JOIN pg_class AS rel ON rel.oid = stat.relid
           WHERE stat.schemaname = %s AND stat.n_mod_since_analyze > 50 + 0.1 * greatest(rel.reltuples, 0)
           ORDER BY stat.relname""",
            (schema,),
        )
    ]
    if not stale:
        conn.commit()
        return []
    analyze(conn, stale, lock=lock)
    log.info("analyzed %s", ", ".join(stale))
    return stale


class MigrationError(RuntimeError):
    """The warehouse's schema cannot be brought up to date by applying files."""


def version_of(path: Path) -> int | None:
    """A versioned file's version; None for a repeatable file."""
    match = VERSIONED_FILE.fullmatch(path.name)
    return int(match["version"]) if match else None


def migration_files() -> list[Path]:
    """The versioned files in version order, then the repeatable ones in the order they are applied."""
    versioned = sorted(SCHEMA_DIR.glob("*.sql"), key=lambda path: (version_of(path) or 0, path.name))
    misnamed = [path.name for path in versioned if version_of(path) is None]
    if misnamed:
        raise MigrationError(
            f"{SCHEMA_DIR} holds files not named V<version>__<what>.sql: {', '.join(misnamed)}"
        )
    versions = [version_of(path) for path in versioned]
    if len(set(versions)) < len(versions):
        raise MigrationError(
            f"two versioned files share a version in {SCHEMA_DIR}: {', '.join(p.name for p in versioned)}"
        )
    repeatable = [path for folder in REPEATABLE_DIRS for path in sorted(folder.glob("*.sql"))]
    misnamed = [
        str(path.relative_to(SQL_DIR)) for path in repeatable if not REPEATABLE_FILE.fullmatch(path.name)
    ]
    if misnamed:
        raise MigrationError(f"repeatable files must be named R__<what>.sql: {', '.join(misnamed)}")
    names = [path.name for path in repeatable]
    if len(set(names)) < len(names):
        raise MigrationError(f"two repeatable files share a name: {', '.join(names)}")
    return versioned + repeatable


def migrate(conn: psycopg.Connection) -> list[str]:
    """Bring the warehouse schema up to date; returns the files applied, in order.

    Versioned files are applied once each, in version order; one applied already whose content
    changed is an error (a change is a new versioned file). A repeatable file is applied when it
    is new or changed, and then so is every repeatable after it, which may use what it re-creates;
    after a versioned file, every repeatable is. The ledger is meta.schema_migration. A warehouse
    whose ledger names files this version does not have (one made by the numbered schema files of
    before the baseline) has no upgrade path: it is refused. Runs in the caller's transaction; an
    advisory lock keeps two tasks from migrating at once.
    """
    conn.execute("SELECT pg_advisory_xact_lock(hashtext('tthc.migrate'))")
    conn.execute("CREATE SCHEMA IF NOT EXISTS meta")
    conn.execute(
        """CREATE TABLE IF NOT EXISTS meta.schema_migration (
               file_name text PRIMARY KEY, checksum text NOT NULL,
               applied_at timestamptz NOT NULL DEFAULT now())"""
    )
    recorded = dict(conn.execute("SELECT file_name, checksum FROM meta.schema_migration").fetchall())
    files = migration_files()
    unknown = sorted(set(recorded) - {path.name for path in files})
    if unknown:
        shown = ", ".join(unknown[:5]) + (f" and {len(unknown) - 5} more" if len(unknown) > 5 else "")
        raise MigrationError(
            f"this warehouse was made by schema files this version does not have ({shown}, in "
            "meta.schema_migration): it predates the schema baseline or comes from another version, and "
            "there is no upgrade path. Drop the warehouse database and create it again, empty; the next "
            "migration builds it from include/sql/schema."
        )
    latest = max((version_of(Path(name)) or 0 for name in recorded), default=0)
    applied: list[str] = []
    reapply_repeatables = False
    for path in files:
        body = path.read_text(encoding="utf-8")
        checksum = hashlib.sha256(body.encode()).hexdigest()
        version = version_of(path)
        if version is not None:
            if recorded.get(path.name) == checksum:
                continue
            if path.name in recorded:
                raise MigrationError(
                    f"{path.name} was edited after it was applied to this warehouse: a versioned schema file "
                    "is never changed; put the change in a new versioned file"
                )
            if version < latest:
                raise MigrationError(
                    f"{path.name} is older than the latest versioned file applied here (version {latest}): "
                    "give it a version after that one"
                )
        elif recorded.get(path.name) == checksum and not reapply_repeatables:
            continue
        conn.execute(body)
        conn.execute(
            """INSERT INTO meta.schema_migration (file_name, checksum) VALUES (%s, %s)
               ON CONFLICT (file_name) DO UPDATE SET checksum = EXCLUDED.checksum, applied_at = now()""",
            (path.name, checksum),
        )
        applied.append(path.name)
        reapply_repeatables = True
    if applied:
        log.info("warehouse migrated: %s", ", ".join(applied))
    return applied
