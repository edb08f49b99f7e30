"""Lai Châu's unit tree (before and after 2025-07-01) as /api/v1/donvi records.

Communes and districts are real (see reference/README.md); departments and district offices are
the usual ones of a province of the time, with codes of the scheme in docs/architecture.md.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

REFERENCE = Path(__file__).parent / "reference"
PROVINCE_CODE = "H35"
PLANTED_DISTRICT = "H35.112"  # Nậm Nhùn
REFORM_DAY = "20250701"
LAST_DAY_BEFORE_REFORM = "20250630"
UNITS_UPDATED = "20240115080000"

DEPARTMENTS = [
    "Sở Tư pháp",
    "Sở Kế hoạch và Đầu tư",
    "Sở Tài nguyên và Môi trường",
    "Sở Xây dựng",
    "Sở Giao thông vận tải",
    "Sở Y tế",
    "Sở Giáo dục và Đào tạo",
    "Sở Lao động - Thương binh và Xã hội",
    "Sở Công Thương",
    "Sở Nông nghiệp và Phát triển nông thôn",
    "Sở Nội vụ",
    "Sở Văn hóa, Thể thao và Du lịch",
    "Sở Thông tin và Truyền thông",
    "Sở Tài chính",
    "Sở Khoa học và Công nghệ",
]
DISTRICT_OFFICES = [
    "Phòng Tư pháp",
    "Phòng Tài nguyên và Môi trường",
    "Phòng Kinh tế - Hạ tầng",
    "Phòng Lao động - Thương binh và Xã hội",
    "Chi nhánh Văn phòng đăng ký đất đai",
]
# Lai Châu city has a Phòng Quản lý đô thị instead of Kinh tế - Hạ tầng; rural districts often
# name it Phòng Kinh tế - Hạ tầng. Kept uniform but named per district kind.
CITY_OFFICE_NAMES = {2: "Phòng Quản lý đô thị"}
# Districts created after the province was re-established in 2004 (approximate first day of
# operation; earlier units in the simulator start 2004-01-01). Only matters for validity checks.
DISTRICT_SINCE = {"105": "20140101", "111": "20090101", "112": "20130101"}


@dataclass
class Unit:
    code: str
    name: str
    kind: str  # TINH, SO_NGANH, HUYEN, PHONG_HUYEN, XA
    parent: str | None
    gso: str | None
    valid_from: str
    valid_to: str | None = None
    successors: tuple[str, ...] = ()
    district: str | None = None  # the district (H35.1xx) this unit belongs to, if any
    updated: str = UNITS_UPDATED  # NgayCapNhat of the record

    def as_record(self) -> dict:
        return {
            "MaDonVi": self.code,
            "TenDonVi": self.name,
            "LoaiDonVi": self.kind,
            "MaDonViCha": self.parent,
            "MaGSO": self.gso,
            "HieuLucTu": self.valid_from,
            "HieuLucDen": self.valid_to,
            "MaDonViMoi": ",".join(self.successors) or None,
            "NgayCapNhat": self.updated,
        }


def _read(name: str) -> list[dict]:
    with (REFERENCE / name).open(encoding="utf-8") as rows:
        return list(csv.DictReader(rows))


def old_communes() -> list[dict]:
    return _read("units_before_2025-07-01.csv")


def new_communes() -> list[dict]:
    return _read("units_from_2025-07-01.csv")


def lineage() -> list[dict]:
    return _read("lineage_2025-07-01.csv")


def build_units() -> list[Unit]:
    successors: dict[str, list[str]] = defaultdict(list)
    for row in lineage():
        successors[row["old_commune_gso"]].append(f"{PROVINCE_CODE}.X.{row['new_commune_gso']}")

    units = [Unit(PROVINCE_CODE, "Ủy ban nhân dân tỉnh Lai Châu", "TINH", None, "12", "20040101")]
    for number, name in enumerate(DEPARTMENTS, start=1):
        # Several departments merged in 2025; the simulator keeps them valid for simplicity.
        units.append(
            Unit(f"{PROVINCE_CODE}.S{number:02d}", name, "SO_NGANH", PROVINCE_CODE, None, "20040101")
        )

    districts: dict[str, list[dict]] = defaultdict(list)
    for row in old_communes():
        districts[(row["district_gso"], row["district_name"])].append(row)
    for (district_gso, district_name), communes in sorted(districts.items()):
        district = f"{PROVINCE_CODE}.{district_gso}"
        since = DISTRICT_SINCE.get(district_gso, "20040101")
        district_successors = tuple(sorted({s for c in communes for s in successors[c["commune_gso"]]}))
        units.append(
            Unit(
                district,
                f"Ủy ban nhân dân {district_name[0].lower()}{district_name[1:]}",
                "HUYEN",
                PROVINCE_CODE,
                district_gso,
                since,
                LAST_DAY_BEFORE_REFORM,
                district_successors,
                district,
            )
        )
        for number, office in enumerate(DISTRICT_OFFICES, start=1):
            if district_gso == "105":
                office = CITY_OFFICE_NAMES.get(number - 1, office)
            units.append(
                Unit(
                    f"{district}.P{number:02d}",
                    f"{office} {district_name[0].lower()}{district_name[1:]}",
                    "PHONG_HUYEN",
                    district,
                    None,
                    since,
                    LAST_DAY_BEFORE_REFORM,
                    district_successors,
                    district,
                )
            )
        for commune in communes:
            units.append(
                Unit(
                    f"{district}.{commune['commune_gso']}",
                    commune["commune_name"],
                    "XA",
                    district,
                    commune["commune_gso"],
                    since,
                    LAST_DAY_BEFORE_REFORM,
                    tuple(successors[commune["commune_gso"]]),
                    district,
                )
            )
    for commune in new_communes():
        units.append(
            Unit(
                f"{PROVINCE_CODE}.X.{commune['commune_gso']}",
                commune["commune_name"],
                "XA",
                PROVINCE_CODE,
                commune["commune_gso"],
                REFORM_DAY,
            )
        )
    return units
