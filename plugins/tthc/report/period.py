"""Report periods as people write them: ``2023``, ``2024-H1``, ``2024-Q2``, ``2024-03``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

ROMAN = {1: "I", 2: "II", 3: "III", 4: "IV"}


@dataclass(frozen=True)
class Period:
    key: str  # as written: 2024-H1 (also the file-name part)
    period_type: str  # month, quarter, half, year (mart.indicator_value.period_type)
    start: date
    end: date  # exclusive
    label_vi: str

    def months(self) -> list[date]:
        out, month = [], self.start
        while month < self.end:
            out.append(month)
            month = add_months(month, 1)
        return out


def add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def parse_period(text: str) -> Period:
    value = str(text).strip().upper()
    if match := re.fullmatch(r"(\d{4})", value):
        year = int(match.group(1))
        return Period(value, "year", date(year, 1, 1), date(year + 1, 1, 1), f"năm {year}")
    if match := re.fullmatch(r"(\d{4})-H([12])", value):
        year, half = int(match.group(1)), int(match.group(2))
        start = date(year, 1 if half == 1 else 7, 1)
        label = f"6 tháng {'đầu' if half == 1 else 'cuối'} năm {year}"
        return Period(value, "half", start, add_months(start, 6), label)
    if match := re.fullmatch(r"(\d{4})-Q([1-4])", value):
        year, quarter = int(match.group(1)), int(match.group(2))
        start = date(year, 3 * quarter - 2, 1)
        return Period(value, "quarter", start, add_months(start, 3), f"quý {ROMAN[quarter]} năm {year}")
    if match := re.fullmatch(r"(\d{4})-(\d{1,2})", value):
        year, month = int(match.group(1)), int(match.group(2))
        if 1 <= month <= 12:
            start = date(year, month, 1)
            return Period(
                f"{year}-{month:02d}", "month", start, add_months(start, 1), f"tháng {month} năm {year}"
            )
    raise ValueError(f"unknown period {text!r}: write 2023, 2024-H1, 2024-Q2 or 2024-03")


def period_of(period_type: str, start: date) -> Period:
    """The period of ``period_type`` that starts on ``start`` (as mart rows name it)."""
    if period_type == "year":
        return parse_period(f"{start.year}")
    if period_type == "half":
        return parse_period(f"{start.year}-H{1 if start.month <= 6 else 2}")
    if period_type == "quarter":
        return parse_period(f"{start.year}-Q{(start.month - 1) // 3 + 1}")
    if period_type == "month":
        return parse_period(f"{start.year}-{start.month:02d}")
    raise ValueError(f"unknown period type {period_type!r}")
