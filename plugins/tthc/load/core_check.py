"""Step 5, core check: after the commit, ``<entity>.core`` checks the invariants of what the batch
merged, and the Data Docs pages of the batch's validations are rendered (outside the publishing
transaction and the hot path)."""

from __future__ import annotations

import psycopg

from tthc.load.timer import StepTimer
from tthc.quality import alerts, data_docs
from tthc.quality.batch_rules import BatchInfo
from tthc.quality.evidence import store_validation
from tthc.quality.gx_runner import validate_table
from tthc.quality.suites import find_suite


def check_core(
    conn: psycopg.Connection, batch: BatchInfo, dsn: str, validation_ids: list[int], timer: StepTimer
) -> None:
    """Validate core after the merge and render the batch's Data Docs; raises
    ``CoreInvariantError`` (no retry, one alert) when an invariant is broken."""
    with timer.step("core_check"):
        suite = find_suite(f"{batch.entity}.core")
        validation = validate_table(suite, dsn, batch.batch_id) if suite else None
        if validation is not None:
            validation_ids = [*validation_ids, store_validation(conn, batch.batch_id, validation)]
            conn.commit()
    with timer.step("data_docs"):
        urls = data_docs.render_stored(conn, validation_ids)
    if validation is not None and not validation.success:
        raise alerts.core_invariants_broken(
            batch,
            validation.suite,
            validation.failing_rules(),
            urls.get(validation_ids[-1]) or str(data_docs.docs_dir()),
        )
