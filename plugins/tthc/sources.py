"""The source systems the warehouse is fed from, as configuration (``TTHC_SOURCES_FILE``).

A merged province runs two or three one-stop-shop systems until they are migrated, and a national
warehouse runs one per province: each is an entry of a YAML list with its own Airflow connection,
pool, Celery queue and schedules. Nothing else in the project names a source: the DAG files are
generated from this list, and every batch, merge, quarantine row and audit carries the entry's
``id`` (``raw.batch.source_id``).

Kept free of heavy imports: every DAG file reads it at parse time.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from tthc import REFERENCE_DIR
from tthc.settings import LOCAL_TZ, ConfigurationError

DEFAULT_SOURCES_FILE = REFERENCE_DIR / "sources.yaml"
SOURCES_FILE_ENV = "TTHC_SOURCES_FILE"

# The DAG kinds a source has, with their default schedules (cron, local time).
DEFAULT_SCHEDULES = MappingProxyType(
    {
        "reference": "@daily",
        "dossiers": "0 * * * *",
        "feedback": "0 * * * *",
        "reconciliation": "30 6 * * *",
    }
)
_ID = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
_KEYS = {"id", "conn_id", "name", "active_from", "active_to", "queue", "pool", "pool_slots"}
_KEYS |= {"schedules", "dag_id_suffix", "simulator"}


@dataclass(frozen=True)
class Source:
    """One source system: where it is reached and when it is in service.

    ``active_from``/``active_to`` are local days, both inclusive: a legacy system retired on its
    migration date keeps its history in the warehouse but gets no more runs.
    """

    id: str
    conn_id: str
    name: str
    active_from: date | None = None
    active_to: date | None = None
    queue: str = "default"  # "default": Airflow's own default queue (tthc.dag_parts.source_calls)
    pool: str = ""  # the conn_id when not given
    pool_slots: int = 4
    schedules: Mapping[str, str] = field(default_factory=lambda: DEFAULT_SCHEDULES)
    # Appended to the DAG ids (tthc_dossiers<suffix>); "_<id>" unless the entry says otherwise.
    dag_id_suffix: str | None = None
    # The simulated province the dev stack serves for this source when no connection is given.
    simulator: str | None = None

    def __post_init__(self) -> None:
        if not self.pool:
            object.__setattr__(self, "pool", self.conn_id)
        if self.dag_id_suffix is None:
            object.__setattr__(self, "dag_id_suffix", f"_{self.id}")

    def dag_id(self, kind: str) -> str:
        return f"tthc_{kind}{self.dag_id_suffix}"

    def schedule(self, kind: str) -> str:
        return self.schedules.get(kind, DEFAULT_SCHEDULES[kind])

    @property
    def start(self) -> datetime | None:
        """The first instant of service (local midnight), or None: since ever."""
        return datetime.combine(self.active_from, time(), LOCAL_TZ) if self.active_from else None

    @property
    def end(self) -> datetime | None:
        """The instant service ended (local midnight after ``active_to``), or None: still running."""
        if self.active_to is None:
            return None
        return datetime.combine(date.fromordinal(self.active_to.toordinal() + 1), time(), LOCAL_TZ)

    def clip(self, start: datetime, end: datetime) -> tuple[datetime, datetime] | None:
        """The part of ``[start, end)`` within the source's service, or None if there is none."""
        if self.start is not None:
            start = max(start, self.start)
        if self.end is not None:
            end = min(end, self.end)
        return (start, end) if start < end else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "conn_id": self.conn_id,
            "name": self.name,
            "active_from": self.active_from.isoformat() if self.active_from else None,
            "active_to": self.active_to.isoformat() if self.active_to else None,
            "queue": self.queue,
        }


def sources_file() -> Path:
    return Path(os.environ.get(SOURCES_FILE_ENV) or DEFAULT_SOURCES_FILE)


def load_sources(path: Path | None = None) -> tuple[Source, ...]:
    """The configured sources, checked: every mistake is a ConfigurationError naming the file and
    the entry, so a bad file fails the DAG import with a message instead of a wrong warehouse."""
    path = path or sources_file()
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigurationError(f"{path}: no such sources file (set {SOURCES_FILE_ENV})") from None
    except yaml.YAMLError as error:
        raise ConfigurationError(f"{path}: not valid YAML: {error}") from None
    entries = document.get("sources") if isinstance(document, dict) else document
    if not isinstance(entries, list) or not entries:
        raise ConfigurationError(f"{path}: expected a non-empty list of sources under 'sources:'")
    sources = tuple(_source(path, n, entry) for n, entry in enumerate(entries, start=1))
    for attribute in ("id", "conn_id", "dag_id_suffix"):
        seen: dict[str, str] = {}
        for source in sources:
            value = getattr(source, attribute)
            if value in seen:
                raise ConfigurationError(
                    f"{path}: sources {seen[value]!r} and {source.id!r} have the same {attribute} {value!r}"
                )
            seen[value] = source.id
    return sources


def _source(path: Path, n: int, entry: Any) -> Source:
    where = f"{path}, source #{n}"
    if not isinstance(entry, dict):
        raise ConfigurationError(f"{where}: expected a mapping with id, conn_id and name")
    unknown = set(entry) - _KEYS
    if unknown:
        raise ConfigurationError(f"{where}: unknown keys {sorted(unknown)} (known: {sorted(_KEYS)})")
    missing = [key for key in ("id", "conn_id", "name") if not entry.get(key)]
    if missing:
        raise ConfigurationError(f"{where}: missing {', '.join(missing)}")
    source_id = str(entry["id"])
    if not _ID.match(source_id):
        raise ConfigurationError(
            f"{where}: id {source_id!r} must be lower-case letters, digits and underscores, starting with a letter"
        )
    where = f"{path}, source {source_id!r}"
    active_from, active_to = (_day(where, key, entry.get(key)) for key in ("active_from", "active_to"))
    if active_from and active_to and active_to < active_from:
        raise ConfigurationError(f"{where}: active_to {active_to} is before active_from {active_from}")
    schedules = entry.get("schedules") or {}
    if not isinstance(schedules, dict) or set(schedules) - set(DEFAULT_SCHEDULES):
        raise ConfigurationError(
            f"{where}: schedules must map some of {sorted(DEFAULT_SCHEDULES)} to cron strings"
        )
    pool_slots = entry.get("pool_slots", 4)
    if not isinstance(pool_slots, int) or pool_slots < 1:
        raise ConfigurationError(f"{where}: pool_slots must be a positive integer")
    suffix = entry.get("dag_id_suffix")
    if suffix is not None and not re.fullmatch(r"[A-Za-z0-9_.-]*", str(suffix)):
        raise ConfigurationError(f"{where}: dag_id_suffix may hold letters, digits, '_', '.' and '-' only")
    return Source(
        id=source_id,
        conn_id=str(entry["conn_id"]),
        name=str(entry["name"]),
        active_from=active_from,
        active_to=active_to,
        queue=str(entry.get("queue") or "default"),
        pool=str(entry.get("pool") or ""),
        pool_slots=pool_slots,
        schedules=MappingProxyType({**DEFAULT_SCHEDULES, **{k: str(v) for k, v in schedules.items()}}),
        dag_id_suffix=None if suffix is None else str(suffix),
        simulator=str(entry["simulator"]) if entry.get("simulator") else None,
    )


def _day(where: str, key: str, value: Any) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ConfigurationError(f"{where}: {key} {value!r} is not a date (YYYY-MM-DD)") from None


def get_source(source_id: str, path: Path | None = None) -> Source:
    for source in load_sources(path):
        if source.id == source_id:
            return source
    raise ConfigurationError(f"no source {source_id!r} in {path or sources_file()}")
