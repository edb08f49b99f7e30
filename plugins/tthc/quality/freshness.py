"""Freshness: alert when no new dossier has arrived for too long during working hours, and when
the indicators have fallen behind what was loaded.

Silence is counted per source system, in office hours (``freshness.office_hours`` of the
thresholds) of working days (``core.dim_date``), from the source's newest
``core.fact_dossier.received_at`` to now. Above ``max_silent_working_hours`` one alert goes out per
silence of a source (remembered in ``quality.freshness_alert`` by the source and the last arrival
it is about), not one per hourly check.

The mart's lag is the time the oldest loaded batch has waited for an indicator refresh
(``quality.unrefreshed_batch``); above ``mart_freshness.max_lag_minutes``, one alert per oldest
waiting batch.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta

import psycopg

from tthc.quality.alerts import send_alert
from tthc.settings import FIRST_SOURCE_ID, LOCAL_TZ, quality_thresholds
from tthc.sources import Source, get_source

log = logging.getLogger(__name__)


def working_hours_between(
    start: datetime, end: datetime, working_days: set[date], office_hours: list[tuple[time, time]]
) -> float:
    """Office hours of working days within [start, end)."""
    start, end = start.astimezone(LOCAL_TZ), end.astimezone(LOCAL_TZ)
    total = 0.0
    day = start.date()
    while day <= end.date():
        if day in working_days:
            for opens, closes in office_hours:
                low = max(start, datetime.combine(day, opens, LOCAL_TZ))
                high = min(end, datetime.combine(day, closes, LOCAL_TZ))
                if high > low:
                    total += (high - low).total_seconds() / 3600
        day += timedelta(days=1)
    return total


def check_freshness(dsn: str, now: datetime | None = None, source: Source | None = None) -> dict:
    """How long one source (the first, if none is named) has sent no new dossier, alerting once per
    silence above the threshold."""
    config = quality_thresholds()["freshness"]
    now = now or datetime.now(LOCAL_TZ)
    source = source or get_source(FIRST_SOURCE_ID)
    office = [(time.fromisoformat(a), time.fromisoformat(b)) for a, b in config["office_hours"]]
    with psycopg.connect(dsn) as conn:
        last = conn.execute(
            "SELECT max(received_at) FROM core.fact_dossier WHERE source_id = %s AND received_at <= %s",
            (source.id, now),
        ).fetchone()[0]
        if last is None:
            return {"fresh": None, "reason": "no dossier in core yet"}
        days = {
            row[0]
            for row in conn.execute(
                "SELECT day FROM core.dim_date WHERE is_working_day AND day BETWEEN %s AND %s",
                (last.astimezone(LOCAL_TZ).date(), now.astimezone(LOCAL_TZ).date()),
            )
        }
        silent = working_hours_between(last, now, days, office)
        result = {
            "fresh": silent <= config["max_silent_working_hours"],
            "last_arrival_at": last.isoformat(),
            "silent_working_hours": round(silent, 2),
            "alerted": False,
        }
        if result["fresh"]:
            return result
        result["alerted"] = _alert_once(
            conn,
            config.get("entity", "dossier"),
            last,
            silent,
            f"[tthc] no new dossier from {source.id} for {silent:.1f} working hours",
            [
                f"Freshness: the newest dossier of source {source.id} ({source.name}) in core.fact_dossier "
                f"was received at {last.astimezone(LOCAL_TZ)}",
                f"Silence: {silent:.1f} office hours of working days (threshold "
                f"{config['max_silent_working_hours']} h), checked at {now.astimezone(LOCAL_TZ)}",
                f"Where to look: the {source.dag_id('dossiers')} runs (extract task logs) and raw.batch "
                f"(SELECT * FROM raw.batch WHERE source_id = '{source.id}' AND entity = 'dossier' "
                "ORDER BY batch_id DESC LIMIT 10)",
            ],
            source_id=source.id,
        )
        return result


def check_mart_freshness(dsn: str, now: datetime | None = None) -> dict:
    """Alert when loaded batches have waited too long for an indicator refresh.

    Each load emits an asset event and the indicators DAG refreshes on it; an event the scheduler
    loses (apache/airflow#56050) heals at the next refresh. If no refresh comes at all (the DAG
    paused, its runs failing, its trigger broken) the mart falls behind core without a word: this
    check says so.
    """
    config = quality_thresholds()["mart_freshness"]
    now = now or datetime.now(LOCAL_TZ)
    with psycopg.connect(dsn) as conn:
        oldest = conn.execute(
            """SELECT batch_id, entity, loaded_at, count(*) OVER () FROM quality.unrefreshed_batch
               WHERE loaded_at <= %s ORDER BY loaded_at LIMIT 1""",
            (now,),
        ).fetchone()
        if oldest is None:
            return {"fresh": True, "waiting_batches": 0, "alerted": False}
        batch_id, entity, loaded_at, waiting = oldest
        lag_minutes = (now - loaded_at).total_seconds() / 60
        result = {
            "fresh": lag_minutes <= config["max_lag_minutes"],
            "waiting_batches": waiting,
            "oldest_batch_id": batch_id,
            "oldest_loaded_at": loaded_at.isoformat(),
            "lag_minutes": round(lag_minutes, 1),
            "alerted": False,
        }
        if result["fresh"]:
            return result
        result["alerted"] = _alert_once(
            conn,
            "mart",
            loaded_at,
            lag_minutes / 60,
            f"[tthc] indicators behind core: {waiting} loaded batch(es) not refreshed for {lag_minutes:.0f} min",
            [
                f"Mart freshness: {waiting} loaded batch(es) of dossiers or PAKN are in no indicator refresh yet; "
                f"the oldest, batch {batch_id} ({entity}), was loaded at {loaded_at.astimezone(LOCAL_TZ)}",
                f"Lag: {lag_minutes:.0f} min (threshold {config['max_lag_minutes']} min), checked at "
                f"{now.astimezone(LOCAL_TZ)}",
                "Where to look: the tthc_indicators runs (paused? failing?) and "
                "SELECT * FROM quality.unrefreshed_batch ORDER BY loaded_at",
                "To catch up: any asset-triggered run of tthc_indicators covers every waiting batch; "
                'or trigger it with conf {"start": ..., "end": ...} spanning their windows',
            ],
        )
        return result


def _alert_once(
    conn: psycopg.Connection,
    entity: str,
    since: datetime,
    hours: float,
    subject: str,
    lines: list[str],
    source_id: str = FIRST_SOURCE_ID,
) -> bool:
    """Send the alert unless one about the same moment (``since``) went out already; True if sent.

    The row is committed before sending: a second check racing this one finds it and stays quiet,
    and a send that fails leaves the task to fail and alert through its failure notifier.
    """
    inserted = conn.execute(
        """INSERT INTO quality.freshness_alert (source_id, entity, last_arrival_at, silent_hours)
           VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING""",
        (source_id, entity, since, hours),
    ).rowcount
    conn.commit()
    if inserted:
        send_alert(subject, lines)
    return bool(inserted)


def checked_at(now: str | None) -> datetime | None:
    """The moment a check runs as of: the ``now`` param (ISO, local time), or None for the clock."""
    return datetime.fromisoformat(now).replace(tzinfo=LOCAL_TZ) if now else None
