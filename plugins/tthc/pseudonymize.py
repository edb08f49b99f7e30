"""The edge where source records become safe to write: personal data replaced by a keyed hash,
text normalized to Unicode NFC.

Nothing downstream ever sees a plain personal value: ``raw`` stores records after this step.
The hash is keyed (HMAC-SHA256), so the same person gets the same token in every batch (counts of
distinct applicants still work) but nobody without the key can test a guess.
"""

from __future__ import annotations

import hashlib
import hmac
import unicodedata
from collections.abc import Mapping
from typing import Any

# Source field names, per entity: the only place that knows which fields carry personal data.
PERSONAL_FIELDS: Mapping[str, frozenset[str]] = {
    "dossier": frozenset(
        {"ChuHoSo", "SoGiayToChuHoSo", "SoDienThoai", "Email", "DiaChi", "TrichYeuHoSo"}
    ),
    "dossier.QuaTrinhXuLy": frozenset({"NguoiXuLy", "NoiDungXuLy"}),
    "feedback": frozenset({"NoiDung", "NguoiGui", "SoDienThoai", "Email"}),
}

TOKEN_PREFIX = "pii:"


class Pseudonymizer:
    def __init__(self, key: bytes):
        self._key = key

    def token(self, value: str) -> str:
        # 20 hex characters (80 bits) is unique enough for a province and keeps rows small.
        digest = hmac.new(self._key, value.encode(), hashlib.sha256).hexdigest()[:20]
        return TOKEN_PREFIX + digest

    def _mask(self, value: Any) -> Any:
        if value is None or value == "":
            return value
        return self.token(nfc(str(value)))

    def dossier(self, record: dict[str, Any]) -> dict[str, Any]:
        clean = normalize_text(record)
        for name in PERSONAL_FIELDS["dossier"] & clean.keys():
            clean[name] = self._mask(clean[name])
        steps = clean.get("QuaTrinhXuLy")
        if isinstance(steps, list):
            for step in steps:
                if isinstance(step, dict):
                    for name in PERSONAL_FIELDS["dossier.QuaTrinhXuLy"] & step.keys():
                        step[name] = self._mask(step[name])
        return clean

    def feedback(self, record: dict[str, Any]) -> dict[str, Any]:
        clean = normalize_text(record)
        for name in PERSONAL_FIELDS["feedback"] & clean.keys():
            clean[name] = self._mask(clean[name])
        return clean

    def reference(self, record: dict[str, Any]) -> dict[str, Any]:
        """Units and procedures carry no personal data; they are only normalized."""
        return normalize_text(record)


def nfc(text: str) -> str:
    # is_normalized is a fast scan; most text already arrives composed.
    return text if unicodedata.is_normalized("NFC", text) else unicodedata.normalize("NFC", text)


def normalize_text(value: Any) -> Any:
    """A copy of ``value`` with every string (keys included) in NFC."""
    if isinstance(value, str):
        return nfc(value)
    if isinstance(value, dict):
        return {nfc(k): normalize_text(v) for k, v in value.items()}
    if isinstance(value, list):
        return [normalize_text(v) for v in value]
    return value
