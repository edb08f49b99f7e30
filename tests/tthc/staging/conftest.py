"""Fixtures of the staging tests: one migrated warehouse per module, a small province."""

from __future__ import annotations

import pytest

from simulator import defects
from simulator.generator import SimulationConfig, build_province


@pytest.fixture(scope="module")
def dsn(make_database):
    return make_database("staging")


@pytest.fixture(scope="module")
def province():
    return build_province(
        SimulationConfig(dossiers_per_year=20_000, defect_shares={rule: 0.002 for rule in defects.RULES})
    )
