"""The simulated source's storage: what the provincial system holds, ready to be paged out.

Each record is serialized to JSON once, when it enters the store, and kept as bytes: the server
joins those bytes into a page body, so serving never re-encodes a record and a million dossiers
do not sit in memory as Python dicts.

Records are ordered by the instant of their last change, then by their business key
(``MaHoSo``, ``MaPAKN``), then by an internal row number. The row number is the source's own
identity for a record: business keys are not trustworthy here, because the simulator plants
dossiers with a missing or duplicated ``MaHoSo`` and the source must still serve every one.

The instant used for ordering and for ``tu``/``den`` is kept apart from the payload's
``NgayCapNhat``. A real system stores a real timestamp and only its export may render it badly
(another format, or garbage); the store therefore orders by the parsed field when it parses and
otherwise by the instant the record really changed, as told by whoever inserts it.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import threading
from bisect import bisect_left, bisect_right, insort
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from random import Random
from typing import Any, Protocol

SOURCE_TIMESTAMP_FORMAT = "%Y%m%d%H%M%S"
SOURCE_DAY_FORMAT = "%Y%m%d"
SOURCE_UTC_OFFSET = timedelta(hours=7)  # Asia/Ho_Chi_Minh, no daylight saving

# Regular expressions written with [0-9]: \d would also accept digits of other scripts.
_COMPACT = re.compile(r"[0-9]{14}")
_SPACED_OR_ISO = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[ T][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?(Z|[+-][0-9]{2}:?[0-9]{2})?"
)
_MICROSECOND = timedelta(microseconds=1)

# A sort key: (instant in microseconds since 0001-01-01 local time, business key, row number).
SortKey = tuple[int, str, int]


def parse_source_instant(value: Any) -> datetime | None:
    """Read a source timestamp in any format the contract accepts, as naive local time.

    Returns None for "no value" and for anything the contract does not accept.
    """
    if not isinstance(value, str):
        return None
    try:
        if _COMPACT.fullmatch(value):
            # Sliced by hand: strptime costs ten times as much, on millions of dates.
            return datetime(
                int(value[:4]), int(value[4:6]), int(value[6:8]),
                int(value[8:10]), int(value[10:12]), int(value[12:]),
            )  # fmt: skip
        if not _SPACED_OR_ISO.fullmatch(value):
            return None
        parsed = datetime.fromisoformat(value)
    except ValueError:  # well-shaped but impossible, e.g. month 13
        return None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(timezone(SOURCE_UTC_OFFSET)).replace(tzinfo=None)
    return parsed


def format_source_instant(moment: datetime) -> str:
    return moment.strftime(SOURCE_TIMESTAMP_FORMAT)


def instant_micros(moment: datetime) -> int:
    return (moment - datetime.min) // _MICROSECOND


def serialize(record: dict) -> bytes:
    # ensure_ascii=False keeps Vietnamese text as UTF-8, byte for byte as the generator made it
    # (including text deliberately sent decomposed, NFD).
    return json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode()


class InvalidCursor(ValueError):
    """A ``sau`` value this store did not hand out."""


def encode_cursor(position: SortKey) -> str:
    raw = json.dumps(position, ensure_ascii=False, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> SortKey:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        instant, key, row = json.loads(raw)
    except (binascii.Error, ValueError, TypeError) as error:
        raise InvalidCursor(cursor) from error
    if not (isinstance(instant, int) and isinstance(key, str) and isinstance(row, int)):
        raise InvalidCursor(cursor)
    return instant, key, row


@dataclass(frozen=True)
class Page:
    records: list[bytes]
    next_cursor: str | None
    total: int


class ChangeObserver(Protocol):
    """Told about every record entering or leaving a table, to keep derived figures current."""

    def added(self, record: dict) -> None: ...

    def removed(self, record: dict) -> None: ...


class KeysetTable:
    """One entity's records in (last change, business key, row) order, paged by keyset.

    ``instant_of`` gives the instant a record last changed when its ``NgayCapNhat`` does not
    parse; it is only consulted for such records.
    """

    def __init__(
        self,
        key_field: str,
        records: Iterable[dict] = (),
        *,
        instant_of: Callable[[dict], datetime | None] | None = None,
        observer: ChangeObserver | None = None,
    ) -> None:
        self.key_field = key_field
        self._instant_of = instant_of
        self._observer = observer
        self._lock = threading.RLock()
        self._payloads: list[bytes] = []
        self._sort_keys: list[SortKey] = []
        self._order: list[SortKey] = []
        # The latest row holding each business key; duplicated keys (a planted defect) keep
        # their earlier rows, which stay served but are no longer reachable by key.
        self._row_of_key: dict[str, int] = {}
        for record in records:
            self._append(record, None)
        self._order = sorted(self._sort_keys)

    def __len__(self) -> int:
        return len(self._payloads)

    def _business_key(self, record: dict) -> str:
        key = record.get(self.key_field)
        return "" if key is None else str(key)

    def _sort_instant(self, record: dict, updated_at: datetime | None) -> int:
        moment = updated_at or parse_source_instant(record.get("NgayCapNhat"))
        if moment is None and self._instant_of is not None:
            moment = self._instant_of(record)
        # Without any known instant the record still needs a fixed place: the start of time,
        # so that every extraction from the beginning serves it.
        return instant_micros(moment) if moment is not None else 0

    def _append(self, record: dict, updated_at: datetime | None) -> int:
        row = len(self._payloads)
        key = self._business_key(record)
        self._payloads.append(serialize(record))
        self._sort_keys.append((self._sort_instant(record, updated_at), key, row))
        self._row_of_key[key] = row
        if self._observer is not None:
            self._observer.added(record)
        return row

    def upsert(self, record: dict, updated_at: datetime | None = None) -> int:
        """Store a new version of the record with the record's business key; return its row.

        The new version moves to its new place in the order, so a client paging by keyset
        meets it again after its current position instead of seeing other records shift.
        ``updated_at`` is the instant of the change when the payload's ``NgayCapNhat`` is
        not to be trusted for it.
        """
        with self._lock:
            row = self._row_of_key.get(self._business_key(record))
            if row is None:
                row = self._append(record, updated_at)
                insort(self._order, self._sort_keys[row])
            else:
                self.replace(row, record, updated_at)
            return row

    def replace(self, row: int, record: dict, updated_at: datetime | None = None) -> None:
        """Store a new version of the record at a known row."""
        with self._lock:
            _, old_key, _ = self._sort_keys[row]
            del self._order[bisect_left(self._order, self._sort_keys[row])]
            if self._row_of_key.get(old_key) == row:
                del self._row_of_key[old_key]
            if self._observer is not None:
                self._observer.removed(json.loads(self._payloads[row]))
            key = self._business_key(record)
            new_sort_key = (self._sort_instant(record, updated_at), key, row)
            self._payloads[row] = serialize(record)
            self._sort_keys[row] = new_sort_key
            self._row_of_key[key] = row
            insort(self._order, new_sort_key)
            if self._observer is not None:
                self._observer.added(record)

    def record(self, row: int) -> dict:
        return json.loads(self._payloads[row])

    def __iter__(self) -> Iterator[dict]:
        """Every record, decoded, in paging order (a snapshot; for tests and tools)."""
        with self._lock:
            payloads = [self._payloads[row] for _, _, row in self._order]
        return (json.loads(payload) for payload in payloads)

    def _bounds(self, tu: datetime | None, den: datetime | None) -> tuple[int, int]:
        low = 0 if tu is None else bisect_left(self._order, (instant_micros(tu),))
        high = len(self._order) if den is None else bisect_left(self._order, (instant_micros(den),))
        return low, max(low, high)

    def _first_after(self, low: int, position: SortKey | None) -> int:
        return low if position is None else max(low, bisect_right(self._order, position))

    def page(
        self,
        tu: datetime | None,
        den: datetime | None,
        after: str | None,
        size: int,
    ) -> Page:
        """The records changed in ``[tu, den)`` that follow the cursor ``after``."""
        position = decode_cursor(after) if after else None
        with self._lock:
            low, high = self._bounds(tu, den)
            start = self._first_after(low, position)
            stop = min(start + size, high)
            selected = self._order[start:stop]
            records = [self._payloads[row] for _, _, row in selected]
        has_more = bool(selected) and stop < high
        return Page(records, encode_cursor(selected[-1]) if has_more else None, high - low)

    def random_row_ahead(
        self,
        tu: datetime | None,
        den: datetime | None,
        after: str | None,
        rng: Random,
    ) -> int | None:
        """A row of the window ``[tu, den)`` that a client at cursor ``after`` has not met yet."""
        position = decode_cursor(after) if after else None
        with self._lock:
            low, high = self._bounds(tu, den)
            start = self._first_after(low, position)
            if start >= high:
                return None
            return self._order[rng.randrange(start, high)][2]


def _is_set(flag: Any) -> bool:
    return str(flag).strip() == "1"


def _status(record: dict) -> int | None:
    try:
        return int(record.get("TrangThaiHoSo"))
    except (TypeError, ValueError):
        return None


RECEIVED_EXCLUDED_STATUSES = frozenset({1, 3})  # submitted but not received; refused
FINISHED_STATUSES = frozenset({7, 8, 9, 10})


@dataclass(frozen=True)
class DailyCount:
    unit: str
    day: date
    received: int
    finished: int

    def as_record(self) -> dict:
        return {
            "MaDonVi": self.unit,
            "Ngay": self.day.strftime(SOURCE_DAY_FORMAT),
            "SoTiepNhan": self.received,
            "SoDaXuLy": self.finished,
        }


class DailyDossierCounts:
    """Dossiers received and finished per competent unit and day, kept current on every change.

    ``day_of(record, field)`` gives the day of a dossier date whose text does not parse, when
    the inserter knows it; a record with no known day is not counted on any day.
    """

    def __init__(self, day_of: Callable[[dict, str], date | None] | None = None) -> None:
        self._day_of = day_of
        self._lock = threading.Lock()
        # (unit, day) -> [received, finished]
        self._counts: dict[tuple[str, date], list[int]] = {}

    def _day(self, record: dict, field: str) -> date | None:
        moment = parse_source_instant(record.get(field))
        if moment is not None:
            return moment.date()
        return self._day_of(record, field) if self._day_of is not None else None

    def _contributions(self, record: dict) -> Iterator[tuple[tuple[str, date], int]]:
        if _is_set(record.get("DaXoa")):
            return
        unit = record.get("MaDonViXuLy")
        unit = "" if unit is None else str(unit)
        status = _status(record)
        if status not in RECEIVED_EXCLUDED_STATUSES:
            received_on = self._day(record, "NgayTiepNhan")
            if received_on is not None:
                yield (unit, received_on), 0
        if status in FINISHED_STATUSES:
            finished_on = self._day(record, "NgayKetThucXuLy")
            if finished_on is not None:
                yield (unit, finished_on), 1

    def _apply(self, record: dict, sign: int) -> None:
        with self._lock:
            for unit_day, column in self._contributions(record):
                counts = self._counts.setdefault(unit_day, [0, 0])
                counts[column] += sign
                if counts == [0, 0]:
                    del self._counts[unit_day]

    def added(self, record: dict) -> None:
        self._apply(record, 1)

    def removed(self, record: dict) -> None:
        self._apply(record, -1)

    def select(self, tu: datetime | None, den: datetime | None) -> list[DailyCount]:
        """Counts of the days overlapping ``[tu, den)``, ordered by day then unit."""
        first = None if tu is None else tu.date()
        # A day is selected when it starts before ``den``.
        last = None if den is None else (den - _MICROSECOND).date()
        with self._lock:
            items = [
                DailyCount(unit, day, received, finished)
                for (unit, day), (received, finished) in self._counts.items()
                if (first is None or day >= first) and (last is None or day <= last)
            ]
        items.sort(key=lambda count: (count.day, count.unit))
        return items

    def page(self, tu: datetime | None, den: datetime | None, after: str | None, size: int) -> Page:
        """One page of :meth:`select`, by keyset on (day, unit) like the record endpoints."""
        position = decode_cursor(after) if after else None
        items = self.select(tu, den)
        positions = [(count.day.toordinal(), count.unit, 0) for count in items]
        start = 0 if position is None else bisect_right(positions, position)
        stop = min(start + size, len(items))
        records = [serialize(count.as_record()) for count in items[start:stop]]
        has_more = start < stop < len(items)
        return Page(records, encode_cursor(positions[stop - 1]) if has_more else None, len(items))


class SourceStore:
    """Everything the simulated provincial system exports, one table per endpoint."""

    def __init__(
        self,
        units: Iterable[dict],
        procedures: Iterable[dict],
        dossiers: Iterable[dict],
        feedback: Iterable[dict],
        *,
        instant_of: Callable[[dict], datetime | None] | None = None,
        day_of: Callable[[dict, str], date | None] | None = None,
    ) -> None:
        self.units = KeysetTable("MaDonVi", units, instant_of=instant_of)
        self.procedures = KeysetTable("MaTTHC", procedures, instant_of=instant_of)
        self.dossier_counts = DailyDossierCounts(day_of)
        self.dossiers = KeysetTable("MaHoSo", dossiers, instant_of=instant_of, observer=self.dossier_counts)
        self.feedback = KeysetTable("MaPAKN", feedback, instant_of=instant_of)

    def update(self, record: dict, updated_at: datetime | None = None) -> int:
        """Store a changed dossier or PAKN (told apart by ``MaPAKN``); return its row."""
        table = self.feedback if "MaPAKN" in record else self.dossiers
        return table.upsert(record, updated_at)

    @classmethod
    def from_province(cls, province: Any) -> SourceStore:
        """The store of a simulated province (``simulator.generator.Province``).

        The generator renders every ``NgayCapNhat``, ``NgayTiepNhan`` and ``NgayKetThucXuLy`` in
        an accepted format (its date defects are planted in other fields), so the payload's own
        dates are the true ones and no ``instant_of`` / ``day_of`` is needed.
        """
        return cls(
            province.units,
            province.procedures,
            province.iter_dossiers(),
            province.iter_feedback(),
        )
