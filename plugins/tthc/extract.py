"""Source → raw: one extraction of one entity for one window becomes one raw batch.

Pages are streamed from the API, made safe (pseudonymized, NFC) and copied into ``raw.record`` as
they arrive, so memory does not grow with the window (one page at a time). Dossiers are also typed
into staging while the page is at hand (``tthc.staging.dossier``), which spares the load reading them back,
and their shape is judged (``raw.record.well_shaped``), which spares the record_shape rules most payloads.
The batch row, its records and their staging rows are written in one transaction: a killed
extraction leaves nothing behind, and the next run starts clean.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime

import psycopg

from tthc import warehouse
from tthc.cycles import collector_paused
from tthc.entities import Entity
from tthc.pseudonymize import Pseudonymizer, landed_json, nfc
from tthc.settings import FIRST_SOURCE_ID
from tthc.source_client import SourceClient
from tthc.staging import partitions
from tthc.staging.dossier import DossierRows, well_shaped

log = logging.getLogger(__name__)


RAW_COLUMNS = ("batch_id", "ordinal", "record_key", "payload", "payload_hash", "well_shaped")


@dataclass(frozen=True)
class ExtractedBatch:
    batch_id: int
    entity: str
    window_start: datetime | None
    window_end: datetime | None
    record_count: int
    reported_total: int | None
    checksum: str


def extract_to_raw(
    conn: psycopg.Connection,
    client: SourceClient,
    entity: Entity,
    pseudonymizer: Pseudonymizer,
    window_start: datetime | None = None,
    window_end: datetime | None = None,
    airflow_run_id: str | None = None,
    source_id: str = FIRST_SOURCE_ID,
) -> ExtractedBatch:
    digest = hashlib.sha256()
    first_total: list[int] = []

    batch_id = conn.execute(
        """INSERT INTO raw.batch
               (source_id, entity, endpoint, window_start, window_end, record_count, checksum, airflow_run_id)
           VALUES (%s, %s, %s, %s, %s, 0, '', %s) RETURNING batch_id""",
        (source_id, entity.name, entity.endpoint, window_start, window_end, airflow_run_id),
    ).fetchone()[0]

    pages = (
        client.iter_pages(entity.endpoint, start=window_start, end=window_end)
        if entity.incremental
        else client.iter_pages(entity.endpoint)
    )
    count = 0
    in_partitions = entity.staged_in_batch_partitions
    if in_partitions:
        partitions.open_batch(conn, batch_id)
    with collector_paused():  # pages are decoded, masked and typed here: see tthc.cycles
        for page in pages:
            if not first_total:
                first_total.append(page.total_elements)
            landed = []
            staged = DossierRows(batch_id) if in_partitions else None
            for record in page.records:
                masked = pseudonymizer.mask(entity.name, record)
                payload = landed_json(masked)
                payload_bytes = payload.encode()
                digest.update(payload_bytes)
                payload_hash = hashlib.md5(payload_bytes, usedforsecurity=False).hexdigest()
                count += 1
                key = record.get(entity.key_field)
                # Judged on the masked record, the one that lands (a personal field is a token whatever it held).
                shape = well_shaped(masked) if staged is not None else None
                landed.append(
                    (
                        batch_id,
                        count,
                        None if key in (None, "") else nfc(str(key)),
                        payload,
                        payload_hash,
                        shape,
                    )
                )
                if staged is not None:
                    staged.add(count, masked, payload_hash)
            warehouse.copy_rows(conn, "raw.record", RAW_COLUMNS, landed)
            if staged is not None:
                partitions.copy_into_batch(conn, staged)

    checksum = digest.hexdigest()
    reported_total = first_total[0] if first_total else 0
    conn.execute(
        "UPDATE raw.batch SET record_count = %s, reported_total = %s, checksum = %s WHERE batch_id = %s",
        (count, reported_total, checksum, batch_id),
    )
    if in_partitions:
        partitions.attach_batch(conn, batch_id)  # last: its lock on staging is held until the commit
    log.info(
        "extracted %s of %s %s..%s: %d records into raw batch %d",
        entity.name,
        source_id,
        window_start,
        window_end,
        count,
        batch_id,
    )
    return ExtractedBatch(batch_id, entity.name, window_start, window_end, count, reported_total, checksum)
