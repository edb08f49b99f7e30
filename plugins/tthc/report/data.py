"""What the report shows, read from the warehouse's mart schema only.

Tables and views used: mart.indicator / mart.indicator_value (the figures and their trend),
mart.unit (names), mart.score_766 and mart.score_group (766 groups, total, rank),
mart.late_dossier_by_procedure (late dossiers), mart.rank_gap and mart.improvement_lever (the road
to a better rank), mart.form_06 (form 06/VPCP/KSTT over the period's statutory window, through
tthc.report.form_06), mart.portal_score_current (what the national portal publishes, beside the
own score of mart.score_766), mart.bi_portal_summary / mart.portal_gap (the score over the
synchronized dossiers only, the points synchronizing the others would bring) and
mart.unsynced_dossiers() (those dossiers). A missing relation leaves its section empty with a reason in
``missing``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row

from tthc.report.form_06 import Form06, load_form_06
from tthc.report.period import Period, add_months
from tthc.settings import LOCAL_TZ

UNIT_SCHEME = "as_recorded"
UNIT_VIEW = "mart.unit"  # names and types of the units (include/sql/marts/views/R__mart_views.sql)
# The report figures, in the order provincial reports quote them.
KEY_INDICATORS = ("RECEIVED", "FINISHED", "ON_TIME_FINISHED", "RESULT_DIGITIZED", "ONLINE_PAYMENT")
TREND_MONTHS = 12
SCORE_GROUPS = (
    "transparency",
    "progress",
    "online_service",
    "online_payment",
    "digitization",
    "satisfaction",
)
NOT_YET = "Chưa có dữ liệu: bảng {relation} chưa có trong kho dữ liệu (mart)."
NO_ROWS = "Chưa có dữ liệu cho đơn vị và kỳ báo cáo này trong {relation}."
# The national portal publishes years, quarters and months (docs/portal.md), not halves.
PORTAL_VIEW = "mart.portal_score_current"
PORTAL_PERIOD_TYPES = ("year", "quarter", "month")
UNSYNCED_FUNCTION = "mart.unsynced_dossiers(text,text,date)"
UNSYNCED_LIMIT = 30
PORTAL_NO_HALF = (
    "Chưa có dữ liệu: Cổng Dịch vụ công quốc gia công bố điểm theo năm, quý và tháng, không theo 6 tháng."
)
# The 766 items the export cannot score, said for the leaders who read the report (mart.score_766
# gives each item's code, points and the engineers' reason; docs/indicators.md has the details).
NOT_SCORED_VI = {
    "1.1-1.3": "Mục 1.1–1.3 ({points} điểm): công bố, công khai thủ tục hành chính. Dữ liệu của hệ thống "
    "giải quyết thủ tục hành chính chưa có thông tin này.",
    "4.x": "Nhóm Số hóa hồ sơ ({points} điểm): nhóm có 22 điểm nhưng các mục 4.1–4.6 cộng lại là 20 điểm; "
    "{points} điểm còn lại chưa có cách tính.",
}
NOT_SCORED_ITEM = re.compile(r"(?:^|; )(?P<item>[^\s;()]+) \((?P<points>\d+(?:\.\d+)?) điểm\): ")


@dataclass
class ReportData:
    unit_code: str
    unit_name: str
    unit_type: str | None
    period: Period
    figures: list[dict[str, Any]] = field(default_factory=list)  # key indicators first
    other_figures: list[dict[str, Any]] = field(default_factory=list)
    trend_months: list[date] = field(default_factory=list)
    trend: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # indicator -> one row per month
    score: dict[str, Any] | None = None
    score_groups: list[dict[str, Any]] = field(default_factory=list)
    peers: list[dict[str, Any]] = field(default_factory=list)  # the unit's level, by rank
    late_by_procedure: list[dict[str, Any]] = field(default_factory=list)
    late_by_unit: list[dict[str, Any]] = field(default_factory=list)
    late_total: dict[str, Any] | None = None
    rank_gap: list[dict[str, Any]] = field(default_factory=list)
    form_06: Form06 | None = None  # the period's statutory window, laid out as the xlsx form
    # What the national portal publishes for the unit and period beside the own score: the totals
    # (published_total, own_total, difference, fetched_at) and one row per group.
    portal: dict[str, Any] | None = None
    portal_groups: list[dict[str, Any]] = field(default_factory=list)
    # mart.bi_portal_summary's row (own_synced_total, points_from_sync, points_not_explained,
    # unsynced_dossiers, explained) and the first unsynchronized dossiers of the period
    portal_summary: dict[str, Any] | None = None
    unsynced: list[dict[str, Any]] = field(default_factory=list)
    not_scored: list[str] = field(default_factory=list)  # 766 items not scored, in words
    missing: dict[str, str] = field(default_factory=dict)  # section -> why it is empty
    generated_at: datetime = field(default_factory=datetime.now)


def _exists(conn: psycopg.Connection, relation: str) -> bool:
    return conn.execute("SELECT to_regclass(%s) IS NOT NULL", (relation,)).fetchone()[0]


def _rows(conn: psycopg.Connection, sql: str, params: dict) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cursor:
        return cursor.execute(sql, params).fetchall()


def load_report_data(
    conn: psycopg.Connection, unit_code: str, period: Period, *, late_limit: int = 15
) -> ReportData:
    params = {
        "unit": unit_code,
        "type": period.period_type,
        "start": period.start,
        "end": period.end,
        "scheme": UNIT_SCHEME,
    }
    unit = None
    if _exists(conn, UNIT_VIEW):
        found = _rows(
            conn, f"SELECT unit_name, unit_type FROM {UNIT_VIEW} WHERE unit_code = %(unit)s", params
        )
        unit = found[0] if found else None
    data = ReportData(
        unit_code=unit_code,
        unit_name=unit["unit_name"] if unit else unit_code,
        unit_type=unit["unit_type"] if unit else None,
        period=period,
    )
    _figures(conn, data, params)
    _trend(conn, data, params)
    _score(conn, data, params)
    _late(conn, data, params, late_limit)
    _rank_gap(conn, data, params)
    _form_06(conn, data)
    _portal(conn, data, params)
    return data


def _figures(conn, data: ReportData, params: dict) -> None:
    if not _exists(conn, "mart.indicator_value"):
        data.missing["figures"] = NOT_YET.format(relation="mart.indicator_value")
        return
    rows = _rows(
        conn,
        """
        SELECT i.indicator_code, i.kind, i.label_vi, v.numerator, v.denominator, v.ratio, v.score, v.max_score
        FROM mart.indicator AS i
        JOIN mart.indicator_value AS v USING (indicator_code)
        WHERE v.period_type = %(type)s AND v.period_start = %(start)s AND v.unit_code = %(unit)s
          AND v.unit_scheme = %(scheme)s
        ORDER BY i.indicator_code""",
        params,
    )
    by_code = {row["indicator_code"]: row for row in rows}
    data.figures = [by_code[code] for code in KEY_INDICATORS if code in by_code]
    data.other_figures = [
        row
        for code, row in sorted(by_code.items())
        if code not in KEY_INDICATORS and (row["denominator"] or row["numerator"])
    ]
    if not rows:
        data.missing["figures"] = NO_ROWS.format(relation="mart.indicator_value")


def _trend(conn, data: ReportData, params: dict) -> None:
    first = add_months(data.period.end, -TREND_MONTHS)
    data.trend_months = [add_months(first, i) for i in range(TREND_MONTHS)]
    if not _exists(conn, "mart.indicator_value"):
        data.missing["trend"] = NOT_YET.format(relation="mart.indicator_value")
        return
    rows = _rows(
        conn,
        """
        SELECT indicator_code, period_start AS month, numerator, denominator, ratio
        FROM mart.indicator_value
        WHERE period_type = 'month' AND unit_code = %(unit)s AND unit_scheme = %(scheme)s
          AND indicator_code = ANY(%(codes)s) AND period_start >= %(first)s AND period_start < %(end)s""",
        {**params, "codes": list(KEY_INDICATORS), "first": first},
    )
    found = {(row["indicator_code"], row["month"]): row for row in rows}
    for code in KEY_INDICATORS:
        data.trend[code] = [
            found.get(
                (code, month),
                {
                    "indicator_code": code,
                    "month": month,
                    "numerator": None,
                    "denominator": None,
                    "ratio": None,
                },
            )
            for month in data.trend_months
        ]
    if not rows:
        data.missing["trend"] = NO_ROWS.format(relation="mart.indicator_value (tháng)")


def _score(conn, data: ReportData, params: dict) -> None:
    if not _exists(conn, "mart.score_766"):
        data.missing["score"] = NOT_YET.format(relation="mart.score_766")
        return
    found = _rows(
        conn,
        """
        SELECT * FROM mart.score_766
        WHERE period_type = %(type)s AND period_start = %(start)s AND unit_code = %(unit)s
          AND unit_scheme = %(scheme)s""",
        params,
    )
    if not found:
        data.missing["score"] = NO_ROWS.format(relation="mart.score_766")
        return
    data.score = dict(found[0], band_label=None)
    data.not_scored = not_scored_items(data.score.get("not_scored"))
    if data.score.get("band_code") and _exists(conn, "mart.rating_band"):
        band = _rows(
            conn,
            """
            SELECT label_vi FROM mart.rating_band
            WHERE band_code = %(band)s AND valid_from <= %(start)s AND (valid_to IS NULL OR valid_to > %(start)s)""",
            {**params, "band": data.score["band_code"]},
        )
        data.score["band_label"] = band[0]["label_vi"] if band else None
    groups = {}
    if _exists(conn, "mart.score_group"):
        groups = {
            g["group_code"]: g
            for g in _rows(
                conn, "SELECT group_code, group_no, max_points, label_vi FROM mart.score_group", params
            )
        }
    for code in SCORE_GROUPS:
        if f"{code}_score" in data.score:
            group = groups.get(code, {})
            data.score_groups.append(
                {
                    "group_code": code,
                    "label_vi": group.get("label_vi", code),
                    "group_no": group.get("group_no"),
                    "max_points": group.get("max_points"),
                    "score": data.score[f"{code}_score"],
                }
            )
    data.score_groups.sort(key=lambda g: (g["group_no"] is None, g["group_no"] or 0))
    name_join = (
        f"LEFT JOIN {UNIT_VIEW} AS u USING (unit_code)"
        if _exists(conn, UNIT_VIEW)
        else "LEFT JOIN (SELECT NULL::text AS unit_code, NULL::text AS unit_name) AS u USING (unit_code)"
    )
    data.peers = _rows(
        conn,
        f"""
        SELECT s.unit_code, coalesce(u.unit_name, s.unit_code) AS unit_name, s.total_score, s.rank_in_level,
               s.units_in_level
        FROM mart.score_766 AS s {name_join}
        WHERE s.period_type = %(type)s AND s.period_start = %(start)s AND s.unit_scheme = %(scheme)s
          AND s.unit_type = %(unit_type)s AND s.parent_code IS NOT DISTINCT FROM %(parent)s
        ORDER BY s.rank_in_level, s.unit_code""",
        {**params, "unit_type": data.score["unit_type"], "parent": data.score["parent_code"]},
    )


def not_scored_items(text: str | None) -> list[str]:
    """mart.score_766.not_scored ("<item> (<points> điểm): <reason>; ...") as one sentence per item
    in the leaders' words; an item without such words keeps the reason it came with."""
    matches = list(NOT_SCORED_ITEM.finditer(text or ""))
    if not matches:
        return [text] if text else []
    items = []
    for n, match in enumerate(matches):
        reason = text[match.end() : matches[n + 1].start() if n + 1 < len(matches) else len(text)]
        points = match["points"].rstrip("0").rstrip(".") if "." in match["points"] else match["points"]
        words = NOT_SCORED_VI.get(match["item"])
        items.append(
            words.format(points=points) if words else f"Mục {match['item']} ({points} điểm): {reason}"
        )
    return items


def _late(conn, data: ReportData, params: dict, limit: int) -> None:
    if not _exists(conn, "mart.late_dossier_by_procedure"):
        data.missing["late"] = NOT_YET.format(relation="mart.late_dossier_by_procedure")
        return
    where = "WHERE rollup_unit_code = %(unit)s AND month >= %(start)s AND month < %(end)s"
    data.late_total = _rows(
        conn,
        f"""
        SELECT coalesce(sum(finished_with_due), 0) AS finished_with_due, coalesce(sum(late), 0) AS late,
               coalesce(sum(late_without_apology), 0) AS late_without_apology
        FROM mart.late_dossier_by_procedure {where}""",
        params,
    )[0]
    data.late_by_procedure = _rows(
        conn,
        f"""
        SELECT procedure_code, max(procedure_name) AS procedure_name, max(field_name) AS field_name,
               sum(finished_with_due) AS finished_with_due, sum(late) AS late,
               sum(late_without_apology) AS late_without_apology,
               sum(late)::numeric / nullif(sum(finished_with_due), 0) AS late_share
        FROM mart.late_dossier_by_procedure {where}
        GROUP BY procedure_code HAVING sum(late) > 0
        ORDER BY sum(late) DESC, procedure_code LIMIT %(limit)s""",
        {**params, "limit": limit},
    )
    data.late_by_unit = _rows(
        conn,
        f"""
        SELECT unit_code, max(unit_name) AS unit_name, sum(finished_with_due) AS finished_with_due,
               sum(late) AS late, sum(late_without_apology) AS late_without_apology,
               sum(late)::numeric / nullif(sum(finished_with_due), 0) AS late_share
        FROM mart.late_dossier_by_procedure {where}
        GROUP BY unit_code HAVING sum(late) > 0
        ORDER BY sum(late) DESC, unit_code LIMIT %(limit)s""",
        {**params, "limit": limit},
    )


def _rank_gap(conn, data: ReportData, params: dict) -> None:
    if not _exists(conn, "mart.rank_gap"):
        data.missing["rank_gap"] = NOT_YET.format(relation="mart.rank_gap")
        return
    lever = (
        "LEFT JOIN mart.improvement_lever AS l USING (indicator_code)"
        if _exists(conn, "mart.improvement_lever")
        else "LEFT JOIN (SELECT NULL::text AS indicator_code, NULL::text AS lever_vi) AS l USING (indicator_code)"
    )
    data.rank_gap = _rows(
        conn,
        f"""
        SELECT g.*, i.label_vi, l.lever_vi
        FROM mart.rank_gap AS g
        LEFT JOIN mart.indicator AS i USING (indicator_code)
        {lever}
        WHERE g.period_type = %(type)s AND g.period_start = %(start)s AND g.unit_code = %(unit)s
          AND g.unit_scheme = %(scheme)s
        ORDER BY g.extra_in_plan IS NULL, g.points_per_extra DESC NULLS LAST, g.points_lost DESC, g.indicator_code""",
        params,
    )
    names = {peer["unit_code"]: peer["unit_name"] for peer in data.peers}
    for row in data.rank_gap:
        codes = [code for code in (row.get("next_units") or "").split(",") if code]
        row["next_unit_names"] = ", ".join(names.get(code, code) for code in codes) or None
    if not data.rank_gap:
        data.missing["rank_gap"] = NO_ROWS.format(relation="mart.rank_gap")


def _form_06(conn, data: ReportData) -> None:
    """Form 06/VPCP/KSTT of the report's unit over the statutory window of its period (every
    report period is a month, quarter, half or year, each with its window), as recorded."""
    if not _exists(conn, "mart.form_06"):
        data.missing["form_06"] = NOT_YET.format(relation="mart.form_06")
        return
    data.form_06 = load_form_06(conn, data.unit_code, data.period, kind="statutory", scheme=UNIT_SCHEME)
    if data.form_06 is None:
        data.missing["form_06"] = NO_ROWS.format(relation="mart.form_06")


def _difference(published, own):
    return None if published is None or own is None else published - own


def _portal(conn, data: ReportData, params: dict) -> None:
    """The scores the national portal publishes (on the dossiers synchronized to it) beside the
    own scores of mart.score_766 (on all the province's dossiers), per group and in total."""
    if data.period.period_type not in PORTAL_PERIOD_TYPES:
        data.missing["portal"] = PORTAL_NO_HALF
        return
    if not _exists(conn, PORTAL_VIEW):
        data.missing["portal"] = NOT_YET.format(relation=PORTAL_VIEW)
        return
    found = _rows(
        conn,
        f"""
        SELECT * FROM {PORTAL_VIEW}
        WHERE period_type = %(type)s AND period_start = %(start)s AND unit_code = %(unit)s""",
        params,
    )
    if not found:
        data.missing["portal"] = NO_ROWS.format(relation=PORTAL_VIEW)
        return
    published = found[0]
    own = data.score or {}
    groups = {}
    if _exists(conn, "mart.score_group"):
        groups = {
            g["group_code"]: g
            for g in _rows(
                conn, "SELECT group_code, group_no, max_points, label_vi FROM mart.score_group", params
            )
        }
    for code in SCORE_GROUPS:
        group = groups.get(code, {})
        published_score, own_score = published.get(f"{code}_score"), own.get(f"{code}_score")
        data.portal_groups.append(
            {
                "group_code": code,
                "label_vi": group.get("label_vi", code),
                "group_no": group.get("group_no"),
                "max_points": group.get("max_points"),
                "published": published_score,
                "own": own_score,
                "difference": _difference(published_score, own_score),
            }
        )
    data.portal_groups.sort(key=lambda g: (g["group_no"] is None, g["group_no"] or 0))
    data.portal = {
        "published_total": published["total_score"],
        "own_total": own.get("total_score"),
        "max_available": own.get("max_available"),
        "difference": _difference(published["total_score"], own.get("total_score")),
        "fetched_at": published["fetched_at"].astimezone(LOCAL_TZ),
    }
    _portal_gap(conn, data, params)


def _portal_gap(conn, data: ReportData, params: dict) -> None:
    """What synchronizing the missing dossiers would bring (mart.portal_gap, mart.bi_portal_summary)
    and the dossiers themselves (mart.unsynced_dossiers); left out where not there yet."""
    for group in data.portal_groups:
        group.update(own_synced=None, points_from_sync=None)
    if not (_exists(conn, "mart.bi_portal_summary") and _exists(conn, "mart.portal_gap")):
        data.missing["portal_gap"] = NOT_YET.format(relation="mart.portal_gap")
        return
    found = _rows(
        conn,
        """
        SELECT * FROM mart.bi_portal_summary
        WHERE period_type = %(type)s AND period_start = %(start)s AND unit_code = %(unit)s
          AND unit_scheme = %(scheme)s""",
        params,
    )
    if not found:
        data.missing["portal_gap"] = NO_ROWS.format(relation="mart.portal_gap")
        return
    data.portal_summary = found[0]
    by_group = {
        row["group_code"]: row
        for row in _rows(
            conn,
            """
            SELECT r.group_code, sum(g.own_synced_score) AS own_synced, sum(g.points_from_sync) AS points_from_sync
            FROM mart.portal_gap AS g
            JOIN mart.scoring_rule AS r
              ON r.item_code = g.scoring_item_code AND r.valid_from <= g.period_start
             AND (r.valid_to IS NULL OR r.valid_to > g.period_start)
            WHERE g.period_type = %(type)s AND g.period_start = %(start)s AND g.unit_code = %(unit)s
              AND g.unit_scheme = %(scheme)s
            GROUP BY r.group_code""",
            params,
        )
    }
    for group in data.portal_groups:
        row = by_group.get(group["group_code"], {})
        group.update(own_synced=row.get("own_synced"), points_from_sync=row.get("points_from_sync"))
    if conn.execute("SELECT to_regprocedure(%s) IS NOT NULL", (UNSYNCED_FUNCTION,)).fetchone()[0]:
        data.unsynced = _rows(
            conn,
            """
            SELECT * FROM mart.unsynced_dossiers(%(unit)s, %(type)s, %(start)s) LIMIT %(limit)s""",
            {**params, "limit": UNSYNCED_LIMIT},
        )
        for row in data.unsynced:
            if row.get("received_at") is not None:
                row["received_at"] = row["received_at"].astimezone(LOCAL_TZ)
