"""Vietnamese number formatting: decimal comma, dot between thousands (78,14%; 12.345)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

NOT_AVAILABLE = "–"


def _grouped(value: Decimal, decimals: int) -> str:
    quantum = Decimal(1).scaleb(-decimals)
    text = f"{value.quantize(quantum, rounding=ROUND_HALF_UP):,.{decimals}f}"
    return text.replace(",", " ").replace(".", ",").replace(" ", ".")


def number(value, decimals: int = 0) -> str:
    if value is None:
        return NOT_AVAILABLE
    return _grouped(Decimal(str(value)), decimals)


def percent(ratio, decimals: int = 2) -> str:
    """0.78141 -> '78,14%' (the ratio rounded to two decimals of a percent, half up)."""
    if ratio is None:
        return NOT_AVAILABLE
    return _grouped(Decimal(str(ratio)) * 100, decimals) + "%"
