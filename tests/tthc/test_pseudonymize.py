"""Personal data never leaves the edge in plain text; text leaves it in NFC."""

from __future__ import annotations

import hashlib
import json
import unicodedata

import pytest
from pipeline_support import SMALL_VOLUME

from simulator.generator import SimulationConfig, build_province
from tthc.pseudonymize import PERSONAL_FIELDS, TOKEN_PREFIX, Pseudonymizer
from tthc.settings import ConfigurationError, pseudonym_key


@pytest.fixture(scope="module")
def dossiers():
    province = build_province(SimulationConfig(dossiers_per_year=SMALL_VOLUME, nfd_share=0.5))
    return list(province.iter_dossiers())[:2000]


def test_personal_fields_become_keyed_tokens(dossiers):
    masked = [Pseudonymizer(b"k" * 32).dossier(d) for d in dossiers]
    for original, safe in zip(dossiers, masked, strict=True):
        for field in PERSONAL_FIELDS["dossier"]:
            if original.get(field) not in (None, ""):
                assert safe[field].startswith(TOKEN_PREFIX) and original[field] not in safe[field]
        for step in safe.get("QuaTrinhXuLy") or []:
            if step.get("NguoiXuLy"):
                assert step["NguoiXuLy"].startswith(TOKEN_PREFIX)


def test_the_same_person_gets_the_same_token_and_another_key_another_token():
    name_nfd = unicodedata.normalize("NFD", "Nguyễn Thị Hoa")
    one, other = Pseudonymizer(b"a" * 32), Pseudonymizer(b"b" * 32)
    assert (
        one.dossier({"ChuHoSo": name_nfd})["ChuHoSo"] == one.dossier({"ChuHoSo": "Nguyễn Thị Hoa"})["ChuHoSo"]
    )
    assert one.token("Nguyễn Thị Hoa") != other.token("Nguyễn Thị Hoa")


def test_every_byte_of_a_long_key_counts():
    # Keyed BLAKE2b takes at most 64 bytes of key; a longer secret must not be cut to its start.
    prefix = b"p" * 64
    assert Pseudonymizer(prefix + b"a" * 36).token("Nguyễn Thị Hoa") != Pseudonymizer(
        prefix + b"b" * 36
    ).token("Nguyễn Thị Hoa")


def test_a_token_is_the_keyed_blake2b_of_the_composed_text_wherever_it_is_found():
    """Tokens may not change from one release to the next: distinct applicants and officials are
    counted across batches extracted years apart. A token is the BLAKE2b-80 of the NFC text under
    the key, for an applicant's value (hashed afresh) and an official's (cached) alike."""
    key, name = b"k" * 32, "Lường Xuân Nga"
    expected = TOKEN_PREFIX + hashlib.blake2b(name.encode(), key=key, digest_size=10).hexdigest()
    pseudonymizer = Pseudonymizer(key)
    masked = pseudonymizer.dossier(
        {
            "ChuHoSo": unicodedata.normalize("NFD", name),
            "QuaTrinhXuLy": [{"NguoiXuLy": name}, {"NguoiXuLy": name, "NoiDungXuLy": ""}],
        }
    )
    assert masked["ChuHoSo"] == expected
    assert masked["QuaTrinhXuLy"] == [{"NguoiXuLy": expected}, {"NguoiXuLy": expected, "NoiDungXuLy": ""}]
    assert (
        pseudonymizer.token(name) == pseudonymizer.token(name) == expected
    )  # the keyed state is copied, not used up


def test_all_text_comes_out_composed_and_masked(dossiers):
    decomposed = [
        d for d in dossiers if not unicodedata.is_normalized("NFC", json.dumps(d, ensure_ascii=False))
    ]
    assert decomposed, "the simulator sends some records decomposed"
    pseudonymizer = Pseudonymizer(b"k" * 32)
    for record in decomposed:
        text = pseudonymizer.serialize("dossier", record)
        assert unicodedata.is_normalized("NFC", text)
        stored = json.loads(text)
        assert stored["MaHoSo"] == unicodedata.normalize("NFC", record["MaHoSo"])
        if record.get("ChuHoSo"):
            assert stored["ChuHoSo"] == pseudonymizer.token(record["ChuHoSo"])


def test_no_key_no_run(monkeypatch):
    monkeypatch.delenv("TTHC_PSEUDONYM_KEY", raising=False)
    monkeypatch.delenv("AIRFLOW_CONN_TTHC_PSEUDONYM", raising=False)
    with pytest.raises(ConfigurationError, match="pseudonymization key"):
        pseudonym_key()


def test_a_finished_pseudonymizer_is_freed_with_its_cache_by_reference_counting():
    """The extraction runs with the cycle collector paused (tthc.cycles): a pseudonymizer caught in a
    reference cycle would keep its whole token cache until the collector's next full pass."""
    import gc
    import weakref

    was_enabled = gc.isenabled()
    gc.disable()
    try:
        pseudonymizer = Pseudonymizer(b"k" * 32)
        pseudonymizer.dossier({"ChuHoSo": "Lò Văn Páo", "QuaTrinhXuLy": [{"NguoiXuLy": "Lường Xuân Nga"}]})
        assert pseudonymizer._step_token.cache_info().currsize == 1  # the cache it must free is filled
        finished = weakref.ref(pseudonymizer)
        del pseudonymizer
        assert finished() is None
    finally:
        (gc.enable if was_enabled else gc.disable)()
