"""Raw → staging → quality gate → core, for one raw batch.

Write-audit-publish: the batch is staged and committed (so Great Expectations, on its own
connection, sees it; dossiers were already typed into staging by their extraction, and are typed
again from raw only when their staging rows are gone - ``tthc.staging``), validated (``<entity>.raw`` on the raw records, ``<entity>.staging`` on the
typed rows), and then quarantine, warnings, the batch rules, merge, audit and the batch's status are
written in one transaction. A crash anywhere before that commit leaves core untouched, and
re-running the batch gives the same result; re-running a loaded batch writes nothing new.

A failing batch rule rolls that transaction back before the merge: nothing of the batch reaches
core and its quarantine rows are not kept; the batch is marked 'rejected' with the reason, the
validation and batch-rule results are kept, and ``BatchRejectedError`` fails the task (without
retries: the verdict would not change) so that its notifier alerts.

After the commit, ``<entity>.core`` checks the invariants of what the batch merged, and the Data
Docs pages of the batch's validations are rendered (outside the transaction and the hot path).

Loads of different batches run concurrently: staging rows carry their batch id and every rule,
suite and merge statement is scoped to it, so staging, the rule queries and the validations of
one batch overlap with another batch's. Only the publishing transaction (quarantine, merge, audit)
is serialized per entity, by a transaction-level advisory lock, because merges of one entity may
touch the same dossiers. A second load of the same batch waits for the first (session lock on
the batch).
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass, field

import psycopg

from tthc import staging, warehouse
from tthc.entities import ENTITIES
from tthc.quality import batch_rules, data_docs
from tthc.quality.alerts import AlertDetails
from tthc.quality.gx_runner import Validation, validate_table
from tthc.quality.suites import Suite, find_suite, load_suite

log = logging.getLogger(__name__)

try:  # a rejected batch or a broken invariant is not fixed by retrying the task
    from airflow.sdk.exceptions import AirflowFailException as _NoRetry
except ImportError:  # pragma: no cover - outside Airflow
    _NoRetry = RuntimeError


class AuditMismatchError(RuntimeError):
    """extracted != loaded + quarantined: a record went missing between raw and core."""


class BatchRejectedError(AlertDetails, _NoRetry):
    """A batch rule failed: the batch was stopped before core."""

    def __init__(self, message: str, subject: str, lines: list[str]):
        super().__init__(message)
        self.alert_subject = subject
        self.alert_lines = lines


class CoreInvariantError(AlertDetails, _NoRetry):
    """What a batch merged breaks an invariant of core (a bug in the merge, not a data defect)."""

    def __init__(self, message: str, subject: str, lines: list[str]):
        super().__init__(message)
        self.alert_subject = subject
        self.alert_lines = lines


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
    warnings: dict[str, int] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    units_changed: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


class _Clock:
    def __init__(self) -> None:
        self.timings: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.timings[name] = round(self.timings.get(name, 0.0) + now - self._last, 4)
        self._last = now


# The session lock a load holds on its batch (a second load of the same batch waits for it).
_BATCH_LOCK = "hashtext('tthc.load.batch'), %s::integer"

# Seconds per rule query of the last loads in this process (the benchmark reads it; the log has it).
RULE_TIMINGS: dict[str, float] = {}

# Steps of the quality gate, for the overhead measurement (bench/quality_gate.py).
GATE_STEPS = ("rule_queries", "validate", "quarantine", "warnings", "batch_rules", "core_check", "data_docs")


def load_batch(batch_id: int, *, dsn: str) -> LoadAudit:
    clock = _Clock()
    dsn = warehouse.session_conninfo(dsn)  # also for Great Expectations' own connections
    with warehouse.connect(dsn=dsn) as conn:
        entity_name, extracted, status, window_start, window_end, endpoint = conn.execute(
            "SELECT entity, record_count, status, window_start, window_end, endpoint FROM raw.batch WHERE batch_id = %s",
            (batch_id,),
        ).fetchone()
        entity = ENTITIES[entity_name]
        batch = batch_rules.BatchInfo(batch_id, entity.name, endpoint, window_start, window_end, extracted)
        suites = [s for s in (find_suite(f"{entity.name}.raw"), load_suite(f"{entity.name}.staging")) if s]
        config = batch_rules.thresholds()

        conn.execute(f"SELECT pg_advisory_lock({_BATCH_LOCK})", (batch_id,))
        try:
            if entity.staged_in_batch_partitions:  # typed by the extraction, or now from raw
                staging.stage_from_raw(conn, batch_id)
            else:
                warehouse.run_sql(conn, f"staging/{entity.name}.sql", {"batch_id": batch_id})
            conn.commit()
            # Fresh statistics: staging was just refilled and the rule queries join it. The plans
            # need row counts and the batches' shares, not fine histograms: a sample of 3,000 rows
            # a table instead of 30,000 (measured on a 66,524-dossier batch: 0.13 s instead of
            # 1.7 s, with the same plans and timings of the rule queries and the merge). The lists
            # only the merge reads go without: 0.035 s of that batch's 0.085 s, the same plans.
            staged_in = (staging.rule_read_partitions(batch_id) if entity.staged_in_batch_partitions
                         else entity.staging_tables)
            warehouse.analyze(conn, staged_in, lock=f"tthc.analyze.{entity.name}",
                              statistics_target=10)
            clock.lap("stage")
            warehouse.analyze_stale(conn)  # the rules and the merge join core's dimensions and facts
            clock.lap("analyze_core")
            _compute_hits(conn, batch_id, suites)
            conn.commit()
            clock.lap("rule_queries")

            validations = [validate_table(suite, dsn, batch_id) for suite in suites]
            clock.lap("validate")
            # From here to the commit: the batch is published, one batch of an entity at a time.
            conn.execute("SELECT pg_advisory_xact_lock(hashtext('tthc.load.' || %s))", (entity.name,))
            clock.lap("wait_to_publish")  # another batch's merge, not work of this one
            quarantined = _quarantine(conn, batch_id, entity.name, suites)
            clock.lap("quarantine")
            warnings = _warn(conn, batch_id, entity.name, suites)
            clock.lap("warnings")
            profile = batch_rules.profile_batch(conn, batch, entity.staging_tables[0], quarantined,
                                                config.get("unit_columns", {}).get(entity.name))
            rule_results = batch_rules.evaluate(conn, batch, profile, config)
            clock.lap("batch_rules")
            failed = [r for r in rule_results if not r.passed]
            if failed:
                conn.rollback()  # the quarantine and warnings of a rejected batch are not kept
                validation_ids = _reject(conn, batch, validations, rule_results, failed)
                error = _rejection(conn, batch, validations, failed, quarantined, validation_ids)
                raise error

            validation_ids = [_store_validation(conn, batch_id, v) for v in validations]
            loaded = _count_loadable(conn, batch_id, entity.staging_tables[0])
            changed = warehouse.run_sql(conn, f"core/merge_{entity.name}.sql", {"batch_id": batch_id})
            unchanged = loaded - changed[0][0] if changed else 0
            units_changed = list(changed[0][1]) if changed and len(changed[0]) > 1 else []
            _resolve_loaded_later(conn, batch_id, entity.name, entity.staging_tables[0])
            audit = LoadAudit(
                batch_id, entity.name, extracted, loaded, unchanged, quarantined,
                _failing_rules(validations),
                window_start.isoformat() if window_start else None, window_end.isoformat() if window_end else None,
                warnings, units_changed=units_changed,
            )
            _record_audit(conn, audit)
            batch_rules.store_profile(conn, batch, profile)
            batch_rules.store_results(conn, batch_id, rule_results)
            conn.execute(
                "UPDATE raw.batch SET status = 'loaded', loaded_at = now(), status_reason = NULL WHERE batch_id = %s",
                (batch_id,),
            )
            conn.commit()
            clock.lap("merge")
        finally:
            conn.rollback()
            # Staging is transient: once the batch is published (or rejected) its rows go. A batch
            # with partitions of its own has them dropped whole; the rest are deleted.
            shared = ("staging.rule_hit",) if entity.staged_in_batch_partitions else (*entity.staging_tables,
                                                                                      "staging.rule_hit")
            for table in shared:
                conn.execute(psycopg.sql.SQL("DELETE FROM {} WHERE batch_id = %s").format(
                    psycopg.sql.Identifier(*table.split("."))), (batch_id,))
            conn.commit()
            if entity.staged_in_batch_partitions:
                staging.drop_batch(conn, batch_id)  # under the batch's lock: a second load waits for it
            conn.execute(f"SELECT pg_advisory_unlock({_BATCH_LOCK})", (batch_id,))
            conn.commit()
            if entity.staged_in_batch_partitions:
                drop_finished_staging(conn)
            _reclaim_staging(conn, shared)
            clock.lap("reclaim_staging")

        core_suite = find_suite(f"{entity.name}.core")
        core_validation = validate_table(core_suite, dsn, batch_id) if core_suite else None
        if core_validation is not None:
            validation_ids.append(_store_validation(conn, batch_id, core_validation))
            conn.commit()
        clock.lap("core_check")
        urls = data_docs.render_stored(conn, validation_ids)
        clock.lap("data_docs")
        if core_validation is not None and not core_validation.success:
            raise _core_failure(batch, core_validation, urls.get(validation_ids[-1]))

    audit = LoadAudit(**{**audit.as_dict(), "timings": clock.timings})
    log.info("loaded batch %d (%s, was %s): %s", batch_id, entity.name, status, audit)
    return audit


def drop_finished_staging(conn: psycopg.Connection) -> list[int]:
    """Drop the staging partitions of dossier batches whose load is over ('loaded' or 'rejected')
    and that no load holds: those a load killed after publishing left behind and no retry
    dropped. Returns their batch ids."""
    finished = [row[0] for row in conn.execute(
        """SELECT batch.batch_id
           FROM staging.dossier_batches_staged() AS staged (batch_id)
           JOIN raw.batch AS batch USING (batch_id)
           WHERE batch.status IN ('loaded', 'rejected')
           ORDER BY 1""")]
    conn.commit()
    dropped = []
    for batch_id in finished:
        locked = conn.execute(f"SELECT pg_try_advisory_lock({_BATCH_LOCK})", (batch_id,)).fetchone()[0]
        conn.commit()  # a session lock: it outlives the transaction, which must not stay open
        if not locked:  # being loaded again, or its own load is dropping it right now
            continue
        try:
            staging.drop_batch(conn, batch_id)
            dropped.append(batch_id)
        finally:
            conn.execute(f"SELECT pg_advisory_unlock({_BATCH_LOCK})", (batch_id,))
            conn.commit()
    if dropped:
        log.warning("dropped the staging partitions left by earlier loads of batches %s", dropped)
    return dropped


def _reclaim_staging(conn: psycopg.Connection, tables: tuple[str, ...]) -> None:
    """Make the space of the rows just deleted from the shared staging tables (the rule hits, and
    the staging of units, procedures and feedback) reusable by the next batch.

    These are queues: every batch inserts and deletes its rows. Without a VACUUM the dead rows
    pile up and the rule queries scan them. Autovacuum would do it, but a server may run without
    it (the one this project is tested on does), so the load does it itself. It cannot reclaim
    rows deleted after the oldest running extraction began, which is why dossiers, the volume,
    have partitions of their own per batch instead (020_staging.sql). SKIP_LOCKED: a table
    another load is analyzing is left to the next load's VACUUM. TRUNCATE false: giving pages
    back needs an exclusive lock that concurrent writers keep from it (measured: VACUUMs retrying
    that lock for up to 15 s).
    """
    conn.autocommit = True  # VACUUM cannot run inside a transaction
    try:
        conn.execute(psycopg.sql.SQL("VACUUM (SKIP_LOCKED, TRUNCATE false) {}").format(psycopg.sql.SQL(", ").join(
            psycopg.sql.Identifier(*table.split(".")) for table in tables)))
    finally:
        conn.autocommit = False


def _failing_rules(validations: list[Validation]) -> dict[str, int]:
    failing: dict[str, int] = {}
    for validation in validations:
        for rule, count in validation.failing_rules().items():
            failing[rule] = failing.get(rule, 0) + count
    return failing


def _compute_hits(conn: psycopg.Connection, batch_id: int, suites: list[Suite]) -> None:
    """Run every record rule of the suites once; its rows go to staging.rule_hit (transient)."""
    conn.execute("DELETE FROM staging.rule_hit WHERE batch_id = %s", (batch_id,))
    # A batch's keys fit in memory: with the default 4MB the calendar rule sorted them on disk
    # three times over (measured on a 51k-dossier batch: 0.35 s, 0.30 s sorted in memory).
    conn.execute("SET LOCAL work_mem = '64MB'")
    for suite in suites:
        for rule in suite.hit_rules:
            statement = (
                "INSERT INTO staging.rule_hit (batch_id, check_id, rule, kind, ordinal, record_key, detail) "
                "SELECT %(batch_id)s, %(check_id)s, %(rule)s, %(kind)s, broken.ordinal, broken.record_key, broken.detail "
                f"FROM ({suite.bind(rule.unexpected_rows_query, batch_id).replace('%', '%%')}) AS broken"
            )
            started = time.perf_counter()
            with psycopg.ClientCursor(conn) as cursor:
                cursor.execute(statement, {"batch_id": batch_id, "check_id": rule.check_id, "rule": rule.name,
                                           "kind": rule.kind})
                hits = cursor.rowcount
            RULE_TIMINGS[rule.check_id] = round(time.perf_counter() - started, 3)
            log.debug("rule %s (%s): %d rows in %.2fs", rule.name, rule.check_id, hits, RULE_TIMINGS[rule.check_id])


def _quarantine(conn: psycopg.Connection, batch_id: int, entity: str, suites: list[Suite]) -> int:
    """Quarantine every record a rule of the suites returned; returns the number of records set aside.
    A rule that still fails when a batch is loaded again re-opens its row."""
    conn.execute(
        """INSERT INTO quality.quarantine (entity, record_key, rule, detail, batch_id, ordinal, payload)
           SELECT DISTINCT ON (hit.ordinal, hit.rule) %(entity)s, hit.record_key, hit.rule, coalesce(hit.detail, hit.rule),
                  raw.batch_id, raw.ordinal, raw.payload
           FROM staging.rule_hit AS hit
           JOIN raw.record AS raw ON raw.batch_id = hit.batch_id AND raw.ordinal = hit.ordinal
           WHERE hit.batch_id = %(batch_id)s AND hit.kind = 'quarantine'
           ORDER BY hit.ordinal, hit.rule, hit.check_id
           ON CONFLICT (batch_id, ordinal, rule) DO UPDATE SET detail = EXCLUDED.detail,
               resolved_at = NULL, resolved_batch_id = NULL, resolution = NULL""",
        {"entity": entity, "batch_id": batch_id},
    )
    return conn.execute(
        "SELECT count(DISTINCT ordinal) FROM quality.quarantine WHERE batch_id = %s AND resolved_at IS NULL",
        (batch_id,),
    ).fetchone()[0]


def _warn(conn: psycopg.Connection, batch_id: int, entity: str, suites: list[Suite]) -> dict[str, int]:
    """Keep the warnings of the records that load (a quarantined record is judged by its rule)."""
    conn.execute(
        """INSERT INTO quality.warning (entity, record_key, rule, detail, batch_id, ordinal)
           SELECT DISTINCT ON (hit.ordinal, hit.rule) %(entity)s, hit.record_key, hit.rule,
                  coalesce(hit.detail, hit.rule), hit.batch_id, hit.ordinal
           FROM staging.rule_hit AS hit
           WHERE hit.batch_id = %(batch_id)s AND hit.kind = 'warning'
             AND NOT EXISTS (SELECT 1 FROM quality.quarantine AS q WHERE q.batch_id = hit.batch_id
                             AND q.ordinal = hit.ordinal AND q.resolved_at IS NULL)
           ORDER BY hit.ordinal, hit.rule, hit.check_id
           ON CONFLICT (batch_id, ordinal, rule) DO UPDATE SET detail = EXCLUDED.detail""",
        {"entity": entity, "batch_id": batch_id},
    )
    return dict(conn.execute(
        "SELECT rule, count(*) FROM quality.warning WHERE batch_id = %s GROUP BY rule ORDER BY rule", (batch_id,)
    ).fetchall())


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


def _resolve_loaded_later(conn: psycopg.Connection, batch_id: int, entity: str, staging_table: str) -> None:
    """A quarantined record whose key this batch loaded (corrected, or no longer waiting for
    reference data) is resolved: quality.md, "marked resolved"."""
    statement = psycopg.sql.SQL(
        """UPDATE quality.quarantine AS q
           SET resolved_at = now(), resolved_batch_id = %(batch_id)s, resolution = 'loaded_later'
           FROM (SELECT DISTINCT raw.record_key FROM raw.record AS raw
                 JOIN {staged} AS staged ON staged.batch_id = raw.batch_id AND staged.ordinal = raw.ordinal
                 WHERE raw.batch_id = %(batch_id)s AND raw.record_key IS NOT NULL
                   AND NOT EXISTS (SELECT 1 FROM quality.quarantine AS mine
                                   WHERE mine.batch_id = raw.batch_id AND mine.ordinal = raw.ordinal
                                     AND mine.resolved_at IS NULL)) AS loaded
           WHERE q.entity = %(entity)s AND q.resolved_at IS NULL AND q.batch_id <> %(batch_id)s
             AND q.record_key = loaded.record_key"""
    ).format(staged=psycopg.sql.Identifier(*staging_table.split(".")))
    conn.execute(statement, {"batch_id": batch_id, "entity": entity})


def _store_validation(conn: psycopg.Connection, batch_id: int | None, validation: Validation) -> int:
    return conn.execute(
        """INSERT INTO quality.validation_result (batch_id, suite, stage, success, statistics, results)
           VALUES (%s, %s, %s, %s, %s, %s) RETURNING validation_id""",
        (batch_id, validation.suite, validation.stage, validation.success, json.dumps(validation.statistics),
         json.dumps(validation.result_json, default=str)),
    ).fetchone()[0]


def _record_audit(conn: psycopg.Connection, audit: LoadAudit) -> None:
    if audit.extracted != audit.loaded + audit.quarantined:
        raise AuditMismatchError(
            f"batch {audit.batch_id}: extracted {audit.extracted} != loaded {audit.loaded} "
            f"+ quarantined {audit.quarantined}"
        )
    conn.execute(
        """INSERT INTO quality.run_audit (batch_id, entity, extracted, loaded, unchanged, quarantined, warnings)
           VALUES (%s, %s, %s, %s, %s, %s, %s)
           ON CONFLICT (batch_id) DO UPDATE
           SET extracted = EXCLUDED.extracted, loaded = EXCLUDED.loaded, unchanged = EXCLUDED.unchanged,
               quarantined = EXCLUDED.quarantined, warnings = EXCLUDED.warnings, audited_at = now()""",
        (audit.batch_id, audit.entity, audit.extracted, audit.loaded, audit.unchanged, audit.quarantined,
         sum(audit.warnings.values())),
    )


# Rejection -------------------------------------------------------------------------------------


def _reject(conn: psycopg.Connection, batch: batch_rules.BatchInfo, validations: list[Validation],
            results: list[batch_rules.RuleResult], failed: list[batch_rules.RuleResult]) -> list[int]:
    """In a fresh transaction: the batch is 'rejected' with its reason; the validation and batch-rule
    results are kept (they are the evidence); nothing else of the batch is."""
    reason = "; ".join(f"{r.rule}: {r.detail}" for r in failed)
    validation_ids = [_store_validation(conn, batch.batch_id, v) for v in validations]
    batch_rules.store_results(conn, batch.batch_id, results)
    conn.execute("UPDATE raw.batch SET status = 'rejected', status_reason = %s WHERE batch_id = %s",
                 (reason, batch.batch_id))
    conn.commit()
    log.error("batch %d (%s) rejected before core: %s", batch.batch_id, batch.entity, reason)
    return validation_ids


def _window_text(batch: batch_rules.BatchInfo) -> str:
    if batch.window_start is None:
        return "whole list (no window)"
    return f"{batch.window_start.isoformat()} .. {batch.window_end.isoformat()}"


def _top_units(conn: psycopg.Connection, batch: batch_rules.BatchInfo, unit_column: str | None,
               staging_table: str) -> str:
    if not unit_column:
        return "-"
    rows = conn.execute(
        psycopg.sql.SQL("SELECT {c}, count(*) FROM {t} WHERE batch_id = %s GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 10")
        .format(c=psycopg.sql.Identifier(unit_column), t=psycopg.sql.Identifier(*staging_table.split("."))),
        (batch.batch_id,),
    ).fetchall()
    return ", ".join(f"{unit} ({n})" for unit, n in rows) or "-"


def _rejection(conn, batch, validations, failed, quarantined, validation_ids) -> BatchRejectedError:
    entity = ENTITIES[batch.entity]
    urls = data_docs.render_stored(conn, validation_ids)
    unit_column = batch_rules.thresholds().get("unit_columns", {}).get(batch.entity)
    top = sorted(_failing_rules(validations).items(), key=lambda item: (-item[1], item[0]))[:10]
    subject = f"[tthc] batch {batch.batch_id} ({batch.entity}) rejected: " + ", ".join(r.rule for r in failed)
    lines = [
        f"Batch rule failed: batch {batch.batch_id} of {batch.entity} ({batch.endpoint}) stopped before core; "
        "nothing was merged (raw.batch.status = 'rejected').",
        f"Window: {_window_text(batch)}",
        f"Records: {batch.extracted} extracted, {quarantined} would have been quarantined",
        f"Units (records): {_top_units(conn, batch, unit_column, entity.staging_tables[0])}",
        "Failed batch rules:",
        *[f"  - {r.rule}: {r.detail}" for r in failed],
        "Top failing record rules (records):",
        *([f"  - {rule}: {count}" for rule, count in top] or ["  (none)"]),
        "Where to look:",
        *[f"  Data Docs: {url}" for url in urls.values()],
        f"  SQL: SELECT * FROM quality.batch_rule_result WHERE batch_id = {batch.batch_id};",
        "  To accept the batch anyway: adjust the thresholds (include/reference/quality_thresholds.json or "
        "env TTHC_QUALITY_THRESHOLDS) and clear/re-run the load task.",
    ]
    return BatchRejectedError(subject.removeprefix("[tthc] ") + "\n" + "\n".join(lines), subject, lines)


def _core_failure(batch, validation: Validation, url: str | None) -> CoreInvariantError:
    failing = validation.failing_rules()
    subject = f"[tthc] core invariants broken after batch {batch.batch_id} ({batch.entity})"
    lines = [
        f"Invariant check {validation.suite} failed after batch {batch.batch_id} was merged.",
        f"Window: {_window_text(batch)}",
        *[f"  - {rule}: {count} rows" for rule, count in failing.items()],
        "Where to look:",
        f"  Data Docs: {url or data_docs.docs_dir()}",
    ]
    return CoreInvariantError("\n".join(lines), subject, lines)
