"""Lai Châu (the default province) is byte-for-byte what it was before the simulator served
several provinces: the hashes below were computed from the single-province code (commit c903ae5)
and must never change. The project's tests check Lai Châu's planted figures to two decimals."""

from __future__ import annotations

import hashlib
import itertools
import json

import pytest

from simulator import defects
from simulator.generator import SimulationConfig, build_province

# config name -> part -> sha256, computed before the multi-province change.
EXPECTED = {
    "default": {
        "units": "e0441d1d03334738619b5bcd2a9ffc9d81fed1a50e022fbd440730af664f2631",
        "procedures": "9e346395af62778cfc0ec87e265f1fb82d15328100304b5c73766fd0830bc398",
        "first_2000_dossiers": "773d9a54e7813fb04207a4934c94e1e2ce288262c9bd3ef7d582c1e8a32b93e5",
        "every_50th_dossier": "2e021193f074d89c53422ffc75f44ca3ab34fb5f096f8f94f6fe7ba4094a73a2",
        "feedback": "0d876edebba0d270668868718bff8512256a3662be762c0303bc5e2761a8e91f",
        "planted": "a8eaee38deb562e52d40be0a7b96b5c1e247b6619910c2f3966022b3d830b63a",
        "defects": "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
        "table": "097546cd3a01f804be414518ba90185817eaa3ec6779e908ad6a66cc68e1d687",
    },
    "defective": {
        "units": "e0441d1d03334738619b5bcd2a9ffc9d81fed1a50e022fbd440730af664f2631",
        "procedures": "9e346395af62778cfc0ec87e265f1fb82d15328100304b5c73766fd0830bc398",
        "first_2000_dossiers": "0f2012b3eaf67edba8c7ec64b5c88e137ef9c3a07e152c31eef23294b383d577",
        "every_50th_dossier": "0b48de45a62cd9026cdd5a10a565566d22fb8b9a64f070e21a45b2919da9bb2c",
        "feedback": "98300a94de70aee1018634159fe35d68f3cba391bc033f5e7f220b1624c2e863",
        "planted": "7988fd04ba39fb490bd54dc393fa32c4ee2b1cc73dcfb993f9d5263865006768",
        "defects": "932a005893df57574db4a60472606cb52df46cf80d4e6a56da4cd044bc300031",
        "table": "eea4ea8daa4465a7972474a210698dc2c92a93ba774cdcc1bc7f5fb195dc8b11",
    },
}


def _digest(value: object) -> str:
    text = json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def fingerprint(config: SimulationConfig) -> dict[str, str]:
    province = build_province(config)
    table = province.table
    dossiers = list(itertools.islice(province.iter_dossiers(), 2000))
    sample = [r for k, r in enumerate(province.iter_dossiers()) if k % 50 == 0]
    return {
        "units": _digest(province.units),
        "procedures": _digest(province.procedures),
        "first_2000_dossiers": _digest(dossiers),
        "every_50th_dossier": _digest(sample),
        "feedback": _digest(list(province.iter_feedback())),
        "planted": _digest(province.truth.planted),
        "defects": _digest(province.truth.defects),
        "table": hashlib.sha256(
            b"".join(getattr(table, name).tobytes() for name in table.__dataclass_fields__)
        ).hexdigest(),
    }


CONFIGS = {
    "default": SimulationConfig(),
    "defective": SimulationConfig(
        seed=7, dossiers_per_year=20_000, defect_shares={rule: 0.002 for rule in defects.RULES}
    ),
}


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_lai_chau_is_unchanged(name):
    assert fingerprint(CONFIGS[name]) == EXPECTED[name]


def test_lai_chau_planted_figures():
    planted = build_province(SimulationConfig(dossiers_per_year=20_000)).truth.planted
    assert planted["ON_TIME_FINISHED"]["percent"] == 99.36
    assert planted["RESULT_DIGITIZED"]["percent"] == 67.6
    assert planted["ONLINE_PAYMENT"]["percent"] == 78.14
    assert (planted["RANK_766"]["rank"], planted["RANK_766"]["of"]) == (7, 8)
