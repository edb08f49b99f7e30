"""Step 3, publish: one batch of an entity at a time, in one transaction.

Under the entity's lock (merges of one entity may touch the same dossiers): the records the rules
returned are set aside (quarantine, warnings), the batch as a whole is judged (batch rules), and
then it is merged into core with its audit and its status, or rejected. A rejected batch keeps only
its evidence (validations, batch-rule results, status and reason): its quarantine rows are rolled
back with the rest, and ``BatchRejectedError`` fails the task without retries.
"""

from __future__ import annotations

import logging

import psycopg

from tthc import warehouse
from tthc.entities import Entity
from tthc.load.audit import LoadAudit, record_audit
from tthc.load.gate import GateResult
from tthc.load.timer import StepTimer
from tthc.quality import alerts, batch_rules, data_docs
from tthc.quality.batch_rules import BatchInfo, RuleResult
from tthc.quality.evidence import store_validation
from tthc.settings import quality_thresholds

log = logging.getLogger(__name__)


def publish(
    conn: psycopg.Connection, batch: BatchInfo, entity: Entity, gate: GateResult, timer: StepTimer
) -> tuple[LoadAudit, list[int]]:
    """Merge the batch or reject it; returns its audit and the ids of its stored validations."""
    with timer.step("wait_to_publish"):  # another batch's merge, not work of this one
        conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (publish_lock(entity, batch),))
    with timer.step("quarantine"):
        quarantined = quarantine(conn, batch.batch_id, entity.name, batch.source_id)
    with timer.step("warnings"):
        warnings = keep_warnings(conn, batch.batch_id, entity.name, batch.source_id)
    with timer.step("batch_rules"):
        config = quality_thresholds()
        profile = batch_rules.profile_batch(
            conn,
            batch,
            entity.main_staging_table,
            quarantined,
            config.get("unit_columns", {}).get(entity.name),
        )
        rule_results = batch_rules.evaluate(conn, batch, profile, config)
    failed = [result for result in rule_results if not result.passed]
    if failed:
        conn.rollback()
        raise reject(conn, batch, entity, gate, rule_results, failed, quarantined)

    with timer.step("merge"):
        validation_ids = [store_validation(conn, batch.batch_id, v) for v in gate.validations]
        loaded = count_loadable(conn, batch.batch_id, entity.main_staging_table)
        try:
            changed = warehouse.run_sql(
                conn,
                f"core/merge_{entity.name}.sql",
                {"batch_id": batch.batch_id, "source_id": batch.source_id},
            )
        except psycopg.errors.DataException as error:  # core.raise_error: the merge's own refusal
            conn.rollback()
            raise merge_refused(batch, str(error.diag.message_primary or error)) from None
        resolve_loaded_later(conn, batch, entity.main_staging_table)
        audit = LoadAudit(
            batch.batch_id,
            entity.name,
            batch.extracted,
            loaded,
            unchanged=loaded - changed[0][0] if changed else 0,
            quarantined=quarantined,
            failing_rules=gate.failing_rules(),
            window_start=batch.window_start.isoformat() if batch.window_start else None,
            window_end=batch.window_end.isoformat() if batch.window_end else None,
            warnings=warnings,
            units_changed=list(changed[0][1]) if changed and len(changed[0]) > 1 else [],
            rule_seconds=gate.rule_seconds,
            source_id=batch.source_id,
        )
        record_audit(conn, audit)
        batch_rules.store_profile(conn, batch, profile)
        batch_rules.store_results(conn, batch.batch_id, rule_results)
        conn.execute(
            "UPDATE raw.batch SET status = 'loaded', loaded_at = now(), status_reason = NULL WHERE batch_id = %s",
            (batch.batch_id,),
        )
        conn.commit()
    return audit, validation_ids


def publish_lock(entity: Entity, batch: BatchInfo) -> str:
    """What a merge waits for. Dossiers and PAKN are keyed per source, so two sources' batches
    merge at once (one lock per entity would make every province's loads queue for one another);
    units are national and their merge rebuilds the whole closure: one unit merge at a time, as for
    the procedure catalogue, which is small."""
    if entity.name in ("dossier", "feedback"):
        return f"tthc.load.{entity.name}.{batch.source_id}"
    return f"tthc.load.{entity.name}"


def quarantine(conn: psycopg.Connection, batch_id: int, entity: str, source_id: str) -> int:
    """Quarantine every record a rule returned; returns the number of records set aside. A rule
    that still fails when a batch is loaded again re-opens its row."""
    conn.execute(
        """INSERT INTO quality.quarantine (source_id, entity, record_key, rule, detail, batch_id, ordinal, payload)
           SELECT DISTINCT ON (hit.ordinal, hit.rule) %(source_id)s, %(entity)s, hit.record_key, hit.rule,
                  coalesce(hit.detail, hit.rule),
                  raw.batch_id, raw.ordinal, raw.payload
           FROM staging.rule_hit AS hit
           JOIN raw.record AS raw ON raw.batch_id = hit.batch_id AND raw.ordinal = hit.ordinal
           WHERE hit.batch_id = %(batch_id)s AND hit.kind = 'quarantine'
           ORDER BY hit.ordinal, hit.rule, hit.check_id
           ON CONFLICT (batch_id, ordinal, rule) DO UPDATE SET detail = EXCLUDED.detail,
               resolved_at = NULL, resolved_batch_id = NULL, resolution = NULL""",
        {"entity": entity, "batch_id": batch_id, "source_id": source_id},
    )
    return conn.execute(
        "SELECT count(DISTINCT ordinal) FROM quality.quarantine WHERE batch_id = %s AND resolved_at IS NULL",
        (batch_id,),
    ).fetchone()[0]


def keep_warnings(conn: psycopg.Connection, batch_id: int, entity: str, source_id: str) -> dict[str, int]:
    """Keep the warnings of the records that load (a quarantined record is judged by its rule)."""
    conn.execute(
        """INSERT INTO quality.warning (source_id, entity, record_key, rule, detail, batch_id, ordinal)
           SELECT DISTINCT ON (hit.ordinal, hit.rule) %(source_id)s, %(entity)s, hit.record_key, hit.rule,
                  coalesce(hit.detail, hit.rule), hit.batch_id, hit.ordinal
           FROM staging.rule_hit AS hit
           WHERE hit.batch_id = %(batch_id)s AND hit.kind = 'warning'
             AND NOT EXISTS (SELECT 1 FROM quality.quarantine AS q WHERE q.batch_id = hit.batch_id
                             AND q.ordinal = hit.ordinal AND q.resolved_at IS NULL)
           ORDER BY hit.ordinal, hit.rule, hit.check_id
           ON CONFLICT (batch_id, ordinal, rule) DO UPDATE SET detail = EXCLUDED.detail""",
        {"entity": entity, "batch_id": batch_id, "source_id": source_id},
    )
    return dict(
        conn.execute(
            "SELECT rule, count(*) FROM quality.warning WHERE batch_id = %s GROUP BY rule ORDER BY rule",
            (batch_id,),
        ).fetchall()
    )


def count_loadable(conn: psycopg.Connection, batch_id: int, staging_table: str) -> int:
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


def resolve_loaded_later(conn: psycopg.Connection, batch: BatchInfo, staging_table: str) -> None:
    """A quarantined record whose key this batch loaded (corrected, or no longer waiting for
    reference data) is resolved as ``loaded_later``; keys are the source's own, so only its
    source's quarantine rows are."""
    statement = psycopg.sql.SQL(
        """UPDATE quality.quarantine AS q
           SET resolved_at = now(), resolved_batch_id = %(batch_id)s, resolution = 'loaded_later'
           FROM (SELECT DISTINCT raw.record_key FROM raw.record AS raw
                 JOIN {staged} AS staged ON staged.batch_id = raw.batch_id AND staged.ordinal = raw.ordinal
                 WHERE raw.batch_id = %(batch_id)s AND raw.record_key IS NOT NULL
                   AND NOT EXISTS (SELECT 1 FROM quality.quarantine AS mine
                                   WHERE mine.batch_id = raw.batch_id AND mine.ordinal = raw.ordinal
                                     AND mine.resolved_at IS NULL)) AS loaded
           WHERE q.source_id = %(source_id)s AND q.entity = %(entity)s AND q.resolved_at IS NULL
             AND q.batch_id <> %(batch_id)s
             AND q.record_key = loaded.record_key"""
    ).format(staged=psycopg.sql.Identifier(*staging_table.split(".")))
    conn.execute(
        statement, {"batch_id": batch.batch_id, "entity": batch.entity, "source_id": batch.source_id}
    )


def merge_refused(batch: BatchInfo, reason: str) -> alerts.MergeRefusedError:
    log.error(
        "batch %d (%s of %s) refused by the merge: %s", batch.batch_id, batch.entity, batch.source_id, reason
    )
    return alerts.MergeRefusedError(
        f"[tthc] {batch.entity} batch {batch.batch_id} of source {batch.source_id} refused: it contradicts core",
        [
            reason,
            "Nothing of the batch reached core (its transaction was rolled back); its records stay in raw.",
            "Settle it with the systems' operators (which description of the unit is right), have the "
            "wrong one corrected, then run the source's reference DAG again.",
            f"  SQL: SELECT * FROM core.dim_unit WHERE row_valid_to IS NULL AND source_id <> '{batch.source_id}' "
            "ORDER BY unit_code;",
        ],
    )


def reject(
    conn: psycopg.Connection,
    batch: BatchInfo,
    entity: Entity,
    gate: GateResult,
    results: list[RuleResult],
    failed: list[RuleResult],
    quarantined: int,
) -> alerts.BatchRejectedError:
    """In a fresh transaction: the batch is 'rejected' with its reason, and the validation and
    batch-rule results are kept (they are the evidence); returns the error that alerts."""
    reason = "; ".join(f"{r.rule}: {r.detail}" for r in failed)
    validation_ids = [store_validation(conn, batch.batch_id, v) for v in gate.validations]
    batch_rules.store_results(conn, batch.batch_id, results)
    conn.execute(
        "UPDATE raw.batch SET status = 'rejected', status_reason = %s WHERE batch_id = %s",
        (reason, batch.batch_id),
    )
    conn.commit()
    log.error("batch %d (%s) rejected before core: %s", batch.batch_id, batch.entity, reason)
    urls = data_docs.render_stored(conn, validation_ids)
    unit_column = quality_thresholds().get("unit_columns", {}).get(batch.entity)
    return alerts.batch_rejected(
        batch,
        failed,
        quarantined=quarantined,
        top_units=_top_units(conn, batch.batch_id, unit_column, entity.main_staging_table),
        failing_rules=gate.failing_rules(),
        data_docs_urls=list(urls.values()),
    )


def _top_units(conn: psycopg.Connection, batch_id: int, unit_column: str | None, staging_table: str) -> str:
    if not unit_column:
        return "-"
    rows = conn.execute(
        psycopg.sql.SQL(
            "SELECT {c}, count(*) FROM {t} WHERE batch_id = %s GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 10"
        ).format(c=psycopg.sql.Identifier(unit_column), t=psycopg.sql.Identifier(*staging_table.split("."))),
        (batch_id,),
    ).fetchall()
    return ", ".join(f"{unit} ({n})" for unit, n in rows) or "-"
