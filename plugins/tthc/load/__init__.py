"""Raw → staging → quality gate → core, for one raw batch: write-audit-publish.

``load_batch`` is the whole load, in five named steps, each a module of this package:

1. ``stage``: the batch's typed rows in staging, committed, with fresh statistics;
2. ``gate``: every record rule once, and the suites validated (``<entity>.raw``, ``<entity>.staging``);
3. ``publish``: under the entity's lock, in one transaction: quarantine and warnings set aside, the
   batch rules judge the batch, then merge, audit and status, or the batch is rejected;
4. ``cleanup``: the batch's staged rows go (whatever happened before);
5. ``core_check``: ``<entity>.core`` on what was merged, and the batch's Data Docs pages.

A crash anywhere before the publishing commit leaves core untouched, and re-running the batch gives
the same result; re-running a loaded batch writes nothing new. Loads of different batches run
concurrently: staging rows carry their batch id and every rule, suite and merge statement is scoped
to it; only publishing is serialized per entity. A second load of the same batch waits for the
first (a session lock on the batch).
"""

from __future__ import annotations

import logging
from dataclasses import replace

from tthc import warehouse
from tthc.entities import ENTITIES
from tthc.load import batch as batch_lock
from tthc.load.audit import AuditMismatchError, LoadAudit
from tthc.load.cleanup import clean_up, drop_finished_staging
from tthc.load.core_check import check_core
from tthc.load.gate import run_gate
from tthc.load.publish import publish
from tthc.load.stage import analyze_core, stage
from tthc.load.timer import StepTimer
from tthc.quality.alerts import BatchRejectedError, CoreInvariantError

__all__ = [
    "AuditMismatchError",
    "BatchRejectedError",
    "CoreInvariantError",
    "LoadAudit",
    "drop_finished_staging",
    "load_batch",
]

log = logging.getLogger(__name__)


def load_batch(batch_id: int, *, dsn: str) -> LoadAudit:
    timer = StepTimer()
    dsn = warehouse.session_conninfo(dsn)  # also for Great Expectations' own connections
    with warehouse.connect(dsn=dsn) as conn:
        batch, status = batch_lock.read_batch(conn, batch_id)
        entity = ENTITIES[batch.entity]
        batch_lock.hold(conn, batch_id)
        try:
            with timer.step("stage"):
                stage(conn, batch_id, entity)
            with timer.step("analyze_core"):
                analyze_core(conn)
            gate = run_gate(conn, batch_id, entity.name, dsn, timer)
            audit, validation_ids = publish(conn, batch, entity, gate, timer)
        finally:
            with timer.step("reclaim_staging"):
                clean_up(conn, batch_id, entity)
        check_core(conn, batch, dsn, validation_ids, timer)

    audit = replace(audit, timings=timer.timings)
    log.info("loaded batch %d (%s, was %s): %s", batch_id, entity.name, status, audit)
    return audit
