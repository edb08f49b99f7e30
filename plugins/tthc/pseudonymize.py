"""The edge where source records become safe to write: personal data replaced by a keyed hash,
text normalized to Unicode NFC.

Nothing downstream ever sees a plain personal value: ``raw`` stores what ``serialize`` returns.
The hash is keyed (BLAKE2b in its keyed mode, a MAC like HMAC), so the same person gets the same
token in every batch (counts of distinct applicants still work) but nobody without the key can test
a guess. BLAKE2b rather than HMAC-SHA256: one pass instead of two, and a dossier has about fifteen
values to mask.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import orjson

# Source field names, per entity: the only place that knows which fields carry personal data.
PERSONAL_FIELDS: Mapping[str, frozenset[str]] = {
    "dossier": frozenset({"ChuHoSo", "SoGiayToChuHoSo", "SoDienThoai", "Email", "DiaChi", "TrichYeuHoSo"}),
    "dossier.QuaTrinhXuLy": frozenset({"NguoiXuLy", "NoiDungXuLy"}),
}

TOKEN_PREFIX = "pii:"
_STEP_FIELDS = tuple(PERSONAL_FIELDS["dossier.QuaTrinhXuLy"])


def nfc(text: str) -> str:
    # is_normalized is a fast scan; most text already arrives composed.
    return text if unicodedata.is_normalized("NFC", text) else unicodedata.normalize("NFC", text)


class Pseudonymizer:
    def __init__(self, key: bytes):
        # BLAKE2b takes keys of up to 64 bytes; a longer secret is hashed down to one, as HMAC does.
        secret = key if len(key) <= hashlib.blake2b.MAX_KEY_SIZE else hashlib.blake2b(key).digest()
        # The key fills BLAKE2b's first block: compressed once here, and each token starts from a
        # copy of that state (the same digest as hashing with the key afresh, in half the time).
        keyed = hashlib.blake2b(key=secret, digest_size=10)

        def token(value: str) -> str:
            # 20 hex characters (80 bits) is unique enough for a province and keeps rows small.
            digest = keyed.copy()
            digest.update(nfc(value).encode())
            return TOKEN_PREFIX + digest.hexdigest()

        self.token = token
        # Officials' names and the steps' texts repeat across thousands of dossiers; applicants'
        # names, identifiers and addresses hardly repeat, so only the steps' values are cached
        # (cached too, the applicants' values would cost a miss each and evict the officials').
        # The cache wraps a closure, not a bound method: a cache holding its own instance is a
        # reference cycle, which with the cycle collector paused during extraction (tthc.cycles)
        # would keep each finished extraction's full cache in memory.
        self._step_token = lru_cache(maxsize=65_536)(token)

    def _mask(self, value: Any) -> Any:
        return value if value is None or value == "" else self.token(str(value))

    def dossier(self, record: dict[str, Any]) -> dict[str, Any]:
        """A copy of a dossier with its personal fields, its steps' included, replaced by tokens."""
        safe = dict(record)
        for name in PERSONAL_FIELDS["dossier"] & safe.keys():
            safe[name] = self._mask(safe[name])
        steps = safe.get("QuaTrinhXuLy")
        if isinstance(steps, list):
            safe["QuaTrinhXuLy"] = [self._step(step) if isinstance(step, dict) else step for step in steps]
        return safe

    def _step(self, step: dict[str, Any]) -> dict[str, Any]:
        # Steps are most of the values masked (several per dossier): copy, then touch only their
        # personal fields.
        safe = dict(step)
        for name in _STEP_FIELDS:
            value = safe.get(name)
            if value is not None and value != "":
                safe[name] = self._step_token(str(value))
        return safe

    def mask(self, entity: str, record: dict[str, Any]) -> dict[str, Any]:
        """The record with its personal data replaced by tokens (a copy; other entities carry none)."""
        return self.dossier(record) if entity == "dossier" else record

    def serialize(self, entity: str, record: dict[str, Any]) -> str:
        """The record as it may be written anywhere: personal data masked, JSON text in NFC."""
        return landed_json(self.mask(entity, record))


def landed_json(masked: dict[str, Any]) -> str:
    """JSON text of a masked record, in NFC.

    Normalizing the serialized text once covers every string, keys and nested lists included
    (JSON's own syntax is ASCII, which NFC leaves alone).
    """
    return nfc(orjson.dumps(masked, option=orjson.OPT_SORT_KEYS).decode())
