"""Ground truth: the indicators of docs/indicators.md computed by the simulator from its own records.

Computed on the columnar table (vectorized), over the dossiers as recorded (``MaDonViXuLy``),
excluding defective records. Periods are half-open: ``period_end`` is the first day after.

Also the worklists of issue 24: form 06/VPCP/KSTT per window, unit and field (``form_06``) and the
watchlist at an instant (``watchlist_at``), from the state of every dossier at an instant t:
open (received before t, not finished before t), its requests made before t and those answered
before t, pause(t) (their answered − requested), due_eff(t) = NgayHenTra + pause(t), clock(t)
(the earliest unanswered request, else t), late at t (more than one request, or clock(t) >
due_eff(t)).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Iterator
from datetime import date, datetime
from decimal import Decimal

import numpy as np

from simulator.table import NA, DossierTable, to_datetime, to_seconds

FINISHED_STATUSES = (7, 8, 9, 10)

# 766 items: (indicator, points, rule threshold: None = linear, x = full at x). Transparency
# (1.1-1.3, 18 points) cannot be scored from the export.
SCORING_766 = {
    "ON_TIME_766": (20, None),
    "FULL_ONLINE_SHARE": (12, 0.5),
    "ONLINE_PAYMENT": (6, None),
    "TTHC_WITH_FEE_DATA": (2, 0.8),
    "TTHC_PAID_ONLINE": (2, 0.8),
    "E_RESULT": (6, None),
    "COMPONENT_DIGITIZED": (4, None),
    "REUSE": (2, 0.8),
    "CITIZEN_STORE": (4, None),
    "VNEID": (2, None),
    "E_CERT_COPY": (2, None),
    "SYNC_RATE": (6, None),
    "PAKN_ON_TIME": (6, None),
    "PAKN_SATISFACTION": (6, None),
    "DOSSIER_SATISFACTION": (6, 0.9),
}
NO_PAKN_FULL = {"PAKN_ON_TIME", "PAKN_SATISFACTION"}

FORM_06_COLUMNS = (
    "received_total",
    "received_online",
    "received_in_person",
    "received_carried_over",
    "finished_total",
    "finished_early",
    "finished_on_time",
    "finished_late",
    "finished_without_due",
    "in_progress_total",
    "in_progress_within_time",
    "in_progress_overdue",
)
DAY = 86_400
HOUR = 3_600


def timeliness(t: DossierTable) -> tuple[np.ndarray, np.ndarray]:
    """(on_time, late) masks over finished dossiers with a promised date, by docs/indicators.md."""
    answered = (t.supplement_requested != NA) & (t.supplement_received != NA)
    pause = np.where(answered, t.supplement_received - t.supplement_requested, 0).sum(axis=1)
    finished = np.isin(t.status, FINISHED_STATUSES) & (t.end != NA) & (t.due != NA)
    on_time = finished & (t.supplement_count <= 1) & (t.end - pause <= t.due)
    return on_time, finished & ~on_time


class GroundTruth:
    def __init__(
        self,
        table: DossierTable,
        units: list[dict],
        procedures: list[dict],
        feedback: list[dict],
        feedback_seconds: np.ndarray,
        has_pakn: np.ndarray,
        e_cert_codes: frozenset[str],
        render_personal: Callable[[], Iterator[str]],
        dossier_code: Callable[[int], str] | None = None,
        steps: Callable[[int], list[tuple[int, int, str]]] | None = None,
    ) -> None:
        self._t = table
        self._units = units
        self._render_personal = render_personal
        self._dossier_code = dossier_code  # MaHoSo of a dossier, as rendered
        self._steps = steps  # (moment, status, PhongBanXuLy) of a dossier's steps, as rendered
        self._field_codes = sorted({p["MaLinhVuc"] for p in procedures})
        field_index = {code: k for k, code in enumerate(self._field_codes)}
        self._procedure_field = np.array([field_index[p["MaLinhVuc"]] for p in procedures])
        self._form_06_cache: dict[tuple[int, int], np.ndarray] = {}
        self.planted: dict = {}
        self.defects: dict[str, dict] = {}
        self._children: dict[str, list[str]] = {}
        for unit in units:
            self._children.setdefault(unit["MaDonViCha"], []).append(unit["MaDonVi"])
        self._unit_index = {u["MaDonVi"]: i for i, u in enumerate(units)}
        self._procedure_fee = np.array([p["CoPhiLePhi"] for p in procedures])
        self._procedure_paper = np.array([p["CoKetQuaGiay"] for p in procedures])
        self._procedure_full_online = np.array([p["MucDoDVC"] == "TOAN_TRINH" for p in procedures])
        self._e_cert = np.array([p["MaTTHC"] in e_cert_codes for p in procedures])
        self._feedback = feedback
        self._feedback_seconds = feedback_seconds  # (n, 3): received, deadline, handled (NA open)
        self._has_pakn = has_pakn  # dossiers with a PAKN about them
        self.refresh()

    def refresh(self) -> None:
        """Recompute the derived masks after the table changed (planting, defects)."""
        t = self._t
        self._on_time, self._late = timeliness(t)
        self._d = (t.deleted == 0) & (t.received != NA) & ~np.isin(t.status, (1, 3)) & (t.defect == -1)
        self._finished = self._d & np.isin(t.status, FINISHED_STATUSES) & (t.end != NA)
        self._has_fee_line = t.fee > 0
        self._e_result = t.e_result & np.isin(t.status, (9, 10))
        self._form_06_cache.clear()
        self._last_unit_mask: tuple[str, np.ndarray] | None = None

    def with_table(self, table: DossierTable) -> GroundTruth:
        """The same truth over another version of the dossiers (e.g. the portal's view of some)."""
        other = copy.copy(self)
        other._t = table
        other._form_06_cache = {}
        other.refresh()
        return other

    def descendants(self, unit_code: str) -> list[str]:
        found, stack = [], [unit_code]
        while stack:
            code = stack.pop()
            found.append(code)
            stack.extend(self._children.get(code, []))
        return found

    def _unit_mask(self, unit_code: str) -> np.ndarray:
        # One entry: callers ask for every indicator of one unit in a row (the portal's scores).
        last = self._last_unit_mask
        if last is not None and last[0] == unit_code:
            return last[1]
        indices = [self._unit_index[c] for c in self.descendants(unit_code)]
        mask = np.isin(self._t.unit, indices)
        self._last_unit_mask = (unit_code, mask)
        return mask

    def indicator(
        self,
        code: str,
        unit_code: str,
        period_start: date,
        period_end: date,
        dossiers: np.ndarray | None = None,
    ) -> tuple[int, int | None]:
        """(numerator, denominator) of one indicator; counts have a None denominator.

        ``dossiers``: a boolean mask over the table; when given, only those dossiers count (the
        national portal's figures are the indicators over the synchronized dossiers). PAKN items
        do not depend on it."""
        return self._indicator(
            code, self._unit_mask(unit_code), None, unit_code, period_start, period_end, dossiers
        )

    def indicator_over(
        self,
        code: str,
        unit_codes: Iterable[str],
        period_start: date,
        period_end: date,
        dossiers: np.ndarray | None = None,
    ) -> tuple[int, int | None]:
        """(numerator, denominator) over exactly these units, without their descendants (no
        roll-up): the building block of sums over units of several provinces
        (``merged_indicator``). Unknown codes count nothing."""
        codes = [c for c in dict.fromkeys(unit_codes) if c in self._unit_index]
        in_unit = np.isin(self._t.unit, [self._unit_index[c] for c in codes])
        return self._indicator(code, in_unit, codes, None, period_start, period_end, dossiers)

    def _indicator(
        self,
        code: str,
        in_unit: np.ndarray,
        unit_codes: list[str] | None,
        unit_code: str | None,
        period_start: date,
        period_end: date,
        dossiers: np.ndarray | None,
    ) -> tuple[int, int | None]:
        """``unit_codes``: the units counted (None: ``unit_code`` and its descendants)."""
        t = self._t
        start, end = to_seconds(period_start), to_seconds(period_end)
        counted, done = self._d, self._finished
        if dossiers is not None:
            counted, done = counted & dossiers, done & dossiers
        received = counted & in_unit & (t.received >= start) & (t.received < end)
        finished = done & in_unit & (t.end >= start) & (t.end < end)
        with_due = finished & (t.due != NA)
        proc = t.procedure

        def ratio(numerator: np.ndarray, denominator: np.ndarray) -> tuple[int, int]:
            return int((numerator & denominator).sum()), int(denominator.sum())

        if code == "RECEIVED":
            return int(received.sum()), None
        if code == "FINISHED":
            return int(finished.sum()), None
        if code == "ON_TIME_FINISHED":
            return ratio(self._on_time, with_due)
        if code == "LATE_FINISHED":
            return int((with_due & self._late).sum()), None
        if code == "LATE_NO_APOLOGY":
            return int((with_due & self._late & (t.apology == 0)).sum()), None
        if code == "NO_DUE_DATE":
            return int((finished & (t.due == NA)).sum()), None
        if code == "ON_TIME_766":
            pending = counted & in_unit & (t.due != NA) & (t.received < end) & ~(done & (t.end < end))
            numerator = (with_due & self._on_time).sum() + (
                pending & (t.due >= end) & (t.supplement_count <= 1)
            ).sum()
            denominator = counted & in_unit & (t.due != NA) & (t.received < end) & ~(done & (t.end < start))
            return int(numerator), int(denominator.sum())
        if code == "ONLINE_SHARE":
            return ratio(t.channel == 2, received)
        if code == "FULL_ONLINE_SHARE":
            return ratio(t.channel == 2, received & self._procedure_full_online[proc])
        if code == "ONLINE_PAYMENT":
            return ratio(np.isin(t.paid_online, (1, 2)), received & self._has_fee_line)
        if code == "TTHC_WITH_FEE_DATA":
            with_fee_procedure = received & self._procedure_fee[proc]
            return (
                len(np.unique(proc[with_fee_procedure & self._has_fee_line])),
                len(np.unique(proc[with_fee_procedure])),
            )
        if code == "TTHC_PAID_ONLINE":
            return (
                len(np.unique(proc[received & np.isin(t.paid_online, (1, 2))])),
                len(np.unique(proc[received & self._has_fee_line])),
            )
        if code == "RESULT_DIGITIZED":
            return ratio(self._e_result, finished & np.isin(t.status, (9, 10)))
        if code == "E_RESULT":
            return ratio(self._e_result, received & self._procedure_paper[proc])
        if code == "COMPONENT_DIGITIZED":
            counted = (t.digitized == 1) & (~self._procedure_paper[proc] | self._e_result)
            return ratio(counted, received)
        if code == "REUSE":
            return ratio(t.reused == 1, received)
        if code == "CITIZEN_STORE":
            return ratio(t.citizen_store == 1, received)
        if code == "VNEID":
            return ratio(t.vneid == 1, received)
        if code == "SYNC_RATE":
            return ratio(t.synced == 1, received)
        if code == "E_CERT_COPY":
            communes = [
                c
                for c in (unit_codes if unit_codes is not None else self.descendants(unit_code))
                if self._units[self._unit_index[c]]["LoaiDonVi"] == "XA"
                and self._valid_during(c, period_start, period_end)
            ]
            offering = set(np.unique(t.unit[finished & self._e_cert[proc]]).tolist())
            return sum(self._unit_index[c] in offering for c in communes), len(communes)
        if code == "DOSSIER_SATISFACTION":
            bad = self._late | (t.rating == 0) | self._has_pakn
            return int((finished & ~bad).sum()), int(finished.sum())
        if code in ("PAKN_ON_TIME", "PAKN_SATISFACTION"):
            units = set(unit_codes) if unit_codes is not None else set(self.descendants(unit_code))
            return self._pakn(code, units, start, end)
        raise ValueError(f"unknown indicator {code}")

    def _valid_during(self, unit_code: str, first: date, after_last: date) -> bool:
        unit = self._units[self._unit_index[unit_code]]
        valid_from = unit["HieuLucTu"]
        valid_to = unit["HieuLucDen"] or "99991231"
        return valid_from < after_last.strftime("%Y%m%d") and valid_to >= first.strftime("%Y%m%d")

    def _pakn(self, code: str, units: set[str], start: int, end: int) -> tuple[int, int]:
        in_unit = np.array([f["MaDonVi"] in units for f in self._feedback], dtype=bool)
        received, deadline, handled = self._feedback_seconds.T
        selected = in_unit & (received >= start) & (received < end)
        handled_in_time = (handled != NA) & (handled <= deadline)
        open_in_time = ((handled == NA) | (handled >= end)) & (deadline >= end)
        if code == "PAKN_ON_TIME":
            return int((selected & (handled_in_time | open_in_time)).sum()), int(selected.sum())
        unhappy = np.array([f["HaiLong"] == 0 for f in self._feedback], dtype=bool)
        overdue = ~(handled_in_time | open_in_time)
        return int((selected & ~(unhappy | overdue)).sum()), int(selected.sum())

    def score_766(
        self, unit_code: str, period_start: date, period_end: date, dossiers: np.ndarray | None = None
    ) -> float:
        """The 766 total (unrounded) of the scored items; over ``dossiers`` only when given."""
        total = 0.0
        for code, (points, threshold) in SCORING_766.items():
            numerator, denominator = self.indicator(code, unit_code, period_start, period_end, dossiers)
            if not denominator:
                total += points if code in NO_PAKN_FULL else 0.0
                continue
            rate = numerator / denominator
            total += points * rate if threshold is None else min(points, points * rate / threshold)
        return total

    def monthly_counts(self) -> dict[tuple[str, date], dict[str, int]]:
        """Per competent unit as recorded (``MaDonViXuLy``) and local month (its first day):
        ``received`` (by the month of reception), ``finished``, ``finished_with_due`` and
        ``finished_on_time`` (by the month of the end; docs/indicators.md's RECEIVED, FINISHED and
        ON_TIME_FINISHED's denominator and numerator). Cells that are all zero are left out."""
        t = self._t
        columns = {
            "received": (self._d, t.received),
            "finished": (self._finished, t.end),
            "finished_with_due": (self._finished & (t.due != NA), t.end),
            "finished_on_time": (self._finished & (t.due != NA) & self._on_time, t.end),
        }
        found: dict[tuple[str, date], dict[str, int]] = {}
        for name, (mask, moment) in columns.items():
            rows = np.flatnonzero(mask)
            if not len(rows):
                continue
            months = _month_index(moment[rows])
            first = int(months.min())
            cell = (months - first) * len(self._units) + t.unit[rows].astype(np.int64)
            counts = np.bincount(cell)
            for key in np.flatnonzero(counts):
                month, unit = divmod(int(key), len(self._units))
                index = first + month
                cell_key = (self._units[unit]["MaDonVi"], date(index // 12, index % 12 + 1, 1))
                found.setdefault(cell_key, dict.fromkeys(columns, 0))[name] = int(counts[key])
        return found

    def personal_values(self) -> Iterator[str]:
        """Every personal string the simulator put into a record (for leak tests)."""
        return self._render_personal()

    # Worklists (issue 24) -----------------------------------------------------------------------

    def _state_at(self, at: int) -> dict[str, np.ndarray]:
        """Every dossier's state at instant ``at`` (table seconds), by the issue's definitions."""
        t = self._t
        requested, answered_at = t.supplement_requested, t.supplement_received
        made = (requested != NA) & (requested < at)
        answered = made & (answered_at != NA) & (answered_at < at)
        unanswered = made & ~answered
        pause = np.where(answered, answered_at - requested, 0).sum(axis=1)
        has_due = t.due != NA
        due_effective = np.where(has_due, t.due + pause, NA)
        waiting = unanswered.any(axis=1)
        clock = np.where(waiting, np.where(unanswered, requested, np.iinfo(np.int64).max).min(axis=1), at)
        late = (made.sum(axis=1) > 1) | (has_due & (clock > due_effective))
        is_open = self._d & (t.received < at) & ~(self._finished & (t.end < at))
        return {
            "open": is_open,
            "late": late,
            "waiting": waiting,
            "due_effective": due_effective,
            "clock": clock,
        }

    def _form_06_leaves(self, start: int, end: int) -> np.ndarray:
        """Counts per (unit index, field index, column) for the window [start, end)."""
        key = (start, end)
        if key in self._form_06_cache:
            return self._form_06_cache[key]
        t = self._t
        at_start, at_end = self._state_at(start), self._state_at(end)
        received = self._d & (t.received >= start) & (t.received < end)
        online = received & (t.channel == 2)
        in_person = received & np.isin(t.channel, (0, 1, 3))
        carried_over = at_start["open"]
        finished = self._finished & (t.end >= start) & (t.end < end)
        answered = (t.supplement_requested != NA) & (t.supplement_received != NA)
        pause = np.where(answered, t.supplement_received - t.supplement_requested, 0).sum(axis=1)
        has_due = t.due != NA
        adjusted_end = t.end - pause
        late = finished & ((t.supplement_count > 1) | (has_due & (adjusted_end > t.due)))
        early = finished & ~late & has_due & (adjusted_end // DAY < t.due // DAY)
        on_time = finished & ~late & ~early
        without_due = on_time & ~has_due
        in_progress = at_end["open"]
        overdue = in_progress & at_end["late"]
        columns = {
            "received_online": online,
            "received_in_person": in_person,
            "received_carried_over": carried_over,
            "received_total": online | in_person | carried_over,
            "finished_total": finished,
            "finished_early": early,
            "finished_on_time": on_time,
            "finished_late": late,
            "finished_without_due": without_due,
            "in_progress_total": in_progress,
            "in_progress_within_time": in_progress & ~overdue,
            "in_progress_overdue": overdue,
        }
        n_fields = len(self._field_codes)
        cell = t.unit.astype(np.int64) * n_fields + self._procedure_field[t.procedure]
        size = len(self._units) * n_fields
        leaves = np.stack(
            [np.bincount(cell[columns[name]], minlength=size) for name in FORM_06_COLUMNS], axis=1
        ).reshape(len(self._units), n_fields, len(FORM_06_COLUMNS))
        self._form_06_cache[key] = leaves
        return leaves

    @property
    def field_codes(self) -> list[str]:
        """The procedures' fields (MaLinhVuc), the rows of form 06 beside the total."""
        return list(self._field_codes)

    def form_06(
        self,
        unit_code: str,
        window_start: date,
        window_end: date,
        field_code: str | None,
        scheme: str = "as_recorded",
    ) -> dict[str, int]:
        """Every column of form 06/VPCP/KSTT for the window [window_start, window_end) (local
        days), the unit and its descendants, one field (``MaLinhVuc``) or all (None: the total row)."""
        if scheme != "as_recorded":
            raise NotImplementedError("the ground truth knows the units as recorded only")
        leaves = self._form_06_leaves(to_seconds(window_start), to_seconds(window_end))
        units = [self._unit_index[c] for c in self.descendants(unit_code)]
        rows = leaves[units]
        if field_code is not None:
            rows = rows[:, self._field_codes.index(field_code)]
        counts = rows.reshape(-1, len(FORM_06_COLUMNS)).sum(axis=0)
        return {name: int(value) for name, value in zip(FORM_06_COLUMNS, counts, strict=True)}

    def watchlist_at(self, at: datetime) -> dict[str, dict]:
        """The watchlist at ``at`` (naive local time), keyed by MaHoSo: unit_code, category (overdue,
        waiting_supplement, due_24h, due_72h, first match wins), due_at (due_eff, naive local),
        hours_left ((due_eff − clock) in hours, 1 decimal, half away from zero) and office (the
        PhongBanXuLy of the latest step at or before ``at``)."""
        if self._dossier_code is None or self._steps is None:
            raise RuntimeError("the watchlist needs the dossiers' codes and steps")
        t = self._t
        instant = to_seconds(at)
        state = self._state_at(instant)
        has_due = t.due != NA
        left = state["due_effective"] - instant
        category = np.select(
            [state["late"], state["waiting"], left < 24 * HOUR, left < 72 * HOUR],
            ["overdue", "waiting_supplement", "due_24h", "due_72h"],
            default="",
        )
        listed = state["open"] & (category != "") & (has_due | state["late"])
        found = {}
        for i in np.flatnonzero(listed):
            due_effective = int(state["due_effective"][i])
            if due_effective == NA:
                due_at, hours_left = None, None
            else:
                seconds = due_effective - int(state["clock"][i])
                tenths = (abs(seconds) + 180) // 360 * (1 if seconds >= 0 else -1)
                due_at, hours_left = to_datetime(due_effective), Decimal(tenths).scaleb(-1)
            steps = [step for step in self._steps(int(i)) if step[0] <= instant]
            found[self._dossier_code(int(i))] = {
                "unit_code": self._units[t.unit[i]]["MaDonVi"],
                "category": str(category[i]),
                "due_at": due_at,
                "hours_left": hours_left,
                "office": steps[-1][2] if steps else None,
            }
        return found


def _month_index(seconds: np.ndarray) -> np.ndarray:
    """year * 12 + month - 1 of each instant (table seconds, local time)."""
    days = (seconds // DAY).astype("timedelta64[D]") + np.datetime64("2000-01-01")
    months = days.astype("datetime64[M]").astype(np.int64)  # months since 1970-01
    return months + 1970 * 12


# Several provinces: the merged province's `current` history ------------------------------------

NOT_ADDITIVE = ("TTHC_WITH_FEE_DATA", "TTHC_PAID_ONLINE", "E_CERT_COPY")


def current_attribution(units: list[dict]) -> dict[str, str]:
    """Every unit of a unit list -> the one unit valid today it is attributed to in the
    ``current`` scheme (docs/indicators.md, Units and roll-up, without ``mart.lineage_main``):
    itself if still valid; else its only successor (``MaDonViMoi``, followed while the successor
    is itself dissolved); else, when split into several units of its own type, the successor with
    the lowest code; else (successors of another type: a district and its offices) the lowest unit
    valid today above all of them; else the nearest unit above it valid today."""
    by_code = {u["MaDonVi"]: u for u in units}
    today = {c for c, u in by_code.items() if not u["HieuLucDen"]}

    def ancestors(code: str) -> list[str]:
        found = []
        while code in by_code:
            found.append(code)
            code = by_code[code]["MaDonViCha"]
        return found

    def attribute(code: str, seen: frozenset[str] = frozenset()) -> str | None:
        if code in today:
            return code
        unit = by_code[code]
        successors = [c for c in (unit["MaDonViMoi"] or "").split(",") if c in by_code and c not in seen]
        resolved = sorted({a for c in successors if (a := attribute(c, seen | {code})) is not None})
        if len(resolved) == 1:
            return resolved[0]
        if resolved:
            if all(by_code[c]["LoaiDonVi"] == unit["LoaiDonVi"] for c in resolved):
                return resolved[0]
            common = set(ancestors(resolved[0]))
            for c in resolved[1:]:
                common &= set(ancestors(c))
            for c in ancestors(resolved[0]):
                if c in common and c in today and c not in resolved:
                    return c
        for c in ancestors(code)[1:]:
            if c in today:
                return c
        return None

    return {code: found for code in by_code if (found := attribute(code)) is not None}


def merged_monthly_counts(predecessors: Iterable, successor) -> dict[tuple[str, date], dict[str, int]]:
    """The merged province's ``current`` history per unit of today and month: the successor
    system's own ``monthly_counts`` plus every predecessor system's, each old unit re-expressed
    on the unit of today ``current_attribution`` gives it (from the successor's unit list, which
    carries the lineage). Provinces are ``simulator.generator.Province`` objects."""
    attribution = current_attribution(successor.units)
    total: dict[tuple[str, date], dict[str, int]] = {}
    for province in [*predecessors, successor]:
        for (unit, month), counts in province.truth.monthly_counts().items():
            cell = total.setdefault((attribution.get(unit, unit), month), dict.fromkeys(counts, 0))
            for name, value in counts.items():
                cell[name] += value
    return total


def merged_indicator(
    code: str,
    unit_code: str,
    period_start: date,
    period_end: date,
    predecessors: Iterable,
    successor,
) -> tuple[int, int | None]:
    """(numerator, denominator) of an additive indicator for a unit of the merged province in the
    ``current`` scheme, rolled up (the unit and its descendants of today): the sum over the
    successor's and the predecessors' dossiers whose unit is attributed inside that subtree.
    The distinct-procedure items and E_CERT_COPY are not sums: ValueError."""
    if code in NOT_ADDITIVE:
        raise ValueError(f"{code} is not a sum over units: no merged value")
    attribution = current_attribution(successor.units)
    inside = set(successor.truth.descendants(unit_code))
    numerator, denominator = 0, None
    for province in [*predecessors, successor]:
        units = [u["MaDonVi"] for u in province.units if attribution.get(u["MaDonVi"]) in inside]
        n, d = province.truth.indicator_over(code, units, period_start, period_end)
        numerator += n
        if d is not None:
            denominator = (denominator or 0) + d
    return numerator, denominator
