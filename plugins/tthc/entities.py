"""What the pipeline extracts: each entity's endpoint, key and staging tables."""

from __future__ import annotations

from dataclasses import dataclass

from tthc.source_client import Endpoint
from tthc.staging.dossier import LAYOUT as DOSSIER_LAYOUT


@dataclass(frozen=True)
class Entity:
    name: str
    endpoint: Endpoint
    key_field: str  # source field that identifies a record
    incremental: bool  # extracted by NgayCapNhat window, or taken whole
    staging_tables: tuple[str, ...]
    # The volume entity's way (tthc.staging): typed in Python by the extraction, page by page, into
    # partitions of the batch's own that the load drops whole. The others are staged by
    # include/sql/staging/<entity>.sql into shared tables that the load empties of the batch.
    staged_in_batch_partitions: bool = False

    @property
    def main_staging_table(self) -> str:
        """The table with one row per source record (the others hold a record's child lists)."""
        return self.staging_tables[0]


DOSSIER = Entity(
    "dossier",
    Endpoint.DOSSIERS,
    "MaHoSo",
    True,
    tuple(f"staging.{table}" for table in DOSSIER_LAYOUT),
    staged_in_batch_partitions=True,
)
FEEDBACK = Entity("feedback", Endpoint.FEEDBACK, "MaPAKN", True, ("staging.feedback",))
UNIT = Entity("unit", Endpoint.UNITS, "MaDonVi", False, ("staging.unit",))
PROCEDURE = Entity("procedure", Endpoint.PROCEDURES, "MaTTHC", False, ("staging.procedure",))

ENTITIES = {entity.name: entity for entity in (UNIT, PROCEDURE, DOSSIER, FEEDBACK)}
