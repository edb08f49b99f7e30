"""The edge where source records become safe to write: personal data replaced by a keyed hash,
text normalized to Unicode NFC.

Nothing downstream ever sees a plain personal value: ``raw`` stores what ``serialize`` returns.
The hash is keyed (HMAC-SHA256), so the same person gets the same token in every batch (counts of
distinct applicants still work) but nobody without the key can test a guess.
"""

from __future__ import annotations

import hashlib
import hmac
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


def nfc(text: str) -> str:
    # is_normalized is a fast scan; most text already arrives composed.
    return text if unicodedata.is_normalized("NFC", text) else unicodedata.normalize("NFC", text)


class Pseudonymizer:
    def __init__(self, key: bytes):
        self._key = key
        # Officials' names and common summaries repeat across thousands of dossiers.
        self.token = lru_cache(maxsize=65_536)(self._token)

    def _token(self, value: str) -> str:
        # 20 hex characters (80 bits) is unique enough for a province and keeps rows small.
        return TOKEN_PREFIX + hmac.digest(self._key, nfc(value).encode(), hashlib.sha256).hex()[:20]

    def _mask(self, value: Any) -> Any:
        return value if value is None or value == "" else self.token(str(value))

    def dossier(self, record: dict[str, Any]) -> dict[str, Any]:
        """A copy of a dossier with its personal fields, its steps' included, replaced by tokens."""
        safe = dict(record)
        for name in PERSONAL_FIELDS["dossier"] & safe.keys():
            safe[name] = self._mask(safe[name])
        steps = safe.get("QuaTrinhXuLy")
        if isinstance(steps, list):
            step_fields = PERSONAL_FIELDS["dossier.QuaTrinhXuLy"]
            safe["QuaTrinhXuLy"] = [
                {k: self._mask(v) if k in step_fields else v for k, v in step.items()} if isinstance(step, dict)
                else step
                for step in steps
            ]
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
