"""The books of a load: ``extracted = loaded + quarantined``, kept in ``quality.run_audit``."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import psycopg

from tthc.settings import FIRST_SOURCE_ID


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
    warnings: dict[str, int] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    units_changed: list[str] = field(default_factory=list)
    rule_seconds: dict[str, float] = field(default_factory=dict)
    source_id: str = FIRST_SOURCE_ID

    def as_dict(self) -> dict:
        return asdict(self)


def record_audit(conn: psycopg.Connection, audit: LoadAudit) -> None:
    """Check the books balance and keep them (in the publishing transaction)."""
    if audit.extracted != audit.loaded + audit.quarantined:
        raise AuditMismatchError(
            f"batch {audit.batch_id}: extracted {audit.extracted} != loaded {audit.loaded} "
            f"+ quarantined {audit.quarantined}"
        )
    conn.execute(
        """INSERT INTO quality.run_audit
               (batch_id, source_id, entity, extracted, loaded, unchanged, quarantined, warnings)
           VALUES (%s, %s, %s, %s, %s, %s, %s, %s)
           ON CONFLICT (batch_id) DO UPDATE
           SET extracted = EXCLUDED.extracted, loaded = EXCLUDED.loaded, unchanged = EXCLUDED.unchanged,
               quarantined = EXCLUDED.quarantined, warnings = EXCLUDED.warnings, audited_at = now()""",
        (
            audit.batch_id,
            audit.source_id,
            audit.entity,
            audit.extracted,
            audit.loaded,
            audit.unchanged,
            audit.quarantined,
            sum(audit.warnings.values()),
        ),
    )
