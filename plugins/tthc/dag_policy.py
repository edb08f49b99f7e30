"""The conventions every TTHC DAG follows, defined once: who owns it, which tags it may carry, how
its tasks retry and whom they alert when they have failed for good.

DAG files take their ``tags`` and ``default_args`` from here; ``tests/dags/test_dag_integrity.py``
checks every DAG in the bag against the same definitions (and that each ``doc_md`` has a
"When it fails" section). This is the one module below ``tthc.tasks`` that DAG files import,
for what Airflow needs at parse time: the failure notifier and the schedules' time zone
(``LOCAL_TZ_NAME``, re-exported from ``tthc.settings``).

Kept free of heavy imports: every DAG file imports it at parse time.
"""

from __future__ import annotations

from tthc.quality.alerts import FailureNotifier, failure_notifier
from tthc.settings import LOCAL_TZ_NAME

__all__ = [
    "LOCAL_TZ_NAME",
    "OWNER",
    "SOURCE_TAG_PREFIX",
    "TAGS",
    "WITHOUT_RETRIES",
    "FailureNotifier",
    "default_args",
    "failure_notifier",
    "tags",
]

# Shown in the UI's owner column and filter; "airflow" (Airflow's default) would say nobody.
OWNER = "tthc-data"

# Every DAG carries "tthc" (the UI filter for the whole pipeline) plus the topics it is about.
TAGS = frozenset({"tthc", "dossiers", "feedback", "reference", "indicators", "mart", "quality", "report"})

# DAG id -> why its tasks deliberately do not retry. Empty: every DAG retries transient failures.
WITHOUT_RETRIES: dict[str, str] = {}


# A source's DAGs also carry "source:<id>": the UI filter for one source system's runs.
SOURCE_TAG_PREFIX = "source:"


def tags(*topics: str, source: str | None = None) -> list[str]:
    """ "tthc", the DAG's topics and, for a source's DAG, its source tag; a topic outside ``TAGS``
    fails the DAG file's import, named."""
    unknown = sorted(set(topics) - TAGS)
    if unknown:
        raise ValueError(f"DAG tags {unknown} are not in tthc.dag_policy.TAGS {sorted(TAGS)}")
    return ["tthc", *topics, *([f"{SOURCE_TAG_PREFIX}{source}"] if source else [])]


def default_args(*, retries: int) -> dict:
    """Every task of a DAG: its owner, its retries, and one alert once it has failed for good.

    The notifier is the failure callback only: Airflow calls it after the last retry, and
    ``on_retry_callback`` stays unset on purpose (one failure, one alert).
    """
    return {"owner": OWNER, "retries": retries, "on_failure_callback": [failure_notifier()]}
