"""Step 1, stage: the batch's typed rows in staging, committed (Great Expectations reads them on
connections of its own), with the statistics the rule queries and the merge plan with."""

from __future__ import annotations

import psycopg

from tthc import warehouse
from tthc.entities import Entity
from tthc.staging import partitions


def stage(conn: psycopg.Connection, batch_id: int, entity: Entity) -> None:
    """Dossiers were typed into their batch's partitions by the extraction (and are typed again from
    raw only when those are gone); the other entities are staged by their SQL. Commits."""
    if entity.staged_in_batch_partitions:
        partitions.stage_from_raw(conn, batch_id)
        staged_in = partitions.rule_read_partitions(batch_id)
    else:
        warehouse.run_sql(conn, f"staging/{entity.name}.sql", {"batch_id": batch_id})
        staged_in = entity.staging_tables
    conn.commit()
    # The plans need row counts and the batch's shares, not fine histograms: a small sample gives
    # the same plans at a fraction of the cost (docs/performance.md).
    warehouse.analyze(conn, staged_in, lock=f"tthc.analyze.{entity.name}", statistics_target=10)


def analyze_core(conn: psycopg.Connection) -> None:
    """The rules and the merge join core's dimensions and facts: their statistics must follow the loads."""
    warehouse.analyze_stale(conn)
