"""What the quality gate costs: gate time against the whole load of one large dossier batch.

The gate is everything ``load_batch`` does beyond staging and merging: the raw and staging suites
in Great Expectations (SUMMARY), quarantine and warnings from the suites' own queries, the batch
rules, the core invariants after the merge, and the Data Docs pages. The budget (issue 4): at most
a quarter of the pipeline's time, measured here as landing the batch in raw + loading it.

``main() -> dict``; ``python -m bench.quality_gate``. Env: ``TTHC_BENCH_RECORDS`` (default 60000).
"""

from __future__ import annotations

import json
import os
import time
from datetime import date

import psycopg

BUDGET = 0.25
# The named steps of a load (its audit's timings) that are the quality gate's work, not staging's or the merge's.
GATE_STEPS = ("rule_queries", "validate", "quarantine", "warnings", "batch_rules", "core_check", "data_docs")


def _database(admin_dsn: str, name: str) -> str:
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(
            psycopg.sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(psycopg.sql.Identifier(name))
        )
        conn.execute(psycopg.sql.SQL("CREATE DATABASE {}").format(psycopg.sql.Identifier(name)))
    params = psycopg.conninfo.conninfo_to_dict(admin_dsn)
    params["dbname"] = name
    return psycopg.conninfo.make_conninfo(**params)


def _land(dsn: str, entity: str, endpoint: str, key: str, records, window=(None, None)) -> int:
    from tthc import warehouse

    with warehouse.connect(dsn=dsn) as conn:
        batch_id = conn.execute(
            """INSERT INTO raw.batch (entity, endpoint, window_start, window_end, record_count, checksum)
               VALUES (%s, %s, %s, %s, 0, 'bench') RETURNING batch_id""",
            (entity, endpoint, *window),
        ).fetchone()[0]
        count = warehouse.copy_rows(
            conn,
            "raw.record",
            ("batch_id", "ordinal", "record_key", "payload"),
            (
                (batch_id, n, record.get(key) or None, json.dumps(record, ensure_ascii=False))
                for n, record in enumerate(records, start=1)
            ),
        )
        conn.execute("UPDATE raw.batch SET record_count = %s WHERE batch_id = %s", (count, batch_id))
    return batch_id


def main() -> dict:
    from simulator import defects
    from simulator.generator import SimulationConfig, build_province
    from tthc import devstack, warehouse
    from tthc.calendar import WorkingCalendar
    from tthc.load import load_batch

    records = int(os.environ.get("TTHC_BENCH_RECORDS", "60000"))
    os.environ.setdefault("TTHC_DATA_DOCS_DIR", str(devstack.STATE_DIR / "bench_data_docs"))
    admin = devstack.local_server_admin_dsn()
    name = f"tthc_bench_gate_{os.getpid()}"
    dsn = _database(admin, name)
    try:
        with warehouse.connect(dsn=dsn) as conn:
            warehouse.migrate(conn)
        province = build_province(
            SimulationConfig(
                dossiers_per_year=max(20_000, records), defect_shares={rule: 0.001 for rule in defects.RULES}
            )
        )
        load_batch(_land(dsn, "unit", "/api/v1/donvi", "MaDonVi", province.units), dsn=dsn)
        load_batch(_land(dsn, "procedure", "/api/v1/thutuc", "MaTTHC", province.procedures), dsn=dsn)
        with warehouse.connect(dsn=dsn) as conn:
            conn.execute("CREATE TEMP TABLE incoming_day (LIKE core.dim_date) ON COMMIT DROP")
            warehouse.copy_rows(
                conn,
                "incoming_day",
                ("day", "is_working_day", "holiday_name", "lunar_date", "source"),
                (
                    (d.day, d.is_working_day, d.holiday_name, d.lunar_date, d.source)
                    for d in WorkingCalendar.default().days(date(2020, 1, 1), date(2026, 12, 31))
                ),
            )
            warehouse.run_sql(conn, "core/merge_calendar.sql")
        import great_expectations  # noqa: F401 - imported once per worker process; not the gate's per-batch cost

        dossiers = []
        for record in province.iter_dossiers():
            dossiers.append(record)
            if len(dossiers) >= records:
                break
        started = time.perf_counter()
        batch_id = _land(dsn, "dossier", "/api/v1/hoso", "MaHoSo", dossiers)
        landing = time.perf_counter() - started
        audit = load_batch(batch_id, dsn=dsn)
        timings = audit.timings
        gate = sum(timings.get(step, 0.0) for step in GATE_STEPS)
        load_total = sum(timings.values())
        pipeline = landing + load_total
        result = {
            "records": audit.extracted,
            "loaded": audit.loaded,
            "quarantined": audit.quarantined,
            "landing_s": round(landing, 2),
            "load_s": round(load_total, 2),
            "gate_s": round(gate, 2),
            "steps_s": timings,
            "slowest_rules_s": dict(sorted(audit.rule_seconds.items(), key=lambda kv: -kv[1])[:6]),
            "gate_share_of_load": round(gate / load_total, 3),
            "gate_share_of_pipeline": round(gate / pipeline, 3),
            "budget": BUDGET,
            "within_budget": gate / pipeline <= BUDGET,
        }
        return result
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(
                psycopg.sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    psycopg.sql.Identifier(name)
                )
            )


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))
