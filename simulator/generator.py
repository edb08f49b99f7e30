"""Deterministic simulation of a provincial dossier export (see docs/architecture.md): Lai Châu by
default, or another province of ``simulator.provinces`` (docs/simulator-provinces.md).

Dossiers are drawn as numpy columns (``table.DossierTable``), planted, given defects and quirks,
and only rendered to API dicts when iterated, so a million of them fit in memory.

Processing steps (``QuaTrinhXuLy``) name the office that took each step (``PhongBanXuLy``), as a
one-stop shop works: the reception step (status 2) and the return of the result (status 10) at the
receiving unit's one-stop desk ("Bộ phận Một cửa" at a commune, "Bộ phận tiếp nhận và trả kết
quả" elsewhere), every other step at the competent unit's department for the procedure's field
("Bộ phận <TenLinhVuc>" at a commune, "Phòng <TenLinhVuc>" elsewhere). The office is derived,
never drawn: it consumes no random number, so every other value is what it would be without it.
The ground truth reads the same steps (``Province.step_offices``) for the watchlist's ``office``.
"""

from __future__ import annotations

import functools
import math
import random
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from types import MappingProxyType

import numpy as np

from simulator import defects, people
from simulator.catalogue import (
    E_CERT_COPY_NAME,
    E_CERT_COPY_PROCEDURE_CODES,
    FIELD_DEPARTMENT,
    FIELD_DISTRICT_OFFICE,
    Procedure,
)
from simulator.portal import Portal, choose_disagreements
from simulator.provinces import DEFAULT_PROVINCE, ProvinceSpec, get_province
from simulator.table import NA, DossierTable, to_datetime, to_seconds
from simulator.truth import GroundTruth, timeliness
from simulator.units import PLANTED_DISTRICT
from tthc.calendar import WorkingCalendar

__all__ = ["E_CERT_COPY_PROCEDURE_CODES", "Province", "SimulationConfig", "build_province", "dossier_code"]

REFORM = datetime(2025, 7, 1)
# Service quality of each district (GSO code): moves all its rates together. Spaced so that the
# 766 ranking is clear-cut, with Nậm Nhùn (112) seventh of eight.
DISTRICT_QUALITY = {
    "105": 0.95,
    "111": 0.83,
    "106": 0.71,
    "110": 0.59,
    "109": 0.47,
    "108": 0.35,
    "112": 0.23,
    "107": 0.11,
}
OTHER_QUALITY = 0.65
# Relative size of each district's communes (rough population per commune).
DISTRICT_SIZE = {
    "105": 1.4,
    "106": 1.0,
    "107": 0.8,
    "108": 0.9,
    "109": 1.0,
    "110": 1.1,
    "111": 1.0,
    "112": 0.45,
}
TIER_SHARES = {"commune": 0.62, "district": 0.23, "department": 0.15}
OFFICE_SHARES = [0.28, 0.08, 0.14, 0.10, 0.34]  # Tư pháp, TN&MT, KT-HT, LĐ-TB&XH, land registry
DISTRICT_COMMITTEE_SHARE = 0.06
PLANTED = {  # indicator -> (period start, period end (exclusive), percent)
    "ON_TIME_FINISHED": (date(2023, 1, 1), date(2024, 1, 1), 99.36),
    "RESULT_DIGITIZED": (date(2024, 1, 1), date(2024, 7, 1), 67.60),
    "ONLINE_PAYMENT": (date(2024, 1, 1), date(2024, 7, 1), 78.14),
}
RANK_PERIOD = (date(2023, 1, 1), date(2024, 1, 1))
# The portal story (issue 25): in each month of 2023, Nậm Nhùn's system synchronized its worse
# dossiers and left its better ones (paid online, received online, electronic result) out: this
# share of the possible swaps of a synced dossier for a better unsynced one is made.
PORTAL_STORY_PERIOD = (date(2023, 1, 1), date(2024, 1, 1))
PORTAL_STORY_SWAP_SHARE = 0.5
DATE_FIELDS = (
    "NgayNopHoSo",
    "NgayTiepNhan",
    "NgayHenTra",
    "NgayKetThucXuLy",
    "NgayTra",
    "NgayTuChoi",
    "NgayCapNhat",
)
STATUS_STEP_TEXT = {
    2: "Tiếp nhận hồ sơ",
    4: "Chuyển xử lý",
    5: "Yêu cầu bổ sung hồ sơ",
    6: "Yêu cầu thực hiện nghĩa vụ tài chính",
    7: "Công dân rút hồ sơ",
    8: "Dừng xử lý hồ sơ",
    9: "Hoàn thành xử lý",
    10: "Trả kết quả",
}
DESK_STATUSES = (2, 10)  # steps taken at the one-stop desk: reception and return of the result


@dataclass(frozen=True)
class SimulationConfig:
    """``start``, ``now`` and ``dossiers_per_year`` left None take the province's own (Lai Châu:
    2022-12-01, 2024-07-01, 100,000); after construction they always hold a value."""

    seed: int = 766
    start: date = None  # type: ignore[assignment]  # first reception date generated
    now: datetime = None  # type: ignore[assignment]  # the source's "now" (local time): no event at or after it
    dossiers_per_year: int = None  # type: ignore[assignment]  # province-wide volume
    defect_shares: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))
    nfd_share: float = 0.03  # share of records whose text is sent decomposed (NFD)
    alt_date_format_share: float = 0.05  # share of records with dates in another accepted format
    empty_string_null_share: float = 0.3  # share of records that send "" instead of null
    province: str = DEFAULT_PROVINCE  # an id of simulator.provinces.PROVINCES

    def __post_init__(self) -> None:
        spec = get_province(self.province)
        for name, default in (
            ("start", spec.start),
            ("now", spec.now),
            ("dossiers_per_year", spec.dossiers_per_year),
        ):
            if getattr(self, name) is None:
                object.__setattr__(self, name, default)
        if spec.predecessors and self.start < spec.start:
            raise ValueError(f"{spec.id}: the system starts on {spec.start}, not before")

    @property
    def spec(self) -> ProvinceSpec:
        return get_province(self.province)


@dataclass
class _UnitInfo:
    quality: np.ndarray
    district: list[str | None]
    officials: list[list[str]]


class Province:
    def __init__(
        self,
        config: SimulationConfig,
        units: list[dict],
        procedures: list[dict],
        table: DossierTable,
        info: _UnitInfo,
        feedback: list[dict],
    ) -> None:
        self.config = config
        self.spec = config.spec
        self.units = units
        self.procedures = procedures
        self.table = table
        self._info = info
        self._feedback = feedback
        self._names = {u["MaDonVi"]: u["TenDonVi"].removeprefix("Ủy ban nhân dân ") for u in units}
        self._commune_names = [u["TenDonVi"] for u in units if u["LoaiDonVi"] == "XA"]
        self.truth: GroundTruth  # set by build_province

    @functools.cached_property
    def portal(self) -> Portal:
        """What the national portal publishes about this province (no planted disagreement)."""
        return self.make_portal()

    def make_portal(self, disagreements: int = 0, codes: Iterable[str] = ()) -> Portal:
        """The portal's published scores; with ``disagreements`` dossiers (chosen from the seed,
        outside the planted district) and the dossiers named by ``codes`` counted as late by the
        portal although the export says on time (``Portal.disagreements`` lists them)."""
        chosen = choose_disagreements(
            self.truth, disagreements, self.config.seed, self._planted_unit_indices()
        )
        wanted = set(codes)
        if wanted:
            found = {self.dossier_code(i): i for i in range(len(self.table))}
            unknown = wanted - found.keys()
            if unknown:
                raise ValueError(f"no such dossier: {', '.join(sorted(unknown))}")
            t, truth = self.table, self.truth
            for code in sorted(wanted):
                i = found[code]
                if not (t.synced[i] == 1 and truth._finished[i] and truth._on_time[i] and t.due[i] != NA):
                    raise ValueError(
                        f"{code}: the portal can only count a synchronized dossier on time as late"
                    )
                chosen.append(i)
        return Portal(
            self.truth,
            self.table,
            self.units,
            span=(self.config.start, self.config.now.date()),
            seed=self.config.seed,
            disagreements=chosen,
            dossier_code=self.dossier_code,
            province_code=self.spec.code,
            province_name=self.spec.name,
        )

    def _planted_unit_indices(self) -> list[int]:
        if not self.spec.planted:
            return []
        planted = set(self.truth.descendants(PLANTED_DISTRICT))
        return [i for i, u in enumerate(self.units) if u["MaDonVi"] in planted]

    def iter_dossiers(self) -> Iterator[dict]:
        for index in range(len(self.table)):
            yield from self._render(index)

    def iter_feedback(self) -> Iterator[dict]:
        for record in self._feedback:
            yield dict(record)

    # Rendering ---------------------------------------------------------------------------------

    def _render(self, i: int) -> Iterator[dict]:
        t, config = self.table, self.config
        rng = random.Random(config.seed * 10_000_019 + i + (self.spec.salt << 40))
        record = self._canonical(i, rng)
        kind = defects.KINDS[t.defect[i]] if t.defect[i] >= 0 else None
        if kind is not None:
            kind.apply(record, config.now)
            if self.spec.code != "H35" and kind.rule == "unit_known":
                _own_unknown_units(record, self.spec.code, self.units)
        elif t.date_style[i]:
            _restyle_dates(record, int(t.date_style[i]))
        if t.empty_null[i]:
            _empty_nulls(record)
        if t.nfd[i]:
            record = _decompose(record)
        yield record
        if kind is not None and kind.name == "dossier_code_unique:twin":
            twin = self._canonical(i, rng)
            twin["SoDienThoai"] = people.phone(rng)
            twin["TrichYeuHoSo"] += " (nhập lại)"
            yield twin

    def _canonical(self, i: int, rng: random.Random) -> dict:
        t = self.table
        unit = self.units[t.unit[i]]
        receiving = self.units[t.receiving_unit[i]]
        procedure = self.procedures[t.procedure[i]]
        status = int(t.status[i])
        applicant_type = int(t.applicant_type[i])
        district_name = self._district_name(int(t.unit[i]))
        commune_name = unit["TenDonVi"] if unit["LoaiDonVi"] == "XA" else rng.choice(self._commune_names)
        if applicant_type == 2:
            owner = people.company_name(rng)
            owner_id = f"{rng.randrange(6_200_000_000, 6_299_999_999)}"
        else:
            owner = people.person_name(rng)
            owner_id = people.PLACEHOLDER_ID if rng.random() < 0.02 else people.citizen_id(rng)
        received = int(t.received[i])
        steps = self._steps(i, rng)
        results = []
        if status in (9, 10):
            results.append(
                {
                    "MaGiayToKetQua": f"KQ{rng.randrange(10**8):08d}",
                    "TenGiayTo": f"Kết quả {procedure['TenTTHC'][:60]}",
                    "DuongDanTepTinKetQua": (
                        f"https://dichvucong.{self.spec.domain}/ketqua/{rng.getrandbits(64):016x}.pdf"
                        if t.e_result[i]
                        else None
                    ),
                }
            )
        fees = []
        if t.fee[i] >= 0:
            fees.append(
                {
                    "MaPhiLePhi": f"PLP{t.procedure[i]:04d}",
                    "TenPhiLePhi": "Lệ phí giải quyết thủ tục",
                    "Gia": int(t.fee[i]),
                    "HinhThucThu": "Trực tuyến" if t.paid_online[i] else "Trực tiếp",
                }
            )
        documents = []
        digitized_left = int(t.digitized[i])
        for number in range(int(t.documents[i])):
            documents.append(
                {
                    "MaThanhPhanHoSo": f"TP{t.procedure[i]:04d}.{number + 1}",
                    "TenTepDinhKem": f"thanh_phan_{number + 1}.pdf",
                    "DuocSoHoa": int(digitized_left > 0 and number == 0),
                    "DuocTaiSuDung": int(bool(t.reused[i]) and number == 0),
                    "DuocLayTuKhoDMQG": int(bool(t.citizen_store[i]) and number == 0),
                }
            )
        supplements = []
        for k in range(2):
            requested = int(t.supplement_requested[i, k])
            if requested == NA:
                continue
            supplements.append(
                {
                    "HoSoBoSungId": f"BS{i:07d}{k + 1}",
                    "NgayBoSung": _fmt(requested),
                    "NgayTiepNhanBoSung": _fmt(int(t.supplement_received[i, k])),
                    "NgayHenTraTruoc": _fmt(int(t.due[i])),
                    "NgayHenTraMoi": _fmt(int(t.due[i])),
                }
            )
        channel = int(t.channel[i])
        return {
            "MaHoSo": dossier_code(self.units, t, i, self.spec.code_style),
            "MaTTHC": procedure["MaTTHC"],
            "TenTTHC": procedure["TenTTHC"],
            "MaLinhVuc": procedure["MaLinhVuc"],
            "TenLinhVuc": procedure["TenLinhVuc"],
            "MaDonViTiepNhan": receiving["MaDonVi"],
            "MaDonViXuLy": unit["MaDonVi"],
            "KenhThucHien": channel or None,
            "LoaiDoiTuong": applicant_type,
            "ChuHoSo": owner,
            "SoGiayToChuHoSo": owner_id,
            "SoDienThoai": people.phone(rng),
            "Email": people.email(rng, owner, self.spec.domain) if rng.random() < 0.4 else None,
            "DiaChi": people.address(rng, commune_name, district_name, self.spec.name),
            "TrichYeuHoSo": f"{procedure['TenTTHC'][:80]} - {owner}",
            "NgayNopHoSo": _fmt(int(t.submitted[i])),
            "NgayTiepNhan": _fmt(received),
            "NgayHenTra": _fmt(int(t.due[i])),
            "NgayKetThucXuLy": _fmt(int(t.end[i])),
            "NgayTra": _fmt(int(t.returned[i])),
            "NgayTuChoi": _fmt(int(t.refused[i])),
            "TrangThaiHoSo": status,
            "HoSoCoThanhPhanSoHoa": int(t.digitized[i]),
            "TaiKhoanDuocXacThucVoiVNeID": int(t.vneid[i]),
            "DuocThanhToanTrucTuyen": int(t.paid_online[i]),
            "DongBoDVCQG": int(t.synced[i]),
            "CoPhieuXinLoi": int(t.apology[i]),
            "KetQuaDanhGia": None if t.rating[i] < 0 else int(t.rating[i]),
            "DaXoa": int(t.deleted[i]),
            "NgayCapNhat": _fmt(int(t.updated[i])),
            "TaiLieuNop": documents,
            "DanhSachLePhi": fees,
            "DanhSachGiayToKetQua": results,
            "DanhSachHoSoBoSung": supplements,
            "QuaTrinhXuLy": steps,
        }

    def _steps(self, i: int, rng: random.Random) -> list[dict]:
        officials = self._info.officials[self.table.unit[i]]
        return [
            {
                "ThoiDiemXuLy": _fmt(moment),
                "TrangThai": status,
                "PhongBanXuLy": office,
                "NguoiXuLy": rng.choice(officials),
                "NoiDungXuLy": STATUS_STEP_TEXT.get(status, "Xử lý"),
            }
            for moment, status, office in self.step_offices(i)
        ]

    def step_offices(self, i: int) -> list[tuple[int, int, str]]:
        """(moment in table seconds, status, PhongBanXuLy) of dossier ``i``'s steps, as rendered."""
        t = self.table
        desk = _one_stop_desk(self.units[t.receiving_unit[i]])
        department = _department(self.units[t.unit[i]], self.procedures[t.procedure[i]])
        return [
            (moment, status, desk if status in DESK_STATUSES else department)
            for moment, status in _events(t, i)
        ]

    def dossier_code(self, i: int) -> str:
        """``MaHoSo`` of dossier ``i`` in the province's code style (``ProvinceSpec.code_style``)."""
        return dossier_code(self.units, self.table, i, self.spec.code_style)

    def _district_name(self, unit_index: int) -> str | None:
        district = self._info.district[unit_index]
        return self._names[district] if district else None

    def _personal_values(self) -> Iterator[str]:
        for record in self.iter_dossiers():
            values = [record[k] for k in ("ChuHoSo", "SoGiayToChuHoSo", "SoDienThoai", "Email", "DiaChi")]
            values += [step["NguoiXuLy"] for step in record["QuaTrinhXuLy"]]
            for value in values:
                if value:
                    yield value
                    yield unicodedata.normalize("NFC", value)
        for officials in self._info.officials:
            yield from officials


def dossier_code(units: list[dict], t: DossierTable, i: int, style: str = "unit") -> str:
    """``MaHoSo`` of dossier ``i``, from the day of its reception (or submission) and its serial:
    ``unit``: ``<receiving unit>-<yyMMdd>-<serial:05d>``, serial per receiving unit and day;
    ``system``: ``<yyMMdd>-<serial:06d>``, serial per day across the whole system."""
    moment = int(t.received[i]) if t.received[i] != NA else int(t.submitted[i])
    if style == "system":
        return f"{to_datetime(moment):%y%m%d}-{int(t.sequence[i]):06d}"
    return f"{units[t.receiving_unit[i]]['MaDonVi']}-{to_datetime(moment):%y%m%d}-{int(t.sequence[i]):05d}"


def _own_unknown_units(record: dict, code: str, units: list[dict]) -> None:
    """The unit defects name Lai Châu's codes: another province gets codes of its own."""
    new_communes = [u["MaDonVi"] for u in units if u["MaDonVi"].startswith(f"{code}.X.")]
    for name in ("MaDonViXuLy", "MaDonViTiepNhan"):
        value = record.get(name)
        if value == "H35.X.03434":
            record[name] = new_communes[0] if new_communes else f"{code}.X.99999"
        elif isinstance(value, str) and value.startswith("H35."):
            record[name] = code + value[3:]


def _one_stop_desk(unit: dict) -> str:
    return "Bộ phận Một cửa" if unit["LoaiDonVi"] == "XA" else "Bộ phận tiếp nhận và trả kết quả"


def _department(unit: dict, procedure: dict) -> str:
    return ("Bộ phận " if unit["LoaiDonVi"] == "XA" else "Phòng ") + procedure["TenLinhVuc"]


def _events(t: DossierTable, i: int) -> list[tuple[int, int]]:
    """(moment, status) processing steps, all before the dossier's NgayCapNhat."""
    events = []
    received, status, end = int(t.received[i]), int(t.status[i]), int(t.end[i])
    if received == NA:
        return events
    events.append((received, 2))
    if status == 2:
        return events
    horizon = [int(x) for x in (t.supplement_requested[i, 0], end, t.updated[i]) if x != NA]
    events.append((received + max(1, min(3600, (min(horizon) - received) // 3)), 4))
    for k in range(2):
        if t.supplement_requested[i, k] != NA:
            events.append((int(t.supplement_requested[i, k]), 5))
            if t.supplement_received[i, k] != NA:
                events.append((int(t.supplement_received[i, k]), 4))
    if end != NA:
        events.append((end, 9 if status == 10 else status))
    if t.returned[i] != NA:
        events.append((int(t.returned[i]), 10))
    return events


def _fmt(seconds: int) -> str | None:
    return None if seconds == NA else to_datetime(seconds).strftime("%Y%m%d%H%M%S")


def _restyle_dates(record: dict, style: int) -> None:
    def restyle(value):
        if not value:
            return value
        moment = datetime.strptime(value, "%Y%m%d%H%M%S")
        if style == 1:
            return moment.strftime("%Y-%m-%d %H:%M:%S")
        if style == 2:
            return moment.strftime("%Y-%m-%dT%H:%M:%S")
        return moment.strftime("%Y-%m-%dT%H:%M:%S.000")

    for name in DATE_FIELDS:
        record[name] = restyle(record[name])
    for supplement in record["DanhSachHoSoBoSung"]:
        for name in ("NgayBoSung", "NgayTiepNhanBoSung", "NgayHenTraTruoc", "NgayHenTraMoi"):
            supplement[name] = restyle(supplement[name])
    for step in record["QuaTrinhXuLy"]:
        step["ThoiDiemXuLy"] = restyle(step["ThoiDiemXuLy"])


def _empty_nulls(record: dict) -> None:
    # Text and date fields only: some deployments cannot send null strings.
    for name in (*DATE_FIELDS, "Email", "KenhThucHien"):
        if name in record and record[name] is None:
            record[name] = ""
    for supplement in record["DanhSachHoSoBoSung"]:
        if supplement["NgayTiepNhanBoSung"] is None:
            supplement["NgayTiepNhanBoSung"] = ""
    for result in record["DanhSachGiayToKetQua"]:
        if result["DuongDanTepTinKetQua"] is None:
            result["DuongDanTepTinKetQua"] = ""


def _decompose(value):
    if isinstance(value, str):
        return unicodedata.normalize("NFD", value)
    if isinstance(value, list):
        return [_decompose(v) for v in value]
    if isinstance(value, dict):
        return {k: _decompose(v) for k, v in value.items()}
    return value


# Building ------------------------------------------------------------------------------------


def build_province(config: SimulationConfig = SimulationConfig()) -> Province:  # noqa: B008 - frozen
    spec = config.spec
    rng = np.random.default_rng(config.seed if not spec.salt else [config.seed, spec.salt])
    calendar = WorkingCalendar.default()
    unit_objects = spec.units()
    units = [u.as_record() for u in unit_objects]
    catalogue = spec.procedures()
    procedures = [p.as_record() for p in catalogue]
    info = _unit_info(
        unit_objects, random.Random(config.seed if not spec.salt else f"{config.seed}|{spec.salt}"), spec
    )
    table = _draw(config, rng, calendar, unit_objects, info, spec, catalogue)
    feedback, feedback_seconds, has_pakn = _feedback(config, rng, calendar, units, table, info, spec)
    truth = GroundTruth(
        table,
        units,
        procedures,
        feedback,
        feedback_seconds,
        has_pakn,
        E_CERT_COPY_PROCEDURE_CODES,
        lambda: province._personal_values(),
        dossier_code=lambda i: province.dossier_code(i),
        steps=lambda i: province.step_offices(i),
    )
    if spec.planted:
        planted_units = set(truth.descendants(PLANTED_DISTRICT))
        planted_mask = np.isin(table.unit, [i for i, u in enumerate(units) if u["MaDonVi"] in planted_units])
        _plant(config, rng, table, truth, planted_units)
        swapped = _plant_sync(table, truth, planted_mask)
    else:
        planted_mask = np.zeros(len(table), dtype=bool)
    _add_defects(config, rng, table, planted_mask, truth, spec.code_style)
    _stamp_updates(config, rng, table)
    truth.refresh()
    province = Province(config, units, procedures, table, info, feedback)
    province.truth = truth
    if spec.planted:
        truth.planted = _planted_figures(truth)
        truth.planted["PORTAL_766"] = _portal_story(province, planted_mask, swapped)
    return province


def _unit_info(unit_objects, rng: random.Random, spec: ProvinceSpec) -> _UnitInfo:
    qualities = spec.district_quality or (DISTRICT_QUALITY if spec.planted else {})
    prefix = f"{spec.code}."
    quality = np.array(
        [qualities.get((u.district or "").removeprefix(prefix), OTHER_QUALITY) for u in unit_objects]
    )
    officials = [[people.person_name(rng) for _ in range(4)] for _ in unit_objects]
    return _UnitInfo(quality, [u.district for u in unit_objects], officials)


def _pools(unit_objects, rng: np.random.Generator, spec: ProvinceSpec, catalogue: list[Procedure]):
    """Units able to receive dossiers in each period, and each unit's procedure choices. Only the
    province's own units receive (the merged province's list also holds its predecessors')."""
    by_role: dict[str, list[int]] = {}
    for index, procedure in enumerate(catalogue):
        level = procedure.levels[0]
        if level == "X":
            roles = ["X", "XN"]
        elif level == "H":
            office = FIELD_DISTRICT_OFFICE.get(procedure.field_code)
            roles = ["XN", f"P{office + 1:02d}" if office is not None else "PC"]
        else:
            roles = [f"S{FIELD_DEPARTMENT[procedure.field_code] + 1:02d}"]
        for role in roles:
            by_role.setdefault(role, []).append(index)
    popularity = np.array([p.popularity for p in catalogue])
    roles = {}
    for role, indices in by_role.items():
        weights = popularity[indices]
        roles[role] = (np.array(indices), weights / weights.sum())
    before: dict[str, tuple[list[int], list[float]]] = {
        "commune": ([], []),
        "district": ([], []),
        "department": ([], []),
    }
    after: dict[str, tuple[list[int], list[float]]] = {"commune": ([], []), "department": ([], [])}
    unit_role = []
    sizes = spec.district_size or (DISTRICT_SIZE if spec.planted else {})
    prefix = f"{spec.code}."
    own = [u.code.split(".")[0] == spec.code for u in unit_objects]
    old_communes = sum(
        1 for u, mine in zip(unit_objects, own, strict=True) if mine and u.kind == "XA" and u.district
    )
    new_communes = sum(
        1 for u, mine in zip(unit_objects, own, strict=True) if mine and u.kind == "XA" and not u.district
    )
    for index, unit in enumerate(unit_objects):
        size = sizes.get((unit.district or "").removeprefix(prefix), 1.0)
        if not own[index]:
            role = None
        elif unit.kind == "SO_NGANH":
            role = f"S{unit.code[-2:]}"
            for pool in (before, after):
                pool["department"][0].append(index)
                pool["department"][1].append(rng.lognormal(0, 0.5))
        elif unit.kind == "HUYEN":
            role = "PC"
            before["district"][0].append(index)
            before["district"][1].append(size * 11 * DISTRICT_COMMITTEE_SHARE)
        elif unit.kind == "PHONG_HUYEN":
            role = unit.code[-3:]
            before["district"][0].append(index)
            before["district"][1].append(size * 11 * OFFICE_SHARES[int(unit.code[-2:]) - 1])
        elif unit.kind == "XA" and unit.district:
            role = "X"
            before["commune"][0].append(index)
            before["commune"][1].append(size * rng.lognormal(0, 0.4))
        elif unit.kind == "XA":
            role = "XN"
            after["commune"][0].append(index)
            # Lai Châu: 106 old communes, 38 new ones.
            weight = rng.lognormal(0, 0.4)
            after["commune"][1].append(weight * old_communes / new_communes if old_communes else weight)
        else:
            role = None
        unit_role.append(role)
    return before, after, unit_role, roles


def _choose(rng: np.random.Generator, pool: tuple[list[int], list[float]], n: int) -> np.ndarray:
    if not pool[0]:
        if n:
            raise ValueError("dossiers fall in a period in which no unit of the province receives")
        return np.zeros(0, dtype=np.int16)
    weights = np.array(pool[1])
    return np.array(pool[0])[rng.choice(len(weights), size=n, p=weights / weights.sum())]


def _draw(
    config: SimulationConfig,
    rng: np.random.Generator,
    calendar: WorkingCalendar,
    unit_objects,
    info: _UnitInfo,
    spec: ProvinceSpec,
    catalogue: list[Procedure],
) -> DossierTable:
    now = to_seconds(config.now)
    # Receptions until now, or until the system stopped receiving (the merger's old systems).
    until = config.now
    last_day = config.now.date()
    if spec.reception_end is not None and datetime.combine(spec.reception_end, datetime.min.time()) <= until:
        until = datetime.combine(spec.reception_end, datetime.min.time())
        last_day = spec.last_reception_day
    days = [d.day for d in calendar.days(config.start, last_day) if d.is_working_day]
    n = round(
        config.dossiers_per_year * (until - datetime.combine(config.start, datetime.min.time())).days / 365.25
    )
    # Reception instants: a working day, a moment within office hours.
    day_index = np.sort(rng.integers(0, len(days), size=n))
    office_second = rng.integers(0, 8 * 3600, size=n)
    clock = np.where(
        office_second < 4.5 * 3600, 7 * 3600 + office_second, 13.5 * 3600 + office_second - 4.5 * 3600
    )
    day_seconds = np.array([to_seconds(d) for d in days], dtype=np.int64)
    received = day_seconds[day_index] + clock.astype(np.int64)

    before, after, unit_role, roles = _pools(unit_objects, rng, spec, catalogue)
    reform = to_seconds(REFORM)
    unit = np.zeros(n, dtype=np.int16)
    is_before = received < reform
    tiers = np.array(list(TIER_SHARES))
    tier = rng.choice(len(tiers), size=n, p=list(TIER_SHARES.values()))
    for k, name in enumerate(tiers):
        mask = is_before & (tier == k)
        unit[mask] = _choose(rng, before[name], int(mask.sum()))
        mask = ~is_before & (tier == k)
        unit[mask] = _choose(rng, after["department" if name == "department" else "commune"], int(mask.sum()))

    procedure = np.zeros(n, dtype=np.int16)
    role_of = np.array([r or "" for r in unit_role])[unit]
    for role, (indices, weights) in roles.items():
        mask = role_of == role
        procedure[mask] = indices[rng.choice(len(indices), size=int(mask.sum()), p=weights)]
    _withhold_e_cert_copy(rng, unit, procedure, info, catalogue)

    quality = info.quality[unit]
    u = rng.random((n, 16))
    channel = np.where(u[:, 0] < 0.08 + 0.45 * quality, 2, np.where(u[:, 0] > 0.985, 3, 1)).astype(np.int8)
    channel[(channel == 1) & (u[:, 1] < 0.05)] = 0  # null channel, counts as in person
    online = channel == 2
    # A few online dossiers are received automatically late in the evening.
    evening = online & (u[:, 2] < 0.01)
    received[evening] = (
        day_seconds[day_index[evening]] + 19 * 3600 + (u[evening, 3] * 4 * 3600).astype(np.int64)
    )
    received = np.minimum(received, now - 60)
    submitted = received - np.where(online, 600 + u[:, 3] * 2 * 86400, u[:, 3] * 600).astype(np.int64)

    proc_fee = np.array([p.has_fee for p in catalogue])[procedure]
    fee = np.where(proc_fee & (u[:, 4] < 0.93), (rng.integers(1, 50, size=n) * 10_000), -1)
    fee = np.where(proc_fee & (fee < 0) & (u[:, 4] < 0.97), 0, fee)  # exempt: a line at 0
    paid = np.where((fee > 0) & (u[:, 5] < 0.70 + 0.28 * quality), np.where(u[:, 6] < 0.7, 1, 2), 0)

    table = DossierTable(
        unit=unit,
        receiving_unit=unit.copy(),
        procedure=procedure,
        submitted=submitted,
        received=received,
        due=np.full(n, NA, dtype=np.int64),
        end=np.full(n, NA, dtype=np.int64),
        returned=np.full(n, NA, dtype=np.int64),
        refused=np.full(n, NA, dtype=np.int64),
        supplement_requested=np.full((n, 2), NA, dtype=np.int64),
        supplement_received=np.full((n, 2), NA, dtype=np.int64),
        status=np.zeros(n, dtype=np.int8),
        channel=channel,
        applicant_type=np.where(
            u[:, 7] < 0.9, 1, np.where(u[:, 7] < 0.97, 2, np.where(u[:, 7] < 0.99, 4, 3))
        ).astype(np.int8),
        fee=fee.astype(np.int32),
        paid_online=paid.astype(np.int8),
        e_result=u[:, 8] < 0.58 + 0.45 * quality,
        digitized=(u[:, 9] < 0.2 + 0.6 * quality).astype(np.int8),
        reused=(u[:, 10] < 0.1 + 0.6 * quality).astype(np.int8),
        citizen_store=(u[:, 11] < 0.05 + 0.5 * quality).astype(np.int8),
        vneid=(online & (u[:, 12] < 0.3 + 0.65 * quality)).astype(np.int8),
        synced=(u[:, 13] < 0.6 + 0.4 * quality).astype(np.int8),
        apology=np.zeros(n, dtype=np.int8),
        rating=np.full(n, -1, dtype=np.int8),
        deleted=(u[:, 14] < 0.005).astype(np.int8),
        documents=rng.integers(1, 5, size=n).astype(np.int8),
        nfd=rng.random(n) < config.nfd_share,
        date_style=np.where(
            rng.random(n) < config.alt_date_format_share, rng.integers(1, 4, size=n), 0
        ).astype(np.int8),
        empty_null=rng.random(n) < config.empty_string_null_share,
        defect=np.full(n, -1, dtype=np.int16),
        sequence=np.zeros(n, dtype=np.int32),
        updated=np.full(n, NA, dtype=np.int64),
    )
    # District dossiers are usually received at the district's one-stop shop (its committee).
    district_index = {u.code: i for i, u in enumerate(unit_objects) if u.kind == "HUYEN"}
    kinds = np.array([u.kind for u in unit_objects])[unit]
    at_office = np.flatnonzero((kinds == "PHONG_HUYEN") & (u[:, 15] < 0.7))
    table.receiving_unit[at_office] = [district_index[unit_objects[unit[i]].district] for i in at_office]
    _timelines(config, rng, calendar, table, quality, catalogue)
    _sequence(table, spec.code_style)
    return table


def _withhold_e_cert_copy(rng, unit, procedure, info, catalogue: list[Procedure]) -> None:
    """Communes that do not offer electronic certified copies certify on paper instead."""
    by_name = {}
    for index, p in enumerate(catalogue):
        by_name.setdefault((p.name.replace("điện tử ", ""), p.levels[0]), index)
    offers = rng.random(len(info.quality)) < 0.1 + 0.8 * info.quality
    for index, p in enumerate(catalogue):
        if p.name.startswith(E_CERT_COPY_NAME):
            paper = by_name.get((p.name.replace("điện tử ", ""), p.levels[0]))
            mask = (procedure == index) & ~offers[unit]
            if paper is not None:
                procedure[mask] = paper


def _timelines(
    config: SimulationConfig,
    rng: np.random.Generator,
    calendar: WorkingCalendar,
    t: DossierTable,
    quality: np.ndarray,
    catalogue: list[Procedure],
) -> None:
    """Promised date, supplements, end and return of each dossier, cut at ``now``."""
    now = to_seconds(config.now)
    n = len(t)
    u = rng.random((n, 12))
    limits = [(p.time_limit, p.time_unit) for p in catalogue]
    on_time_rate = 0.988 + 0.011 * quality
    supplement_count = np.where(u[:, 1] < 0.93, 0, np.where(u[:, 1] < 0.997, 1, 2))
    add = calendar.add_working_days
    for i in range(n):
        received_at = to_datetime(t.received[i])
        if u[i, 0] < 0.004:  # refused at reception: never received
            t.status[i], t.refused[i], t.received[i] = 3, t.received[i], NA
            continue
        if t.channel[i] == 2 and now - t.received[i] < 86400 and u[i, 0] < 0.3:
            t.status[i], t.received[i] = 1, NA  # submitted online, not yet received
            continue
        limit, unit_name = limits[t.procedure[i]]
        if unit_name == "Ngày":  # calendar days: the working time available is what fits in them
            due_at = received_at + timedelta(days=limit)
            work = calendar.working_days_between(received_at, due_at)
        else:
            work = limit / 8 if unit_name == "Giờ" else limit
            due_at = add(received_at, work)
        if u[i, 2] > 0.01:
            t.due[i] = to_seconds(due_at)
        fraction = 0.1 + 0.85 * u[i, 3] if u[i, 4] < on_time_rate[i] else 1.05 + 0.8 * u[i, 3]
        remaining = max(work * fraction, 0.05)
        moment = received_at
        for k in range(supplement_count[i]):
            requested = add(moment, remaining * 0.3)
            answered = add(requested, 0.5 + 4 * u[i, 5 + k])
            remaining *= 0.7
            if to_seconds(requested) >= now:
                break
            t.supplement_requested[i, k] = to_seconds(requested)
            if to_seconds(answered) >= now:
                break
            t.supplement_received[i, k] = to_seconds(answered)
            moment = answered
        waiting = any(
            t.supplement_requested[i, k] != NA and t.supplement_received[i, k] == NA for k in range(2)
        )
        end = to_seconds(add(moment, remaining))
        if waiting:
            t.status[i] = 5
        elif end >= now:
            t.status[i] = 2 if now - t.received[i] < 3600 else (6 if u[i, 7] < 0.03 and t.fee[i] > 0 else 4)
        else:
            t.end[i] = end
            outcome = u[i, 8]
            if outcome < 0.015:
                t.status[i] = 7
            elif outcome < 0.025:
                t.status[i], t.refused[i] = 8, end
            else:
                returned = to_seconds(add(to_datetime(end), 0.05 + 3 * u[i, 9]))
                if returned < now and outcome < 0.95:
                    t.status[i], t.returned[i] = 10, returned
                else:
                    t.status[i] = 9
    on_time, late = timeliness(t)
    overdue_open = (t.end == NA) & (t.due != NA) & (t.due < now) & (t.received != NA)
    t.apology[:] = ((late & (u[:, 10] < 0.9)) | (overdue_open & (u[:, 10] < 0.5))).astype(np.int8)
    finished = np.isin(t.status, (9, 10))
    rated = finished & (u[:, 11] < 0.45)
    satisfied = rng.random(n) < 0.9 + 0.09 * quality
    t.rating[rated] = satisfied[rated].astype(np.int8)


def _sequence(t: DossierTable, style: str = "unit") -> None:
    """MaHoSo serials: 1, 2, ... per receiving unit (``system`` style: per system) and day, in
    reception order."""
    moment = np.where(t.received != NA, t.received, t.submitted)
    if style == "system":
        key = moment // 86400
    else:
        key = t.receiving_unit.astype(np.int64) * 100_000 + moment // 86400
    order = np.lexsort((moment, key))
    sorted_key = key[order]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_key)) + 1]
    group_start = np.repeat(starts, np.diff(np.r_[starts, len(order)]))
    t.sequence[order] = np.arange(len(order)) - group_start + 1


def _feedback(config, rng, calendar, units, t: DossierTable, info: _UnitInfo, spec: ProvinceSpec):
    """A few PAKN per district (and per department group) per month; some open, some overdue.
    None received on or after the province's ``reception_end``."""
    now = to_seconds(config.now)
    now_reception = now if spec.reception_end is None else min(now, to_seconds(spec.reception_end))
    records, seconds = [], []
    has_pakn = np.zeros(len(t), dtype=bool)
    groups: dict[str, list[int]] = {}
    for index, unit in enumerate(units):
        key = info.district[index] or ("S" if unit["LoaiDonVi"] == "SO_NGANH" else "X")
        groups.setdefault(key, []).append(index)
    month = date(config.start.year, config.start.month, 1)
    serial = 0
    while month < config.now.date():
        next_month = date(month.year + month.month // 12, month.month % 12 + 1, 1)
        working = [d.day for d in calendar.days(month, next_month - timedelta(days=1)) if d.is_working_day]
        for members in groups.values():
            valid = [m for m in members if _valid_on(units[m], month)]
            if not valid or not working:
                continue
            quality = float(info.quality[valid[0]])
            for _ in range(int(rng.poisson(4))):
                serial += 1
                day = working[int(rng.integers(len(working)))]
                received_at = datetime.combine(day, datetime.min.time()) + timedelta(
                    hours=7, minutes=int(rng.integers(0, 600))
                )
                received = to_seconds(received_at)
                if received >= now_reception:
                    continue
                unit_index = valid[int(rng.integers(len(valid)))]
                about = np.flatnonzero((t.unit == unit_index) & (t.received != NA) & (t.received < received))
                dossier = (
                    int(about[-1 - int(rng.integers(min(len(about), 50)))])
                    if len(about) and rng.random() < 0.5
                    else None
                )
                deadline = to_seconds(calendar.add_working_days(received_at, 10))
                in_time = rng.random() < 0.6 + 0.38 * quality
                handled = to_seconds(
                    calendar.add_working_days(
                        received_at, float(rng.uniform(1, 9.5) if in_time else rng.uniform(10.5, 25))
                    )
                )
                handled = handled if handled < now else NA
                happy = (
                    None if handled == NA or rng.random() < 0.2 else int(rng.random() < 0.7 + 0.25 * quality)
                )
                last = handled if handled != NA else received
                updated = min(last + int(rng.integers(60, 900)), last + (now - last) // 2)
                if dossier is not None:
                    has_pakn[dossier] = True
                records.append(
                    {
                        "MaPAKN": (
                            f"PAKN-{serial:06d}"
                            if spec.code_style == "system"
                            else f"PAKN-{spec.code}-{serial:06d}"
                        ),
                        "MaDonVi": units[unit_index]["MaDonVi"],
                        "MaHoSo": dossier,  # replaced by the code below, once sequences are final
                        "LoaiPAKN": "TTHC" if rng.random() < 0.8 else "CAN_BO",
                        "NgayTiepNhan": _fmt(received),
                        "HanXuLy": _fmt(deadline),
                        "NgayXuLy": _fmt(handled),
                        "HaiLong": happy,
                        "NgayCapNhat": _fmt(updated),
                    }
                )
                seconds.append((received, deadline, handled))
        month = next_month
    for record in records:
        if record["MaHoSo"] is not None:
            record["MaHoSo"] = dossier_code(units, t, record["MaHoSo"], spec.code_style)
    return records, np.array(seconds, dtype=np.int64).reshape(-1, 3), has_pakn


def _valid_on(unit: dict, day: date) -> bool:
    stamp = day.strftime("%Y%m%d")
    return (
        unit["HieuLucTu"] <= stamp
        and (unit["HieuLucDen"] is None or unit["HieuLucDen"] >= stamp)
        and unit["LoaiDonVi"] != "TINH"
    )


# Planting ------------------------------------------------------------------------------------


def _fitting_numerator(denominator: int, percent: float) -> int | None:
    """A numerator whose ratio rounds to ``percent`` with a safe margin from the rounding edges."""
    target = percent / 100
    for numerator in (math.floor(target * denominator), math.ceil(target * denominator)):
        if denominator and abs(numerator / denominator - target) < 0.00004:
            return numerator
    return None


def _plant(config, rng, t: DossierTable, truth: GroundTruth, planted_units: set[str]) -> None:
    unit_codes = [u["MaDonVi"] for u in truth._units]
    in_district = np.isin(t.unit, [i for i, c in enumerate(unit_codes) if c in planted_units])
    now = to_seconds(config.now)

    def cell(code: str) -> tuple[np.ndarray, np.ndarray]:
        truth.refresh()
        start, end = (to_seconds(d) for d in PLANTED[code][:2])
        d = truth._d & in_district
        if code == "ON_TIME_FINISHED":
            base = truth._finished & in_district & (t.end >= start) & (t.end < end) & (t.due != NA)
            return base, truth._on_time
        if code == "RESULT_DIGITIZED":
            base = (
                truth._finished & in_district & (t.end >= start) & (t.end < end) & np.isin(t.status, (9, 10))
            )
            return base, truth._e_result
        base = d & (t.received >= start) & (t.received < end) & (t.fee > 0)
        return base, np.isin(t.paid_online, (1, 2))

    def pick(mask: np.ndarray, count: int) -> np.ndarray:
        candidates = np.flatnonzero(mask)
        if len(candidates) < count:
            raise RuntimeError("not enough dossiers to plant the figures: volume too small")
        return rng.choice(candidates, size=count, replace=False)

    for code, (start_day, end_day, percent) in PLANTED.items():
        start, end = to_seconds(start_day), to_seconds(end_day)
        base, hit = cell(code)
        # Shrink the denominator until some integer numerator rounds right.
        while _fitting_numerator(int(base.sum()), percent) is None:
            # Prefer dossiers outside the numerator, so that it stays where it was.
            i = pick(base & ~hit if (base & ~hit).any() else base, 1)
            if code == "ON_TIME_FINISHED":
                t.deleted[i] = 1
            elif code == "RESULT_DIGITIZED":
                t.status[i], t.returned[i], t.refused[i] = 8, NA, t.end[i]  # processing stopped
            else:
                t.fee[i], t.paid_online[i] = 0, 0  # fee waived: a line at 0
            base, hit = cell(code)
        delta = _fitting_numerator(int(base.sum()), percent) - int((base & hit).sum())
        if code == "ON_TIME_FINISHED":
            simple = base & (t.supplement_count == 0)
            if delta > 0:  # late -> on time: finish earlier, within the year
                fixable = base & ~hit & (np.minimum(t.due, t.end) > np.maximum(t.received, start) + 3600)
                for i in pick(fixable, delta):
                    latest = min(t.due[i], t.end[i])
                    earliest = max(t.received[i], start)
                    t.supplement_requested[i, 1] = t.supplement_received[i, 1] = NA  # >1 request is late
                    if earliest < t.supplement_received[i, 0] < latest - 3600:
                        earliest = t.supplement_received[i, 0]
                    else:
                        t.supplement_requested[i, 0] = t.supplement_received[i, 0] = NA
                    t.end[i] = earliest + int((latest - earliest) * 0.8)
                    t.apology[i] = 0
                    if t.status[i] == 8:
                        t.refused[i] = t.end[i]
            else:  # on time -> late: finish a little after the promise, still within the year
                eligible = simple & hit & (t.due + 4 * 86400 < end) & (t.due > start)
                for i in pick(eligible, -delta):
                    t.end[i] = t.due[i] + 3600 + int(rng.integers(0, 3 * 86400))
                    if t.returned[i] != NA:
                        t.returned[i] = max(t.returned[i], t.end[i] + 1800)
                    if t.status[i] == 8:
                        t.refused[i] = t.end[i]
                    t.apology[i] = 1
        elif code == "RESULT_DIGITIZED":
            t.e_result[pick(base & (hit if delta < 0 else ~hit), abs(delta))] = delta > 0
        else:
            chosen = pick(base & (hit if delta < 0 else ~hit), abs(delta))
            t.paid_online[chosen] = 1 if delta > 0 else 0
        assert t.end.max() < now
    truth.refresh()


def _plant_sync(t: DossierTable, truth: GroundTruth, planted_mask: np.ndarray) -> int:
    """Nậm Nhùn's synchronization (issue 25): in each month of 2023, swap the synchronization
    flags of some synchronized dossiers of the district with those of worse unsynchronized ones
    received the same month, so that what the portal sees is worse than what the district did.
    The district's number of synchronized dossiers per month stays (its own SYNC_RATE, the planted
    figures and its own 766 total do not move; a commune's or office's own SYNC_RATE may); no
    random number is drawn. Returns the number of swaps."""
    start, end = (to_seconds(d) for d in PORTAL_STORY_PERIOD)
    paid_online = (t.fee > 0) & np.isin(t.paid_online, (1, 2))
    online = (t.channel == 2) & truth._procedure_full_online[t.procedure]
    e_result = truth._e_result & truth._procedure_paper[t.procedure]
    goodness = 4 * paid_online.astype(int) + 2 * online + e_result
    counted = truth._d & planted_mask & (t.received >= start) & (t.received < end)
    rows = np.flatnonzero(counted)
    months = np.array([to_datetime(int(t.received[i])).month for i in rows], dtype=int)
    swapped = 0
    for month in range(1, 13):
        group = rows[months == month]
        synced = group[t.synced[group] == 1]
        unsynced = group[t.synced[group] == 0]
        best_synced = synced[np.argsort(-goodness[synced], kind="stable")]
        worst_unsynced = unsynced[np.argsort(goodness[unsynced], kind="stable")]
        k = round(PORTAL_STORY_SWAP_SHARE * min(len(synced), len(unsynced)))
        out, into = best_synced[:k], worst_unsynced[:k]
        better = goodness[out] > goodness[into]
        t.synced[out[better]], t.synced[into[better]] = 0, 1
        swapped += int(better.sum())
    return swapped


def _portal_story(province: Province, planted_mask: np.ndarray, swapped: int) -> dict:
    """The planted gap between Nậm Nhùn's own 2023 total and the one the portal publishes."""
    truth, t = province.truth, province.table
    start, end = PORTAL_STORY_PERIOD
    seconds = [to_seconds(d) for d in PORTAL_STORY_PERIOD]
    received = truth._d & planted_mask & (t.received >= seconds[0]) & (t.received < seconds[1])
    payment = province.portal.item("year", start, PLANTED_DISTRICT, "3.6")
    return {
        "unit": PLANTED_DISTRICT,
        "period_type": "year",
        "period_start": start,
        "period_end": end,
        "own_total": round(truth.score_766(PLANTED_DISTRICT, start, end), 2),
        "published_total": province.portal.total("year", start, PLANTED_DISTRICT),
        "received": int(received.sum()),
        "unsynced_dossiers": int((received & (t.synced == 0)).sum()),
        "swapped": swapped,
        "online_payment": {
            "own": truth.indicator("ONLINE_PAYMENT", PLANTED_DISTRICT, start, end),
            "published": (payment["numerator"], payment["denominator"]),
        },
    }


def _planted_figures(truth: GroundTruth) -> dict:
    figures = {}
    for code, (start, end, _percent) in PLANTED.items():
        numerator, denominator = truth.indicator(code, PLANTED_DISTRICT, start, end)
        figures[code] = {
            "unit": PLANTED_DISTRICT,
            "period_start": start,
            "period_end": end,
            "numerator": numerator,
            "denominator": denominator,
            "percent": round(100 * numerator / denominator, 2),
        }
    districts = [u["MaDonVi"] for u in truth._units if u["LoaiDonVi"] == "HUYEN"]
    scores = {d: round(truth.score_766(d, *RANK_PERIOD), 2) for d in districts}
    ranking = sorted(districts, key=lambda d: -scores[d])
    figures["RANK_766"] = {
        "unit": PLANTED_DISTRICT,
        "period_start": RANK_PERIOD[0],
        "period_end": RANK_PERIOD[1],
        "rank": ranking.index(PLANTED_DISTRICT) + 1,
        "of": len(districts),
        "scores": scores,
    }
    return figures


# Defects and update stamps -------------------------------------------------------------------


def _add_defects(
    config, rng, t: DossierTable, planted_mask: np.ndarray, truth: GroundTruth, style: str = "unit"
) -> None:
    now = to_seconds(config.now)
    free = ~planted_mask & (t.deleted == 0)
    for rule, share in sorted(config.defect_shares.items()):
        kinds = [k for k in defects.KINDS if k.rule == rule]
        if not kinds:
            raise ValueError(f"unknown record rule {rule!r}")
        per_kind = max(1, round(share * len(t) / len(kinds))) if share > 0 else 0
        for kind in kinds:
            candidates = np.flatnonzero(free & kind.eligible(t, now))
            chosen = rng.choice(candidates, size=min(per_kind, len(candidates)), replace=False)
            t.defect[chosen] = defects.KIND_INDEX[kind.name]
            free[chosen] = False
    for i in np.flatnonzero(t.defect >= 0):
        kind = defects.KINDS[t.defect[i]]
        code = dossier_code(truth._units, t, int(i), style)
        truth.defects[code] = {"rule": kind.rule, "kind": kind.name}


def _stamp_updates(config, rng, t: DossierTable) -> None:
    """NgayCapNhat: the last event plus a few minutes, always before ``now``."""
    now = to_seconds(config.now)
    stacked = np.column_stack(
        [t.submitted, t.received, t.end, t.returned, t.refused, t.supplement_requested, t.supplement_received]
    )
    last = stacked.max(axis=1)
    delay = rng.integers(60, 900, size=len(t))
    t.updated[:] = np.minimum(last + delay, last + (now - last) // 2)
