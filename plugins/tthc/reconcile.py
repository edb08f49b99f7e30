"""Does the warehouse hold what the source says it holds? Daily, per unit and day.

The source publishes its own counts (``/api/v1/thongke/hoso``); a difference beyond the tolerance
means records were lost or duplicated somewhere between the API and ``core``, and fails the run
(which alerts) with the unit-days that disagree.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

import psycopg

from tthc import warehouse
from tthc.settings import FIRST_SOURCE_ID, LOCAL_TZ
from tthc.source_client import Endpoint, SourceClient

log = logging.getLogger(__name__)


class ReconciliationError(RuntimeError):
    """The warehouse and the source disagree beyond the tolerance."""


@dataclass(frozen=True)
class Reconciliation:
    first_day: date
    last_day: date
    unit_days: int
    mismatches: list[dict[str, Any]] = field(default_factory=list)


def reconcile(
    conn: psycopg.Connection,
    client: SourceClient,
    first_day: date,
    end_day: date,
    *,
    max_share: float = 0.01,
    max_absolute: int = 0,
    source_id: str = FIRST_SOURCE_ID,
) -> Reconciliation:
    """Compare [first_day, end_day) of one source (the one ``client`` reaches) and record the
    comparison in quality.reconciliation."""
    start = datetime.combine(first_day, time(), LOCAL_TZ)
    end = datetime.combine(end_day, time(), LOCAL_TZ)
    conn.execute(
        "CREATE TEMP TABLE source_count (unit_code text, day date, received int, finished int) ON COMMIT DROP"
    )
    rows = (
        (
            item["MaDonVi"],
            datetime.strptime(str(item["Ngay"]), "%Y%m%d").date(),
            int(item["SoTiepNhan"]),
            int(item["SoDaXuLy"]),
        )
        for item in client.iter_records(Endpoint.DOSSIER_COUNTS, start=start, end=end)
    )
    unit_days = warehouse.copy_rows(conn, "source_count", ("unit_code", "day", "received", "finished"), rows)
    mismatches = warehouse.query(
        conn,
        "quality/reconciliation.sql",
        {
            "checked_at": datetime.now(LOCAL_TZ),
            "max_share": max_share,
            "max_absolute": max_absolute,
            "source_id": source_id,
        },
    )
    result = Reconciliation(first_day, end_day, unit_days, mismatches)
    log.info(
        "reconciled %s .. %s: %d unit-days, %d outside tolerance",
        first_day,
        end_day,
        unit_days,
        len(mismatches),
    )
    return result


def describe(result: Reconciliation, limit: int = 20) -> str:
    lines = [
        f"{len(result.mismatches)} of {result.unit_days} unit-days differ from the source "
        f"({result.first_day} .. {result.last_day}):"
    ]
    for row in result.mismatches[:limit]:
        lines.append(
            f"  {row['unit_code']} {row['day']}: received source {row['source_received']} / warehouse "
            f"{row['warehouse_received']}, finished source {row['source_finished']} / warehouse "
            f"{row['warehouse_finished']}"
        )
    return "\n".join(lines)
