"""The compact, columnar form of the dossiers: one numpy array per attribute.

Instants are int64 seconds since 2000-01-01 00:00 local time, ``NA`` (-1) for "no value", so a
million dossiers take a few hundred MB and every indicator is a vectorized mask.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np

EPOCH = datetime(2000, 1, 1)
NA = -1
SECOND = timedelta(seconds=1)


def to_seconds(moment: datetime | date) -> int:
    if not isinstance(moment, datetime):
        moment = datetime.combine(moment, datetime.min.time())
    return (moment - EPOCH) // SECOND


def to_datetime(seconds: int) -> datetime:
    return EPOCH + timedelta(seconds=int(seconds))


@dataclass
class DossierTable:
    unit: np.ndarray  # competent unit (index into Province.units)
    receiving_unit: np.ndarray
    procedure: np.ndarray  # index into the catalogue
    submitted: np.ndarray
    received: np.ndarray
    due: np.ndarray
    end: np.ndarray  # NgayKetThucXuLy
    returned: np.ndarray  # NgayTra
    refused: np.ndarray  # NgayTuChoi
    supplement_requested: np.ndarray  # shape (n, 2)
    supplement_received: np.ndarray  # shape (n, 2)
    status: np.ndarray
    channel: np.ndarray  # 0 = null
    applicant_type: np.ndarray
    fee: np.ndarray  # VND of the fee line; -1 = no fee line
    paid_online: np.ndarray  # 0, 1, 2
    e_result: np.ndarray  # bool: the result carries a link (only rendered for status 9/10)
    digitized: np.ndarray
    reused: np.ndarray
    citizen_store: np.ndarray
    vneid: np.ndarray
    synced: np.ndarray
    apology: np.ndarray
    rating: np.ndarray  # -1 none, 0, 1
    deleted: np.ndarray
    documents: np.ndarray  # number of submitted components
    nfd: np.ndarray  # quirk: text sent decomposed
    date_style: np.ndarray  # quirk: 0 yyyyMMddHHmmss, 1 'yyyy-MM-dd HH:mm:ss', 2 ISO, 3 ISO millis
    empty_null: np.ndarray  # quirk: "" instead of null
    defect: np.ndarray  # index into defects.KINDS, -1 none
    sequence: np.ndarray  # per receiving unit and day, for MaHoSo
    updated: np.ndarray  # NgayCapNhat

    def __len__(self) -> int:
        return len(self.unit)

    @property
    def supplement_count(self) -> np.ndarray:
        return (self.supplement_requested != NA).sum(axis=1)
