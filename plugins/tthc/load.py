"""Raw → staging → quality gate → core, for one raw batch.

Write-audit-publish: the batch is staged and committed (so Great Expectations, on its own
connection, sees it), validated, and then quarantine, merge, audit and the batch's status are
written in one transaction. A crash anywhere before that commit leaves core untouched, and
re-running the batch gives the same result; re-running a loaded batch writes nothing new.

Loads of one entity are serialized by an advisory lock: staging holds exactly one batch of an
entity at a time, which is what the suites validate.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass

import psycopg

from tthc import warehouse
from tthc.entities import ENTITIES
from tthc.quality.gx_runner import Validation, validate_table
from tthc.quality.suites import load_suite

log = logging.getLogger(__name__)


class AuditMismatchError(RuntimeError):
    """extracted != loaded + quarantined: a record went missing between raw and core."""


@dataclass(frozen=True)
class LoadAudit:
    batch_id: int
    entity: str
    extracted: int
    loaded: int
    unchanged: int
    quarantined: int
    failing_rules: dict[str, int]
    window_start: str | None = None
    window_end: str | None = None

    def as_dict(self) -> dict:
        return asdict(self)


def load_batch(batch_id: int, *, dsn: str) -> LoadAudit:
    with psycopg.connect(dsn) as conn:
        conn.execute("SET TIME ZONE 'Asia/Ho_Chi_Minh'")
        entity_name, extracted, status, window_start, window_end = conn.execute(
            "SELECT entity, record_count, status, window_start, window_end FROM raw.batch WHERE batch_id = %s",
            (batch_id,),
        ).fetchone()
        entity = ENTITIES[entity_name]
        suite = load_suite(f"{entity.name}.staging")

        conn.execute("SELECT pg_advisory_lock(hashtext('tthc.load.' || %s))", (entity.name,))
        try:
            for table in entity.staging_tables:
                conn.execute(psycopg.sql.SQL("TRUNCATE {}").format(psycopg.sql.Identifier(*table.split("."))))
            warehouse.run_sql(conn, f"staging/{entity.name}.sql", {"batch_id": batch_id})
            conn.commit()

            validation = validate_table(suite, dsn)

            _store_validation(conn, batch_id, validation)
            quarantined = _quarantine(conn, batch_id, entity.name, suite)
            loaded = _count_loadable(conn, batch_id, entity.staging_tables[0])
            changed = warehouse.run_sql(conn, f"core/merge_{entity.name}.sql", {"batch_id": batch_id})
            unchanged = loaded - changed[0][0] if changed else 0
            audit = LoadAudit(
                batch_id, entity.name, extracted, loaded, unchanged, quarantined, validation.failing_rules(),
                window_start.isoformat() if window_start else None, window_end.isoformat() if window_end else None,
            )
            _record_audit(conn, audit)
            conn.execute(
                "UPDATE raw.batch SET status = 'loaded', loaded_at = now() WHERE batch_id = %s", (batch_id,)
            )
            conn.commit()
        finally:
            conn.rollback()
            conn.execute("SELECT pg_advisory_unlock(hashtext('tthc.load.' || %s))", (entity.name,))
            conn.commit()
    log.info("loaded batch %d (%s, was %s): %s", batch_id, entity.name, status, audit)
    return audit


def _quarantine(conn: psycopg.Connection, batch_id: int, entity: str, suite) -> int:
    """Quarantine every record a rule of the suite returns; returns the number of records set aside."""
    for rule in suite.record_rules:
        statement = (
            "INSERT INTO quality.quarantine (entity, record_key, rule, detail, batch_id, ordinal, payload) "
            f"SELECT %(entity)s, broken.record_key, %(rule)s, broken.detail, raw.batch_id, raw.ordinal, raw.payload "
            f"FROM ({rule.query_for(suite.table).replace('%', '%%')}) AS broken "
            "JOIN raw.record AS raw ON raw.batch_id = %(batch_id)s AND raw.ordinal = broken.ordinal "
            "ON CONFLICT (batch_id, ordinal, rule) DO NOTHING"
        )
        with psycopg.ClientCursor(conn) as cursor:
            cursor.execute(statement, {"entity": entity, "rule": rule.name, "batch_id": batch_id})
    return conn.execute(
        "SELECT count(DISTINCT ordinal) FROM quality.quarantine WHERE batch_id = %s AND resolved_at IS NULL",
        (batch_id,),
    ).fetchone()[0]


def _count_loadable(conn: psycopg.Connection, batch_id: int, staging_table: str) -> int:
    """Staged records of the batch that no rule set aside: counted on their own, so that a record
    lost between raw and staging breaks the books instead of hiding in a subtraction."""
    statement = psycopg.sql.SQL(
        """SELECT count(*) FROM {} AS staged
           WHERE staged.batch_id = %s
             AND NOT EXISTS (SELECT 1 FROM quality.quarantine AS q
                             WHERE q.batch_id = staged.batch_id AND q.ordinal = staged.ordinal
                               AND q.resolved_at IS NULL)"""
    ).format(psycopg.sql.Identifier(*staging_table.split(".")))
    return conn.execute(statement, (batch_id,)).fetchone()[0]


def _store_validation(conn: psycopg.Connection, batch_id: int, validation: Validation) -> None:
    conn.execute(
        """INSERT INTO quality.validation_result (batch_id, suite, success, statistics, results)
           VALUES (%s, %s, %s, %s, %s)""",
        (batch_id, validation.suite, validation.success, json.dumps(validation.statistics),
         json.dumps(validation.result_json, default=str)),
    )


def _record_audit(conn: psycopg.Connection, audit: LoadAudit) -> None:
    if audit.extracted != audit.loaded + audit.quarantined:
        raise AuditMismatchError(
            f"batch {audit.batch_id}: extracted {audit.extracted} != loaded {audit.loaded} "
            f"+ quarantined {audit.quarantined}"
        )
    conn.execute(
        """INSERT INTO quality.run_audit (batch_id, entity, extracted, loaded, unchanged, quarantined)
           VALUES (%s, %s, %s, %s, %s, %s)
           ON CONFLICT (batch_id) DO UPDATE
           SET extracted = EXCLUDED.extracted, loaded = EXCLUDED.loaded, unchanged = EXCLUDED.unchanged,
               quarantined = EXCLUDED.quarantined, audited_at = now()""",
        (audit.batch_id, audit.entity, audit.extracted, audit.loaded, audit.unchanged, audit.quarantined),
    )
