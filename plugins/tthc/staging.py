"""Dossiers from source records to typed staging rows, in Python, with a binary COPY.

Renaming (Vietnamese source names -> English staging columns, the one mapping for dossiers) and
casting; nothing is judged here, except that ``well_shaped`` vouches for a record the record_shape rules
would pass, so that they skip it. A value that is absent ("" or null) reads as NULL; a value that
is present but not readable also reads as NULL and its field is named in ``unreadable_fields``,
which the quality gate turns into a quarantine row.

Two paths write the same rows with the same code:

- the extraction types every record of a page while it holds it (already parsed and
  pseudonymized), in the transaction that lands the page in ``raw`` - the hot path;
- ``stage_from_raw`` types a landed batch again from ``raw.record`` (a replay, or a load re-run
  after its batch's staging rows were published and removed).

The source's value formats are read as ``include/sql/schema/002_source_parsing.sql`` reads them
(SQL keeps those functions for the queries that read raw payloads: reconciliation, retries);
``tests/tthc/test_staging.py`` holds the two to the same answers. Dossiers are the volume entity
and are typed here; units, procedures and feedback are few and are staged by
``include/sql/staging/<entity>.sql``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import psycopg

from tthc import warehouse
from tthc.cycles import collector_paused
from tthc.pseudonymize import nfc

LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
# Vietnam has kept UTC+7 since 13 June 1975; earlier dates take the zone's history.
_LOCAL_OFFSET = timedelta(hours=7)
_ISO = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[ T]([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]{1,6}))?"
    r"(Z|[+-][0-9]{2}(?::?[0-9]{2})?)?"
)
_INT = re.compile(r"-?[0-9]{1,9}")
_NUMERIC = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
_MAX_INT = 999_999_999  # nine digits, as the SQL pattern


# --- source values ------------------------------------------------------------------------------


def source_text(value: Any) -> str | None:
    """The value as text, the way ``payload->>'Field'`` gives it: strings as they are (NFC),
    numbers and booleans as JSON writes them, lists and objects as JSON text."""
    if value is None:
        return None
    if type(value) is str:
        return value if value.isascii() else nfc(value)
    if type(value) is bool:
        return "true" if value else "false"
    if type(value) in (int, float):
        return str(value)
    return orjson.dumps(value).decode()


def text_or_none(value: Any) -> str | None:
    """Trimmed text, NULL when blank (``staging.nullif_blank``: only spaces are trimmed)."""
    if type(value) is str:  # nearly every value: the short way
        text = value.strip(" ")
        return (text if text.isascii() else nfc(text)) if text else None
    text = source_text(value)
    if text is None:
        return None
    return text.strip(" ") or None


def parse_int(value: Any) -> int | None:
    if type(value) is int:
        return value if -_MAX_INT <= value <= _MAX_INT else None
    text = source_text(value)
    if text is None:
        return None
    text = text.strip(" ")
    return int(text) if _INT.fullmatch(text) else None


def parse_numeric(value: Any) -> int | Decimal | None:
    # A whole number sent as a JSON number stays an int: the same value in a numeric column, which
    # psycopg's COPY writes twice as fast as a Decimal (the 32,043 fees of the largest month:
    # 0.021 s of client CPU instead of 0.047 s).
    if type(value) is int:
        return value
    text = source_text(value)
    if text is None:
        return None
    text = text.strip(" ")
    return Decimal(text) if _NUMERIC.fullmatch(text) else None


def parse_timestamp(value: Any) -> datetime | None:
    """yyyyMMddHHmmss, yyyy-MM-dd HH:mm:ss or ISO 8601 with fractions and offset; local time unless
    an offset is written; impossible calendar values read as NULL.

    The instant is returned in UTC as a naive datetime, the form the staging COPY sends fastest
    (``COPY_TYPES`` says why); an instant that would fall outside ``datetime``'s years in UTC
    (the first hours of year 1, the last of year 9999) reads as NULL."""
    if type(value) is str and len(value) == 14 and value >= "1976" and value.isascii() and value.isdigit():
        try:  # the usual case, read by the C parser (which also rejects 30 February)
            return datetime.fromisoformat(value[:8] + "T" + value[8:]) - _LOCAL_OFFSET  # ISO 8601's basic format
        except ValueError:
            return None
    text = source_text(value)
    if text is None:
        return None
    try:
        if len(text) == 14 and text.isascii() and text.isdigit():
            return _local(int(text[:4]), int(text[4:6]), int(text[6:8]), int(text[8:10]), int(text[10:12]),
                          int(text[12:14]), 0)
        match = _ISO.fullmatch(text)
        if match is None:
            return None
        year, month, day, hour, minute, second, fraction, zone = match.groups()
        micro = int(fraction.ljust(6, "0")) if fraction else 0
        if zone is None:
            return _local(int(year), int(month), int(day), int(hour), int(minute), int(second), micro)
        stamp = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), micro)
        if zone == "Z":
            return stamp
        digits = zone[1:].replace(":", "")
        offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:4] or 0))
        if offset >= timedelta(days=1):
            return None
        return stamp + offset if zone[0] == "-" else stamp - offset
    except (ValueError, OverflowError):  # day 30 of February, hour 25; an instant before year 1 in UTC
        return None


def _local(year: int, month: int, day: int, hour: int, minute: int, second: int, micro: int) -> datetime:
    stamp = datetime(year, month, day, hour, minute, second, micro)
    if year >= 1976:
        return stamp - _LOCAL_OFFSET
    return stamp.replace(tzinfo=LOCAL_TZ).astimezone(UTC).replace(tzinfo=None)


# --- dossiers -----------------------------------------------------------------------------------

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
    "dossier_document": ("TaiLieuNop", (
        ("MaThanhPhanHoSo", "component_code", _TEXT),
        ("TenTepDinhKem", "file_name", _TEXT),
        ("DuocSoHoa", "is_digitized", _INTEGER),
        ("DuocTaiSuDung", "is_reused", _INTEGER),
        ("DuocLayTuKhoDMQG", "from_citizen_store", _INTEGER),
    )),
    "dossier_fee": ("DanhSachLePhi", (
        ("MaPhiLePhi", "fee_code", _TEXT),
        ("TenPhiLePhi", "fee_name", _TEXT),
        ("Gia", "amount", ("numeric", parse_numeric)),
        ("HinhThucThu", "collection_method", _TEXT),
    )),
    "dossier_result": ("DanhSachGiayToKetQua", (
        ("MaGiayToKetQua", "result_code", _TEXT),
        ("TenGiayTo", "result_name", _TEXT),
        ("DuongDanTepTinKetQua", "file_url", _TEXT),
    )),
    "dossier_supplement": ("DanhSachHoSoBoSung", (
        ("HoSoBoSungId", "supplement_id", _TEXT),
        ("NgayBoSung", "requested_at", _TIMESTAMP),
        ("NgayTiepNhanBoSung", "answered_at", _TIMESTAMP),
        ("NgayHenTraTruoc", "due_before", _TIMESTAMP),
        ("NgayHenTraMoi", "due_after", _TIMESTAMP),
    )),
    "dossier_step": ("QuaTrinhXuLy", (
        ("ThoiDiemXuLy", "step_at", _TIMESTAMP),
        ("TrangThai", "status", _INTEGER),
        ("PhongBanXuLy", "department", _TEXT),
        ("NguoiXuLy", "handler_token", _TEXT),
        ("NoiDungXuLy", "content_token", _TEXT),
    )),
}


# --- the record's shape -------------------------------------------------------------------------
# The record_shape rules of expectations/dossier.raw.json judge the landed JSON in SQL, which is the
# costliest part of the quality gate (jsonpath over every payload: ~1 s of a 60k-dossier batch). The
# extraction holds every record parsed anyway, so it tells them which records are plainly well
# shaped (``raw.record.well_shaped``) and they judge only the others. The rules stay the one
# definition: this check is allowed to say "not well shaped" of a record the rules pass (they then
# judge it and let it through), never the opposite; tests/tthc/test_staging.py holds the two to the
# same answers over every kind of shape.

REQUIRED_FIELDS = frozenset({"MaHoSo", "MaTTHC", "MaDonViTiepNhan", "MaDonViXuLy", "TrangThaiHoSo", "NgayTiepNhan",
                             "NgayCapNhat"})
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
    tables = {"dossier": (
        *_KEY_COLUMNS, *((column, kind[0]) for _, column, kind in DOSSIER_FIELDS),
        ("unreadable_fields", "text[]"), ("payload_hash", "text"),
    )}
    for table, (_, fields) in CHILD_LISTS.items():
        tables[table] = (*_KEY_COLUMNS, ("position", "integer"), *((column, kind[0]) for _, column, kind in fields),
                         *_CHILD_EXTRA.get(table, ()))
    return {table: (tuple(c for c, _ in cols), tuple(t for _, t in cols)) for table, cols in tables.items()}


LAYOUT = _layout()

# The types the COPY into staging declares, column by column: the tables' own, except that a
# timestamptz travels as a timestamp. Both have the same binary form (microseconds since
# 2000-01-01, which timestamptz reads as UTC), and psycopg writes a naive datetime ~5 times faster
# than an aware one (measured: 0.15 against 0.75 µs a value, the dossier's seven dates a third of
# its row's COPY); so parse_timestamp gives the instant in UTC, naive, and the column still
# receives that instant (tests/tthc/test_staging.py reads it back).
COPY_TYPES = {table: tuple("timestamp" if kind == "timestamptz" else kind for kind in types)
              for table, (_, types) in LAYOUT.items()}


def _fee_extra(item_get: Callable[[str], Any], typed: list) -> tuple:
    return (typed[2] is None and text_or_none(item_get("Gia")) is not None,)  # amount_unreadable


def _supplement_extra(item_get: Callable[[str], Any], typed: list) -> tuple:
    # unreadable_fields: the four dates are typed[1:5]
    return ([field for field, value in zip(_SUPPLEMENT_DATES, typed[1:5], strict=True)
             if value is None and text_or_none(item_get(field)) is not None],)


_SUPPLEMENT_DATES = ("NgayBoSung", "NgayTiepNhanBoSung", "NgayHenTraTruoc", "NgayHenTraMoi")
_DOSSIER_CONVERTERS = tuple((field, kind[1]) for field, _, kind in DOSSIER_FIELDS)
# (table, source list, converters, extra columns)
_CHILD_CONVERTERS = tuple(
    (table, source_list, tuple((field, kind[1]) for field, _, kind in fields),
     {"dossier_fee": _fee_extra, "dossier_supplement": _supplement_extra}.get(table))
    for table, (source_list, fields) in CHILD_LISTS.items()
)


# --- a batch's staging tables -----------------------------------------------------------------
# Every dossier batch is staged in partitions of its own (include/sql/schema/020_staging.sql says
# why): created empty by ``open_batch``, filled by ``DossierRows.copy_into``, attached by
# ``attach_batch`` just before the writer commits, and dropped by ``drop_batch`` once the load is done.


def batch_table(table: str, batch_id: int) -> str:
    """The partition of staging ``table`` that holds ``batch_id``'s rows (as SQL's
    ``staging.dossier_partition`` names it)."""
    return f"staging.{table}_b{int(batch_id)}"


# The staged lists that only the merge reads, each whole, in a hash join with the batch's changed
# dossiers (core/merge_dossier.sql): no rule looks them up (tests/tthc/test_staging.py holds the
# suites to that), so they have no index (086_staging_child_indexes.sql) and no statistics.
MERGE_ONLY_TABLES = frozenset({"dossier_document", "dossier_result", "dossier_step"})


def rule_read_partitions(batch_id: int) -> tuple[str, ...]:
    """The batch's partitions that the staging rules read: the ones whose statistics their plans need."""
    return tuple(batch_table(table, batch_id) for table in LAYOUT if table not in MERGE_ONLY_TABLES)


def open_batch(conn: psycopg.Connection, batch_id: int) -> None:
    conn.execute("SELECT staging.open_dossier_batch(%s)", (batch_id,))


def attach_batch(conn: psycopg.Connection, batch_id: int) -> None:
    conn.execute("SELECT staging.attach_dossier_batch(%s)", (batch_id,))


# PostgreSQL lets only one partition of a table wait in DETACH ... CONCURRENTLY: a second detach on
# the same parent fails ("already pending detach"). Loads drop their batches' partitions at the same
# time (seen in the 1M benchmark), so they take turns under this session lock.
_DETACH_LOCK = "hashtext('tthc.staging.detach')"


def drop_batch(conn: psycopg.Connection, batch_id: int) -> None:
    """Drop the batch's partitions. Detached CONCURRENTLY first: a plain DROP or DETACH would lock
    the parents against every other batch's readers and writers. That waits for the transactions
    then reading the parents (another load's rule queries or merge: seconds), and cannot run in a
    transaction, so this works in autocommit, on a connection with no transaction open (it does
    not commit the caller's work for it). A detach that a killed drop left pending, of this batch
    or another, is finalized first: while it is pending no other partition of that table can be
    detached."""
    if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
        raise RuntimeError(f"dropping the staging partitions of batch {batch_id} needs a connection with no "
                           "transaction open: commit or roll back first")
    conn.autocommit = True
    try:
        conn.execute(f"SELECT pg_advisory_lock({_DETACH_LOCK})")
        try:
            for table in LAYOUT:
                parent = psycopg.sql.Identifier("staging", table)
                for (pending,) in conn.execute(
                        "SELECT inhrelid::regclass::text FROM pg_inherits "
                        "WHERE inhparent = %s::regclass AND inhdetachpending", (f"staging.{table}",)).fetchall():
                    conn.execute(psycopg.sql.SQL("ALTER TABLE {} DETACH PARTITION {} FINALIZE").format(
                        parent, psycopg.sql.SQL(pending)))  # regclass text: already quoted as needed
                name = batch_table(table, batch_id)
                partition = psycopg.sql.Identifier(*name.split("."))
                if conn.execute("SELECT 1 FROM pg_inherits WHERE inhrelid = to_regclass(%s)", (name,)).fetchone():
                    conn.execute(psycopg.sql.SQL("ALTER TABLE {} DETACH PARTITION {} CONCURRENTLY").format(
                        parent, partition))
                conn.execute(psycopg.sql.SQL("DROP TABLE IF EXISTS {}").format(partition))
        finally:
            conn.execute(f"SELECT pg_advisory_unlock({_DETACH_LOCK})")
    finally:
        conn.autocommit = False


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
        unreadable_fields = [field for i, field in _DOSSIER_CHECKED
                             if parsed[i] is None and text_or_none(get(field)) is not None]
        self.rows["dossier"].append((batch_id, ordinal, *parsed, unreadable_fields, payload_hash))
        for table, source_list, converters, extra in _CHILD_CONVERTERS:
            items = get(source_list)
            if type(items) is not list:
                continue
            out = self.rows[table]
            for position, item in enumerate(items, start=1):
                item_get = item.get if type(item) is dict else _absent
                typed = [convert(item_get(field)) for field, convert in converters]
                out.append((batch_id, ordinal, position, *typed, *extra(item_get, typed)) if extra
                           else (batch_id, ordinal, position, *typed))

    def copy_into(self, conn: psycopg.Connection) -> int:
        """Binary COPY of the rows into the batch's staging tables (``open_batch`` made them, in
        this transaction or an earlier one); returns the number of dossier rows."""
        written = len(self.rows["dossier"])
        for table, rows in self.rows.items():
            if rows:
                warehouse.copy_rows(conn, batch_table(table, self.batch_id), LAYOUT[table][0], rows,
                                    types=COPY_TYPES[table])
        self.rows = {table: [] for table in LAYOUT}
        return written


def _absent(_field: str) -> None:
    return None


def stage_from_raw(conn: psycopg.Connection, batch_id: int, chunk: int = 2000) -> int:
    """Type a landed batch of dossiers again from raw, unless its staging rows are there already
    (the extraction typed them); returns the number of dossier rows staged now. Leaves the
    batch's partitions attached, in the caller's transaction."""
    if conn.execute("SELECT EXISTS (SELECT 1 FROM staging.dossier WHERE batch_id = %s)", (batch_id,)).fetchone()[0]:
        return 0
    staged = 0
    open_batch(conn, batch_id)
    with conn.cursor(name=f"raw_batch_{batch_id}") as cursor, collector_paused():
        cursor.execute(
            """SELECT ordinal, payload::text, coalesce(payload_hash, md5(payload::text))
               FROM raw.record WHERE batch_id = %s ORDER BY ordinal""", (batch_id,))
        while records := cursor.fetchmany(chunk):
            rows = DossierRows(batch_id)
            for ordinal, payload, payload_hash in records:
                rows.add(ordinal, orjson.loads(payload), payload_hash)
            staged += rows.copy_into(conn)
    attach_batch(conn, batch_id)
    return staged
