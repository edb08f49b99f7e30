"""The dossier's one mapping: Vietnamese source fields to typed English staging columns.

Renaming and casting; nothing is judged here, except that ``well_shaped`` vouches for a record
the record_shape rules would pass, so that they skip it. A value that is present but not
readable reads as NULL and its field is named in ``unreadable_fields``, which the quality gate
turns into a quarantine row. ``DossierRows`` collects the typed rows of a run of records;
``tthc.staging.partitions`` writes them into the batch's own tables.

Dossiers are the volume entity and are typed here, in Python, page by page, by the extraction;
units, procedures and feedback are few and are staged by ``include/sql/staging/<entity>.sql``.
The fields and their meaning: docs/source-api.md.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from tthc.staging.values import parse_int, parse_numeric, parse_timestamp, text_or_none

_TEXT = ("text", text_or_none)
_INTEGER = ("integer", parse_int)
_TIMESTAMP = ("timestamptz", parse_timestamp)

# staging.dossier: (source field, column, type). Order = the table's columns.
DOSSIER_FIELDS: tuple[tuple[str, str, tuple[str, Callable[[Any], Any]]], ...] = (
    ("MaHoSo", "dossier_code", _TEXT),
    ("MaTTHC", "procedure_code", _TEXT),
    ("TenTTHC", "procedure_name", _TEXT),
    ("MaLinhVuc", "field_code", _TEXT),
    ("TenLinhVuc", "field_name", _TEXT),
    ("MaDonViTiepNhan", "receiving_unit_code", _TEXT),
    ("MaDonViXuLy", "competent_unit_code", _TEXT),
    ("KenhThucHien", "channel", _INTEGER),
    ("LoaiDoiTuong", "applicant_type", _INTEGER),
    ("ChuHoSo", "applicant_name_token", _TEXT),
    ("SoGiayToChuHoSo", "applicant_id_token", _TEXT),
    ("SoDienThoai", "applicant_phone_token", _TEXT),
    ("Email", "applicant_email_token", _TEXT),
    ("DiaChi", "applicant_address_token", _TEXT),
    ("TrichYeuHoSo", "summary_token", _TEXT),
    ("NgayNopHoSo", "submitted_at", _TIMESTAMP),
    ("NgayTiepNhan", "received_at", _TIMESTAMP),
    ("NgayHenTra", "due_at", _TIMESTAMP),
    ("NgayKetThucXuLy", "finished_at", _TIMESTAMP),
    ("NgayTra", "returned_at", _TIMESTAMP),
    ("NgayTuChoi", "refused_at", _TIMESTAMP),
    ("TrangThaiHoSo", "status", _INTEGER),
    ("HoSoCoThanhPhanSoHoa", "has_digitized_component", _INTEGER),
    ("TaiKhoanDuocXacThucVoiVNeID", "vneid_verified", _INTEGER),
    ("DuocThanhToanTrucTuyen", "online_payment", _INTEGER),
    ("DongBoDVCQG", "synced_to_portal", _INTEGER),
    ("CoPhieuXinLoi", "has_apology", _INTEGER),
    ("KetQuaDanhGia", "rating", _INTEGER),
    ("DaXoa", "is_deleted", _INTEGER),
    ("NgayCapNhat", "source_updated_at", _TIMESTAMP),
)
# Fields named in unreadable_fields, in this order: the dates, then the whole numbers.
_DOSSIER_CHECKED = tuple(
    [(i, f) for i, (f, _, kind) in enumerate(DOSSIER_FIELDS) if kind is _TIMESTAMP]
    + [(i, f) for i, (f, _, kind) in enumerate(DOSSIER_FIELDS) if kind is _INTEGER]
)

# Child lists: table -> (source list, ((source field, column, type), ...)).
CHILD_LISTS: Mapping[str, tuple[str, tuple[tuple[str, str, tuple[str, Callable[[Any], Any]]], ...]]] = {
    "dossier_document": (
        "TaiLieuNop",
        (
            ("MaThanhPhanHoSo", "component_code", _TEXT),
            ("TenTepDinhKem", "file_name", _TEXT),
            ("DuocSoHoa", "is_digitized", _INTEGER),
            ("DuocTaiSuDung", "is_reused", _INTEGER),
            ("DuocLayTuKhoDMQG", "from_citizen_store", _INTEGER),
        ),
    ),
    "dossier_fee": (
        "DanhSachLePhi",
        (
            ("MaPhiLePhi", "fee_code", _TEXT),
            ("TenPhiLePhi", "fee_name", _TEXT),
            ("Gia", "amount", ("numeric", parse_numeric)),
            ("HinhThucThu", "collection_method", _TEXT),
        ),
    ),
    "dossier_result": (
        "DanhSachGiayToKetQua",
        (
            ("MaGiayToKetQua", "result_code", _TEXT),
            ("TenGiayTo", "result_name", _TEXT),
            ("DuongDanTepTinKetQua", "file_url", _TEXT),
        ),
    ),
    "dossier_supplement": (
        "DanhSachHoSoBoSung",
        (
            ("HoSoBoSungId", "supplement_id", _TEXT),
            ("NgayBoSung", "requested_at", _TIMESTAMP),
            ("NgayTiepNhanBoSung", "answered_at", _TIMESTAMP),
            ("NgayHenTraTruoc", "due_before", _TIMESTAMP),
            ("NgayHenTraMoi", "due_after", _TIMESTAMP),
        ),
    ),
    "dossier_step": (
        "QuaTrinhXuLy",
        (
            ("ThoiDiemXuLy", "step_at", _TIMESTAMP),
            ("TrangThai", "status", _INTEGER),
            ("PhongBanXuLy", "department", _TEXT),
            ("NguoiXuLy", "handler_token", _TEXT),
            ("NoiDungXuLy", "content_token", _TEXT),
        ),
    ),
}


# --- the record's shape -------------------------------------------------------------------------
# The record_shape rules of expectations/dossier.raw.json judge the landed JSON in SQL, the costliest
# part of the quality gate (jsonpath over every payload). The extraction holds every record parsed
# anyway, so it tells them which records are plainly well shaped (``raw.record.well_shaped``) and
# they judge only the others. The rules stay the one definition: this check may say "not well
# shaped" of a record the rules pass (they then judge it and let it through), never the opposite;
# tests/tthc/staging/test_dossier.py holds the two to the same answers over every kind of shape.

REQUIRED_FIELDS = frozenset(
    {"MaHoSo", "MaTTHC", "MaDonViTiepNhan", "MaDonViXuLy", "TrangThaiHoSo", "NgayTiepNhan", "NgayCapNhat"}
)
"""The fields a dossier record must hold (null or empty is allowed; missing is not)."""
LIST_FIELDS = frozenset(source_list for source_list, _ in CHILD_LISTS.values())


def well_shaped(record: Any) -> bool:
    """A JSON object with the required fields, whose child lists are lists (or null) and whose
    other fields are scalars: what the typer reads faithfully."""
    if type(record) is not dict or not record.keys() >= REQUIRED_FIELDS:
        return False
    for name, value in record.items():
        if type(value) is list:
            if name not in LIST_FIELDS:
                return False
        elif type(value) is dict or (value is not None and name in LIST_FIELDS):
            return False
    return True


# Columns a child table has beyond its source fields.
_CHILD_EXTRA: Mapping[str, tuple[tuple[str, str], ...]] = {
    "dossier_fee": (("amount_unreadable", "boolean"),),
    "dossier_supplement": (("unreadable_fields", "text[]"),),
}

_KEY_COLUMNS = (("batch_id", "bigint"), ("ordinal", "integer"))


def _layout() -> dict[str, tuple[tuple[str, ...], tuple[str, ...]]]:
    """staging table -> (columns, types), in the tables' column order."""
    tables = {
        "dossier": (
            *_KEY_COLUMNS,
            *((column, kind[0]) for _, column, kind in DOSSIER_FIELDS),
            ("unreadable_fields", "text[]"),
            ("payload_hash", "text"),
        )
    }
    for table, (_, fields) in CHILD_LISTS.items():
        tables[table] = (
            *_KEY_COLUMNS,
            ("position", "integer"),
            *((column, kind[0]) for _, column, kind in fields),
            *_CHILD_EXTRA.get(table, ()),
        )
    return {table: (tuple(c for c, _ in cols), tuple(t for _, t in cols)) for table, cols in tables.items()}


LAYOUT = _layout()

# The types the COPY into staging declares, column by column: the tables' own, except that a
# timestamptz travels as a timestamp. Both have the same binary form (microseconds since
# 2000-01-01, which timestamptz reads as UTC), and psycopg writes a naive datetime several times
# faster than an aware one; so parse_timestamp gives the instant in UTC, naive, and the column
# still receives that instant (tests/tthc/staging/test_dossier.py reads it back).
COPY_TYPES = {
    table: tuple("timestamp" if kind == "timestamptz" else kind for kind in types)
    for table, (_, types) in LAYOUT.items()
}


def _fee_extra(item_get: Callable[[str], Any], typed: list) -> tuple:
    return (typed[2] is None and text_or_none(item_get("Gia")) is not None,)  # amount_unreadable


def _supplement_extra(item_get: Callable[[str], Any], typed: list) -> tuple:
    # unreadable_fields: the four dates are typed[1:5]
    return (
        [
            field
            for field, value in zip(_SUPPLEMENT_DATES, typed[1:5], strict=True)
            if value is None and text_or_none(item_get(field)) is not None
        ],
    )


_SUPPLEMENT_DATES = ("NgayBoSung", "NgayTiepNhanBoSung", "NgayHenTraTruoc", "NgayHenTraMoi")
_DOSSIER_CONVERTERS = tuple((field, kind[1]) for field, _, kind in DOSSIER_FIELDS)
# (table, source list, converters, extra columns)
_CHILD_CONVERTERS = tuple(
    (
        table,
        source_list,
        tuple((field, kind[1]) for field, _, kind in fields),
        {"dossier_fee": _fee_extra, "dossier_supplement": _supplement_extra}.get(table),
    )
    for table, (source_list, fields) in CHILD_LISTS.items()
)


class DossierRows:
    """Typed staging rows of a run of one batch's dossier records, kept until ``copy_into`` writes them.

    This runs for every record the extraction lands, so it is written for speed: one pass over
    precomputed (field, converter) pairs, and a field is checked for "unreadable" only when it
    read as NULL.
    """

    def __init__(self, batch_id: int) -> None:
        self.batch_id = batch_id
        self.rows: dict[str, list[tuple]] = {table: [] for table in LAYOUT}

    def add(self, ordinal: int, record: Any, payload_hash: str) -> None:
        batch_id = self.batch_id
        get = record.get if type(record) is dict else _absent
        parsed = [convert(get(field)) for field, convert in _DOSSIER_CONVERTERS]
        unreadable_fields = [
            field
            for i, field in _DOSSIER_CHECKED
            if parsed[i] is None and text_or_none(get(field)) is not None
        ]
        self.rows["dossier"].append((batch_id, ordinal, *parsed, unreadable_fields, payload_hash))
        for table, source_list, converters, extra in _CHILD_CONVERTERS:
            items = get(source_list)
            if type(items) is not list:
                continue
            out = self.rows[table]
            for position, item in enumerate(items, start=1):
                item_get = item.get if type(item) is dict else _absent
                typed = [convert(item_get(field)) for field, convert in converters]
                out.append(
                    (batch_id, ordinal, position, *typed, *extra(item_get, typed))
                    if extra
                    else (batch_id, ordinal, position, *typed)
                )

    def take(self) -> dict[str, list[tuple]]:
        """The rows collected so far, table by table; the collection starts empty again."""
        rows, self.rows = self.rows, {table: [] for table in LAYOUT}
        return rows


def _absent(_field: str) -> None:
    return None
