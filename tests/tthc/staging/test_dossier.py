"""Dossiers typed into staging in Python (tthc.staging.dossier): the same rows whether the
extraction typed them or a replay typed them again from raw, and a shape check that never vouches
for a record the record_shape rules would set aside."""

from __future__ import annotations

import copy
import gc
import secrets

import orjson
import psycopg
import pytest
from pipeline_support import source_connection_json, warehouse_connection_json
from staging_helpers import STAGING_TABLES, batch_partitions

from simulator.server import run_in_thread
from tthc import tasks, warehouse
from tthc.staging import dossier, partitions
from tthc.windows import Window, parse_moment


def staged_rows(dsn: str, batch_id: int) -> dict[str, list[tuple]]:
    with psycopg.connect(dsn) as conn:
        return {
            table: conn.execute(
                f"SELECT * FROM staging.{table} WHERE batch_id = %s ORDER BY ordinal, 3", (batch_id,)
            ).fetchall()
            for table in STAGING_TABLES
        }


def test_the_extraction_and_a_replay_from_raw_stage_the_same_rows(province, dsn, pseudonym_key, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_TTHC_WAREHOUSE", warehouse_connection_json(dsn))
    monkeypatch.setenv("TTHC_PSEUDONYM_KEY", pseudonym_key)
    with run_in_thread(
        province, client_id="t-" + secrets.token_hex(4), client_secret=secrets.token_urlsafe(16)
    ) as server:
        monkeypatch.setenv("AIRFLOW_CONN_TTHC_SOURCE", source_connection_json(server))
        tasks.migrate_warehouse()
        batch_id = tasks.extract(
            "dossier", Window(parse_moment("2024-02-01"), parse_moment("2024-03-01")).as_dict()
        )

    by_extraction = staged_rows(dsn, batch_id)
    assert len(by_extraction["dossier"]) > 1000 and all(by_extraction[t] for t in STAGING_TABLES)
    # ... in partitions of the batch's own, attached by the extraction
    assert batch_partitions(dsn, batch_id) == {table: True for table in STAGING_TABLES}
    # the defects that make a value unreadable are named, and only where present
    unreadable = {field for row in by_extraction["dossier"] for field in row[-2]}
    assert "NgayNopHoSo" in unreadable
    # every record's shape is judged as it lands: vouched for unless it is one the simulator broke
    with psycopg.connect(dsn) as conn:
        verdicts = conn.execute(
            "SELECT record_key, well_shaped FROM raw.record WHERE batch_id = %s", (batch_id,)
        ).fetchall()
    broken = {code for code, defect in province.truth.defects.items() if defect["rule"] == "record_shape"}
    assert {verdict for _, verdict in verdicts} == {True, False}
    assert {key for key, verdict in verdicts if not verdict} == {key for key, _ in verdicts if key in broken}

    with warehouse.connect(dsn=dsn) as conn:
        assert partitions.stage_from_raw(conn, batch_id) == 0  # already staged by the extraction: left alone
        with pytest.raises(RuntimeError, match="no transaction open"):  # it would commit the caller's work
            partitions.drop_batch(conn, batch_id)
        conn.commit()
        partitions.drop_batch(conn, batch_id)
        assert batch_partitions(dsn, batch_id) == {}
        assert staged_rows(dsn, batch_id) == {table: [] for table in STAGING_TABLES}
        # The replay types with the cycle collector paused, as the extraction does (tthc.cycles).
        collector_on_per_record: list[bool] = []
        add = dossier.DossierRows.add

        def watched_add(rows, *record):
            collector_on_per_record.append(gc.isenabled())
            add(rows, *record)

        monkeypatch.setattr(dossier.DossierRows, "add", watched_add)
        assert partitions.stage_from_raw(conn, batch_id, chunk=500) == len(by_extraction["dossier"])
    assert staged_rows(dsn, batch_id) == by_extraction
    assert batch_partitions(dsn, batch_id) == {table: True for table in STAGING_TABLES}
    assert collector_on_per_record and not any(collector_on_per_record)
    assert gc.isenabled()


ABSENT = object()  # a field left out of a record


def shapes(province) -> list:
    """Dossier records of every shape the record_shape rules tell apart, made from a simulator record."""
    good = next(
        r
        for r in province.iter_dossiers()
        if r.get("MaHoSo")
        and r["MaHoSo"] not in province.truth.defects
        and all(r.get(name) for name in dossier.LIST_FIELDS)
    )

    def variant(**changes) -> dict:
        record = copy.deepcopy(good)
        for name, value in changes.items():
            if value is ABSENT:
                record.pop(name, None)
            else:
                record[name] = value
        return record

    records = [good, [good], "a dossier", 12, None, True, {}]
    # every field of the record left out, and holding a list and an object: the rules' lists of
    # required fields and of child lists are written again in tthc.staging, and a field either copy
    # misses shows up here
    for name in sorted(good):
        records += [variant(**{name: ABSENT}), variant(**{name: [1]}), variant(**{name: {"a": 1}})]
    for name in sorted(dossier.REQUIRED_FIELDS):
        records += [variant(**{name: None}), variant(**{name: ""})]
    for name in sorted(dossier.LIST_FIELDS):
        records += [
            variant(**{name: value})
            for value in (ABSENT, None, [], ["not an object"], "không có", {"a": 1}, 0, False)
        ]
    for name in ("TenTTHC", "NgayHenTra", "KenhThucHien", "a field the contract does not know"):
        records += [variant(**{name: value}) for value in ([], [1], {}, {"a": [1]}, "x", 1.5, None)]
    # personal fields are tokens once masked, whatever they held
    records += [variant(ChuHoSo=["Nguyễn Văn A"]), variant(DiaChi={"xa": "Nậm Hàng"})]
    return records


def test_a_record_vouched_well_shaped_is_one_the_record_shape_rules_pass(province, dsn, pseudonym_key):
    """The extraction vouches for well-shaped records so that the record_shape rules skip their
    payloads: it must vouch for exactly the records those rules, judging in full, let through."""
    from tthc.pseudonymize import Pseudonymizer
    from tthc.quality.suites import load_suite

    pseudonymizer = Pseudonymizer(pseudonym_key.encode())
    records = [pseudonymizer.mask("dossier", r) if type(r) is dict else r for r in shapes(province)]
    vouched = [dossier.well_shaped(r) for r in records]
    suite = load_suite("dossier.raw")
    rules = [rule for rule in suite.hit_rules if rule.name == "record_shape"]
    assert len(rules) == 3

    def judged(verdicts: list) -> set[int]:
        """Ordinals the record_shape rules return for the records landed with these verdicts."""
        with psycopg.connect(dsn) as conn:
            batch_id = conn.execute(
                "INSERT INTO raw.batch (entity, endpoint, record_count, checksum) "
                "VALUES ('dossier', '/api/v1/hoso', %s, 'test') RETURNING batch_id",
                (len(records),),
            ).fetchone()[0]
            warehouse.copy_rows(
                conn,
                "raw.record",
                ("batch_id", "ordinal", "payload", "well_shaped"),
                (
                    (batch_id, n, orjson.dumps(r).decode(), v)
                    for n, (r, v) in enumerate(zip(records, verdicts, strict=True), 1)
                ),
            )
            return {
                ordinal
                for rule in rules
                for ordinal, *_ in conn.execute(suite.bind(rule.unexpected_rows_query, batch_id)).fetchall()
            }

    judged_in_full = judged([None] * len(records))
    assert {n for n, v in enumerate(vouched, 1) if not v} == judged_in_full
    assert (
        vouched[0] and sum(vouched) > 20 and len(judged_in_full) > 40
    )  # both kinds, the simulator's record good
    # with the extraction's verdicts the rules return the same records, without reading the vouched ones
    assert judged(vouched) == judged_in_full
    assert judged([True] * len(records)) == set()
