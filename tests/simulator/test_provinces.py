"""The simulator's provinces (docs/simulator-provinces.md): unit trees, the merger, code styles,
procedures per province, truth per province and the merged province's current history, and the
HTTP server for each province."""

from __future__ import annotations

import itertools
import os
import re
import secrets
import signal
import subprocess
import sys
import unicodedata
from collections import Counter
from datetime import date, datetime
from pathlib import Path

import pytest
import requests

from simulator.catalogue import CATALOGUE
from simulator.generator import SimulationConfig, build_province
from simulator.provinces import PROVINCES, get_province, perturbed_catalogue
from simulator.server import run_in_thread
from simulator.truth import current_attribution, merged_indicator, merged_monthly_counts

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SMALL = 3_000  # dossiers a year: the made-up provinces plant nothing, so any volume works
MERGER_DAY = date(2025, 7, 1)
INDEPENDENT = ("lai_chau", "son_la_gia", "bac_ha", "nam_ha")  # trees of their own


def units_of(province_id: str) -> dict[str, dict]:
    return {u.code: u.as_record() for u in get_province(province_id).units()}


@pytest.fixture(scope="module")
def provinces() -> dict:
    """Every province but Lai Châu at a small volume (Lai Châu has its own tests)."""
    return {
        pid: build_province(SimulationConfig(province=pid, dossiers_per_year=SMALL))
        for pid in PROVINCES
        if pid != "lai_chau"
    }


@pytest.fixture(scope="module")
def dossiers(provinces) -> dict[str, list[dict]]:
    return {pid: list(p.iter_dossiers()) for pid, p in provinces.items()}


def _day(value: str | None) -> date | None:
    """The day of a date in any accepted format (yyyyMMddHHmmss, 'yyyy-MM-dd HH:mm:ss', ISO)."""
    digits = re.sub(r"\D", "", value or "")
    return datetime.strptime(digits[:8], "%Y%m%d").date() if digits else None


# Units ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("province_id", sorted(PROVINCES))
def test_units_are_consistent(province_id):
    spec = get_province(province_id)
    records = [u.as_record() for u in spec.units()]
    codes = [u["MaDonVi"] for u in records]
    assert len(codes) == len(set(codes)), "unit codes are unique"
    units = dict(zip(codes, records, strict=True))
    merged_into = {s.code for s in PROVINCES.values() if province_id in s.predecessors}
    successor_lists = set(units) | {c for p in PROVINCES.values() if p.predecessors for c in units_of(p.id)}
    for u in records:
        assert u["MaDonViCha"] is None or u["MaDonViCha"] in units, u
        assert u["HieuLucDen"] is None or u["HieuLucTu"] <= u["HieuLucDen"], u
        assert unicodedata.is_normalized("NFC", u["TenDonVi"]), u
        for successor in (u["MaDonViMoi"] or "").split(",") if u["MaDonViMoi"] else ():
            assert successor in successor_lists, u
            if merged_into:
                assert successor.split(".")[0] in merged_into, u
    roots = [u for u in records if u["LoaiDonVi"] == "TINH" and u["MaDonVi"] == spec.code]
    assert len(roots) == 1 and roots[0]["MaDonViCha"] is None
    own_prefixes = {spec.code} | {get_province(p).code for p in spec.predecessors}
    assert {c.split(".")[0] for c in codes} == own_prefixes


@pytest.mark.parametrize("province_id", ["son_la_gia", "bac_ha", "nam_ha"])
def test_made_up_trees_follow_the_code_scheme(province_id):
    code = get_province(province_id).code
    units = units_of(province_id)
    patterns = {
        "TINH": rf"{code}",
        "SO_NGANH": rf"{code}\.S\d\d",
        "HUYEN": rf"{code}\.\d{{3}}",
        "PHONG_HUYEN": rf"{code}\.\d{{3}}\.P\d\d",
        "XA": rf"{code}\.(\d{{3}}|X)\.\d{{5}}",
    }
    for u in units.values():
        assert re.fullmatch(patterns[u["LoaiDonVi"]], u["MaDonVi"]), u
    kinds = Counter(u["LoaiDonVi"] for u in units.values())
    assert kinds["SO_NGANH"] == 15 and 4 <= kinds["HUYEN"] <= 6
    assert kinds["PHONG_HUYEN"] == 5 * kinds["HUYEN"]
    old = [u for u in units.values() if u["LoaiDonVi"] == "XA" and u["MaDonVi"].split(".")[1] != "X"]
    assert len(old) >= 50 and all(u["HieuLucDen"] == "20250630" for u in old)
    assert all(u["MaDonViMoi"] for u in old), "every old commune has a successor"
    # Vietnamese names: communes are Xã / Phường / Thị trấn, districts Huyện / Thành phố.
    assert all(re.match(r"(Xã|Phường|Thị trấn) \w", u["TenDonVi"]) for u in old)
    assert any("ư" in u["TenDonVi"] or "ơ" in u["TenDonVi"] or "ầ" in u["TenDonVi"] for u in old)


def test_son_la_gia_has_its_merged_communes_from_the_reform():
    units = units_of("son_la_gia")
    new = {c: u for c, u in units.items() if c.startswith("H90.X.")}
    assert len(new) >= 20 and all(
        u["HieuLucTu"] == "20250701" and u["HieuLucDen"] is None for u in new.values()
    )
    old = [u for u in units.values() if u["LoaiDonVi"] == "XA" and u["HieuLucDen"] == "20250630"]
    pointed = {s for u in old for s in u["MaDonViMoi"].split(",")}
    assert pointed == set(new), "every new commune has predecessors, every successor is a new commune"
    assert any("," in u["MaDonViMoi"] for u in old), "a commune split between two new ones"
    districts = [u for u in units.values() if u["LoaiDonVi"] == "HUYEN"]
    assert all(u["HieuLucDen"] == "20250630" and u["MaDonViMoi"] for u in districts)


def test_no_unit_code_is_shared_across_provinces():
    own = {pid: set(units_of(pid)) for pid in INDEPENDENT}
    for a, b in itertools.combinations(INDEPENDENT, 2):
        assert not own[a] & own[b], (a, b)
    merged = units_of("ha_hop")
    new = {c for c in merged if c.split(".")[0] == "H93"}
    assert all(not new & codes for codes in own.values())
    # The rest of the merged list is its predecessors' units, described exactly as their own
    # systems describe them (a warehouse loading both sees one description of each unit).
    predecessors = {**units_of("bac_ha"), **units_of("nam_ha")}
    assert set(merged) - new == set(predecessors)
    assert all(merged[c] == predecessors[c] for c in predecessors)


def test_the_merged_lineage_covers_both_old_provinces():
    merged = units_of("ha_hop")
    new_communes = {
        c
        for c, u in merged.items()
        if c.startswith("H93.X.") and u["HieuLucTu"] == "20250701" and not u["HieuLucDen"]
    }
    assert new_communes
    pointed = set()
    for old in ("bac_ha", "nam_ha"):
        communes = [
            u
            for u in units_of(old).values()
            if u["LoaiDonVi"] == "XA" and u["HieuLucTu"] <= "20250630" <= (u["HieuLucDen"] or "99991231")
        ]
        assert communes
        for commune in communes:
            listed = merged[commune["MaDonVi"]]  # the merged system lists the old commune
            successors = (listed["MaDonViMoi"] or "").split(",")
            assert successors and set(successors) <= new_communes, listed
            pointed |= set(successors)
    assert pointed == new_communes
    attribution = current_attribution(list(merged.values()))
    assert attribution["H91"] == attribution["H92"] == "H93"
    assert attribution["H91.S03"] == "H93.S03"
    assert all(v.startswith("H93") for v in attribution.values())


# Reception spans ------------------------------------------------------------------------------


def test_old_systems_receive_nothing_from_the_merger_and_the_new_one_nothing_before(provinces, dossiers):
    for pid in ("bac_ha", "nam_ha", "ha_hop"):
        now = provinces[pid].config.now
        records = dossiers[pid]
        assert records
        received = [_day(r["NgayTiepNhan"]) for r in records if r["NgayTiepNhan"]]
        submitted = [_day(r["NgayNopHoSo"]) for r in records if r["NgayNopHoSo"]]
        feedback = [_day(f["NgayTiepNhan"]) for f in provinces[pid].iter_feedback()]
        updated = [re.sub(r"\D", "", r["NgayCapNhat"])[:14] for r in records if r["NgayCapNhat"]]
        assert max(updated) < now.strftime("%Y%m%d%H%M%S")
        if pid == "ha_hop":
            assert min(received) >= MERGER_DAY and min(submitted) >= date(2025, 6, 28)
            assert min(feedback) >= MERGER_DAY
        else:
            assert max(received) < MERGER_DAY and max(submitted) < MERGER_DAY and max(feedback) < MERGER_DAY
            # Dossiers still open on 2025-06-30 are finished on the old system afterwards.
            ends = [_day(r["NgayKetThucXuLy"]) for r in records if r["NgayKetThucXuLy"]]
            assert max(ends) >= MERGER_DAY
            assert all(r["MaDonViXuLy"].startswith(get_province(pid).code) for r in records)


def test_the_merged_system_cannot_start_before_the_merger():
    with pytest.raises(ValueError, match="starts on 2025-07-01"):
        SimulationConfig(province="ha_hop", start=date(2025, 1, 1))


def test_province_defaults_and_overrides():
    config = SimulationConfig(province="son_la_gia")
    spec = get_province("son_la_gia")
    assert (config.start, config.now, config.dossiers_per_year) == (
        spec.start,
        spec.now,
        spec.dossiers_per_year,
    )
    assert SimulationConfig() == SimulationConfig(
        start=date(2022, 12, 1), now=datetime(2024, 7, 1), dossiers_per_year=100_000
    )
    with pytest.raises(ValueError, match="unknown province"):
        SimulationConfig(province="atlantis")


# Codes ------------------------------------------------------------------------------------------


def test_system_style_dossier_and_feedback_codes_overlap_across_provinces(provinces, dossiers):
    codes = {}
    for pid in ("son_la_gia", "bac_ha"):
        found = [r["MaHoSo"] for r in dossiers[pid]]
        assert all(re.fullmatch(r"\d{6}-\d{6}", c) for c in found)
        assert len(found) == len(set(found)), "unique within one system"
        codes[pid] = set(found)
    overlap = codes["son_la_gia"] & codes["bac_ha"]
    assert len(overlap) > 100, "the same code names two different dossiers in two systems"
    pakn = [{f["MaPAKN"] for f in provinces[pid].iter_feedback()} for pid in ("son_la_gia", "bac_ha")]
    assert pakn[0] & pakn[1]
    # Unit style (Lai Châu's, the merged province's) carries the receiving unit: never overlaps.
    unit_style = [r["MaHoSo"] for r in dossiers["ha_hop"]]
    assert all(re.fullmatch(r"H93\.[^-]+-\d{6}-\d{5}", c) for c in unit_style)
    assert all(f["MaPAKN"].startswith("PAKN-H93-") for f in provinces["ha_hop"].iter_feedback())


def test_feedback_names_dossiers_by_their_code(provinces, dossiers):
    for pid in ("son_la_gia", "ha_hop"):
        known = {r["MaHoSo"] for r in dossiers[pid]}
        about = [f["MaHoSo"] for f in provinces[pid].iter_feedback() if f["MaHoSo"]]
        assert about and set(about) <= known


# Procedures -----------------------------------------------------------------------------------


def test_procedures_are_perturbed_per_province_deterministically(provinces):
    national = {p.code: p.as_record() for p in CATALOGUE}
    changed = {}
    for pid, province in provinces.items():
        records = {p["MaTTHC"]: p for p in province.procedures}
        assert set(records) == set(national), "the same national codes"
        diff = {c for c in records if records[c] != national[c]}
        assert 0.01 * len(national) <= len(diff) <= 0.1 * len(national), pid
        kinds = {k for c in diff for k in national[c] if records[c][k] != national[c][k]}
        assert kinds == {"ThoiHanGiaiQuyet", "CoPhiLePhi"}, kinds
        changed[pid] = {(c, records[c]["ThoiHanGiaiQuyet"], records[c]["CoPhiLePhi"]) for c in diff}
        again = [p.as_record() for p in perturbed_catalogue(pid, get_province(pid).perturbed_share)]
        assert again == province.procedures
    assert changed["son_la_gia"] != changed["bac_ha"]
    assert perturbed_catalogue("lai_chau", get_province("lai_chau").perturbed_share) is CATALOGUE


def test_dossiers_follow_the_provincial_time_limit(provinces):
    """A procedure whose time limit the province shortened gets the shorter promised date."""
    province = provinces["son_la_gia"]
    shortened = {
        k
        for k, p in enumerate(province.procedures)
        if p["DonViTinh"] != "Ngày" and p["ThoiHanGiaiQuyet"] < CATALOGUE[k].time_limit
    }
    t = province.table
    rows = [
        i for i in range(len(t)) if t.procedure[i] in shortened and t.due[i] != -1 and t.received[i] != -1
    ]
    assert rows
    from simulator.table import to_datetime
    from tthc.calendar import WorkingCalendar

    calendar = WorkingCalendar.default()
    for i in rows[:50]:
        procedure = province.procedures[t.procedure[i]]
        work = (
            procedure["ThoiHanGiaiQuyet"] / 8
            if procedure["DonViTinh"] == "Giờ"
            else procedure["ThoiHanGiaiQuyet"]
        )
        assert to_datetime(t.due[i]) == calendar.add_working_days(to_datetime(t.received[i]), work)


# Truth ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("province_id", ["son_la_gia", "bac_ha", "ha_hop"])
def test_truth_counts_the_records_of_each_province(provinces, dossiers, province_id):
    province = provinces[province_id]
    truth, code = province.truth, province.spec.code
    start, end = province.config.start, date(2026, 1, 1)
    records = [r for r in dossiers[province_id] if not r["DaXoa"] and r["NgayTiepNhan"]]
    received = [r for r in records if r["TrangThaiHoSo"] not in (1, 3)]
    assert truth.indicator("RECEIVED", code, start, end) == (len(received), None)
    assert not truth.planted
    cells = truth.monthly_counts()
    for name, indicator in (("received", "RECEIVED"), ("finished", "FINISHED")):
        assert sum(c[name] for c in cells.values()) == truth.indicator(indicator, code, start, end)[0]
    on_time = truth.indicator("ON_TIME_FINISHED", code, start, end)
    assert (
        sum(c["finished_on_time"] for c in cells.values()),
        sum(c["finished_with_due"] for c in cells.values()),
    ) == on_time
    # Roll-up: the province is the sum of its units.
    for indicator in ("RECEIVED", "ON_TIME_FINISHED", "ONLINE_PAYMENT", "PAKN_ON_TIME"):
        parts = [truth.indicator_over(indicator, [u["MaDonVi"]], start, end) for u in province.units]
        whole = truth.indicator(indicator, code, start, end)
        assert sum(p[0] for p in parts) == whole[0]
        if whole[1] is not None:
            assert sum(p[1] for p in parts) == whole[1]
    # A district's value is its committee's, offices' and communes'.
    district = next(
        (u["MaDonVi"] for u in province.units if u["LoaiDonVi"] == "HUYEN" and u["MaDonVi"].startswith(code)),
        None,
    )
    if district:
        members = truth.descendants(district)
        assert len(members) > 5
        assert truth.indicator("RECEIVED", district, start, end) == truth.indicator_over(
            "RECEIVED", members, start, end
        )
    assert 0 < on_time[0] <= on_time[1]


def test_merged_current_history_is_the_sum_of_the_predecessors(provinces):
    old = [provinces["bac_ha"], provinces["nam_ha"]]
    new = provinces["ha_hop"]
    counts = merged_monthly_counts(old, new)
    today = {u["MaDonVi"] for u in new.units if not u["HieuLucDen"]}
    assert {unit for unit, _ in counts} <= today
    for name in ("received", "finished", "finished_with_due", "finished_on_time"):
        parts = sum(c[name] for p in [*old, new] for c in p.truth.monthly_counts().values())
        assert sum(c[name] for c in counts.values()) == parts
    # Received before the merger: only the old systems; from it: only the new one.
    before = sum(c["received"] for (_, month), c in counts.items() if month < MERGER_DAY)
    assert before == sum(
        p.truth.indicator("RECEIVED", p.spec.code, date(2024, 1, 1), MERGER_DAY)[0] for p in old
    )
    after = sum(c["received"] for (_, month), c in counts.items() if month >= MERGER_DAY)
    assert after == new.truth.indicator("RECEIVED", "H93", MERGER_DAY, date(2026, 1, 1))[0]
    # The province as a whole, any additive indicator, any period: the sum of the three systems.
    for code in ("RECEIVED", "FINISHED", "ON_TIME_FINISHED", "ON_TIME_766", "ONLINE_PAYMENT", "PAKN_ON_TIME"):
        for period in ((date(2025, 1, 1), date(2026, 1, 1)), (date(2025, 7, 1), date(2025, 8, 1))):
            merged = merged_indicator(code, "H93", *period, old, new)
            parts = [p.truth.indicator(code, p.spec.code, *period) for p in [*old, new]]
            assert merged[0] == sum(p[0] for p in parts), code
            assert merged[1] == (None if parts[0][1] is None else sum(p[1] for p in parts)), code
    # One new commune: its own dossiers and those of the old communes attributed to it.
    attribution = current_attribution(new.units)
    commune = Counter(
        attribution[u["MaDonVi"]] for u in new.units if u["LoaiDonVi"] == "XA" and u["MaDonVi"][:3] != "H93"
    ).most_common(1)[0][0]
    assert commune.startswith("H93.X.")
    received = {(unit, month): c["received"] for (unit, month), c in counts.items()}
    assert sum(v for (u, m), v in received.items() if u == commune and m < MERGER_DAY) > 0
    period = (date(2024, 1, 1), date(2026, 1, 1))
    expected = new.truth.indicator("RECEIVED", commune, *period)[0] + sum(
        p.truth.indicator_over("RECEIVED", [c for c, a in attribution.items() if a == commune], *period)[0]
        for p in old
    )
    assert merged_indicator("RECEIVED", commune, *period, old, new)[0] == expected
    with pytest.raises(ValueError):
        merged_indicator("E_CERT_COPY", "H93", *period, old, new)


# Serving ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("province_id", ["son_la_gia", "bac_ha", "nam_ha", "ha_hop"])
def test_the_server_serves_each_province(provinces, province_id):
    province = provinces[province_id]
    client_id, client_secret = secrets.token_hex(8), secrets.token_urlsafe(24)
    with run_in_thread(province, client_id=client_id, client_secret=client_secret) as server:
        session = requests.Session()
        token = session.post(
            f"{server.base_url}/oauth/token",
            data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": client_secret},
            timeout=10,
        ).json()["access_token"]
        session.headers["Authorization"] = f"Bearer {token}"
        units = session.get(f"{server.base_url}/api/v1/donvi", params={"kichThuoc": 1000}, timeout=30).json()
        assert {u["MaDonVi"] for u in units["content"]} == {u["MaDonVi"] for u in province.units}
        page = session.get(
            f"{server.base_url}/api/v1/hoso",
            params={"tu": "20000101000000", "den": "20300101000000", "kichThuoc": 5},
            timeout=30,
        ).json()
        assert page["totalElements"] > 0
        assert all(r["MaDonViXuLy"].startswith(province.spec.code) for r in page["content"])
        # The national portal's part answers for the province's own units.
        year = province.config.start.year
        answer = requests.post(
            f"{server.base_url}/api/v1/reporting/evaluation/service-results",
            json={"timeType": "year", "year": year, "rootDepartmentCode": province.spec.code, "pageSize": 5},
            timeout=60,
        )
        assert answer.status_code == 200, answer.text
        rows = answer.json()["data"]["evaluation"]
        assert rows and rows[0]["departmentCode"] == province.spec.code
        assert rows[0]["departmentName"] == f"UBND tỉnh {province.spec.name}"
        assert all(r["departmentCode"].startswith(province.spec.code) for r in rows)


def test_command_line_lists_the_provinces():
    listed = subprocess.run(
        [sys.executable, "-m", "simulator", "--list-provinces"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.splitlines()
    assert [line.split("\t")[0] for line in listed] == list(PROVINCES)
    assert listed[0].split("\t")[1:4] == ["H35", "Tỉnh Lai Châu", "2022-12-01 .. 2024-07-01 00:00"]
    assert any("H93" in line and "bac_ha + nam_ha" in line for line in listed)


def test_command_line_serves_the_chosen_province():
    client_id, client_secret = secrets.token_hex(8), secrets.token_urlsafe(24)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(PROJECT_ROOT / "plugins"), str(PROJECT_ROOT)]),
        "TTHC_SIM_CLIENT_ID": client_id,
        "TTHC_SIM_CLIENT_SECRET": client_secret,
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "simulator",
            "--province",
            "bac_ha",
            "--port",
            "0",
            "--dossiers-per-year",
            "2000",
        ],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        ready = process.stdout.readline().strip()
        assert ready.startswith("simulator ready on http://127.0.0.1:")
        assert "province bac_ha (H91" in process.stderr.readline()
        base_url = ready.rsplit(" ", 1)[1]
        token = requests.post(
            f"{base_url}/oauth/token",
            data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": client_secret},
            timeout=10,
        ).json()["access_token"]
        units = requests.get(
            f"{base_url}/api/v1/donvi",
            params={"kichThuoc": 1000},
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        ).json()["content"]
        assert {u["MaDonVi"] for u in units} == set(units_of("bac_ha"))
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_unit_defects_use_the_provinces_own_prefix():
    from simulator import defects

    shares = {"unit_known": 0.01}
    province = build_province(
        SimulationConfig(province="son_la_gia", dossiers_per_year=5_000, defect_shares=shares)
    )
    units = {u["MaDonVi"] for u in province.units}
    unknown = [
        code
        for r in province.iter_dossiers()
        for code in (r["MaDonViXuLy"], r["MaDonViTiepNhan"])
        if isinstance(code, str) and code not in units
    ]
    assert unknown and all(unicodedata.normalize("NFC", c).startswith("H90.") for c in unknown)
    planted = Counter(v["kind"] for v in province.truth.defects.values())
    assert set(planted) == {k.name for k in defects.KINDS if k.rule == "unit_known"}


def test_an_old_system_whose_now_is_its_last_reception_day_ends_there():
    """now = the first day without reception (a system retired on its last day of service)."""
    province = build_province(
        SimulationConfig(
            province="bac_ha", start=date(2025, 6, 1), now=datetime(2025, 7, 1), dossiers_per_year=2_000
        )
    )
    received = [r["NgayTiepNhan"] for r in province.iter_dossiers() if r.get("NgayTiepNhan")]
    assert received and max(received) < "20250701"
