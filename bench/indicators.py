"""Benchmark of the indicator refresh (core -> mart) at ten times a province's volume.

A bench database gets the simulator's Lai Châu unit tree and procedure catalogue (with its fields),
a calendar and 1,000,000 dossiers over 2023-2025 generated set-based in SQL (realistic shares by
unit kind and month, channels, fees, supplements, timeliness; procedure, field and field name from
the catalogue), their supplement requests (``core.dossier_supplement``, agreeing with the facts'
supplement columns: inside each dossier's life, the last one still unanswered for dossiers
waiting for a supplement) and processing steps (``core.dossier_step``, as the simulator writes
them: reception and return at the one-stop desk, the rest at the department for the field), plus
PAKN and one loaded dossier batch ending at the data's horizon. Then, in the same run:

- full rebuild of 2024 (all units, all period types, both unit schemes, scores, ranks, gaps, form
  06, watchlist), and the same without the worklist steps (form_06.sql, watchlist.sql);
- one-month refresh (March 2024 and its quarter, half and year), the hourly path, with and
  without the worklist steps, each step timed (target: under 5 s with them);
- ``mart.watchlist_at(t)`` at five instants, best of 3 after a warm-up (target: under 1 s), and
  EXPLAIN (ANALYZE, BUFFERS) of the call, of its body (a SECURITY DEFINER function is not
  inlined) and of the form's read of ``core.dossier_state_at``;
- baselines: the previous implementation (5 indicators, whole years, from git HEAD's
  indicator_value.sql if present) and the full rebuild itself;
- the plans of the one-month refresh (auto_explain, plain and with ANALYZE and BUFFERS): no
  sequential scan of core.fact_dossier; form_06.sql's statements, heaviest first.

``main() -> dict`` returns the figures (seconds, ratios, flags); the plans go to bench/results/.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[1]
for path in (ROOT / "plugins", ROOT):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from simulator.catalogue import CATALOGUE  # noqa: E402
from simulator.units import build_units  # noqa: E402
from tthc import devstack, indicators, warehouse  # noqa: E402

DOSSIERS = int(os.environ.get("TTHC_BENCH_DOSSIERS", "1000000"))
DATABASE = "tthc_bench_indicators"

# Set-based generation: one INSERT ... SELECT over generate_series. Units are drawn from weighted
# arrays (communes handle most dossiers before the reform, new communes and departments after).
GENERATE_DOSSIERS = """
WITH era AS (
    SELECT array_agg(unit_code ORDER BY unit_code) FILTER (WHERE valid_to IS NOT NULL) AS old_units,
           array_agg(unit_code ORDER BY unit_code) FILTER (WHERE valid_to IS NULL AND unit_type <> 'TINH') AS new_units
    FROM (SELECT u.unit_code, u.valid_to, u.unit_type,
                 generate_series(1, CASE u.unit_type WHEN 'XA' THEN 6 WHEN 'PHONG_HUYEN' THEN 3
                                                     WHEN 'SO_NGANH' THEN 4 ELSE 1 END) AS copies
          FROM core.dim_unit AS u WHERE u.row_valid_to IS NULL) AS weighted
),
procedure AS (
    SELECT array_agg(procedure_code ORDER BY procedure_code) AS codes FROM core.dim_procedure
    WHERE row_valid_to IS NULL
),
draw AS (
    SELECT g AS n,
           -- reception: more in the second half of each year, office hours
           timestamptz '2023-01-01 00:00+07' + (power(random(), 0.93) * 1095) * interval '1 day'
               + (7 + random() * 9) * interval '1 hour' AS received_at,
           random() AS r_status, random() AS r_due, random() AS r_days, random() AS r_sup, random() AS r_flag,
           random() AS r_unit, random() AS r_proc, random() AS r_fee, random() AS r_pay,
           random() AS r_pause, random() AS r_open
    FROM generate_series(1, %(n)s) AS g
),
shaped AS (
    SELECT d.*,
           CASE WHEN d.received_at < timestamptz '2025-07-01 00:00+07'
                THEN e.old_units[1 + floor(d.r_unit * array_length(e.old_units, 1))::int]
                ELSE e.new_units[1 + floor(d.r_unit * array_length(e.new_units, 1))::int] END AS unit_code,
           p.codes[1 + floor(power(d.r_proc, 2) * array_length(p.codes, 1))::int] AS procedure_code,
           CASE WHEN d.r_due < 0.04 THEN NULL
                ELSE d.received_at + (1 + floor(d.r_due * 15)) * interval '1 day' END AS due_at,
           CASE WHEN d.r_sup < 0.85 THEN 0 WHEN d.r_sup < 0.97 THEN 1 ELSE 2 END AS drawn_supplements,
           CASE WHEN d.r_status < 0.01 THEN 3
                WHEN d.received_at > timestamptz '2025-12-31 00:00+07' - interval '20 days' AND d.r_status < 0.5 THEN 4
                WHEN d.r_status < 0.02 THEN 5
                WHEN d.r_status < 0.03 THEN 7
                WHEN d.r_status < 0.05 THEN 8
                WHEN d.r_status < 0.55 THEN 9 ELSE 10 END AS drawn_status,
           d.received_at + (0.2 + power(d.r_days, 2) * 18) * interval '1 day' AS drawn_finish
    FROM draw AS d CROSS JOIN era AS e CROSS JOIN procedure AS p
),
-- Nothing ends after the data's horizon: a dossier drawn to finish later is still processing then.
closed AS (
    SELECT s.*,
           CASE WHEN s.drawn_status IN (7, 8, 9, 10) AND s.drawn_finish >= %(horizon)s::timestamptz THEN 4
                ELSE s.drawn_status END AS status
    FROM shaped AS s
),
-- A dossier waiting for a supplement (status 5) has one request still unanswered, its last one,
-- requested before the data's horizon; every other request is answered, inside the dossier's
-- life (before its end, or before the open request, or before the horizon). Each answered request
-- pauses the clock for at most a fifth of that span, so requests and answers fit in it
-- (CHILD_LAYOUT places them from these columns).
ended AS (
    SELECT s.*,
           CASE WHEN s.status = 5 THEN greatest(s.drawn_supplements, 1) ELSE s.drawn_supplements END
               AS supplement_count,
           CASE WHEN s.status IN (7, 8, 9, 10) THEN s.drawn_finish END AS finished_at,
           CASE WHEN s.status = 5
                THEN s.received_at + least((%(horizon)s::timestamptz - s.received_at) * 0.5,
                                           (0.5 + s.r_open * 5) * interval '1 day') END AS open_supplement_at
    FROM closed AS s
),
timed AS (
    SELECT e.*,
           (e.supplement_count - (e.open_supplement_at IS NOT NULL)::int)
               * least(e.r_pause * 2 * interval '1 day',
                       (coalesce(e.open_supplement_at, e.finished_at, %(horizon)s::timestamptz) - e.received_at) * 0.2)
               AS pause
    FROM ended AS e
)
INSERT INTO core.fact_dossier (
    ma_ho_so, procedure_code, procedure_name, field_code, field_name, competent_unit_code,
    receiving_unit_code, channel, submitted_at, received_at,
    due_at, finished_at, status, has_digitized_component, vneid_verified, online_payment, synced_to_portal,
    has_apology, rating, supplement_count, supplement_pause, open_supplement_at, has_positive_fee,
    has_electronic_result, has_reused_component, has_citizen_store_component, end_adjusted_at, timeliness,
    source_updated_at, batch_id)
SELECT 'B' || t.n, t.procedure_code, dp.procedure_name, dp.field_code, dp.field_name, t.unit_code, t.unit_code,
       CASE WHEN t.r_flag < CASE WHEN t.received_at >= timestamptz '2025-07-01 00:00+07' THEN 0.95 ELSE 0.25 END
            THEN 2 ELSE 1 END,
       t.received_at, t.received_at, t.due_at, t.finished_at, t.status,
       t.r_flag < 0.3, t.r_pay < 0.2, CASE WHEN t.r_fee < 0.6 AND t.r_pay < 0.8 THEN 1 + (t.r_pay < 0.3)::int ELSE 0 END,
       t.r_flag < 0.9, t.r_flag > 0.5, CASE WHEN t.r_pay < 0.5 THEN 1 WHEN t.r_pay < 0.52 THEN 0 END,
       t.supplement_count, t.pause, t.open_supplement_at, t.r_fee < 0.6,
       t.status IN (9, 10) AND t.r_days < 0.65, t.r_fee > 0.75, t.r_fee > 0.85,
       t.finished_at - t.pause,
       CASE WHEN t.finished_at IS NULL OR t.due_at IS NULL THEN NULL
            WHEN t.supplement_count > 1 THEN 'late'
            WHEN t.finished_at - t.pause <= t.due_at AND (t.finished_at - t.pause)::date < t.due_at::date THEN 'early'
            WHEN t.finished_at - t.pause <= t.due_at THEN 'on_time'
            ELSE 'late' END,
       coalesce(t.finished_at, t.received_at), 0
-- The procedure's name and field by a hash join on its code: three more subscripts of text arrays
-- (the way the code is drawn) made the statement 60 %% slower.
FROM timed AS t
INNER JOIN core.dim_procedure AS dp ON dp.procedure_code = t.procedure_code AND dp.row_valid_to IS NULL
"""

# The end of the data: the newest loaded dossier window ends here (one raw.batch row says so, for
# marts/watchlist.sql); open dossiers are open at it.
HORIZON = "2026-01-01 00:00+07"

# Where each dossier's supplement requests fall, from its fact columns alone (so the rows agree
# with supplement_count, supplement_pause and open_supplement_at by construction): the answered
# requests share the span from reception to the open request, the end or the horizon; the time
# not paused is split in quarters before the first request and between the two; the second
# request's pause is what the first leaves of supplement_pause. An open request (status 5) is the
# last one, at open_supplement_at.
CHILD_LAYOUT = """
WITH span AS (
    SELECT d.dossier_id, d.ma_ho_so, d.competent_unit_code, d.field_name, d.status, d.received_at,
           d.finished_at, d.supplement_count, d.supplement_pause, d.open_supplement_at,
           d.supplement_count - (d.open_supplement_at IS NOT NULL)::int AS answered,
           coalesce(d.open_supplement_at, d.finished_at, %(horizon)s::timestamptz) - d.received_at
               - d.supplement_pause AS free,
           CASE d.supplement_count - (d.open_supplement_at IS NOT NULL)::int
                WHEN 1 THEN d.supplement_pause WHEN 2 THEN d.supplement_pause * 0.6 END AS pause_1
    FROM core.fact_dossier AS d
),
first_request AS (
    SELECT s.*,
           CASE WHEN s.answered >= 1 THEN s.received_at + s.free * 0.25
                WHEN s.supplement_count >= 1 THEN s.open_supplement_at END AS requested_1,
           CASE WHEN s.answered >= 1 THEN s.received_at + s.free * 0.25 + s.pause_1 END AS answered_1
    FROM span AS s
),
layout AS (
    SELECT f.*,
           CASE WHEN f.answered = 2 THEN f.answered_1 + f.free * 0.25
                WHEN f.supplement_count = 2 THEN f.open_supplement_at END AS requested_2,
           CASE WHEN f.answered = 2 THEN f.answered_1 + f.free * 0.25 + (f.supplement_pause - f.pause_1) END
               AS answered_2
    FROM first_request AS f
)
"""

GENERATE_SUPPLEMENTS = (
    CHILD_LAYOUT
    + """
INSERT INTO core.dossier_supplement (dossier_id, ma_ho_so, position, supplement_id, requested_at, answered_at)
SELECT l.dossier_id, l.ma_ho_so, r.position, l.ma_ho_so || '-BS' || r.position, r.requested_at, r.answered_at
FROM layout AS l
CROSS JOIN LATERAL (VALUES (1, l.requested_1, l.answered_1), (2, l.requested_2, l.answered_2))
    AS r (position, requested_at, answered_at)
WHERE l.supplement_count > 0 AND r.requested_at IS NOT NULL
"""
)

# The steps as the simulator writes them (simulator/generator.py, _events and step_offices):
# reception at the one-stop desk, processing within the hour, a request (5) and its answer (4) per
# supplement, the end (9 for a returned dossier, else its status) and the return of the result
# (10) at the desk; every step but the desk's at the competent unit's department for the field.
# Positions follow the times: 3 + the supplement rows for the end, one more for the return.
GENERATE_STEPS = (
    CHILD_LAYOUT
    + """
INSERT INTO core.dossier_step (dossier_id, ma_ho_so, position, step_at, status, department)
SELECT l.dossier_id, l.ma_ho_so, st.position, st.step_at, st.status,
       CASE WHEN st.at_desk THEN o.desk ELSE o.department END
FROM layout AS l
INNER JOIN core.dim_unit AS u ON u.unit_code = l.competent_unit_code AND u.row_valid_to IS NULL
CROSS JOIN LATERAL (
    SELECT CASE WHEN u.unit_type = 'XA' THEN 'Bộ phận Một cửa' ELSE 'Bộ phận tiếp nhận và trả kết quả' END
               AS desk,
           CASE WHEN u.unit_type = 'XA' THEN 'Bộ phận ' ELSE 'Phòng ' END || coalesce(l.field_name, 'chuyên môn')
               AS department,
           3 + l.supplement_count + l.answered AS end_position
) AS o
CROSS JOIN LATERAL (VALUES
    (1, l.received_at, 2::smallint, true),
    (2, l.received_at + least(interval '1 hour',
                              (coalesce(l.requested_1, l.finished_at, %(horizon)s::timestamptz) - l.received_at) / 3),
     4::smallint, false),
    (3, l.requested_1, 5::smallint, false),
    (4, l.answered_1, 4::smallint, false),
    (5, l.requested_2, 5::smallint, false),
    (6, l.answered_2, 4::smallint, false),
    (o.end_position, l.finished_at, CASE WHEN l.status = 10 THEN 9 ELSE l.status END::smallint, false),
    (o.end_position + 1, CASE WHEN l.status = 10 THEN l.finished_at + interval '2 hours' END, 10::smallint, true)
) AS st (position, step_at, status, at_desk)
WHERE st.step_at IS NOT NULL
"""
)

# The child rows must say what the facts say: 0 rows of each query when they do.
CHILD_CHECKS = {
    "supplements_disagreeing_with_facts": """
        SELECT count(*) FROM core.fact_dossier AS d
        LEFT JOIN (SELECT dossier_id, count(*) AS n, coalesce(sum(answered_at - requested_at), interval '0') AS pause,
                          min(requested_at) FILTER (WHERE answered_at IS NULL) AS open_at
                   FROM core.dossier_supplement GROUP BY dossier_id) AS s USING (dossier_id)
        WHERE coalesce(s.n, 0) <> d.supplement_count OR coalesce(s.pause, interval '0') <> d.supplement_pause
           OR s.open_at IS DISTINCT FROM d.open_supplement_at""",
    "supplements_outside_dossier_life": """
        SELECT count(*) FROM core.dossier_supplement AS s JOIN core.fact_dossier AS d USING (dossier_id)
        WHERE s.requested_at <= d.received_at OR s.answered_at < s.requested_at
           OR coalesce(s.answered_at, s.requested_at) > coalesce(d.finished_at, %(horizon)s::timestamptz)""",
    "open_waiting_dossiers_without_open_request": """
        SELECT count(*) FROM core.fact_dossier WHERE status = 5 AND open_supplement_at IS NULL""",
    "steps_out_of_time_order": """
        SELECT count(*) FROM (
            SELECT step_at < lag(step_at) OVER (PARTITION BY dossier_id ORDER BY position) AS back
            FROM core.dossier_step) AS s WHERE back""",
    "dossiers_without_steps": """
        SELECT count(*) FROM core.fact_dossier AS d
        WHERE NOT EXISTS (SELECT 1 FROM core.dossier_step AS s WHERE s.dossier_id = d.dossier_id)""",
}

GENERATE_FEEDBACK = """
INSERT INTO core.fact_feedback (ma_pakn, unit_code, ma_ho_so, kind, received_at, deadline_at, handled_at,
                                satisfied, source_updated_at, batch_id)
SELECT 'F' || d.ma_ho_so, d.competent_unit_code, CASE WHEN random() < 0.7 THEN d.ma_ho_so END, 'TTHC',
       d.received_at + interval '2 days', d.received_at + interval '12 days',
       CASE WHEN random() < 0.9 THEN d.received_at + (random() * 15) * interval '1 day' END,
       CASE WHEN random() < 0.8 THEN 1 WHEN random() < 0.5 THEN 0 END,
       d.received_at + interval '2 days', 0
FROM core.fact_dossier AS d
WHERE random() < 0.02
"""


def admin_dsn() -> str:
    return devstack.local_server_admin_dsn()


def database_dsn(admin: str) -> str:
    params = psycopg.conninfo.conninfo_to_dict(admin)
    params["dbname"] = DATABASE
    return psycopg.conninfo.make_conninfo(**params)


def build(admin: str, timings: dict[str, float]) -> tuple[str, float]:
    """Create and fill the bench database; ``timings`` gets the seconds of each generation step."""
    started = time.perf_counter()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DATABASE}")
    dsn = database_dsn(admin)
    with warehouse.connect(dsn=dsn) as conn:
        warehouse.migrate(conn)
        units = build_units()
        for unit in units:
            conn.execute(
                """INSERT INTO core.dim_unit (unit_code, unit_name, unit_type, parent_code, gso_code, valid_from,
                                              valid_to, successor_codes, row_valid_from, batch_id)
                   VALUES (%s, %s, %s, %s, %s, %s::date, %s::date, %s, now(), 0)""",
                (
                    unit.code,
                    unit.name,
                    unit.kind,
                    unit.parent,
                    unit.gso,
                    unit.valid_from,
                    unit.valid_to,
                    list(unit.successors),
                ),
            )
        conn.execute("""INSERT INTO core.unit_lineage
                        SELECT unit_code, unnest(successor_codes), date '2025-07-01' FROM core.dim_unit
                        ON CONFLICT DO NOTHING""")
        conn.execute("""INSERT INTO core.unit_closure
                        WITH RECURSIVE tree AS (
                            SELECT unit_code AS ancestor_code, unit_code AS descendant_code, 0 AS depth FROM core.dim_unit
                            UNION ALL
                            SELECT p.parent_code, t.descendant_code, t.depth + 1
                            FROM tree t JOIN core.dim_unit p ON p.unit_code = t.ancestor_code
                            WHERE p.parent_code IS NOT NULL)
                        SELECT ancestor_code, descendant_code, min(depth) FROM tree GROUP BY 1, 2""")
        for p in CATALOGUE:
            conn.execute(
                """INSERT INTO core.dim_procedure (procedure_code, procedure_name, field_code, field_name, levels,
                                                   time_limit, time_limit_unit, has_fee, has_paper_result,
                                                   online_level, row_valid_from, batch_id)
                   VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, now(), 0)""",
                (
                    p.code,
                    p.name,
                    p.field_code,
                    p.field_name,
                    list(p.levels),
                    p.time_limit,
                    p.time_unit,
                    p.has_fee,
                    p.paper_result,
                    p.online_level,
                ),
            )
        conn.execute("""INSERT INTO core.dim_date
                        SELECT day, extract(isodow FROM day) < 6, NULL, '-', 'bench'
                        FROM generate_series(date '2022-01-01', date '2027-12-31', interval '1 day') AS day""")
        # The newest loaded dossier window: marts/watchlist.sql lists the dossiers open at its end.
        conn.execute(
            """INSERT INTO raw.batch (entity, endpoint, window_start, window_end, record_count, checksum, status)
               VALUES ('dossier', 'bench', %(horizon)s::timestamptz - interval '1 month', %(horizon)s, 0, '-',
                       'loaded')""",
            {"horizon": HORIZON},
        )
        conn.execute("SET LOCAL synchronous_commit = off")
        for name, statement, params in (
            ("facts", GENERATE_DOSSIERS, {"n": DOSSIERS, "horizon": HORIZON}),
            ("feedback", GENERATE_FEEDBACK, None),
            ("supplements", GENERATE_SUPPLEMENTS, {"horizon": HORIZON}),
            ("steps", GENERATE_STEPS, {"horizon": HORIZON}),
        ):
            step_started = time.perf_counter()
            conn.execute(statement, params)
            timings[name] = round(time.perf_counter() - step_started, 2)
        conn.commit()
    with psycopg.connect(dsn, autocommit=True) as conn:
        for table in ("fact_dossier", "fact_feedback", "dossier_supplement", "dossier_step"):
            step_started = time.perf_counter()
            conn.execute(f"VACUUM ANALYZE core.{table}")
            timings[f"vacuum_{table}"] = round(time.perf_counter() - step_started, 2)
        # As the loads leave them: the dimensions analyzed (else the planner takes 208 units for 2).
        conn.execute(
            "ANALYZE core.dim_unit, core.dim_procedure, core.unit_closure, core.unit_lineage, core.dim_date"
        )
    return dsn, time.perf_counter() - started


# The two steps issue 24 added to the refresh: the baseline is the refresh without them.
WORKLIST_STEPS = ("marts/form_06.sql", "marts/watchlist.sql")

# Instants for mart.watchlist_at: start, middle and end of the data, a month boundary (the end of
# the March 2024 window the month refresh rebuilds) and the newest window end (marts/watchlist.sql).
WATCHLIST_INSTANTS = {
    "data_start_2023_01_15": "2023-01-15 09:00+07",
    "month_boundary_2024_04_01": "2024-04-01 00:00+07",
    "middle_2024_07_01": "2024-07-01 10:30+07",
    "data_end_2025_12_31": "2025-12-31 17:00+07",
    "newest_window_end": HORIZON,
}
EXPLAINED_INSTANT = "month_boundary_2024_04_01"

PLAN_NOTICE = re.compile(r"duration: ([0-9.]+) ms\s+plan:\n(.*)", re.DOTALL)


class StepTimings(logging.Handler):
    """Keeps the per-step timings tthc.indicators.refresh logs (its last argument)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.timings: dict[str, float] = {}

    def emit(self, record: logging.LogRecord) -> None:
        if isinstance(record.args, tuple) and record.args and isinstance(record.args[-1], dict):
            self.timings = dict(record.args[-1])


def timed_refresh(
    dsn: str,
    first: date,
    last: date,
    *,
    steps: tuple[str, ...] | None = None,
    explain: list[tuple[str, float, str]] | None = None,
    analyze: bool = False,
) -> tuple[float, dict[str, float]]:
    """Seconds of one refresh and its per-step seconds. ``steps`` replaces REFRESH_STEPS for this
    refresh; ``explain`` gets (step, milliseconds, plan) of every statement (auto_explain; with
    ``analyze``, actual rows, times and buffers)."""
    logger = logging.getLogger(indicators.__name__)
    handler = StepTimings()
    saved_level, saved_steps = logger.level, indicators.REFRESH_STEPS
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    if steps is not None:
        indicators.REFRESH_STEPS = steps
    try:
        with warehouse.connect(dsn=dsn) as conn:
            if explain is not None:
                params = {"first": first, "last_exclusive": last}
                with psycopg.ClientCursor(conn) as cursor:
                    texts = {
                        step: cursor.mogrify(warehouse.sql_text(step), params)
                        for step in ("marts/mark_refreshed.sql", *indicators.REFRESH_STEPS)
                    }
                conn.execute("LOAD 'auto_explain'")
                conn.execute("SET auto_explain.log_min_duration = 0")
                conn.execute("SET auto_explain.log_level = 'notice'")
                if analyze:
                    conn.execute("SET auto_explain.log_analyze = on")
                    conn.execute("SET auto_explain.log_buffers = on")

                def keep(notice: psycopg.errors.Diagnostic) -> None:
                    match = PLAN_NOTICE.match(notice.message_primary or "")
                    if not match:
                        return
                    plan = match.group(2)
                    # The query text is the step's whole file (one simple-protocol query): name it.
                    step = next((s for s, text in texts.items() if text in plan), "?")
                    explain.append((step, float(match.group(1)), plan.replace(texts.get(step, "\0"), step)))

                conn.add_notice_handler(keep)
            started = time.perf_counter()
            indicators.refresh(conn, first, last)
            conn.commit()
            return time.perf_counter() - started, handler.timings
    finally:
        indicators.REFRESH_STEPS = saved_steps
        logger.removeHandler(handler)
        logger.setLevel(saved_level)


def best_of(runs: list[tuple[float, dict[str, float]]]) -> tuple[float, dict[str, float]]:
    return min(runs, key=lambda run: run[0])


def without_worklists() -> tuple[str, ...]:
    return tuple(step for step in indicators.REFRESH_STEPS if step not in WORKLIST_STEPS)


def plans_text(plans: list[tuple[str, float, str]]) -> str:
    return "\n".join(f"-- {step}: {ms:.1f} ms\n{plan}" for step, ms, plan in plans)


def statement_label(step: str, ordinal: int, plan: str) -> str:
    """'form_06.sql #3: Insert on agg_form_06_day': the step, the statement's place among the
    step's explained statements, the plan's top node."""
    lines = [line for line in plan.splitlines() if line.strip() and not line.startswith("Query Text:")]
    top = re.sub(r"  \(.*", "", lines[0].strip()) if lines else "?"
    return f"{step.removeprefix('marts/')} #{ordinal}: {top}"


def heaviest(plans: list[tuple[str, float, str]], step: str, top: int = 5) -> list[dict]:
    mine = [(ms, plan) for s, ms, plan in plans if s == step]
    labelled = [(statement_label(step, i, plan), ms, plan) for i, (ms, plan) in enumerate(mine, start=1)]
    labelled.sort(key=lambda item: -item[1])
    return [{"statement": label, "ms": round(ms, 1)} for label, ms, _ in labelled[:top]]


def watchlist_timings(dsn: str) -> dict[str, dict]:
    """Best of 3 (after a warm-up) of SELECT * FROM mart.watchlist_at(t), rows fetched."""
    out = {}
    with psycopg.connect(dsn, autocommit=True) as conn:
        for label, instant in WATCHLIST_INSTANTS.items():
            statement = "SELECT * FROM mart.watchlist_at(%s::timestamptz)"
            rows = conn.execute(statement, (instant,)).fetchall()
            seconds = []
            for _ in range(3):
                started = time.perf_counter()
                rows = conn.execute(statement, (instant,)).fetchall()
                seconds.append(time.perf_counter() - started)
            # The same without JIT: the session default compiles the body when its estimate is high.
            conn.execute("SET jit = off")
            conn.execute(statement, (instant,)).fetchall()
            seconds_jit_off = []
            for _ in range(3):
                started = time.perf_counter()
                conn.execute(statement, (instant,)).fetchall()
                seconds_jit_off.append(time.perf_counter() - started)
            conn.execute("RESET jit")
            categories: dict[str, int] = {}
            for row in rows:
                categories[row[9]] = categories.get(row[9], 0) + 1
            open_count = conn.execute(
                "SELECT count(*) FROM core.dossier_state_at(%s::timestamptz)", (instant,)
            ).fetchone()[0]
            out[label] = {
                "instant": instant,
                "seconds": round(min(seconds), 3),
                "seconds_jit_off": round(min(seconds_jit_off), 3),
                "rows": len(rows),
                "open_dossiers": open_count,
                "categories": categories,
                "with_office": sum(1 for row in rows if row[8] is not None),
            }
    return out


def watchlist_explain(dsn: str, instant: str) -> str:
    """EXPLAIN (ANALYZE, BUFFERS) of watchlist_at(t) (a SECURITY DEFINER function, not inlined: one
    Function Scan), of its body with t written in, and of the form's read, dossier_state_at(t)."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        body = conn.execute(
            "SELECT prosrc FROM pg_proc WHERE oid = 'mart.watchlist_at(timestamptz)'::regprocedure"
        ).fetchone()[0]
        literal = f"timestamptz '{instant}'"
        statements = {
            "mart.watchlist_at (the call)": f"SELECT * FROM mart.watchlist_at({literal})",
            "mart.watchlist_at's body, $1 written in": body.replace("$1", literal),
            "core.dossier_state_at (as form_06.sql reads it, per window end)": (
                f"SELECT unit_code, coalesce(field_code, ''), count(*), count(*) FILTER (WHERE is_late) "
                f"FROM core.dossier_state_at({literal}) GROUP BY 1, 2"
            ),
        }
        sections = [f"-- instant {instant}; load average {os.getloadavg()}"]
        for title, statement in statements.items():
            conn.execute(statement).fetchall()  # warm
            plan = conn.execute(f"EXPLAIN (ANALYZE, BUFFERS) {statement}").fetchall()
            sections.append(f"-- {title}\n-- {statement.strip()}\n" + "\n".join(row[0] for row in plan))
        # Planned with t known, the body's estimate is high enough for JIT (compiling costs more
        # than it saves); the refresh runs with jit = off.
        conn.execute("SET jit = off")
        statement = statements["mart.watchlist_at's body, $1 written in"]
        plan = conn.execute(f"EXPLAIN (ANALYZE, BUFFERS) {statement}").fetchall()
        sections.append("-- the same body with jit = off\n" + "\n".join(row[0] for row in plan))
        conn.execute("RESET jit")
    return "\n\n".join(sections) + "\n"


def sql_versions() -> dict[str, str]:
    """md5 of the worklist SQL as measured, and whether it differs from git HEAD's (it is being
    edited while the bench runs)."""
    out = {}
    for relative in (*WORKLIST_STEPS, "marts/views/R__mart_worklists.sql", "marts/refresh_scope.sql"):
        path = ROOT / "include" / "sql" / relative
        changed = subprocess.run(
            ["git", "diff", "--quiet", "HEAD", "--", str(path)], cwd=ROOT, capture_output=True
        ).returncode
        head = subprocess.run(
            ["git", "log", "-1", "--format=%h", "--", str(path)], cwd=ROOT, capture_output=True, text=True
        )
        state = "untracked or changed since HEAD" if changed else "as committed"
        out[relative] = (
            f"md5 {hashlib.md5(path.read_bytes()).hexdigest()[:12]}, last commit {head.stdout.strip()}, {state}"
        )
    return out


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def previous_implementation_seconds(dsn: str) -> float | None:
    """The indicator SQL of git HEAD (5 indicators, as recorded, whole years), timed for 2024."""
    try:
        text = subprocess.run(
            ["git", "show", "HEAD:include/sql/marts/indicator_value.sql"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    if "refresh_period" in text:  # HEAD already is this implementation
        return None
    with warehouse.connect(dsn=dsn) as conn, psycopg.ClientCursor(conn) as cursor:
        started = time.perf_counter()
        cursor.execute(text, {"period_from": date(2024, 1, 1), "period_to": date(2025, 1, 1)})
        elapsed = time.perf_counter() - started
        conn.rollback()
    return elapsed


def main() -> dict:
    admin = admin_dsn()
    load_start = load_average()
    generation: dict[str, float] = {}
    dsn, build_seconds = build(admin, generation)
    with warehouse.connect(dsn=dsn) as conn:
        dossiers, supplements, steps = conn.execute(
            """SELECT (SELECT count(*) FROM core.fact_dossier), (SELECT count(*) FROM core.dossier_supplement),
                      (SELECT count(*) FROM core.dossier_step)"""
        ).fetchone()
        child_checks = {
            name: conn.execute(statement, {"horizon": HORIZON}).fetchone()[0]
            for name, statement in CHILD_CHECKS.items()
        }
    smaller = without_worklists()
    march = (date(2024, 3, 1), date(2024, 4, 1))
    year_range = (date(2024, 1, 1), date(2025, 1, 1))
    # Alternated, so that a change in the machine's load falls on both sides.
    year_with, year_without = [], []
    for _ in range(2):
        year_with.append(timed_refresh(dsn, *year_range))
        year_without.append(timed_refresh(dsn, *year_range, steps=smaller))
    month_with, month_without = [], []
    for _ in range(3):
        month_with.append(timed_refresh(dsn, *march))
        month_without.append(timed_refresh(dsn, *march, steps=smaller))
    year, year_steps = best_of(year_with)
    year_base, _ = best_of(year_without)
    month, month_steps = best_of(month_with)
    month_base, month_base_steps = best_of(month_without)
    plans: list[tuple[str, float, str]] = []
    timed_refresh(dsn, *march, explain=plans)
    plan_text = plans_text(plans)
    fact_seq_scan = "Seq Scan on fact_dossier" in plan_text
    analyzed: list[tuple[str, float, str]] = []
    timed_refresh(dsn, *march, explain=analyzed, analyze=True)
    watchlist = watchlist_timings(dsn)
    watchlist_max = max(w["seconds"] for w in watchlist.values())
    explained = (
        watchlist_explain(dsn, WATCHLIST_INSTANTS[EXPLAINED_INSTANT]) + "\n" + watchlist_explain(dsn, HORIZON)
    )
    with warehouse.connect(dsn=dsn) as conn:
        form_rows_month = conn.execute(
            """SELECT count(*) FROM mart.form_06 WHERE period_start = date '2024-03-01' AND period_type = 'month'"""
        ).fetchone()[0]
    three_years, _ = timed_refresh(dsn, date(2023, 1, 1), date(2026, 1, 1))
    with warehouse.connect(dsn=dsn) as conn:
        violations = indicators.invariant_violations(conn)
        rows, form_rows, watchlist_rows = conn.execute(
            """SELECT (SELECT count(*) FROM mart.indicator_value), (SELECT count(*) FROM mart.form_06),
                      (SELECT count(*) FROM mart.watchlist)"""
        ).fetchone()
    previous = previous_implementation_seconds(dsn)
    children = ("supplements", "steps", "vacuum_dossier_supplement", "vacuum_dossier_step")
    worklist_month = sum(month_steps.get(step, 0.0) for step in WORKLIST_STEPS)
    figures = {
        "sql_measured": sql_versions(),
        "dossiers": dossiers,
        "supplement_rows": supplements,
        "step_rows": steps,
        "generate_seconds": round(build_seconds, 1),
        "generate_step_seconds": generation,
        "generate_children_seconds": round(sum(generation.get(name, 0.0) for name in children), 2),
        "child_checks": child_checks,
        "rebuild_year_seconds": round(year, 2),
        "rebuild_year_without_worklists_seconds": round(year_base, 2),
        "rebuild_year_vs_without_worklists": round(year / year_base, 3),
        "rebuild_year_step_seconds": year_steps,
        "refresh_month_seconds": round(month, 2),
        "refresh_month_without_worklists_seconds": round(month_base, 2),
        "refresh_month_vs_without_worklists": round(month / month_base, 3),
        "refresh_month_worklist_steps_seconds": round(worklist_month, 3),
        "refresh_month_step_seconds": month_steps,
        "refresh_month_without_worklists_step_seconds": month_base_steps,
        "refresh_month_under_5_s": month < 5,
        "form_06_heaviest_statements_ms": heaviest(plans, "marts/form_06.sql"),
        "watchlist_heaviest_statements_ms": heaviest(plans, "marts/watchlist.sql", top=3),
        "watchlist_at": watchlist,
        "watchlist_at_max_seconds": watchlist_max,
        "watchlist_at_under_1_s": watchlist_max < 1,
        "rebuild_3_years_seconds": round(three_years, 2),
        "month_vs_year_rebuild": round(month / year, 3),
        "previous_impl_year_seconds_5_indicators": None if previous is None else round(previous, 2),
        "month_refresh_seq_scan_of_fact_dossier": fact_seq_scan,
        "indicator_rows": rows,
        "form_06_rows": form_rows,
        "form_06_rows_march_2024_month": form_rows_month,
        "watchlist_rows": watchlist_rows,
        "invariant_violations": len(violations),
        "invariant_violations_sample": [str(v) for v in violations[:5]],
        "load_average_start": load_start,
        "load_average_end": load_average(),
        "targets_met": month < 5 and year < 60 and not fact_seq_scan and watchlist_max < 1,
    }
    results = ROOT / "bench" / "results"
    results.mkdir(exist_ok=True)
    (results / "indicators.json").write_text(json.dumps(figures, indent=2, ensure_ascii=False))
    (results / "indicators_month_plans.txt").write_text(plan_text)
    (results / "indicators_month_plans_analyze.txt").write_text(plans_text(analyzed))
    form_plans = sorted(
        (
            (statement_label(step, i, plan), ms, plan)
            for i, (step, ms, plan) in enumerate(
                ((s, m, p) for s, m, p in analyzed if s == "marts/form_06.sql"), 1
            )
        ),
        key=lambda item: -item[1],
    )
    (results / "indicators_form_06_plans.txt").write_text(
        f"-- marts/form_06.sql in the one-month refresh (March 2024), {dossiers} dossiers, load {load_average()};\n"
        "-- EXPLAIN ANALYZE BUFFERS by auto_explain, heaviest statement first (timing adds overhead)\n\n"
        + "\n".join(f"-- {label}: {ms:.1f} ms\n{plan}" for label, ms, plan in form_plans)
    )
    (results / "indicators_watchlist_explain.txt").write_text(explained)
    return figures


if __name__ == "__main__":
    print(json.dumps(main(), indent=2, ensure_ascii=False))
