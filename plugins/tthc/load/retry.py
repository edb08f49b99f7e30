"""Records waiting for reference data, loaded again once what they wait for is known."""

from __future__ import annotations

import logging

from tthc import warehouse
from tthc.load import load_batch
from tthc.quality import retry
from tthc.settings import FIRST_SOURCE_ID

log = logging.getLogger(__name__)


def retry_waiting(dsn: str, entity: str = "dossier", source_id: str = FIRST_SOURCE_ID) -> dict | None:
    """Copy what of the source waits for reference data into a retry batch, load it through the
    normal path and close the original quarantine rows; returns the retry batch's audit (None:
    nothing waited)."""
    with warehouse.connect(dsn=dsn) as conn:
        batch_id = retry.create_retry_batch(conn, entity, source_id)
    if batch_id is None:
        return None
    audit = load_batch(batch_id, dsn=dsn)
    with warehouse.connect(dsn=dsn) as conn:
        closed = retry.close_sources(conn, batch_id)
    log.info(
        "retry batch %d: %d loaded, %d quarantined again; %d quarantine rows closed",
        batch_id,
        audit.loaded,
        audit.quarantined,
        closed,
    )
    return audit.as_dict()
