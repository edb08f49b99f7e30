"""What the pipeline extracts: each entity's endpoint, key and how it is made safe to write."""

from __future__ import annotations

from dataclasses import dataclass

from tthc import staging


@dataclass(frozen=True)
class Entity:
    name: str
    endpoint: str
    key_field: str              # source field that identifies a record
    incremental: bool           # extracted by NgayCapNhat window, or taken whole
    staging_tables: tuple[str, ...]
    # The volume entity's way (tthc.staging): typed in Python by the extraction, page by page, into
    # partitions of the batch's own that the load drops whole. The others are staged by
    # include/sql/staging/<entity>.sql into shared tables that the load empties of the batch.
    staged_in_batch_partitions: bool = False


DOSSIER = Entity("dossier", "/api/v1/hoso", "MaHoSo", True, tuple(f"staging.{table}" for table in staging.LAYOUT),
                 staged_in_batch_partitions=True)
FEEDBACK = Entity("feedback", "/api/v1/phananh", "MaPAKN", True, ("staging.feedback",))
UNIT = Entity("unit", "/api/v1/donvi", "MaDonVi", False, ("staging.unit",))
PROCEDURE = Entity("procedure", "/api/v1/thutuc", "MaTTHC", False, ("staging.procedure",))

ENTITIES = {entity.name: entity for entity in (UNIT, PROCEDURE, DOSSIER, FEEDBACK)}
