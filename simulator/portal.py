"""The national portal's published Decision 766 scores (contract: /work/shared/spec/portal-api.md).

The National Public Service Portal scores units only from the dossiers the provincial system
synchronized to it (``DongBoDVCQG = 1``). This module is the portal's side of the simulation:
every indicator of ``GroundTruth`` over the synchronized dossiers only (``dossiers=`` mask), rolled
up the unit tree the same way, scored by ``SCORING_766``, for every unit, year, quarter and month
of the simulated span. Nothing is copied from the province's own formulas.

The portal's rules, as this simulator publishes them:

- **Items**: the fifteen items the export lets the province score, numbered as the portal numbers
  them (``ITEMS``): 1.4, 2.1, 3.1, 3.5a, 3.5b, 3.6, 4.1, 4.2, 4.3, 4.4, 4.5b (dossiers whose
  applicant used VNeID: the project's ``VNEID``), 4.6, 5.2, 5.3, 5.4. Items 1.1-1.3 (publishing
  procedures) and the two undefined points of the digitization group are not published, so the
  maximum total is 86, as the province's own.
- **1.4 (synchronization)**: the portal sees only what was synchronized, so its 1.4 is the
  synchronized dossiers received in the period over the same dossiers: ratio 1 and the full 6
  points wherever the unit synchronized anything, 0 points where it synchronized nothing. This is
  ``SYNC_RATE`` over the synchronized dossiers, like every other item; the province's own 1.4
  (over all its dossiers) is below it by 6 x the unsynchronized share.
- **Rounding**: ``ratio`` = numerator / denominator rounded half up to 4 decimals; each item's
  ``score`` = points x rate (linear) or min(points, points x rate / threshold), rounded half up
  to two decimals from the exact fraction; a group score is the sum of its rounded item scores
  and ``totalScore`` the sum of all of them (both two decimals). Denominator 0: full points for
  5.2 and 5.3 (ratio 1), 0 otherwise (ratio 0).
- **Units**: every unit of the tree valid during the period (the root included), in the export's
  order; each rolled up over itself and the units below it. Names as the portal writes them
  ("UBND huyện Nậm Nhùn", "UBND xã ...", "Sở Tư pháp tỉnh Lai Châu").

The portal's habits (deterministic from the seed, never for the planted district ``H35.112`` or
the province): for about 3 % of (unit, period) one group is missing from ``groupScores`` (its points
still count in ``totalScore``); for about 5 % one item is absent from ``metrics`` (its points still
count in its group); unknown fields in the envelopes, the units and the items.

A planted disagreement (``disagreements``): the portal counts named dossiers differently from
the export: a synchronized dossier that finished on time (by the export's dates) the portal
records as finished one hour after its promised date, so late. ``Disagreement.cells()`` says
which (period type, period start, unit, item) it changes: items 2.1 and 5.4 of the month,
quarter and year of its end, for its unit and every unit above it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

import numpy as np

from simulator.table import NA, DossierTable, to_datetime, to_seconds
from simulator.truth import NO_PAKN_FULL, SCORING_766, GroundTruth

# (portal item code, group, GroundTruth indicator)
ITEMS = (
    ("1.4", "CKMB", "SYNC_RATE"),
    ("2.1", "TDGQ", "ON_TIME_766"),
    ("3.1", "CLGQ", "FULL_ONLINE_SHARE"),
    ("3.5a", "TTTT", "TTHC_WITH_FEE_DATA"),
    ("3.5b", "TTTT", "TTHC_PAID_ONLINE"),
    ("3.6", "TTTT", "ONLINE_PAYMENT"),
    ("4.1", "MDSH", "E_RESULT"),
    ("4.2", "MDSH", "COMPONENT_DIGITIZED"),
    ("4.3", "MDSH", "REUSE"),
    ("4.4", "MDSH", "CITIZEN_STORE"),
    ("4.5b", "MDSH", "VNEID"),
    ("4.6", "MDSH", "E_CERT_COPY"),
    ("5.2", "MDHL", "PAKN_ON_TIME"),
    ("5.3", "MDHL", "PAKN_SATISFACTION"),
    ("5.4", "MDHL", "DOSSIER_SATISFACTION"),
)
ITEM_INDICATOR = {code: indicator for code, _group, indicator in ITEMS}
ITEM_GROUP = {code: group for code, group, _indicator in ITEMS}
GROUPS = ("CKMB", "TDGQ", "CLGQ", "TTTT", "MDSH", "MDHL")
# URL path segment of each group's items call -> group code
GROUP_PATHS = {
    "transparency": "CKMB",
    "dvc-progress-tree": "TDGQ",
    "provide-online-tree": "CLGQ",
    "formality-online-payment-tree": "TTTT",
    "dossier-digitized": "MDSH",
    "handling-satisfaction": "MDHL",
}
PERIOD_TYPES = ("year", "quarter", "month")
ITEM_NAMES = {
    "1.4": "Tỷ lệ hồ sơ được đồng bộ lên Cổng DVCQG",
    "2.1": "Tỷ lệ hồ sơ giải quyết đúng hạn",
    "3.1": "Tỷ lệ hồ sơ trực tuyến toàn trình",
    "3.5a": "Tỷ lệ TTHC có phí, lệ phí được cung cấp thông tin",
    "3.5b": "Tỷ lệ TTHC có giao dịch thanh toán trực tuyến",
    "3.6": "Tỷ lệ hồ sơ thanh toán trực tuyến",
    "4.1": "Tỷ lệ cấp kết quả điện tử",
    "4.2": "Tỷ lệ số hóa hồ sơ",
    "4.3": "Tỷ lệ khai thác, sử dụng lại dữ liệu số hóa",
    "4.4": "Tỷ lệ sử dụng kho dữ liệu công dân",
    "4.5b": "Tỷ lệ hồ sơ sử dụng tài khoản VNeID",
    "4.6": "Cung cấp dịch vụ chứng thực bản sao điện tử",
    "5.2": "Tỷ lệ PAKN được xử lý đúng hạn",
    "5.3": "Mức độ hài lòng về xử lý PAKN",
    "5.4": "Mức độ hài lòng trong giải quyết TTHC",
}
MISSING_GROUP_SHARE = 0.03
MISSING_ITEM_SHARE = 0.05
NO_HABITS = ("H35", "H35.112")  # the province and the planted district are always complete
PLANTED_DISTRICT = "H35.112"
LEVEL = {"TINH": 1, "SO_NGANH": 2, "HUYEN": 2, "PHONG_HUYEN": 3, "XA": 3}
TWO = Decimal("0.01")


def period_end(period_type: str, period_start: date) -> date:
    """The first day after the period."""
    months = {"year": 12, "quarter": 3, "month": 1}[period_type]
    index = period_start.year * 12 + period_start.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def period_start_of(
    period_type: str, year: int, quarter: int | None = None, month: int | None = None
) -> date:
    if period_type == "year":
        return date(year, 1, 1)
    if period_type == "quarter":
        return date(year, 3 * (quarter or 1) - 2, 1)
    return date(year, month or 1, 1)


def _round(value: Fraction, places: int) -> Decimal:
    exponent = Decimal(1).scaleb(-places)
    return (Decimal(value.numerator) / Decimal(value.denominator)).quantize(exponent, ROUND_HALF_UP)


def item_score(indicator: str, numerator: int, denominator: int) -> tuple[Decimal, Decimal]:
    """(ratio to 4 decimals, score to 2 decimals) of one item by the portal's rule."""
    points, threshold = SCORING_766[indicator]
    if not denominator:
        full = indicator in NO_PAKN_FULL
        return Decimal(1 if full else 0).quantize(Decimal("0.0001")), Decimal(points if full else 0).quantize(
            TWO
        )
    rate = Fraction(numerator, denominator)
    score = (
        points * rate
        if threshold is None
        else min(Fraction(points), points * rate / Fraction(str(threshold)))
    )
    return _round(rate, 4), _round(score, 2)


def portal_name(unit: dict, province_name: str = "Lai Châu") -> str:
    """The unit's name as the portal writes it, not as the export does."""
    name = unit["TenDonVi"]
    if name.startswith("Ủy ban nhân dân "):
        return "UBND " + name.removeprefix("Ủy ban nhân dân ")
    if unit["LoaiDonVi"] == "XA":
        kind, _, rest = name.partition(" ")
        if kind == "Thị" and rest.startswith("trấn "):
            return "UBND thị trấn " + rest.removeprefix("trấn ")
        return f"UBND {kind.lower()} {rest}"
    if unit["LoaiDonVi"] == "SO_NGANH":
        return f"{name} tỉnh {province_name}"
    return name


def _uniform(*parts: object) -> float:
    digest = hashlib.blake2b("|".join(str(p) for p in parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


@dataclass(frozen=True)
class Disagreement:
    """A dossier the portal counts differently from the export."""

    dossier_code: str
    dossier_index: int
    unit_code: str  # the competent unit (MaDonViXuLy)
    ancestors: tuple[str, ...]  # the unit and every unit above it
    kind: str  # "late": on time by the export's dates, late on the portal
    end_month: date  # the month of its end (the portal's and the export's)
    items: tuple[str, ...] = ("2.1", "5.4")

    def periods(self) -> list[tuple[str, date]]:
        month = self.end_month
        return [
            ("year", date(month.year, 1, 1)),
            ("quarter", date(month.year, (month.month - 1) // 3 * 3 + 1, 1)),
            ("month", month),
        ]

    def cells(self) -> set[tuple[str, date, str, str]]:
        """(period type, period start, unit code, item code) of every published metric it changes."""
        return {
            (pt, ps, unit, item)
            for pt, ps in self.periods()
            for unit in self.ancestors
            for item in self.items
        }


class Portal:
    """What the national portal publishes about the province, computed on demand and cached."""

    def __init__(
        self,
        truth: GroundTruth,
        table: DossierTable,
        units: list[dict],
        *,
        span: tuple[date, date],
        seed: int,
        disagreements: Iterable[int] = (),
        dossier_code=None,
        province_code: str = "H35",
        province_name: str = "Lai Châu",
    ) -> None:
        self.province_code = province_code
        self.province_name = province_name
        # The province and (Lai Châu) the planted district are always complete.
        self._no_habits = (province_code, PLANTED_DISTRICT) if province_code == "H35" else (province_code,)
        self._units = units
        self._by_code = {u["MaDonVi"]: u for u in units}
        self._parent = {u["MaDonVi"]: u["MaDonViCha"] for u in units}
        self._order = {u["MaDonVi"]: k for k, u in enumerate(units)}
        self._span = span  # [first day, the simulation's now)
        self._seed = seed
        self.synced = table.synced == 1
        indices = sorted(set(int(i) for i in disagreements))
        self.disagreements: list[Disagreement] = []
        if indices:
            end = table.end.copy()
            for i in indices:
                end[i] = table.due[i] + 3600
            portal_table = dataclasses.replace(table, end=end)
            self._truth = truth.with_table(portal_table)
            for i in indices:
                unit_code = units[table.unit[i]]["MaDonVi"]
                moment = to_datetime(int(end[i]))
                self.disagreements.append(
                    Disagreement(
                        dossier_code=dossier_code(i) if dossier_code else str(i),
                        dossier_index=i,
                        unit_code=unit_code,
                        ancestors=tuple(self._ancestors(unit_code)),
                        kind="late",
                        end_month=date(moment.year, moment.month, 1),
                    )
                )
        else:
            self._truth = truth
        self._cache: dict[tuple[str, date, str], dict] = {}
        self._lock = threading.Lock()

    # Periods and units --------------------------------------------------------------------------

    def periods(self) -> Iterator[tuple[str, date]]:
        """Every (period type, period start) the portal publishes: years, quarters and months
        overlapping the simulated span."""
        first, now = self._span
        for period_type in PERIOD_TYPES:
            start = date(first.year, 1, 1)
            while start < now:
                if period_end(period_type, start) > first:
                    yield period_type, start
                start = period_end(period_type, start)

    def publishes(self, period_type: str, period_start: date) -> bool:
        first, now = self._span
        return period_start < now and period_end(period_type, period_start) > first

    def _ancestors(self, unit_code: str) -> list[str]:
        found = []
        while unit_code is not None:
            found.append(unit_code)
            unit_code = self._parent.get(unit_code)
        return found

    def knows(self, unit_code: str) -> bool:
        return unit_code in self._by_code

    def units(self, period_type: str, period_start: date, root: str | None = None) -> list[str]:
        """The units of ``root``'s subtree valid during the period, the root first, in the
        export's order: one published row each. ``root`` defaults to the province."""
        root = root or self.province_code
        if not self.publishes(period_type, period_start):
            return []
        end = period_end(period_type, period_start)
        first, after_last = period_start.strftime("%Y%m%d"), end.strftime("%Y%m%d")
        subtree = set(self._truth.descendants(root))
        found = []
        for unit in self._units:
            code = unit["MaDonVi"]
            valid_to = unit["HieuLucDen"] or "99991231"
            if code in subtree and unit["HieuLucTu"] < after_last and valid_to >= first:
                found.append(code)
        found.sort(key=lambda c: (c != root, self._order[c]))
        return found

    # The portal's computation (no habits) -----------------------------------------------------

    def _computed(self, period_type: str, period_start: date, unit_code: str) -> dict:
        key = (period_type, period_start, unit_code)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None:
                return cached
            end = period_end(period_type, period_start)
            items = {}
            for code, _group, indicator in ITEMS:
                numerator, denominator = self._truth.indicator(
                    indicator, unit_code, period_start, end, dossiers=self.synced
                )
                ratio, score = item_score(indicator, numerator, denominator)
                items[code] = {
                    "code": code,
                    "ratio": float(ratio),
                    "score": float(score),
                    "maxScore": SCORING_766[indicator][0],
                    "numerator": numerator,
                    "denominator": denominator,
                }
            groups = {
                g: float(
                    sum(
                        (Decimal(str(i["score"])) for c, i in items.items() if ITEM_GROUP[c] == g), Decimal(0)
                    )
                )
                for g in GROUPS
            }
            total = float(sum((Decimal(str(i["score"])) for i in items.values()), Decimal(0)).quantize(TWO))
            computed = {"items": items, "groups": groups, "total": total}
            self._cache[key] = computed
            return computed

    def item(self, period_type: str, period_start: date, unit_code: str, item_code: str) -> dict:
        """One item as the portal computes it, whether or not it publishes it for this unit:
        {code, ratio, score, maxScore, numerator, denominator}."""
        return dict(self._computed(period_type, period_start, unit_code)["items"][item_code])

    def total(self, period_type: str, period_start: date, unit_code: str) -> float:
        """The published totalScore (all items, two decimals)."""
        return self._computed(period_type, period_start, unit_code)["total"]

    # Habits ---------------------------------------------------------------------------------

    def missing_group(self, period_type: str, period_start: date, unit_code: str) -> str | None:
        """The group left out of ``groupScores`` for this unit and period, or None."""
        if unit_code in self._no_habits:
            return None
        roll = _uniform(self._seed, "group", unit_code, period_type, period_start)
        if roll >= MISSING_GROUP_SHARE:
            return None
        return GROUPS[int(roll / MISSING_GROUP_SHARE * len(GROUPS))]

    def missing_item(self, period_type: str, period_start: date, unit_code: str) -> str | None:
        """The item left out of ``metrics`` for this unit and period, or None."""
        if unit_code in self._no_habits:
            return None
        roll = _uniform(self._seed, "item", unit_code, period_type, period_start)
        if roll >= MISSING_ITEM_SHARE:
            return None
        return ITEMS[int(roll / MISSING_ITEM_SHARE * len(ITEMS))][0]

    # As published ---------------------------------------------------------------------------

    def score(self, period_type: str, period_start: date, unit_code: str) -> dict:
        """The unit's row of ``service-results`` as published (a missing group is absent)."""
        computed = self._computed(period_type, period_start, unit_code)
        unit = self._by_code[unit_code]
        missing = self.missing_group(period_type, period_start, unit_code)
        return {
            "departmentCode": unit_code,
            "departmentName": portal_name(unit, self.province_name),
            "totalScore": computed["total"],
            "groupScores": {g: s for g, s in computed["groups"].items() if g != missing},
            "departmentLevel": LEVEL.get(unit["LoaiDonVi"], 3),
            "parentCode": unit["MaDonViCha"],
            "maxTotalScore": 86,
        }

    def metrics(
        self, period_type: str, period_start: date, unit_code: str, group: str | None = None
    ) -> list[dict]:
        """The unit's published items (of one group, or all), each with the portal's extra fields;
        an item the portal leaves out is absent."""
        computed = self._computed(period_type, period_start, unit_code)
        missing = self.missing_item(period_type, period_start, unit_code)
        return [
            dict(item, name=ITEM_NAMES[code], groupCode=ITEM_GROUP[code], unit="%")
            for code, item in computed["items"].items()
            if code != missing and (group is None or ITEM_GROUP[code] == group)
        ]

    def metric(self, period_type: str, period_start: date, unit_code: str, item_code: str) -> dict | None:
        """One published item, or None when the portal leaves it out for this unit and period."""
        for item in self.metrics(period_type, period_start, unit_code):
            if item["code"] == item_code:
                return item
        return None

    def scores(self, period_type: str, period_start: date, root: str | None = None) -> list[dict]:
        """Every row of ``service-results`` for the subtree of ``root``, in the published order."""
        return [self.score(period_type, period_start, u) for u in self.units(period_type, period_start, root)]

    def content_row(self, group: str, period_type: str, period_start: date, unit_code: str) -> dict:
        """The unit's row of one group's items call, as published."""
        return {
            "departmentCode": unit_code,
            "departmentName": portal_name(self._by_code[unit_code], self.province_name),
            "metrics": self.metrics(period_type, period_start, unit_code, group),
            "groupCode": group,
        }

    def content(
        self, group: str, period_type: str, period_start: date, root: str | None = None
    ) -> list[dict]:
        """Every row of one group's items call for the subtree of ``root``."""
        return [
            self.content_row(group, period_type, period_start, u)
            for u in self.units(period_type, period_start, root)
        ]


def choose_disagreements(
    truth: GroundTruth, count: int, seed: int, exclude_units: Iterable[int] = ()
) -> list[int]:
    """``count`` dossiers the portal can count as late although the export says on time:
    synchronized, finished on time in 2023 without a supplement request, rated satisfied or not
    rated, no PAKN about them, whose promised date plus one hour falls in the month of their end
    (so only that month's items, and its quarter's and year's, change)."""
    if count <= 0:
        return []
    t = truth._t
    start, end = to_seconds(date(2023, 1, 1)), to_seconds(date(2024, 1, 1))
    eligible = (
        (t.synced == 1)
        & truth._finished
        & truth._on_time
        & (t.due != NA)
        & (t.supplement_count == 0)
        & (t.rating != 0)
        & ~truth._has_pakn
        & (t.end >= start)
        & (t.end < end)
        & (t.due + 3600 < end)
        & ~np.isin(t.unit, list(exclude_units))
    )
    candidates = [
        int(i)
        for i in np.flatnonzero(eligible)
        if to_datetime(int(t.end[i])).strftime("%Y%m") == to_datetime(int(t.due[i]) + 3600).strftime("%Y%m")
    ]
    rng = np.random.default_rng([seed, 25])
    return sorted(int(i) for i in rng.choice(candidates, size=min(count, len(candidates)), replace=False))
