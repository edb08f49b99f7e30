"""Defects: each kind breaks exactly one record rule of docs/quality-rules.md and no other.

A kind is ``<rule>:<shape>``. ``eligible`` says which dossiers can carry it without breaking a
second rule (an open dossier for an end date that must not be there, a fee line for a negative
fee...); ``apply`` mutates the rendered record.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from simulator.table import NA, DossierTable

FINISHED = (7, 8, 9, 10)


@dataclass(frozen=True)
class DefectKind:
    name: str
    eligible: Callable[[DossierTable, int], np.ndarray]  # (table, now seconds) -> mask
    apply: Callable[[dict, datetime], None]  # (record, now) -> None

    @property
    def rule(self) -> str:
        return self.name.split(":")[0]


def _any(t: DossierTable, now: int) -> np.ndarray:
    return np.ones(len(t), dtype=bool)


def _received(t: DossierTable, now: int) -> np.ndarray:
    return t.received != NA


def _returned(t: DossierTable, now: int) -> np.ndarray:
    return (t.status == 10) & (t.returned != NA)


def _open(t: DossierTable, now: int) -> np.ndarray:
    return np.isin(t.status, (2, 4)) & (t.received != NA) & (t.received + 7200 < now) & (t.due != NA)


def _with_due(t: DossierTable, now: int) -> np.ndarray:
    return (t.due != NA) & (t.received != NA)


def _fee_unpaid(t: DossierTable, now: int) -> np.ndarray:
    return (t.fee > 0) & (t.paid_online == 0)


def _fee(t: DossierTable, now: int) -> np.ndarray:
    return t.fee > 0


def _no_fee(t: DossierTable, now: int) -> np.ndarray:
    return t.fee < 0


def _answered_supplement(t: DossierTable, now: int) -> np.ndarray:
    return (t.supplement_received[:, 0] != NA) & (t.supplement_requested[:, 1] == NA)


def _pre_reform(t: DossierTable, now: int) -> np.ndarray:
    from simulator.table import to_seconds

    return (t.received != NA) & (t.received < to_seconds(datetime(2025, 7, 1)))


def _set(field: str, value) -> Callable[[dict, datetime], None]:
    def apply(record: dict, now: datetime) -> None:
        record[field] = value

    return apply


def _end_on_open(record: dict, now: datetime) -> None:
    received = _parse(record["NgayTiepNhan"])
    record["NgayKetThucXuLy"] = _fmt(received + timedelta(hours=1))


def _submitted_after_received(record: dict, now: datetime) -> None:
    record["NgayNopHoSo"] = _fmt(_parse(record["NgayTiepNhan"]) + timedelta(minutes=90))


def _returned_before_end(record: dict, now: datetime) -> None:
    record["NgayTra"] = _fmt(_parse(record["NgayKetThucXuLy"]) - timedelta(hours=2))


def _due_before_received(record: dict, now: datetime) -> None:
    record["NgayHenTra"] = _fmt(_parse(record["NgayTiepNhan"]) - timedelta(days=1))


def _finished_without_end(record: dict, now: datetime) -> None:
    record["TrangThaiHoSo"] = 9
    record["NgayKetThucXuLy"] = None
    record["NgayTra"] = None


def _future_return(record: dict, now: datetime) -> None:
    record["NgayTra"] = _fmt(now + timedelta(days=400))


def _paid_without_fee_line(record: dict, now: datetime) -> None:
    record["DanhSachLePhi"] = []
    record["DuocThanhToanTrucTuyen"] = 1


def _paid_with_zero_fee(record: dict, now: datetime) -> None:
    for fee in record["DanhSachLePhi"]:
        fee["Gia"] = 0
    record["DuocThanhToanTrucTuyen"] = 2


def _negative_fee(record: dict, now: datetime) -> None:
    record["DanhSachLePhi"][0]["Gia"] = -20000


def _supplement_backwards(record: dict, now: datetime) -> None:
    supplement = record["DanhSachHoSoBoSung"][0]
    supplement["NgayTiepNhanBoSung"] = _fmt(_parse(supplement["NgayBoSung"]) - timedelta(days=1))


def _name_as_list(record: dict, now: datetime) -> None:
    # A scalar the sender wrapped in a list: staging would keep its JSON text as the name.
    record["TenTTHC"] = [record["TenTTHC"]]


def _parse(value: str) -> datetime:
    # Defects are applied to records before any date quirk, so the canonical format holds.
    return datetime.strptime(value, "%Y%m%d%H%M%S")


def _fmt(moment: datetime) -> str:
    return moment.strftime("%Y%m%d%H%M%S")


KINDS: list[DefectKind] = [
    DefectKind("dossier_code_present:null", _any, _set("MaHoSo", None)),
    DefectKind("dossier_code_present:empty", _any, _set("MaHoSo", "")),
    DefectKind("dossier_code_unique:twin", _any, lambda r, now: None),  # the twin is emitted by the renderer
    DefectKind("status_in_domain:zero", _any, _set("TrangThaiHoSo", 0)),
    DefectKind("status_in_domain:eleven", _any, _set("TrangThaiHoSo", 11)),
    DefectKind("channel_in_domain:four", _any, _set("KenhThucHien", 4)),
    DefectKind("channel_in_domain:zero", _any, _set("KenhThucHien", 0)),
    DefectKind("applicant_type_in_domain:zero", _any, _set("LoaiDoiTuong", 0)),
    DefectKind("applicant_type_in_domain:nine", _any, _set("LoaiDoiTuong", 9)),
    DefectKind("online_payment_in_domain:three", _fee, _set("DuocThanhToanTrucTuyen", 3)),
    DefectKind("flag_in_domain:digitized_two", _any, _set("HoSoCoThanhPhanSoHoa", 2)),
    DefectKind("flag_in_domain:sync_minus_one", _any, _set("DongBoDVCQG", -1)),
    DefectKind("date_parses:dd/mm/yyyy", _any, _set("NgayNopHoSo", "31/12/2023")),
    DefectKind("date_parses:month13", _any, _set("NgayNopHoSo", "20231345000000")),
    DefectKind("date_parses:feb30", _any, _set("NgayNopHoSo", "2023-02-30 10:00:00")),
    DefectKind("date_parses:text", _any, _set("NgayNopHoSo", "abc")),
    DefectKind("date_in_range:year_1900", _any, _set("NgayNopHoSo", "19000101000000")),
    DefectKind("date_in_range:future_return", _returned, _future_return),
    DefectKind("dates_ordered:submitted_after_received", _received, _submitted_after_received),
    DefectKind("dates_ordered:returned_before_end", _returned, _returned_before_end),
    DefectKind("due_after_received:due_before_received", _with_due, _due_before_received),
    DefectKind(
        "finished_has_end_date:no_end_date", lambda t, now: np.isin(t.status, (9, 10)), _finished_without_end
    ),
    DefectKind("returned_has_return_date:no_return_date", _returned, _set("NgayTra", None)),
    DefectKind("open_has_no_end_date:end_date_on_open", _open, _end_on_open),
    DefectKind("unit_known:unknown_code", _any, _set("MaDonViXuLy", "H35.199.99999")),
    DefectKind("unit_known:not_yet_valid", _pre_reform, _set("MaDonViXuLy", "H35.X.03434")),
    DefectKind("unit_known:unknown_receiving_unit", _any, _set("MaDonViTiepNhan", "H35.S99")),
    DefectKind("procedure_known:unknown_code", _any, _set("MaTTHC", "1.009999")),
    DefectKind("fee_not_negative:negative", _fee_unpaid, _negative_fee),
    DefectKind("paid_online_has_fee:no_fee_line", _no_fee, _paid_without_fee_line),
    DefectKind("paid_online_has_fee:zero_fee", _fee, _paid_with_zero_fee),
    DefectKind(
        "supplement_dates_ordered:received_before_request", _answered_supplement, _supplement_backwards
    ),
    DefectKind("record_shape:scalar_holds_list", _any, _name_as_list),
    DefectKind("record_shape:list_is_text", _any, _set("TaiLieuNop", "không có")),
]
KIND_INDEX = {kind.name: index for index, kind in enumerate(KINDS)}
RULES = sorted({kind.rule for kind in KINDS})
