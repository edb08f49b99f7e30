"""The simulator: determinism, planted figures, defects, time, unit tree."""

from __future__ import annotations

import itertools
from datetime import datetime

import pytest

from simulator import defects
from simulator.generator import SimulationConfig, build_province
from simulator.units import lineage, new_communes, old_communes

NOW = datetime(2024, 7, 1)
FORMATS = ("%Y%m%d%H%M%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S.%f")


def parse(value):
    if value in (None, ""):
        return None
    for fmt in FORMATS:
        try:
            return datetime.strptime(value, fmt)
        except ValueError:
            continue
    raise ValueError(value)


@pytest.fixture(scope="module")
def province():
    return build_province(SimulationConfig(dossiers_per_year=40_000))


@pytest.fixture(scope="module")
def defective():
    shares = {rule: 0.002 for rule in defects.RULES}
    return build_province(SimulationConfig(seed=7, dossiers_per_year=20_000, defect_shares=shares))


def test_same_seed_same_records():
    config = SimulationConfig(dossiers_per_year=40_000, seed=11)
    first = list(itertools.islice(build_province(config).iter_dossiers(), 500))
    second = list(itertools.islice(build_province(config).iter_dossiers(), 500))
    assert first == second


def _planted_cells(records):
    """Independent recomputation of the three planted figures for Nậm Nhùn (H35.112)."""
    on_time = [0, 0]
    digitized = [0, 0]
    paid = [0, 0]
    for r in records:
        if not r["MaDonViXuLy"].startswith("H35.112") or r["DaXoa"] == 1:
            continue
        received, end, due = parse(r["NgayTiepNhan"]), parse(r["NgayKetThucXuLy"]), parse(r["NgayHenTra"])
        if received is None or r["TrangThaiHoSo"] in (1, 3):
            continue
        finished = r["TrangThaiHoSo"] in (7, 8, 9, 10) and end is not None
        if finished and due and end.year == 2023:
            supplements = r["DanhSachHoSoBoSung"]
            pause = sum(
                (
                    (parse(s["NgayTiepNhanBoSung"]) - parse(s["NgayBoSung"]))
                    for s in supplements
                    if parse(s["NgayTiepNhanBoSung"])
                ),
                start=end - end,
            )
            on_time[1] += 1
            on_time[0] += len(supplements) <= 1 and end - pause <= due
        if finished and r["TrangThaiHoSo"] in (9, 10) and datetime(2024, 1, 1) <= end < NOW:
            digitized[1] += 1
            digitized[0] += any(g["DuongDanTepTinKetQua"] for g in r["DanhSachGiayToKetQua"])
        if datetime(2024, 1, 1) <= received < NOW and any(f["Gia"] > 0 for f in r["DanhSachLePhi"]):
            paid[1] += 1
            paid[0] += r["DuocThanhToanTrucTuyen"] in (1, 2)
    return [round(100 * n / d, 2) for n, d in (on_time, digitized, paid)]


def test_planted_figures_hold_on_the_records(province):
    assert _planted_cells(province.iter_dossiers()) == [99.36, 67.6, 78.14]
    planted = province.truth.planted
    assert [planted[c]["percent"] for c in ("ON_TIME_FINISHED", "RESULT_DIGITIZED", "ONLINE_PAYMENT")] == [
        99.36,
        67.6,
        78.14,
    ]
    rank = planted["RANK_766"]
    assert (rank["rank"], rank["of"]) == (7, 8)
    scores = sorted(rank["scores"].values(), reverse=True)
    assert min(a - b for a, b in itertools.pairwise(scores)) > 1.5


def test_planted_figures_survive_defects(defective):
    assert _planted_cells(defective.iter_dossiers()) == [99.36, 67.6, 78.14]


def test_truth_indicator_matches_planted(province):
    numerator, denominator = province.truth.indicator(
        "ON_TIME_FINISHED", "H35.112", datetime(2023, 1, 1).date(), datetime(2024, 1, 1).date()
    )
    assert round(100 * numerator / denominator, 2) == 99.36
    assert province.truth.indicator("RECEIVED", "H35", NOW.date().replace(year=2023), NOW.date())[1] is None


def test_no_event_at_or_after_now(province):
    for r in province.iter_dossiers():
        events = [
            r[k]
            for k in (
                "NgayNopHoSo",
                "NgayTiepNhan",
                "NgayKetThucXuLy",
                "NgayTra",
                "NgayTuChoi",
                "NgayCapNhat",
            )
        ]
        events += [s["ThoiDiemXuLy"] for s in r["QuaTrinhXuLy"]]
        events += [s[k] for s in r["DanhSachHoSoBoSung"] for k in ("NgayBoSung", "NgayTiepNhanBoSung")]
        moments = [parse(e) for e in events if e]
        assert all(m < NOW for m in moments)
        assert parse(r["NgayCapNhat"]) == max(moments)
    for f in province.iter_feedback():
        assert all(parse(f[k]) < NOW for k in ("NgayTiepNhan", "NgayCapNhat") if f[k])


def _broken_rules(r, units, procedures):
    """The record rules of docs/quality-rules.md, as the quality gate will apply them."""
    broken = set()
    lists = ("TaiLieuNop", "DanhSachLePhi", "DanhSachGiayToKetQua", "DanhSachHoSoBoSung", "QuaTrinhXuLy")
    if any(not isinstance(r.get(k), list | None) for k in lists) or any(
        isinstance(v, list | dict) for k, v in r.items() if k not in lists
    ):
        broken.add("record_shape")
    if not r["MaHoSo"]:
        broken.add("dossier_code_present")
    if r["TrangThaiHoSo"] not in range(1, 11):
        broken.add("status_in_domain")
    if r["KenhThucHien"] not in (1, 2, 3, None, ""):
        broken.add("channel_in_domain")
    if r["LoaiDoiTuong"] not in (1, 2, 3, 4):
        broken.add("applicant_type_in_domain")
    if r["DuocThanhToanTrucTuyen"] not in (0, 1, 2):
        broken.add("online_payment_in_domain")
    flags = ("HoSoCoThanhPhanSoHoa", "TaiKhoanDuocXacThucVoiVNeID", "DongBoDVCQG", "CoPhieuXinLoi", "DaXoa")
    if any(r[f] not in (0, 1) for f in flags):
        broken.add("flag_in_domain")
    dates = {}
    for k in ("NgayNopHoSo", "NgayTiepNhan", "NgayHenTra", "NgayKetThucXuLy", "NgayTra", "NgayTuChoi"):
        try:
            dates[k] = parse(r[k])
        except ValueError:
            broken.add("date_parses")
            dates[k] = None
    # NgayHenTra is a promise, legitimately after the extraction time for open dossiers.
    if any(
        d and not datetime(2000, 1, 1) <= d <= datetime(2024, 7, 2)
        for k, d in dates.items()
        if k != "NgayHenTra"
    ):
        broken.add("date_in_range")
    chain = [dates[k] for k in ("NgayNopHoSo", "NgayTiepNhan", "NgayKetThucXuLy", "NgayTra") if dates[k]]
    if chain != sorted(chain):
        broken.add("dates_ordered")
    if dates["NgayHenTra"] and dates["NgayTiepNhan"] and dates["NgayHenTra"] < dates["NgayTiepNhan"]:
        broken.add("due_after_received")
    status = r["TrangThaiHoSo"]
    if status in (9, 10) and not dates["NgayKetThucXuLy"]:
        broken.add("finished_has_end_date")
    if status == 10 and not dates["NgayTra"]:
        broken.add("returned_has_return_date")
    if status in (2, 4) and (dates["NgayKetThucXuLy"] or dates["NgayTra"]):
        broken.add("open_has_no_end_date")
    valid_on = dates["NgayTiepNhan"] or dates["NgayNopHoSo"]
    for field in ("MaDonViXuLy", "MaDonViTiepNhan"):
        unit = units.get(r[field])
        if unit is None or (
            valid_on and not unit["HieuLucTu"] <= f"{valid_on:%Y%m%d}" <= (unit["HieuLucDen"] or "99991231")
        ):
            broken.add("unit_known")
    if r["MaTTHC"] not in procedures:
        broken.add("procedure_known")
    if any(f["Gia"] < 0 for f in r["DanhSachLePhi"]):
        broken.add("fee_not_negative")
    if r["DuocThanhToanTrucTuyen"] in (1, 2) and not any(f["Gia"] > 0 for f in r["DanhSachLePhi"]):
        broken.add("paid_online_has_fee")
    for s in r["DanhSachHoSoBoSung"]:
        if s["NgayTiepNhanBoSung"] and parse(s["NgayTiepNhanBoSung"]) < parse(s["NgayBoSung"]):
            broken.add("supplement_dates_ordered")
    return broken


def test_every_defect_kind_breaks_its_rule_and_no_other(defective):
    units = {u["MaDonVi"]: u for u in defective.units}
    procedures = {p["MaTTHC"] for p in defective.procedures}
    expected = defective.truth.defects
    seen_kinds, codes = set(), {}
    for r in defective.iter_dossiers():
        broken = _broken_rules(r, units, procedures)
        codes.setdefault(r["MaHoSo"], []).append(r)
        key = r["MaHoSo"] or None
        if key and key in expected and expected[key]["rule"] == "dossier_code_unique":
            assert broken == set()
            continue
        if broken:
            assert len(broken) == 1, (broken, r["MaHoSo"])
            seen_kinds.add(next(iter(broken)))
        else:
            assert key not in expected or expected[key]["rule"] == "dossier_code_unique"
    twins = [c for c, rs in codes.items() if c and len(rs) > 1]
    assert twins and all(expected[c]["kind"] == "dossier_code_unique:twin" for c in twins)
    assert all(
        rs[0]["NgayCapNhat"] == rs[1]["NgayCapNhat"] and rs[0] != rs[1]
        for c, rs in codes.items()
        if c in twins
    )
    assert seen_kinds | {"dossier_code_unique"} == set(defects.RULES)
    assert len({d["kind"] for d in expected.values()}) == len(defects.KINDS) >= 20
    assert not any(c.startswith("H35.112") for c in expected)


def test_unit_tree_shape(province):
    units = {u["MaDonVi"]: u for u in province.units}
    districts = sorted(u["MaGSO"] for u in units.values() if u["LoaiDonVi"] == "HUYEN")
    assert districts == [str(code) for code in range(105, 113)]
    old = [u for u in units.values() if u["LoaiDonVi"] == "XA" and u["HieuLucDen"] == "20250630"]
    new = [u for u in units.values() if u["LoaiDonVi"] == "XA" and u["HieuLucTu"] == "20250701"]
    assert (len(old), len(new)) == (106, 38)
    assert units["H35.112.03434"]["TenDonVi"] == "Thị trấn Nậm Nhùn"
    assert all(u["MaDonViMoi"] and all(c in units for c in u["MaDonViMoi"].split(",")) for u in old)
    assert {r["old_commune_gso"] for r in lineage()} == {c["commune_gso"] for c in old_communes()}
    assert {r["new_commune_gso"] for r in lineage()} <= {c["commune_gso"] for c in new_communes()}
    assert {r["basis"] for r in lineage()} <= {"package", "notes", "name-match", "assumed"}
    offices = [u for u in units.values() if u["LoaiDonVi"] == "PHONG_HUYEN"]
    assert len(offices) == 40 and all(u["HieuLucDen"] == "20250630" for u in offices)


def test_personal_values_cover_names(province):
    record = next(province.iter_dossiers())
    values = set(itertools.islice(province.truth.personal_values(), 200))
    assert record["ChuHoSo"] in values and record["QuaTrinhXuLy"][0]["NguoiXuLy"] in values
