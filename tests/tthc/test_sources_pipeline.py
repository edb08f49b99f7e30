"""Several source systems, one warehouse, over real HTTP: simulated provinces whose dossier codes
overlap, each on its own connection, loaded exactly once under its own source; their indicators
against each simulator's truth; the nation above them; a merged province's `current` history as
the sum of its predecessors'; a retired source; a source that fails while the others load."""

from __future__ import annotations

from contextlib import ExitStack
from datetime import date, datetime

import psycopg
import pytest
from pipeline_support import environment, simulated_source, warehouse_connection_json

from simulator.generator import SimulationConfig, build_province
from simulator.truth import merged_indicator
from tthc import indicators, tasks, warehouse
from tthc.quality.mart import check_mart
from tthc.settings import ConfigurationError
from tthc.source_client import SourceUnavailableError
from tthc.sources import load_sources

pytestmark = [pytest.mark.integration, pytest.mark.slow]

VOLUME = 3_000  # dossiers a year per province: small, every code path still taken
H1_2024 = {"start": "2024-01-01", "end": "2024-07-01"}
ADDITIVE = (
    "RECEIVED",
    "FINISHED",
    "ON_TIME_FINISHED",
    "ONLINE_SHARE",
    "RESULT_DIGITIZED",
    "ONLINE_PAYMENT",
    "ON_TIME_766",
)


def sources_yaml(entries: list[dict]) -> str:
    lines = ["sources:"]
    for entry in entries:
        lines.append(f"  - id: {entry['id']}")
        for key, value in entry.items():
            if key != "id":
                lines.append(f"    {key}: {value}")
    return "\n".join(lines) + "\n"


def conn_variable(source_id: str) -> str:
    return f"AIRFLOW_CONN_TTHC_SOURCE_{source_id.upper()}"


def expected_codes(province) -> tuple[set[str], set[str]]:
    """The codes the warehouse must hold as live facts and as tombstones: every record the system
    serves (no defects planted, so none is set aside)."""
    live, deleted = set(), set()
    for record in province.iter_dossiers():
        (deleted if str(record.get("DaXoa") or "0") == "1" else live).add(record["MaHoSo"])
    return live, deleted


# Two provinces on two systems whose dossier codes overlap, loaded by the real DAGs ---------------


@pytest.fixture(scope="module")
def two_provinces():
    config = {"start": date(2024, 1, 1), "now": datetime(2024, 7, 1), "dossiers_per_year": VOLUME}
    return {
        "son_la_gia": build_province(SimulationConfig(province="son_la_gia", **config)),
        "bac_ha": build_province(SimulationConfig(province="bac_ha", **config)),
    }


@pytest.fixture(scope="module")
def two_sources(two_provinces, make_database, run_dag, tmp_path_factory):
    dsn = make_database("two_sources")
    path = tmp_path_factory.mktemp("sources") / "sources.yaml"
    path.write_text(
        sources_yaml(
            [{"id": sid, "conn_id": f"tthc_source_{sid}", "name": f"Hệ thống {sid}"} for sid in two_provinces]
        ),
        encoding="utf-8",
    )
    env = {"TTHC_SOURCES_FILE": str(path)}
    with ExitStack() as stack:
        for source_id, province in two_provinces.items():
            _, connection = stack.enter_context(simulated_source(province))
            env[conn_variable(source_id)] = connection
        for source_id in two_provinces:
            run_dag(f"tthc_reference_{source_id}", warehouse_dsn=dsn, env=env)
            for kind in ("dossiers", "feedback"):
                run_dag(f"tthc_{kind}_{source_id}", warehouse_dsn=dsn, conf=H1_2024, env=env)
        # the refresh and the mart invariants (the nation's roll-up among them), as scheduled
        run_dag("tthc_indicators", warehouse_dsn=dsn, conf=H1_2024, env=env)
    return dsn


def test_the_two_systems_dossier_codes_overlap(two_provinces):
    live = [expected_codes(p)[0] for p in two_provinces.values()]
    assert len(live[0] & live[1]) > 100


def test_every_dossier_of_each_source_is_there_once_under_its_source(two_sources, two_provinces):
    with psycopg.connect(two_sources) as conn:
        for source_id, province in two_provinces.items():
            live, deleted = expected_codes(province)
            facts = conn.execute(
                "SELECT ma_ho_so FROM core.fact_dossier WHERE source_id = %s", (source_id,)
            ).fetchall()
            tombstones = conn.execute(
                "SELECT ma_ho_so FROM core.dossier_tombstone WHERE source_id = %s", (source_id,)
            ).fetchall()
            assert len(facts) == len({code for (code,) in facts}) == len(live)
            assert {code for (code,) in facts} == live
            assert {code for (code,) in tombstones} == deleted
            # and the facts of a source name its own units only
            prefix = province.units[0]["MaDonVi"].split(".")[0]
            foreign = conn.execute(
                "SELECT count(*) FROM core.fact_dossier WHERE source_id = %s AND competent_unit_code NOT LIKE %s",
                (source_id, prefix + "%"),
            ).fetchone()[0]
            assert foreign == 0
        # every batch, audit and procedure version names its source
        assert conn.execute(
            "SELECT array_agg(DISTINCT source_id ORDER BY source_id) FROM raw.batch"
        ).fetchone()[0] == sorted(two_provinces)
        unaudited = conn.execute(
            """SELECT count(*) FROM raw.batch AS b JOIN quality.run_audit AS a USING (batch_id)
               WHERE a.source_id <> b.source_id"""
        ).fetchone()[0]
        assert unaudited == 0
        procedures = dict(
            conn.execute(
                "SELECT source_id, count(*) FROM core.dim_procedure WHERE row_valid_to IS NULL GROUP BY 1"
            ).fetchall()
        )
        assert procedures == {sid: len(p.procedures) for sid, p in two_provinces.items()}
        assert [row[0] for row in conn.execute("SELECT source_id FROM core.source ORDER BY 1")] == sorted(
            two_provinces
        )


def test_procedures_keep_each_province_s_own_time_limit(two_sources, two_provinces):
    own = {
        sid: {p["MaTTHC"]: str(p["ThoiHanGiaiQuyet"]) for p in province.procedures}
        for sid, province in two_provinces.items()
    }
    differing = {code for code in own["son_la_gia"] if own["son_la_gia"][code] != own["bac_ha"].get(code)}
    assert differing, "the simulated provinces set some time limits of their own"
    with psycopg.connect(two_sources) as conn:
        stored = {
            (sid, code): limit
            for sid, code, limit in conn.execute(
                "SELECT source_id, procedure_code, time_limit FROM core.dim_procedure WHERE row_valid_to IS NULL"
            )
        }
    for code in differing:
        for sid in two_provinces:
            assert float(stored[(sid, code)]) == float(own[sid][code]), (sid, code)


def test_each_province_s_indicators_equal_its_simulator_s_truth(two_sources, two_provinces):
    mismatches, compared = [], 0
    with psycopg.connect(two_sources) as conn:
        for province in two_provinces.values():
            root = next(u["MaDonVi"] for u in province.units if u["LoaiDonVi"] == "TINH")
            district = next(u["MaDonVi"] for u in province.units if u["LoaiDonVi"] == "HUYEN")
            for unit in (root, district):
                for period_type, start, end in (
                    ("half", date(2024, 1, 1), date(2024, 7, 1)),
                    ("month", date(2024, 3, 1), date(2024, 4, 1)),
                ):
                    rows = conn.execute(
                        """SELECT indicator_code, numerator, denominator FROM mart.indicator_value
                           WHERE unit_code = %s AND period_type = %s AND period_start = %s
                             AND unit_scheme = 'as_recorded' AND indicator_code <> 'AVG_WORKING_DAYS'""",
                        (unit, period_type, start),
                    ).fetchall()
                    assert rows, (unit, period_type)
                    for code, numerator, denominator in rows:
                        found = (int(numerator), None if denominator is None else int(denominator))
                        expected = tuple(province.truth.indicator(code, unit, start, end))
                        compared += 1
                        if found != expected:
                            mismatches.append((unit, period_type, code, found, expected))
    assert compared > 50 and not mismatches


def test_the_nation_sums_the_provinces_and_provinces_rank_among_provinces(two_sources, two_provinces):
    with psycopg.connect(two_sources) as conn:
        nation = conn.execute(
            "SELECT unit_type, source_id FROM core.dim_unit WHERE unit_code = 'VN' AND row_valid_to IS NULL"
        ).fetchone()
        assert nation == ("QUOC_GIA", "national")
        for code in ADDITIVE:
            by_unit = dict(
                conn.execute(
                    """SELECT unit_code, numerator FROM mart.indicator_value
                       WHERE period_type = 'half' AND period_start = '2024-01-01' AND unit_scheme = 'as_recorded'
                         AND indicator_code = %s AND unit_code IN ('VN', 'H90', 'H91')""",
                    (code,),
                ).fetchall()
            )
            assert by_unit["VN"] == by_unit["H90"] + by_unit["H91"], code
        ranks = conn.execute(
            """SELECT unit_code, rank_in_level, units_in_level FROM mart.score_766
               WHERE period_type = 'half' AND period_start = '2024-01-01' AND unit_scheme = 'as_recorded'
                 AND unit_type = 'TINH' ORDER BY rank_in_level"""
        ).fetchall()
        assert sorted(r[0] for r in ranks) == ["H90", "H91"]
        assert [r[2] for r in ranks] == [2, 2] and sorted(r[1] for r in ranks) == [1, 2]


# A merger: two old systems until 2025-06-30, one new from 2025-07-01, through the task functions ---


@pytest.fixture(scope="module")
def merger():
    # the old systems retire on their last day of service: no event from 2025-07-01 on
    old = {"start": date(2025, 1, 1), "now": datetime(2025, 7, 1), "dossiers_per_year": VOLUME}
    return {
        "bac_ha": build_province(SimulationConfig(province="bac_ha", **old)),
        "nam_ha": build_province(SimulationConfig(province="nam_ha", **old)),
        "ha_hop": build_province(
            SimulationConfig(province="ha_hop", now=datetime(2025, 10, 1), dossiers_per_year=VOLUME)
        ),
    }


MERGER_SOURCES = [
    {"id": "bac_ha", "conn_id": "tthc_source_bac_ha", "name": "Bắc Hà (cũ)", "active_to": "2025-06-30"},
    {"id": "nam_ha", "conn_id": "tthc_source_nam_ha", "name": "Nam Hà (cũ)", "active_to": "2025-06-30"},
    {"id": "ha_hop", "conn_id": "tthc_source_ha_hop", "name": "Hà Hợp", "active_from": "2025-07-01"},
    # a system that is down: its extraction fails, the others load all the same
    {"id": "dead", "conn_id": "tthc_source_dead", "name": "Hệ thống không trả lời"},
]


def load_source(source_id: str, window: dict[str, str]) -> list[dict]:
    """What a source's DAGs do for a window, through the same task functions."""
    audits = [tasks.load(tasks.extract("unit", source_id=source_id))]
    audits.append(tasks.load(tasks.extract("procedure", source_id=source_id)))
    for entity in ("dossier", "feedback"):
        for part in tasks.run_windows(window, None, None, source_id=source_id):
            audits.append(tasks.load(tasks.extract(entity, part, source_id=source_id)))
    return audits


@pytest.fixture(scope="module")
def merged(merger, make_database, tmp_path_factory, pseudonym_key):
    dsn = make_database("merger")
    path = tmp_path_factory.mktemp("merger") / "sources.yaml"
    path.write_text(sources_yaml(MERGER_SOURCES), encoding="utf-8")
    env = {
        "TTHC_SOURCES_FILE": str(path),
        "AIRFLOW_CONN_TTHC_WAREHOUSE": warehouse_connection_json(dsn),
        "TTHC_PSEUDONYM_KEY": pseudonym_key,
        # nothing listens there: connection refused, and the client gives up after one retry
        conn_variable("dead"): '{"conn_type": "http", "host": "127.0.0.1", "port": 9, "login": "x", '
        '"password": "y", "extra": {"max_retries": 1, "backoff_base_s": 0.01, "backoff_max_s": 0.01}}',
    }
    failures = {}
    with ExitStack() as stack:
        for source_id, province in merger.items():
            _, connection = stack.enter_context(simulated_source(province))
            env[conn_variable(source_id)] = connection
        stack.enter_context(environment(env))
        tasks.migrate_warehouse()
        for source_id in ("bac_ha", "dead", "nam_ha", "ha_hop"):
            try:
                load_source(source_id, {"start": "2025-01-01", "end": "2025-10-01"})
            except (SourceUnavailableError, ConfigurationError, OSError) as error:
                failures[source_id] = error
        sources = {s.id: s for s in load_sources()}
    with warehouse.connect(dsn=dsn) as conn:
        indicators.refresh(conn, date(2025, 1, 1), date(2025, 10, 1))
    # every mart invariant holds over the merger (raises MartInvariantError, naming the rows, if not)
    check_mart(dsn)
    return dsn, failures, sources


def test_one_source_failing_does_not_stop_the_others(merged, merger):
    dsn, failures, _ = merged
    assert set(failures) == {"dead"}
    with psycopg.connect(dsn) as conn:
        loaded = dict(conn.execute("SELECT source_id, count(*) FROM core.fact_dossier GROUP BY 1").fetchall())
        # nothing of the failed extraction stayed behind: its transaction held the batch row too
        dead_batches = conn.execute("SELECT count(*) FROM raw.batch WHERE source_id = 'dead'").fetchone()[0]
    assert dead_batches == 0
    assert {sid: loaded.get(sid, 0) for sid in merger} == {
        sid: len(expected_codes(p)[0]) for sid, p in merger.items()
    }


def test_a_retired_source_keeps_its_history_and_extracts_nothing_after_its_last_day(merged, merger):
    dsn, _, sources = merged
    assert sources["bac_ha"].active_to == date(2025, 6, 30)
    with psycopg.connect(dsn) as conn:
        windows = conn.execute(
            "SELECT max(window_end) FROM raw.batch WHERE source_id = 'bac_ha' AND entity = 'dossier'"
        ).fetchone()[0]
        assert windows <= sources["bac_ha"].end
        # its units stay current although the new system's later unit list was loaded after it
        old_units = conn.execute(
            "SELECT count(*) FROM core.dim_unit WHERE row_valid_to IS NULL AND unit_code LIKE 'H91%%'"
        ).fetchone()[0]
        assert old_units == len(merger["bac_ha"].units)
        assert conn.execute("SELECT count(*) FROM core.fact_dossier WHERE source_id = 'bac_ha'").fetchone()[
            0
        ] == len(expected_codes(merger["bac_ha"])[0])
    # a run of the retired source after its last day has no window to extract
    after = datetime(2025, 7, 2, tzinfo=sources["bac_ha"].end.tzinfo)
    assert sources["bac_ha"].clip(after, after.replace(day=3)) is None


def test_the_merged_province_s_current_history_is_the_sum_of_its_predecessors(merged, merger):
    dsn, _, _ = merged
    predecessors = [merger["bac_ha"], merger["nam_ha"]]
    successor = merger["ha_hop"]
    compared = []
    with psycopg.connect(dsn) as conn:
        for period_type, start, end in (
            ("half", date(2025, 1, 1), date(2025, 7, 1)),
            ("month", date(2025, 3, 1), date(2025, 4, 1)),
            ("quarter", date(2025, 7, 1), date(2025, 10, 1)),
        ):
            for code in ADDITIVE:
                row = conn.execute(
                    """SELECT numerator, denominator FROM mart.indicator_value
                       WHERE unit_code = 'H93' AND unit_scheme = 'current' AND period_type = %s
                         AND period_start = %s AND indicator_code = %s""",
                    (period_type, start, code),
                ).fetchone()
                assert row is not None, (period_type, code)
                found = (int(row[0]), None if row[1] is None else int(row[1]))
                expected = merged_indicator(code, "H93", start, end, predecessors, successor)
                compared.append((period_type, code, found, expected))
        # before the merger: exactly the two old provinces' own figures, summed
        for code in ADDITIVE:
            old = conn.execute(
                """SELECT sum(numerator) FROM mart.indicator_value
                   WHERE unit_code IN ('H91', 'H92') AND unit_scheme = 'as_recorded' AND period_type = 'half'
                     AND period_start = '2025-01-01' AND indicator_code = %s""",
                (code,),
            ).fetchone()[0]
            new = conn.execute(
                """SELECT numerator FROM mart.indicator_value
                   WHERE unit_code = 'H93' AND unit_scheme = 'current' AND period_type = 'half'
                     AND period_start = '2025-01-01' AND indicator_code = %s""",
                (code,),
            ).fetchone()[0]
            assert new == old, code
    assert [c for c in compared if c[2] != c[3]] == []
    assert any(c[2][0] > 0 for c in compared)
