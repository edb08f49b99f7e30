"""The provinces the simulator can serve (docs/simulator-provinces.md): one registry entry each.

``lai_chau`` is the original province (its tree from reference/, its planted figures), unchanged.
The others are made up: a tree of the same shape as Lai Châu's generated from the province's id,
so every run gives the same units, with codes that no other province uses (their own ``H9x``
prefix). ``bac_ha`` and ``nam_ha`` are two provinces whose systems stop receiving on 2025-06-30;
``ha_hop`` is the province they merged into, on a new system from 2025-07-01, whose unit list
carries the old provinces' units with their successors (``MaDonViMoi``) on its own communes.
"""

from __future__ import annotations

import hashlib
import random
import unicodedata
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from types import MappingProxyType

from simulator.catalogue import CATALOGUE, Procedure
from simulator.units import DEPARTMENTS, DISTRICT_OFFICES, Unit, build_units

REFORM_DAY = "20250701"
LAST_DAY_BEFORE_REFORM = "20250630"
MADE_UP_SINCE = "20080101"
MADE_UP_UNITS_UPDATED = "20240115080000"
MERGED_UNITS_UPDATED = "20250701070000"  # the merged province's own units
PREDECESSOR_UNITS_UPDATED = "20250625080000"  # the merger's old units, alike in both systems' lists


@dataclass(frozen=True)
class ProvinceSpec:
    """One simulated provincial system."""

    id: str
    code: str  # the province unit's MaDonVi, the prefix of every unit code of the province
    name: str  # short name, as in "tỉnh <name>"
    gso: str  # the province unit's MaGSO
    code_style: (
        str  # MaHoSo: "unit" = <receiving unit>-<yyMMdd>-<serial:05d>, "system" = <yyMMdd>-<serial:06d>
    )
    dossiers_per_year: int  # default volume
    start: date  # first day of data (first reception day generated)
    now: datetime  # the system's default "now": no event at or after it
    reception_end: date | None = None  # first day without reception (None: receives until now)
    domain: str = "laichau.gov.vn"  # of the result links and the officials' mail
    planted: bool = False  # Lai Châu's planted figures and portal story
    predecessors: tuple[str, ...] = ()  # ids of the provinces merged into this one
    district_quality: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))
    district_size: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))
    perturbed_share: float = 0.0  # share of the catalogue given a provincial time limit or fee
    build: Callable[[], list[Unit]] | None = field(default=None, compare=False, repr=False)

    @property
    def salt(self) -> int:
        """Mixed into the seed so that two provinces drawn with one seed differ; 0 for Lai Châu,
        whose draws stay those of the single-province simulator."""
        return 0 if self.id == DEFAULT_PROVINCE else zlib.crc32(self.id.encode())

    @property
    def full_name(self) -> str:
        return f"Tỉnh {self.name}"

    @property
    def last_reception_day(self) -> date:
        """The last day the system may receive a dossier on."""
        end = self.reception_end or self.now.date()
        return date.fromordinal(end.toordinal() - 1)

    def units(self) -> list[Unit]:
        assert self.build is not None
        return self.build()

    def procedures(self) -> list[Procedure]:
        """The national catalogue with this province's own time limits and fees (a few %)."""
        return perturbed_catalogue(self.id, self.perturbed_share)


# Procedures per province ---------------------------------------------------------------------


def _uniform(*parts: object) -> float:
    digest = hashlib.blake2b("|".join(str(p) for p in parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def perturbed_catalogue(province_id: str, share: float) -> list[Procedure]:
    """The catalogue, with a deterministic ``share`` of its procedures changed for the province:
    half of them a shorter (or, when already at a day or less, longer) time limit, the other half
    (those with a fee) the fee waived (``CoPhiLePhi`` false), as provinces do by their own
    resolutions. Same codes (``MaTTHC``) as the national catalogue. ``share`` 0: the catalogue
    itself (the same objects)."""
    if share <= 0:
        return CATALOGUE
    procedures = []
    for procedure in CATALOGUE:
        u = _uniform("procedure", province_id, procedure.code)
        if u < share / 2:
            limit = procedure.time_limit
            new_limit = limit - max(1, int(limit // 3)) if limit >= 2 else limit + 1
            procedure = replace(procedure, time_limit=type(limit)(new_limit))
        elif u < share and procedure.has_fee:
            procedure = replace(procedure, has_fee=False)
        procedures.append(procedure)
    return procedures


# Made-up unit trees --------------------------------------------------------------------------

FIRST = [
    "Tân",
    "Bình",
    "Hòa",
    "Phú",
    "An",
    "Thạnh",
    "Mường",
    "Nà",
    "Pa",
    "Sơn",
    "Thanh",
    "Hưng",
    "Long",
    "Vĩnh",
    "Đông",
    "Tây",
    "Quang",
    "Minh",
    "Phong",
    "Tiến",
    "Yên",
    "Kim",
    "Hồng",
    "Đồng",
    "Lương",
    "Trung",
    "Thượng",
    "Cao",
    "Lạc",
    "Chiềng",
    "Phúc",
    "Ngọc",
    "Bảo",
    "Nghĩa",
    "Hoàng",
    "Thái",
]
SECOND = [
    "Lập",
    "Thành",
    "Phú",
    "Hòa",
    "Sơn",
    "Lâm",
    "Bình",
    "Tiến",
    "Hưng",
    "Phong",
    "Xuân",
    "Thịnh",
    "Lợi",
    "Yên",
    "Mỹ",
    "Đức",
    "Trạch",
    "Cường",
    "Khê",
    "Hà",
    "Giang",
    "Tú",
    "Lộc",
    "Thuận",
    "Mai",
    "Châu",
    "Nhai",
    "Khoa",
    "Vân",
    "Hải",
    "Tâm",
    "Tường",
    "Hiệp",
    "Quế",
    "Chung",
    "Sinh",
    "Liên",
    "Kiệt",
]


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


class _Names:
    """Unique two-syllable Vietnamese place names, from a seeded draw."""

    def __init__(self, rng: random.Random, taken: set[str]) -> None:
        self._rng = rng
        self._taken = taken

    def next(self) -> str:
        while True:
            name = _nfc(f"{self._rng.choice(FIRST)} {self._rng.choice(SECOND)}")
            a, b = name.split()
            if a != b and name not in self._taken:
                self._taken.add(name)
                return name


@dataclass(frozen=True)
class _TreeShape:
    code: str
    name: str
    gso: str
    district_codes: tuple[str, ...]  # 3-digit MaGSO of each district; the first is a city
    communes: tuple[int, ...]  # communes per district
    commune_base: int  # first commune MaGSO (5 digits)


def _old_tree(shape: _TreeShape, valid_to_all: bool) -> tuple[list[Unit], list[dict]]:
    """The province before 2025-07-01 and, per old commune, its rows of the lineage (the new
    commune it went to, by MaGSO). ``valid_to_all``: every unit ends on 2025-06-30 (the province
    itself stops with its system)."""
    rng = random.Random(f"tree|{shape.code}")
    names = _Names(rng, set())
    province_to = LAST_DAY_BEFORE_REFORM if valid_to_all else None
    units = [
        Unit(
            shape.code,
            _nfc(f"Ủy ban nhân dân tỉnh {shape.name}"),
            "TINH",
            None,
            shape.gso,
            MADE_UP_SINCE,
            province_to,
        )
    ]
    for number, name in enumerate(DEPARTMENTS, start=1):
        units.append(
            Unit(
                f"{shape.code}.S{number:02d}", name, "SO_NGANH", shape.code, None, MADE_UP_SINCE, province_to
            )
        )
    lineage: list[dict] = []
    gso = shape.commune_base
    for k, (district_gso, count) in enumerate(zip(shape.district_codes, shape.communes, strict=True)):
        city = k == 0
        district_name = _nfc(("Thành phố " if city else "Huyện ") + names.next())
        district = f"{shape.code}.{district_gso}"
        lower = district_name[0].lower() + district_name[1:]
        units.append(
            Unit(
                district,
                f"Ủy ban nhân dân {lower}",
                "HUYEN",
                shape.code,
                district_gso,
                MADE_UP_SINCE,
                LAST_DAY_BEFORE_REFORM,
                district=district,
            )
        )
        for number, office in enumerate(DISTRICT_OFFICES, start=1):
            units.append(
                Unit(
                    f"{district}.P{number:02d}",
                    _nfc(f"{office} {lower}"),
                    "PHONG_HUYEN",
                    district,
                    None,
                    MADE_UP_SINCE,
                    LAST_DAY_BEFORE_REFORM,
                    district=district,
                )
            )
        communes = []
        for c in range(count):
            city_kind = "Phường" if c < count - 2 else "Xã"
            kind = city_kind if city else ("Thị trấn" if c == 0 else "Xã")
            name = district_name.removeprefix("Huyện ") if kind == "Thị trấn" else names.next()
            communes.append((f"{gso:05d}", _nfc(f"{kind} {name}")))
            gso += 1
        for commune_gso, commune_name in communes:
            units.append(
                Unit(
                    f"{district}.{commune_gso}",
                    commune_name,
                    "XA",
                    district,
                    commune_gso,
                    MADE_UP_SINCE,
                    LAST_DAY_BEFORE_REFORM,
                    district=district,
                )
            )
        # 2025-07-01: groups of 2 to 4 neighbouring communes merge into one, named after and coded
        # as its first member (as the reform mostly did); in the first district one commune is
        # split between two new ones.
        groups, rest = [], list(communes)
        while rest:
            size = min(len(rest), rng.choice((2, 3, 3, 4)))
            if len(rest) - size == 1:
                size += 1
            groups.append(rest[:size])
            rest = rest[size:]
        for g, group in enumerate(groups):
            new_gso, first_name = group[0]
            kind = "Phường" if first_name.startswith("Phường") else "Xã"
            new_name = _nfc(f"{kind} {first_name.split(' ', 2 if first_name.startswith('Thị') else 1)[-1]}")
            members = list(group)
            if k == 0 and g == 1:
                members.append(groups[0][-1])  # the split commune: also part of this new one
            for old_gso, old_name in members:
                lineage.append(
                    {
                        "old_code": f"{district}.{old_gso}",
                        "old_commune_name": old_name,
                        "new_commune_gso": new_gso,
                        "new_commune_name": new_name,
                    }
                )
    return units, lineage


def _with_successors(units: list[Unit], lineage: list[dict], new_prefix: str) -> list[Unit]:
    """Units with ``successors`` (MaDonViMoi) from the lineage: communes to their new communes,
    districts and their offices to all their communes' new communes."""
    successors: dict[str, list[str]] = {}
    for row in lineage:
        successors.setdefault(row["old_code"], []).append(f"{new_prefix}.X.{row['new_commune_gso']}")
    by_district: dict[str, set[str]] = {}
    for unit in units:
        if unit.kind == "XA" and unit.code in successors:
            by_district.setdefault(unit.district or "", set()).update(successors[unit.code])
    result = []
    for unit in units:
        if unit.kind == "XA":
            found = tuple(successors.get(unit.code, ()))
        elif unit.kind in ("HUYEN", "PHONG_HUYEN"):
            found = tuple(sorted(by_district.get(unit.district or "", ())))
        else:
            found = unit.successors
        result.append(replace(unit, successors=found))
    return result


def _new_communes(lineage: list[dict], prefix: str, parent: str) -> list[Unit]:
    seen: dict[str, str] = {}
    for row in lineage:
        if row["new_commune_gso"] not in seen:
            name = row["new_commune_name"]
            while name in seen.values():  # two old provinces may have had communes of one name
                name += " Mới"
            seen[row["new_commune_gso"]] = name
    return [
        Unit(f"{prefix}.X.{gso}", name, "XA", parent, gso, REFORM_DAY) for gso, name in sorted(seen.items())
    ]


def _independent(shape: _TreeShape) -> Callable[[], list[Unit]]:
    """A province on one system across 2025-07-01, like Lai Châu: old tree, then new communes."""

    def build() -> list[Unit]:
        old, lineage = _old_tree(shape, valid_to_all=False)
        units = _with_successors(old, lineage, shape.code)
        return units + _new_communes(lineage, shape.code, shape.code)

    return build


def _predecessor(shape: _TreeShape, merged: str) -> tuple[list[Unit], list[dict]]:
    """An old province of the merger as both systems list it: every unit ending 2025-06-30, with
    its successors on the merged province ``merged`` (MaDonViMoi): communes to their new communes,
    districts and offices to all their communes' new communes, departments to the merged
    province's department of the same number, the province to the merged province. The records
    are the same in the old system's list and in the merged system's (a warehouse that loads both
    sees one description of each unit)."""
    tree, rows = _old_tree(shape, valid_to_all=True)
    units = []
    for unit in _with_successors(tree, rows, merged):
        if unit.kind == "TINH":
            unit = replace(unit, successors=(merged,))
        elif unit.kind == "SO_NGANH":
            unit = replace(unit, successors=(f"{merged}.{unit.code.rsplit('.', 1)[1]}",))
        units.append(replace(unit, updated=PREDECESSOR_UNITS_UPDATED))
    return units, rows


def _closing(shape: _TreeShape, merged: str) -> Callable[[], list[Unit]]:
    """A province whose system stops receiving at the merger: its old tree, every unit ending
    2025-06-30, with the successors the merged province gives them (codes of the merged system's
    list, not of this one)."""

    def build() -> list[Unit]:
        return _predecessor(shape, merged)[0]

    return build


def _merged(code: str, name: str, gso: str, old: tuple[_TreeShape, ...]) -> Callable[[], list[Unit]]:
    """The merged province's list: its own units from 2025-07-01 (province, departments, new
    communes coded by the first old commune of each), then every unit of the old provinces with
    its successors on the new units (MaDonViMoi), as Lai Châu's old communes carry theirs."""

    def build() -> list[Unit]:
        units = [Unit(code, _nfc(f"Ủy ban nhân dân tỉnh {name}"), "TINH", None, gso, REFORM_DAY)]
        for number, department in enumerate(DEPARTMENTS, start=1):
            units.append(Unit(f"{code}.S{number:02d}", department, "SO_NGANH", code, None, REFORM_DAY))
        lineage: list[dict] = []
        history: list[Unit] = []
        for shape in old:
            tree, rows = _predecessor(shape, code)
            lineage += rows
            history += tree
        units += _new_communes(lineage, code, code)
        units = [replace(u, updated=MERGED_UNITS_UPDATED) for u in units]
        return units + history

    return build


def _quality(codes: tuple[str, ...], high: float, low: float) -> Mapping[str, float]:
    step = (high - low) / max(1, len(codes) - 1)
    return MappingProxyType({c: round(high - k * step, 2) for k, c in enumerate(codes)})


SON_LAM = _TreeShape("H90", "Sơn Lâm", "90", ("901", "902", "903", "904", "905"), (18, 22, 20, 24, 16), 90001)
BAC_HA = _TreeShape("H91", "Bắc Hà", "91", ("911", "912", "913", "914", "915"), (14, 16, 15, 13, 17), 91001)
NAM_HA = _TreeShape("H92", "Nam Hà", "92", ("921", "922", "923", "924"), (16, 14, 18, 15), 92001)

PROVINCES: dict[str, ProvinceSpec] = {
    spec.id: spec
    for spec in (
        ProvinceSpec(
            id="lai_chau",
            code="H35",
            name="Lai Châu",
            gso="12",
            code_style="unit",
            dossiers_per_year=100_000,
            start=date(2022, 12, 1),
            now=datetime(2024, 7, 1),
            domain="laichau.gov.vn",
            planted=True,
            build=build_units,
        ),
        ProvinceSpec(
            id="son_la_gia",
            code=SON_LAM.code,
            name=SON_LAM.name,
            gso=SON_LAM.gso,
            code_style="system",
            dossiers_per_year=80_000,
            start=date(2024, 1, 1),
            now=datetime(2026, 1, 1),
            domain="sonlam.gov.vn",
            district_quality=_quality(SON_LAM.district_codes, 0.9, 0.2),
            district_size=MappingProxyType({"901": 1.4, "902": 1.0, "903": 0.9, "904": 1.1, "905": 0.6}),
            perturbed_share=0.04,
            build=_independent(SON_LAM),
        ),
        ProvinceSpec(
            id="bac_ha",
            code=BAC_HA.code,
            name=BAC_HA.name,
            gso=BAC_HA.gso,
            code_style="system",
            dossiers_per_year=50_000,
            start=date(2024, 1, 1),
            now=datetime(2025, 8, 1),
            reception_end=date(2025, 7, 1),
            domain="bacha.gov.vn",
            district_quality=_quality(BAC_HA.district_codes, 0.85, 0.3),
            perturbed_share=0.04,
            build=_closing(BAC_HA, "H93"),
        ),
        ProvinceSpec(
            id="nam_ha",
            code=NAM_HA.code,
            name=NAM_HA.name,
            gso=NAM_HA.gso,
            code_style="system",
            dossiers_per_year=40_000,
            start=date(2024, 1, 1),
            now=datetime(2025, 8, 1),
            reception_end=date(2025, 7, 1),
            domain="namha.gov.vn",
            district_quality=_quality(NAM_HA.district_codes, 0.75, 0.15),
            perturbed_share=0.04,
            build=_closing(NAM_HA, "H93"),
        ),
        ProvinceSpec(
            id="ha_hop",
            code="H93",
            name="Hà Hợp",
            gso="93",
            code_style="unit",
            dossiers_per_year=90_000,
            start=date(2025, 7, 1),
            now=datetime(2026, 1, 1),
            domain="hahop.gov.vn",
            predecessors=("bac_ha", "nam_ha"),
            perturbed_share=0.04,
            build=_merged("H93", "Hà Hợp", "93", (BAC_HA, NAM_HA)),
        ),
    )
}
DEFAULT_PROVINCE = "lai_chau"


def get_province(province_id: str) -> ProvinceSpec:
    try:
        return PROVINCES[province_id]
    except KeyError:
        known = ", ".join(PROVINCES)
        raise ValueError(f"unknown province {province_id!r}: one of {known}") from None
