"""Units are national, their owner is the source whose list brought them: another source may list
a unit only as its owner does, and a source's list closes only its own units. Lists from the
simulator's merger (two old provinces, the merged one)."""

from __future__ import annotations

import copy

import psycopg
import pytest
from quality_helpers import fetch, land

from simulator.generator import SimulationConfig, build_province
from tthc.load import load_batch
from tthc.quality.alerts import MergeRefusedError

pytestmark = [pytest.mark.integration]


@pytest.fixture(scope="module")
def unit_lists():
    return {
        sid: build_province(SimulationConfig(province=sid, dossiers_per_year=500)).units
        for sid in ("bac_ha", "ha_hop", "son_la_gia")
    }


def owners(dsn: str) -> dict[str, int]:
    return dict(
        fetch(dsn, "SELECT source_id, count(*) FROM core.dim_unit WHERE row_valid_to IS NULL GROUP BY 1")
    )


def test_a_merged_province_s_list_shares_its_predecessors_units_without_taking_them(
    make_database, unit_lists
):
    dsn = make_database("source_units_shared")
    load_batch(land(dsn, "unit", unit_lists["bac_ha"], source_id="bac_ha"), dsn=dsn)
    load_batch(land(dsn, "unit", unit_lists["ha_hop"], source_id="ha_hop"), dsn=dsn)
    shared = {u["MaDonVi"] for u in unit_lists["bac_ha"]}
    # (three province units, two of them dissolved: the nation goes above them, owned by no source)
    assert owners(dsn) == {
        "bac_ha": len(shared),
        "ha_hop": len(unit_lists["ha_hop"]) - len(shared),
        "national": 1,
    }
    # the lineage crosses the sources: the old province's communes point at the merged one's
    lineage = fetch(
        dsn,
        """SELECT count(*) FROM core.unit_lineage
           WHERE predecessor_code LIKE 'H91.%%' AND successor_code LIKE 'H93.%%'""",
    )[0][0]
    assert lineage > 0
    # the old system's next, unchanged list closes nothing of the new system's
    load_batch(land(dsn, "unit", unit_lists["bac_ha"], source_id="bac_ha"), dsn=dsn)
    assert owners(dsn)["ha_hop"] == len(unit_lists["ha_hop"]) - len(shared)


def test_a_unit_two_sources_describe_differently_stops_the_load_naming_both(make_database, unit_lists):
    dsn = make_database("source_units_conflict")
    load_batch(land(dsn, "unit", unit_lists["bac_ha"], source_id="bac_ha"), dsn=dsn)
    before = fetch(dsn, "SELECT unit_code, unit_name, source_id FROM core.dim_unit ORDER BY unit_version_id")
    changed = copy.deepcopy(unit_lists["ha_hop"])
    commune = next(u for u in changed if u["MaDonVi"].startswith("H91.") and u["LoaiDonVi"] == "XA")
    old_name = commune["TenDonVi"]
    commune["TenDonVi"] = old_name + " (tên khác)"
    batch_id = land(dsn, "unit", changed, source_id="ha_hop")
    with pytest.raises(MergeRefusedError) as refused:
        load_batch(batch_id, dsn=dsn)
    message = str(refused.value)
    assert commune["MaDonVi"] in message and "bac_ha" in message and "ha_hop" in message
    assert old_name in message and commune["TenDonVi"] in message
    # nothing of the refused list reached core, and the batch is not marked loaded
    assert (
        fetch(dsn, "SELECT unit_code, unit_name, source_id FROM core.dim_unit ORDER BY unit_version_id")
        == before
    )
    with psycopg.connect(dsn) as conn:
        assert (
            conn.execute("SELECT status FROM raw.batch WHERE batch_id = %s", (batch_id,)).fetchone()[0]
            != "loaded"
        )


def test_two_independent_provinces_get_the_nation_above_them(make_database, unit_lists):
    dsn = make_database("source_units_nation")
    load_batch(land(dsn, "unit", unit_lists["son_la_gia"], source_id="son_la_gia"), dsn=dsn)
    assert fetch(dsn, "SELECT count(*) FROM core.dim_unit WHERE unit_code = 'VN'")[0][0] == 0
    load_batch(land(dsn, "unit", unit_lists["bac_ha"], source_id="bac_ha"), dsn=dsn)
    assert fetch(dsn, "SELECT unit_type, source_id FROM core.dim_unit WHERE unit_code = 'VN'") == [
        ("QUOC_GIA", "national")
    ]
    below = fetch(
        dsn, "SELECT depth, descendant_code FROM core.unit_closure WHERE ancestor_code = 'VN' AND depth = 1"
    )
    assert sorted(code for _, code in below) == ["H90", "H91"]
    everything = fetch(dsn, "SELECT count(*) FROM core.dim_unit WHERE row_valid_to IS NULL")[0][0]
    assert fetch(dsn, "SELECT count(*) FROM core.unit_closure WHERE ancestor_code = 'VN'")[0][0] == everything


def test_the_system_that_took_a_unit_over_records_its_dissolution_over_the_legacy_one(
    make_database, unit_lists
):
    """The legacy system never learns of the reorganisation (no HieuLucDen, no MaDonViMoi on its
    units); the merged province's system records it. Its version supersedes the legacy one, the
    lineage crosses the systems, and the legacy system's next list is older knowledge, not an error."""
    dsn = make_database("source_units_dissolution")
    legacy = copy.deepcopy(unit_lists["bac_ha"])
    for unit in legacy:
        unit["HieuLucDen"], unit["MaDonViMoi"] = None, None
    load_batch(land(dsn, "unit", legacy, source_id="bac_ha"), dsn=dsn)
    assert fetch(dsn, "SELECT count(*) FROM core.unit_lineage")[0][0] == 0

    load_batch(land(dsn, "unit", unit_lists["ha_hop"], source_id="ha_hop"), dsn=dsn)
    dissolved = {u["MaDonVi"] for u in unit_lists["bac_ha"] if u["HieuLucDen"]}
    taken_over = fetch(
        dsn,
        """SELECT unit_code FROM core.dim_unit
           WHERE row_valid_to IS NULL AND source_id = 'ha_hop' AND unit_code LIKE 'H91%%'""",
    )
    assert {code for (code,) in taken_over} == dissolved
    # the legacy versions are history now (SCD 2), not deleted
    assert fetch(
        dsn, "SELECT count(*) FROM core.dim_unit WHERE source_id = 'bac_ha' AND row_valid_to IS NOT NULL"
    )[0][0] == len(dissolved)
    lineage = fetch(dsn, "SELECT count(*) FROM core.unit_lineage WHERE predecessor_code LIKE 'H91.%%'")[0][0]
    assert lineage > 0

    before = fetch(dsn, "SELECT count(*), max(unit_version_id) FROM core.dim_unit")
    load_batch(land(dsn, "unit", legacy, source_id="bac_ha"), dsn=dsn)
    assert fetch(dsn, "SELECT count(*), max(unit_version_id) FROM core.dim_unit") == before

    # any other difference still stops the load
    renamed = copy.deepcopy(legacy)
    commune = next(u for u in renamed if u["MaDonVi"] in dissolved and u["LoaiDonVi"] == "XA")
    commune["TenDonVi"] += " (tên khác)"
    with pytest.raises(MergeRefusedError, match=commune["MaDonVi"]):
        load_batch(land(dsn, "unit", renamed, source_id="bac_ha"), dsn=dsn)


def test_two_sources_dossier_merges_do_not_wait_for_each_other_but_unit_merges_do():
    from tthc.entities import ENTITIES
    from tthc.load.publish import publish_lock
    from tthc.quality.batch_rules import BatchInfo

    def batch(entity: str, source_id: str) -> BatchInfo:
        return BatchInfo(1, entity, "/api", None, None, 0, source_id)

    for entity in ("dossier", "feedback"):
        assert publish_lock(ENTITIES[entity], batch(entity, "bac_ha")) != publish_lock(
            ENTITIES[entity], batch(entity, "ha_hop")
        )
    # units are national (one closure for all): one unit merge at a time, whatever the source
    assert publish_lock(ENTITIES["unit"], batch("unit", "bac_ha")) == publish_lock(
        ENTITIES["unit"], batch("unit", "ha_hop")
    )
