"""The source's values read as typed Python values, the way the staging SQL reads them.

A value that is absent ("" or null) reads as None; a value that is present but not readable also
reads as None, and the caller decides whether that is worth a quarantine row. The SQL twins of
these readers (``staging.nullif_blank``, ``staging.parse_source_timestamp``, ...) serve the
queries that read raw payloads; ``tests/tthc/staging/test_values.py`` holds both to the same answers.
Value formats: docs/source-api.md.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import orjson

from tthc.pseudonymize import nfc
from tthc.settings import LOCAL_TZ

# Vietnam has kept UTC+7 since 13 June 1975; earlier dates take the zone's history.
_LOCAL_OFFSET = timedelta(hours=7)
_ISO = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[ T]([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]{1,6}))?"
    r"(Z|[+-][0-9]{2}(?::?[0-9]{2})?)?"
)
_INT = re.compile(r"-?[0-9]{1,9}")
_NUMERIC = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
_MAX_INT = 999_999_999  # nine digits, as the SQL pattern


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
    # A whole JSON number stays an int: the same value in a numeric column, and psycopg's COPY
    # writes an int faster than a Decimal (docs/performance.md).
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
    (``tthc.staging.dossier.COPY_TYPES`` says why); an instant that would fall outside ``datetime``'s years in UTC
    (the first hours of year 1, the last of year 9999) reads as NULL."""
    if type(value) is str and len(value) == 14 and value >= "1976" and value.isascii() and value.isdigit():
        try:  # the usual case, read by the C parser (which also rejects 30 February)
            return (
                datetime.fromisoformat(value[:8] + "T" + value[8:]) - _LOCAL_OFFSET
            )  # ISO 8601's basic format
        except ValueError:
            return None
    text = source_text(value)
    if text is None:
        return None
    try:
        if len(text) == 14 and text.isascii() and text.isdigit():
            return _local(
                int(text[:4]),
                int(text[4:6]),
                int(text[6:8]),
                int(text[8:10]),
                int(text[10:12]),
                int(text[12:14]),
                0,
            )
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
