"""Benchmark of the indicator refresh (core -> mart) at ten times a province's volume.

A bench database gets the simulator's Lai Châu unit tree and procedure catalogue, a calendar and
1,000,000 dossiers over 2023-2025 generated set-based in SQL (realistic shares by unit kind and
month, channels, fees, supplements, timeliness), plus PAKN. Then, in the same run:

- full rebuild of 2024 (all units, all period types, both unit schemes, scores, ranks, gaps);
- one-month refresh (March 2024 and its quarter, half and year), the hourly path;
- baselines: the previous implementation (5 indicators, whole years, from git HEAD's
  indicator_value.sql if present) and the full rebuild itself;
- the plans of the one-month refresh (auto_explain): no sequential scan of core.fact_dossier.

``main() -> dict`` returns the figures (seconds, ratios, flags).
"""

from __future__ import annotations

import json
import os
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
procedure AS (SELECT array_agg(procedure_code ORDER BY procedure_code) AS codes FROM core.dim_procedure),
draw AS (
    SELECT g AS n,
           -- reception: more in the second half of each year, office hours
           timestamptz '2023-01-01 00:00+07' + (power(random(), 0.93) * 1095) * interval '1 day'
               + (7 + random() * 9) * interval '1 hour' AS received_at,
           random() AS r_status, random() AS r_due, random() AS r_days, random() AS r_sup, random() AS r_flag,
           random() AS r_unit, random() AS r_proc, random() AS r_fee, random() AS r_pay
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
           CASE WHEN d.r_sup < 0.85 THEN 0 WHEN d.r_sup < 0.97 THEN 1 ELSE 2 END AS supplement_count,
           CASE WHEN d.r_status < 0.01 THEN 3
                WHEN d.received_at > timestamptz '2025-12-31 00:00+07' - interval '20 days' AND d.r_status < 0.5 THEN 4
                WHEN d.r_status < 0.02 THEN 5
                WHEN d.r_status < 0.03 THEN 7
                WHEN d.r_status < 0.05 THEN 8
                WHEN d.r_status < 0.55 THEN 9 ELSE 10 END AS status
    FROM draw AS d CROSS JOIN era AS e CROSS JOIN procedure AS p
),
timed AS (
    SELECT s.*,
           CASE WHEN s.status IN (7, 8, 9, 10)
                THEN s.received_at + (0.2 + power(s.r_days, 2) * 18) * interval '1 day' END AS finished_at,
           s.supplement_count * (s.r_days * 2) * interval '1 day' AS pause
    FROM shaped AS s
)
INSERT INTO core.fact_dossier (
    ma_ho_so, procedure_code, competent_unit_code, receiving_unit_code, channel, submitted_at, received_at,
    due_at, finished_at, status, has_digitized_component, vneid_verified, online_payment, synced_to_portal,
    has_apology, rating, supplement_count, supplement_pause, open_supplement_at, has_positive_fee,
    has_electronic_result, has_reused_component, has_citizen_store_component, end_adjusted_at, timeliness,
    source_updated_at, batch_id)
SELECT 'B' || t.n, t.procedure_code, t.unit_code, t.unit_code,
       CASE WHEN t.r_flag < CASE WHEN t.received_at >= timestamptz '2025-07-01 00:00+07' THEN 0.95 ELSE 0.25 END
            THEN 2 ELSE 1 END,
       t.received_at, t.received_at, t.due_at, t.finished_at, t.status,
       t.r_flag < 0.3, t.r_pay < 0.2, CASE WHEN t.r_fee < 0.6 AND t.r_pay < 0.8 THEN 1 + (t.r_pay < 0.3)::int ELSE 0 END,
       t.r_flag < 0.9, t.r_flag > 0.5, CASE WHEN t.r_pay < 0.5 THEN 1 WHEN t.r_pay < 0.52 THEN 0 END,
       t.supplement_count, t.pause, NULL, t.r_fee < 0.6,
       t.status IN (9, 10) AND t.r_days < 0.65, t.r_fee > 0.75, t.r_fee > 0.85,
       t.finished_at - t.pause,
       CASE WHEN t.finished_at IS NULL OR t.due_at IS NULL THEN NULL
            WHEN t.supplement_count > 1 THEN 'late'
            WHEN t.finished_at - t.pause <= t.due_at AND (t.finished_at - t.pause)::date < t.due_at::date THEN 'early'
            WHEN t.finished_at - t.pause <= t.due_at THEN 'on_time'
            ELSE 'late' END,
       coalesce(t.finished_at, t.received_at), 0
FROM timed AS t
"""

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


def build(admin: str) -> tuple[str, float]:
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
                """INSERT INTO core.dim_procedure (procedure_code, procedure_name, has_fee, has_paper_result,
                                                            online_level, row_valid_from, batch_id)
                            VALUES (%s, %s, %s, %s, %s, now(), 0)""",
                (p.code, p.name, p.has_fee, p.paper_result, p.online_level),
            )
        conn.execute("""INSERT INTO core.dim_date
                        SELECT day, extract(isodow FROM day) < 6, NULL, '-', 'bench'
                        FROM generate_series(date '2022-01-01', date '2027-12-31', interval '1 day') AS day""")
        conn.execute("SET LOCAL synchronous_commit = off")
        conn.execute(GENERATE_DOSSIERS, {"n": DOSSIERS})
        conn.execute(GENERATE_FEEDBACK)
        conn.commit()
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE core.fact_dossier")
        conn.execute("VACUUM ANALYZE core.fact_feedback")
    return dsn, time.perf_counter() - started


def timed_refresh(dsn: str, first: date, last: date, explain: list[str] | None = None) -> float:
    with warehouse.connect(dsn=dsn) as conn:
        if explain is not None:
            conn.execute("LOAD 'auto_explain'")
            conn.execute("SET auto_explain.log_min_duration = 0")
            conn.execute("SET auto_explain.log_level = 'notice'")
            conn.add_notice_handler(lambda notice: explain.append(notice.message_primary or ""))
        started = time.perf_counter()
        indicators.refresh(conn, first, last)
        conn.commit()
        return time.perf_counter() - started


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
    dsn, build_seconds = build(admin)
    with warehouse.connect(dsn=dsn) as conn:
        dossiers = conn.execute("SELECT count(*) FROM core.fact_dossier").fetchone()[0]
    year = timed_refresh(dsn, date(2024, 1, 1), date(2025, 1, 1))
    year_again = timed_refresh(dsn, date(2024, 1, 1), date(2025, 1, 1))
    month = min(timed_refresh(dsn, date(2024, 3, 1), date(2024, 4, 1)) for _ in range(3))
    plans: list[str] = []
    timed_refresh(dsn, date(2024, 3, 1), date(2024, 4, 1), explain=plans)
    plan_text = "\n".join(plans)
    fact_seq_scan = "Seq Scan on fact_dossier" in plan_text
    three_years = timed_refresh(dsn, date(2023, 1, 1), date(2026, 1, 1))
    with warehouse.connect(dsn=dsn) as conn:
        violations = len(indicators.invariant_violations(conn))
        rows = conn.execute("SELECT count(*) FROM mart.indicator_value").fetchone()[0]
    previous = previous_implementation_seconds(dsn)
    figures = {
        "dossiers": dossiers,
        "generate_seconds": round(build_seconds, 1),
        "rebuild_year_seconds": round(min(year, year_again), 2),
        "refresh_month_seconds": round(month, 2),
        "rebuild_3_years_seconds": round(three_years, 2),
        "month_vs_year_rebuild": round(month / min(year, year_again), 3),
        "previous_impl_year_seconds_5_indicators": None if previous is None else round(previous, 2),
        "month_refresh_seq_scan_of_fact_dossier": fact_seq_scan,
        "indicator_rows": rows,
        "invariant_violations": violations,
        "targets_met": month < 5 and min(year, year_again) < 60 and not fact_seq_scan,
    }
    results = ROOT / "bench" / "results"
    results.mkdir(exist_ok=True)
    (results / "indicators.json").write_text(json.dumps(figures, indent=2))
    (results / "indicators_month_plans.txt").write_text(plan_text)
    return figures


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))
