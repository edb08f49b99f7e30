"""Step 2, gate: every record rule of the batch's suites, run once, and the suites validated.

The rows each rule returns go to ``staging.rule_hit`` (transient); the publish step turns them into
quarantine and warning rows. Nothing here writes outside staging, so batches of one entity pass
their gates at the same time.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import psycopg

from tthc.load.timer import StepTimer
from tthc.quality.gx_runner import Validation, validate_table
from tthc.quality.suites import Suite, find_suite, load_suite

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GateResult:
    suites: list[Suite]
    validations: list[Validation]
    rule_seconds: dict[str, float] = field(default_factory=dict)

    def failing_rules(self) -> dict[str, int]:
        """Record rule -> records it returned, over the batch's suites."""
        failing: dict[str, int] = {}
        for validation in self.validations:
            for rule, count in validation.failing_rules().items():
                failing[rule] = failing.get(rule, 0) + count
        return failing


def batch_suites(entity_name: str) -> list[Suite]:
    """The suites a batch of the entity passes before it is published: raw (if any), then staging."""
    return [
        suite for suite in (find_suite(f"{entity_name}.raw"), load_suite(f"{entity_name}.staging")) if suite
    ]


def run_gate(
    conn: psycopg.Connection, batch_id: int, entity_name: str, dsn: str, timer: StepTimer
) -> GateResult:
    suites = batch_suites(entity_name)
    with timer.step("rule_queries"):
        rule_seconds = compute_hits(conn, batch_id, suites)
        conn.commit()
    with timer.step("validate"):
        validations = [validate_table(suite, dsn, batch_id) for suite in suites]
    return GateResult(suites, validations, rule_seconds)


def compute_hits(conn: psycopg.Connection, batch_id: int, suites: list[Suite]) -> dict[str, float]:
    """Run every record rule of the suites once into staging.rule_hit; returns seconds per rule."""
    conn.execute("DELETE FROM staging.rule_hit WHERE batch_id = %s", (batch_id,))
    # A batch's keys fit in memory: with the default work_mem the calendar rule sorts them on disk.
    conn.execute("SET LOCAL work_mem = '64MB'")
    seconds: dict[str, float] = {}
    for suite in suites:
        for rule in suite.hit_rules:
            statement = (
                "INSERT INTO staging.rule_hit (batch_id, check_id, rule, kind, ordinal, record_key, detail) "
                "SELECT %(batch_id)s, %(check_id)s, %(rule)s, %(kind)s, broken.ordinal, broken.record_key, broken.detail "
                f"FROM ({suite.bind(rule.unexpected_rows_query, batch_id).replace('%', '%%')}) AS broken"
            )
            started = time.perf_counter()
            with psycopg.ClientCursor(conn) as cursor:
                cursor.execute(
                    statement,
                    {"batch_id": batch_id, "check_id": rule.check_id, "rule": rule.name, "kind": rule.kind},
                )
                hits = cursor.rowcount
            seconds[rule.check_id] = round(time.perf_counter() - started, 3)
            log.debug(
                "rule %s (%s): %d rows in %.2fs", rule.name, rule.check_id, hits, seconds[rule.check_id]
            )
    return seconds
