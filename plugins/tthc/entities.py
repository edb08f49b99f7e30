"""What the pipeline extracts: each entity's endpoint, key and how it is made safe to write."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Entity:
    name: str
    endpoint: str
    key_field: str              # source field that identifies a record
    incremental: bool           # extracted by NgayCapNhat window, or taken whole
    staging_tables: tuple[str, ...]


DOSSIER = Entity(
    "dossier", "/api/v1/hoso", "MaHoSo", True,
    ("staging.dossier", "staging.dossier_document", "staging.dossier_fee", "staging.dossier_result",
     "staging.dossier_supplement", "staging.dossier_step"),
)
FEEDBACK = Entity("feedback", "/api/v1/phananh", "MaPAKN", True, ("staging.feedback",))
UNIT = Entity("unit", "/api/v1/donvi", "MaDonVi", False, ("staging.unit",))
PROCEDURE = Entity("procedure", "/api/v1/thutuc", "MaTTHC", False, ("staging.procedure",))

ENTITIES = {entity.name: entity for entity in (UNIT, PROCEDURE, DOSSIER, FEEDBACK)}
