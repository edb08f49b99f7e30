"""Batch rules (docs/quality-rules.md): the batch as a whole looks wrong, so none of it reaches ``core``.

Each rule compares the batch being loaded (its staged rows, its quarantine count) with the
profiles of earlier *loaded* batches of the same entity and source (``quality.batch_profile``):

- ``quarantined_share``: too many of its records were quarantined;
- ``volume``: record count far from the median of the same weekday and hour of past weeks;
- ``unit_stopped``: a unit that sent in each of the previous comparable windows sent nothing;
- ``column_emptied``: a column that used to be filled is empty in the whole batch.

Thresholds are configuration: ``include/reference/quality_thresholds.json``, overridable with env
``TTHC_QUALITY_THRESHOLDS`` (a path or inline JSON, merged over the file). A rule without enough
history is skipped, and says so in ``quality.batch_rule_result``.
"""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import psycopg

from tthc.settings import FIRST_SOURCE_ID, LOCAL_TZ_NAME, quality_thresholds

RETRY_ENDPOINT = "quality:retry"
# Staging columns that are bookkeeping, not data: never judged as "emptied".
NOT_PROFILED = {"batch_id", "ordinal", "unreadable_fields", "payload_hash"}


@dataclass(frozen=True)
class BatchInfo:
    batch_id: int
    entity: str
    endpoint: str
    window_start: datetime | None
    window_end: datetime | None
    extracted: int
    # The source system it came from: history and thresholds are compared within one source only.
    source_id: str = FIRST_SOURCE_ID

    @property
    def is_retry(self) -> bool:
        return self.endpoint == RETRY_ENDPOINT

    @property
    def length(self) -> timedelta | None:
        if self.window_start is None or self.window_end is None:
            return None
        return self.window_end - self.window_start


@dataclass(frozen=True)
class Profile:
    record_count: int
    quarantined: int
    unit_counts: dict[str, int]
    non_null_share: dict[str, float]


@dataclass(frozen=True)
class RuleResult:
    rule: str
    passed: bool
    detail: str
    skipped: bool = False
    observed: dict[str, Any] = field(default_factory=dict)


def profile_batch(
    conn: psycopg.Connection, batch: BatchInfo, staging_table: str, quarantined: int, unit_column: str | None
) -> Profile:
    schema, table = staging_table.split(".")
    columns = [
        row[0]
        for row in conn.execute(
            """SELECT column_name FROM information_schema.columns
               WHERE table_schema = %s AND table_name = %s ORDER BY ordinal_position""",
            (schema, table),
        )
        if row[0] not in NOT_PROFILED
    ]
    ident = psycopg.sql.Identifier
    counts = conn.execute(
        psycopg.sql.SQL("SELECT count(*), {} FROM {} WHERE batch_id = %s").format(
            psycopg.sql.SQL(", ").join(psycopg.sql.SQL("count({})").format(ident(c)) for c in columns),
            ident(schema, table),
        ),
        (batch.batch_id,),
    ).fetchone()
    total = counts[0]
    shares = {c: (n / total if total else 0.0) for c, n in zip(columns, counts[1:], strict=True)}
    units: dict[str, int] = {}
    if unit_column:
        units = dict(
            conn.execute(
                psycopg.sql.SQL(
                    "SELECT {col}, count(*) FROM {tbl} WHERE batch_id = %s AND {col} IS NOT NULL GROUP BY 1"
                ).format(col=ident(unit_column), tbl=ident(schema, table)),
                (batch.batch_id,),
            ).fetchall()
        )
    return Profile(total, quarantined, units, shares)


def store_profile(conn: psycopg.Connection, batch: BatchInfo, profile: Profile) -> None:
    conn.execute(
        """INSERT INTO quality.batch_profile
               (batch_id, source_id, entity, window_start, window_end, record_count, quarantined, unit_counts,
                non_null_share)
           VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)
           ON CONFLICT (batch_id) DO UPDATE SET record_count = EXCLUDED.record_count,
               quarantined = EXCLUDED.quarantined, unit_counts = EXCLUDED.unit_counts,
               non_null_share = EXCLUDED.non_null_share, profiled_at = now()""",
        (
            batch.batch_id,
            batch.source_id,
            batch.entity,
            batch.window_start,
            batch.window_end,
            profile.record_count,
            profile.quarantined,
            json.dumps(profile.unit_counts),
            json.dumps(profile.non_null_share),
        ),
    )


def store_results(conn: psycopg.Connection, batch_id: int, results: list[RuleResult]) -> None:
    for result in results:
        conn.execute(
            """INSERT INTO quality.batch_rule_result (batch_id, rule, passed, skipped, detail, observed)
               VALUES (%s, %s, %s, %s, %s, %s)
               ON CONFLICT (batch_id, rule) DO UPDATE SET passed = EXCLUDED.passed, skipped = EXCLUDED.skipped,
                   detail = EXCLUDED.detail, observed = EXCLUDED.observed, checked_at = now()""",
            (
                batch_id,
                result.rule,
                result.passed,
                result.skipped,
                result.detail,
                json.dumps(result.observed, default=str),
            ),
        )


# History ------------------------------------------------------------------------------------

_HISTORY = """
    SELECT DISTINCT ON (p.window_start) p.window_start, p.window_end, p.record_count, p.unit_counts,
           p.non_null_share
    FROM quality.batch_profile AS p
    JOIN raw.batch AS b ON b.batch_id = p.batch_id AND b.status = 'loaded' AND b.endpoint <> %(retry)s
    WHERE p.source_id = %(source_id)s AND p.entity = %(entity)s AND p.batch_id <> %(batch_id)s AND {condition}
    ORDER BY p.window_start DESC, p.batch_id DESC
"""


def _history(conn: psycopg.Connection, batch: BatchInfo, windows: int, *, same_slot: bool) -> list[dict]:
    """Profiles of comparable earlier windows, newest first, one per window (the last load wins).

    ``same_slot``: the same weekday and hour in each of the previous ``windows`` weeks, with the same
    window length. Otherwise: the ``windows`` windows that started before this one (for batches
    without a window, the previous loads of the entity).
    """
    params = {
        "retry": RETRY_ENDPOINT,
        "entity": batch.entity,
        "batch_id": batch.batch_id,
        "source_id": batch.source_id,
    }
    if same_slot:
        params["starts"] = [batch.window_start - timedelta(weeks=k) for k in range(1, windows + 1)]
        params["length"] = batch.length
        condition = "p.window_start = ANY(%(starts)s) AND p.window_end - p.window_start = %(length)s"
    elif batch.window_start is not None:
        params["start"] = batch.window_start
        condition = "p.window_start < %(start)s"
    else:
        condition = "p.window_start IS NULL"
    with conn.cursor(row_factory=psycopg.rows.dict_row) as cursor:
        if batch.window_start is None:
            rows = cursor.execute(
                """SELECT p.window_start, p.window_end, p.record_count, p.unit_counts, p.non_null_share
                   FROM quality.batch_profile AS p
                   JOIN raw.batch AS b ON b.batch_id = p.batch_id AND b.status = 'loaded' AND b.endpoint <> %(retry)s
                   WHERE p.source_id = %(source_id)s AND p.entity = %(entity)s AND p.batch_id < %(batch_id)s
                     AND p.window_start IS NULL
                   ORDER BY p.batch_id DESC LIMIT %(limit)s""",
                {**params, "limit": windows},
            ).fetchall()
        else:
            rows = cursor.execute(_HISTORY.format(condition=condition), params).fetchall()
    return rows[:windows]


def _short_windows(batch: BatchInfo) -> bool:
    return batch.length is not None and batch.length < timedelta(days=1)


# Rules ----------------------------------------------------------------------------------------


def _quarantined_share(batch: BatchInfo, profile: Profile, config: dict, conn) -> RuleResult:
    extracted = batch.extracted
    share = profile.quarantined / extracted if extracted else 0.0
    observed = {
        "quarantined": profile.quarantined,
        "extracted": extracted,
        "share": round(share, 4),
        "max_share": config["max_share"],
    }
    if extracted < config["min_records"]:
        return RuleResult("quarantined_share", True, f"{extracted} records: too few to judge", True, observed)
    passed = share <= config["max_share"]
    return RuleResult(
        "quarantined_share",
        passed,
        f"{profile.quarantined} of {extracted} records quarantined ({share:.1%}; at most {config['max_share']:.0%})",
        observed=observed,
    )


def _volume(batch: BatchInfo, profile: Profile, config: dict, conn) -> RuleResult:
    if not _short_windows(batch):
        return RuleResult("volume", True, "judged only for windows shorter than a day", True)
    history = _history(conn, batch, config["weeks"], same_slot=True)
    counts = [row["record_count"] for row in history]
    observed = {"count": profile.record_count, "history": counts}
    if len(counts) < config["min_history"]:
        return RuleResult(
            "volume",
            True,
            f"{len(counts)} comparable windows in the past {config['weeks']} weeks: not enough history",
            True,
            observed,
        )
    usual = statistics.median(counts)
    observed["median"] = usual
    if usual < config["min_usual"]:
        return RuleResult("volume", True, f"usual volume {usual:g} is too small to judge", True, observed)
    ratio = profile.record_count / usual
    observed["ratio"] = round(ratio, 3)
    passed = config["low_ratio"] <= ratio <= config["high_ratio"]
    start = batch.window_start
    return RuleResult(
        "volume",
        passed,
        f"{profile.record_count} records where the same {start:%A} {start:%H:%M} window of the previous "
        f"{len(counts)} weeks had a median of {usual:g} (ratio {ratio:.2f}; allowed "
        f"{config['low_ratio']:g}..{config['high_ratio']:g})",
        observed=observed,
    )


def _unit_stopped(batch: BatchInfo, profile: Profile, config: dict, conn) -> RuleResult:
    if batch.window_start is None:
        return RuleResult("unit_stopped", True, "no window: nothing to compare with", True)
    if profile.record_count < config["min_batch_records"]:
        return RuleResult("unit_stopped", True, f"{profile.record_count} records: too few to judge", True)
    history = _history(conn, batch, config["windows"], same_slot=_short_windows(batch))
    if len(history) < config["windows"]:
        return RuleResult(
            "unit_stopped", True, f"{len(history)} comparable windows: not enough history", True
        )
    floor = config["min_records_per_window"]
    regular = set.intersection(*({u for u, n in row["unit_counts"].items() if n >= floor} for row in history))
    silent = [u for u in regular if not profile.unit_counts.get(u)]
    # A unit that ceased to exist (valid_to before the window) stopped for a reason.
    ended = (
        {
            row[0]
            for row in conn.execute(
                """SELECT unit_code FROM core.dim_unit WHERE row_valid_to IS NULL AND unit_code = ANY(%s)
           AND valid_to < (%s AT TIME ZONE %s)::date""",
                (silent, batch.window_start, LOCAL_TZ_NAME),
            )
        }
        if silent
        else set()
    )
    stopped = sorted(u for u in silent if u not in ended)
    observed = {"stopped": stopped, "regular_units": len(regular), "windows": len(history)}
    if not stopped:
        return RuleResult("unit_stopped", True, f"all {len(regular)} regular units sent", observed=observed)
    return RuleResult(
        "unit_stopped",
        False,
        f"{len(stopped)} unit(s) sent at least {floor} records in each of the previous {len(history)} windows "
        f"and nothing now: {', '.join(stopped[:20])}",
        observed=observed,
    )


def _column_emptied(batch: BatchInfo, profile: Profile, config: dict, conn) -> RuleResult:
    if profile.record_count < config["min_batch_records"]:
        return RuleResult("column_emptied", True, f"{profile.record_count} records: too few to judge", True)
    history = _history(conn, batch, config["windows"], same_slot=False)
    if not history:
        return RuleResult("column_emptied", True, "no earlier batch to compare with", True)
    emptied = {}
    for column, share in profile.non_null_share.items():
        before = [row["non_null_share"].get(column) for row in history]
        before = [b for b in before if b is not None]
        if share == 0 and before and statistics.fmean(before) > config["min_previous_share"]:
            emptied[column] = round(statistics.fmean(before), 3)
    observed = {"emptied": emptied, "windows": len(history)}
    if not emptied:
        return RuleResult("column_emptied", True, "no column became empty", observed=observed)
    return RuleResult(
        "column_emptied",
        False,
        "empty in the whole batch, filled before: "
        + ", ".join(f"{column} (was {share:.0%} filled)" for column, share in emptied.items()),
        observed=observed,
    )


RULES = {
    "quarantined_share": _quarantined_share,
    "volume": _volume,
    "unit_stopped": _unit_stopped,
    "column_emptied": _column_emptied,
}


def evaluate(
    conn: psycopg.Connection, batch: BatchInfo, profile: Profile, config: dict[str, Any] | None = None
) -> list[RuleResult]:
    """Every enabled batch rule on this batch. A retry batch (quarantined records given another
    chance) is not judged: it is not a delivery of the source."""
    config = config or quality_thresholds()
    if batch.is_retry:
        return [RuleResult(name, True, "retry batch: not judged", True) for name in RULES]
    results = []
    for name, rule in RULES.items():
        settings = config["batch_rules"].get(name, {})
        if not settings.get("enabled", True):
            results.append(RuleResult(name, True, "disabled in the configuration", True))
            continue
        results.append(rule(batch, profile, settings, conn))
    return results
