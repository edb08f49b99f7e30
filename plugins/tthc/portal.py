"""Stage: what the national portal publishes -> ``mart.portal_score`` and ``mart.portal_metric``.

:func:`fetch_period` fetches one period (a year, a quarter or a month) for the province's root
unit (the root of ``core.unit_closure``): the scores of every unit (``service-results``) and the
items of each group in force (``mart.portal_group_map``), all of it over HTTP first, then writes it
in one transaction, so a failure leaves nothing half-written. The write keeps the history
(``include/sql/schema/V009__portal_scores.sql``): the same numbers write nothing, changed numbers
close the current row and add the new one, what the portal stopped publishing is closed.

:func:`periods_overlapping` and :func:`periods_for_run` say which periods a window, or a DAG run,
fetches. docs/portal.md describes the whole path.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from typing import Any

import psycopg

from tthc import warehouse
from tthc.portal_client import PortalClient, PortalPeriod

__all__ = [
    "GROUP_COLUMNS",
    "GroupEndpoint",
    "PeriodFetch",
    "PortalConfigurationError",
    "WriteCounts",
    "daily_periods",
    "compute_gap",
    "fetch_period",
    "gap_findings",
    "periods_for_run",
    "periods_overlapping",
    "root_unit",
    "store_period",
]

log = logging.getLogger(__name__)

# The project's group (mart.score_group) -> its column in mart.portal_score.
GROUP_COLUMNS: Mapping[str, str] = {
    "transparency": "transparency_score",
    "progress": "progress_score",
    "online_service": "online_service_score",
    "online_payment": "online_payment_score",
    "digitization": "digitization_score",
    "satisfaction": "satisfaction_score",
}
SCORE_COLUMNS = ("unit_code", "unit_name", *GROUP_COLUMNS.values(), "total_score")
METRIC_COLUMNS = (
    "unit_code",
    "item_code",
    "portal_group",
    "ratio",
    "score",
    "max_score",
    "numerator",
    "denominator",
)
_PERIOD_TYPES = ("year", "quarter", "month")


class PortalConfigurationError(RuntimeError):
    """The warehouse cannot say what to fetch: no root unit (or several), no group in force."""


@dataclass(frozen=True)
class GroupEndpoint:
    portal_group: str
    group_code: str
    endpoint_path: str


@dataclass(frozen=True)
class WriteCounts:
    """What one fetch did to one table: rows fetched, and how each compared with what was stored."""

    fetched: int = 0
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    withdrawn: int = 0
    """Rows current before that the portal no longer publishes: closed, none added."""


@dataclass(frozen=True)
class PeriodFetch:
    period: str
    root_code: str
    scores: WriteCounts
    metrics: WriteCounts
    gap_rows: int = 0
    """Rows of mart.portal_gap computed for the period (0 while the indicators lack it)."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "period": self.period,
            "root_code": self.root_code,
            "scores": asdict(self.scores),
            "metrics": asdict(self.metrics),
            "gap_rows": self.gap_rows,
        }


# -- which periods -------------------------------------------------------------------------------


def periods_overlapping(start: date, end: date) -> list[PortalPeriod]:
    """The years, quarters and months that overlap ``[start, end)``, in that order, each in time
    order."""
    if end <= start:
        raise ValueError(f"empty window: {start} .. {end}")
    periods = []
    for period_type in _PERIOD_TYPES:
        period = PortalPeriod.containing(period_type, start)
        while period.start < end:
            periods.append(period)
            period = period.next()
    return periods


def daily_periods(day: date) -> list[PortalPeriod]:
    """What the daily run fetches: the current and the previous month, quarter and year of
    ``day`` (the portal revises past periods, and publishes the current one as it goes)."""
    periods = []
    for period_type in _PERIOD_TYPES:
        current = PortalPeriod.containing(period_type, day)
        periods += [current.previous(), current]
    return periods


def periods_for_run(params: Mapping[str, Any], day: date) -> list[PortalPeriod]:
    """The periods of one DAG run: the conf's ``period`` ("2023", "2024-Q2", "2024-03"), else the
    periods overlapping its ``start``/``end`` window (ISO dates, end exclusive), else the daily
    ones of ``day``."""
    period = params.get("period")
    if period not in (None, ""):
        return [PortalPeriod.parse(str(period))]
    start, end = params.get("start"), params.get("end")
    if start or end:
        if not (start and end):
            raise ValueError('give both "start" and "end" (ISO dates, end exclusive), or neither')
        return periods_overlapping(_day(start), _day(end))
    return daily_periods(day)


def _day(value: Any) -> date:
    text = str(value).strip()
    return datetime.fromisoformat(text).date() if "T" in text or " " in text else date.fromisoformat(text)


NATION = "VN"  # the root above the provinces of a warehouse of several (core/merge_unit.sql)

# -- what to fetch, from the warehouse -----------------------------------------------------------


def portal_roots(conn: psycopg.Connection, period: PortalPeriod) -> list[str]:
    """The trees the portal is asked for in ``period``: the province; in a warehouse of several
    provinces (the nation at the root, docs/sources.md), each province that existed in the period,
    since the portal scores provinces, not the nation."""
    roots = warehouse.query(conn, "marts/portal_root_unit.sql")
    if [r["unit_code"] for r in roots] != [NATION]:
        return [root_unit(conn)]
    provinces = warehouse.query(
        conn, "marts/portal_provinces.sql", {"period_start": period.start, "period_end": period.end}
    )
    return [row["unit_code"] for row in provinces]


def root_unit(conn: psycopg.Connection) -> str:
    """The root of the unit tree (core.unit_closure): the province."""
    roots = warehouse.query(conn, "marts/portal_root_unit.sql")
    if len(roots) == 1:
        return roots[0]["unit_code"]
    if not roots:
        raise PortalConfigurationError(
            "core.unit_closure is empty: load the units first (DAG tthc_reference), or give the root "
            'unit in the run conf ({"root_unit": "H35"})'
        )
    raise PortalConfigurationError(
        f"core.unit_closure has {len(roots)} roots ({', '.join(r['unit_code'] for r in roots)}): give the "
        'root unit in the run conf ({"root_unit": ...})'
    )


def portal_groups(conn: psycopg.Connection, period: PortalPeriod) -> list[GroupEndpoint]:
    """The groups in force on the period's first day (mart.portal_group_map)."""
    rows = warehouse.query(conn, "marts/portal_groups.sql", {"period_start": period.start})
    if not rows:
        raise PortalConfigurationError(f"mart.portal_group_map has no group in force on {period.start}")
    return [GroupEndpoint(**row) for row in rows]


# -- fetch and store -----------------------------------------------------------------------------


def fetch_period(
    conn: psycopg.Connection, client: PortalClient, period: PortalPeriod, root_code: str | None = None
) -> PeriodFetch:
    """Fetch everything the portal publishes for ``period`` and ``root_code`` (default: the root
    unit) and store it (:func:`store_period`). Commits: the configuration is read in a transaction
    of its own, the fetch holds none, the write is one."""
    root = root_code or root_unit(conn)
    groups = portal_groups(conn, period)
    conn.commit()

    scores = client.service_results(period, root)
    by_group = {group.portal_group: group for group in groups}
    score_rows = [_score_row(score, by_group, period) for score in scores]
    metric_rows: dict[tuple[str, str], tuple] = {}
    for group in groups:
        for unit in client.group_metrics(group.endpoint_path, period, root):
            for metric in unit.metrics:
                key = (unit.unit_code, metric.item_code)
                if key in metric_rows and metric_rows[key][2] != group.portal_group:
                    log.warning(
                        "%s: item %s of %s published by %s and %s; keeping %s's",
                        period.key,
                        metric.item_code,
                        unit.unit_code,
                        metric_rows[key][2],
                        group.portal_group,
                        group.portal_group,
                    )
                metric_rows[key] = (
                    unit.unit_code,
                    metric.item_code,
                    group.portal_group,
                    metric.ratio,
                    metric.score,
                    metric.max_score,
                    metric.numerator,
                    metric.denominator,
                )
    fetched_at = datetime.now(UTC)
    return store_period(
        conn,
        period,
        root,
        score_rows,
        list(metric_rows.values()),
        [group.portal_group for group in groups],
        fetched_at,
    )


def _score_row(score: Any, groups: Mapping[str, GroupEndpoint], period: PortalPeriod) -> tuple:
    values = dict.fromkeys(GROUP_COLUMNS.values())
    for portal_group, value in score.group_scores.items():
        group = groups.get(portal_group)
        if group is None:
            log.warning(
                "%s: %s has a score for group %r, not in mart.portal_group_map; not stored",
                period.key,
                score.unit_code,
                portal_group,
            )
            continue
        values[GROUP_COLUMNS[group.group_code]] = value
    return (score.unit_code, score.unit_name, *values.values(), score.total_score)


def store_period(
    conn: psycopg.Connection,
    period: PortalPeriod,
    root_code: str,
    score_rows: Sequence[Sequence[Any]],
    metric_rows: Sequence[Sequence[Any]],
    portal_groups: Sequence[str],
    fetched_at: datetime,
) -> PeriodFetch:
    """Write one period's published rows (``SCORE_COLUMNS`` and ``METRIC_COLUMNS`` tuples) in one
    transaction, keeping the history; ``portal_groups`` are the groups that were fetched (an item
    of another group is not judged withdrawn)."""
    params = {"period_type": period.period_type, "period_start": period.start, "fetched_at": fetched_at}
    with conn.transaction():
        # the gap below is also written by the indicator refresh: one writer at a time
        warehouse.hold_mart_lock(conn)
        warehouse.run_sql(conn, "marts/portal_incoming.sql", params)
        warehouse.copy_rows(conn, "incoming_portal_score", SCORE_COLUMNS, score_rows)
        warehouse.copy_rows(conn, "incoming_portal_metric", METRIC_COLUMNS, metric_rows)
        warehouse.run_sql(conn, "marts/portal_scope.sql", {"root_code": root_code})
        scores = WriteCounts(*warehouse.run_sql(conn, "marts/portal_merge_score.sql", params)[0])
        metrics = WriteCounts(
            *warehouse.run_sql(
                conn, "marts/portal_merge_metric.sql", params | {"portal_groups": list(portal_groups)}
            )[0]
        )
        # the gap to the province's own figures, in the same transaction (docs/portal.md)
        gap_rows = compute_gap(conn, [(period.period_type, period.start)])
    result = PeriodFetch(period.key, root_code, scores, metrics, gap_rows)
    log.info(
        "portal %s (root %s): scores %s; metrics %s; %d gap rows",
        period.key,
        root_code,
        _describe(scores),
        _describe(metrics),
        gap_rows,
    )
    return result


def compute_gap(conn: psycopg.Connection, periods: Sequence[tuple[str, date]]) -> int:
    """Recompute mart.portal_gap for ``periods`` ((period_type, period_start) pairs) in the
    caller's transaction; periods without portal rows are skipped. Returns the rows computed.
    The same file is the indicator refresh's last step (tthc.indicators)."""
    rows = warehouse.run_sql(
        conn,
        "marts/portal_gap.sql",
        {"period_types": [p[0] for p in periods], "period_starts": [p[1] for p in periods]},
    )
    return int(rows[0][1]) if rows else 0


def gap_findings(
    conn: psycopg.Connection, periods: Sequence[str], max_points_below: float
) -> list[dict[str, Any]]:
    """The (unit, period) pairs, as recorded, whose published total is more than
    ``max_points_below`` points below the province's own, or with an item the unsynchronized
    dossiers do not explain (marts/portal_gap_findings.sql); ``periods`` are keys ("2023")."""
    parsed = [PortalPeriod.parse(key) for key in periods]
    return warehouse.query(
        conn,
        "marts/portal_gap_findings.sql",
        {
            "period_types": [p.period_type for p in parsed],
            "period_starts": [p.start for p in parsed],
            "max_points_below": max_points_below,
        },
    )


def _describe(counts: WriteCounts) -> str:
    return ", ".join(f"{name} {value}" for name, value in asdict(counts).items())
