"""Regenerate the Lai Châu unit files from the `vietnam-provinces` wheels.

Usage (from the repository root, wheels fetched with `pip download --no-deps`):

    python -m simulator.reference.extract_units OLD_UNPACKED_DIR NEW_UNPACKED_DIR

where the directories are the unpacked wheels of vietnam-provinces 0.6.0 and 2025.10.1.
The lineage file is written from the units and the facts in `NOTES_LINEAGE`; see README.md.
"""

from __future__ import annotations

import csv
import json
import sys
import unicodedata
from pathlib import Path

LAI_CHAU = 12
HERE = Path(__file__).parent

# Third-party mapping for the former Nậm Nhùn district (shared notes, to check against the
# Resolution of the National Assembly Standing Committee on Lai Châu's 2025 rearrangement).
NOTES_LINEAGE = {
    "Lê Lợi": ["Lê Lợi", "Nậm Pì", "Pú Đao", "Chăn Nưa"],
    "Nậm Hàng": ["Nậm Nhùn", "Nậm Manh", "Nậm Hàng"],
    "Mường Mô": ["Mường Mô", "Nậm Chà"],
    "Hua Bum": ["Hua Bun", "Vàng San"],
    "Pa Tần": ["Pa Tần", "Nậm Ban", "Trung Chải"],
}
PREFIXES = ("Thị trấn ", "Phường ", "Xã ")


def bare_name(name: str) -> str:
    for prefix in PREFIXES:
        if name.startswith(prefix):
            name = name[len(prefix) :]
    return unicodedata.normalize("NFC", name).casefold()


def _province(unpacked: Path) -> dict:
    divisions = json.loads((unpacked / "vietnam_provinces/data/nested-divisions.json").read_text())
    return next(p for p in divisions if p["code"] == LAI_CHAU)


def main(old_dir: str, new_dir: str) -> None:
    old = _province(Path(old_dir))
    new = _province(Path(new_dir))
    old_rows = [
        {
            "district_gso": f"{d['code']:03d}",
            "district_name": d["name"],
            "commune_gso": f"{w['code']:05d}",
            "commune_name": w["name"],
        }
        for d in old["districts"]
        for w in d["wards"]
    ]
    new_rows = [{"commune_gso": f"{w['code']:05d}", "commune_name": w["name"]} for w in new["wards"]]
    _write(HERE / "units_before_2025-07-01.csv", old_rows)
    _write(HERE / "units_from_2025-07-01.csv", new_rows)
    _write(HERE / "lineage_2025-07-01.csv", build_lineage(old_rows, new_rows))


def build_lineage(old_rows: list[dict], new_rows: list[dict]) -> list[dict]:
    new_by_name = {bare_name(n["commune_name"]): n for n in new_rows}
    new_by_code = {n["commune_gso"]: n for n in new_rows}
    links: dict[tuple[str, str], str] = {}
    noted = set()
    for new_name, old_names in NOTES_LINEAGE.items():
        target = new_by_name[bare_name(new_name)]
        for old_name in old_names:
            for o in old_rows:
                if bare_name(o["commune_name"]) == bare_name(old_name):
                    links[(o["commune_gso"], target["commune_gso"])] = "notes"
                    noted.add(o["commune_gso"])
    for o in old_rows:
        if o["commune_gso"] in noted:
            continue
        # The 2025 package reuses the code of the commune whose seat the new unit kept.
        if o["commune_gso"] in new_by_code:
            links.setdefault((o["commune_gso"], o["commune_gso"]), "package")
        match = new_by_name.get(bare_name(o["commune_name"]))
        if match:
            links.setdefault((o["commune_gso"], match["commune_gso"]), "name-match")
    # Communes with neither fact nor match: the nearest surviving code within the same old
    # district (GSO codes are assigned roughly geographically). An assumption, marked as such.
    mapped = {old for old, _ in links}
    district_of = {o["commune_gso"]: o["district_gso"] for o in old_rows}
    for o in old_rows:
        if o["commune_gso"] in mapped:
            continue
        candidates = sorted(
            {new for old, new in links if district_of[old] == o["district_gso"]},
            key=lambda code: abs(int(code) - int(o["commune_gso"])),
        )
        links[(o["commune_gso"], candidates[0])] = "assumed"
    old_name = {o["commune_gso"]: o["commune_name"] for o in old_rows}
    return [
        {
            "old_commune_gso": old,
            "old_commune_name": old_name[old],
            "old_district_gso": district_of[old],
            "new_commune_gso": new,
            "new_commune_name": new_by_code[new]["commune_name"],
            "basis": basis,
        }
        for (old, new), basis in sorted(links.items())
    ]


def _write(path: Path, rows: list[dict]) -> None:
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


if __name__ == "__main__":
    main(*sys.argv[1:3])
