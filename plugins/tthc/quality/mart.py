"""Invariants of the mart (``expectations/mart.json``), checked after every indicator refresh."""

from __future__ import annotations

import logging

import psycopg

from tthc.quality import data_docs
from tthc.quality.alerts import AlertDetails
from tthc.quality.gx_runner import validate_table
from tthc.quality.suites import load_suite

log = logging.getLogger(__name__)

try:
    from airflow.sdk.exceptions import AirflowFailException as _NoRetry
except ImportError:  # pragma: no cover - outside Airflow
    _NoRetry = RuntimeError


class MartInvariantError(AlertDetails, _NoRetry):
    def __init__(self, message: str, subject: str, lines: list[str]):
        super().__init__(message)
        self.alert_subject = subject
        self.alert_lines = lines


def _dsn(conn_or_dsn: psycopg.Connection | str) -> str:
    if isinstance(conn_or_dsn, str):
        return conn_or_dsn
    params = conn_or_dsn.info.get_parameters()
    if conn_or_dsn.info.password:
        params["password"] = conn_or_dsn.info.password
    return psycopg.conninfo.make_conninfo(**params)


def check_mart(conn_or_dsn: psycopg.Connection | str) -> dict:
    """Validate ``mart.indicator_value`` with the ``mart`` suite, keep the result (and its Data Docs
    page); raise ``MartInvariantError`` (task fails, its notifier alerts) when an invariant breaks."""
    dsn = _dsn(conn_or_dsn)
    validation = validate_table(load_suite("mart"), dsn)
    with psycopg.connect(dsn) as conn:
        validation_id = conn.execute(
            """INSERT INTO quality.validation_result (batch_id, suite, stage, success, statistics, results)
               VALUES (NULL, %s, 'mart', %s, %s, %s) RETURNING validation_id""",
            (validation.suite, validation.success, psycopg.types.json.Jsonb(validation.statistics),
             psycopg.types.json.Jsonb(validation.result_json)),
        ).fetchone()[0]
        conn.commit()
        url = data_docs.render_stored(conn, [validation_id]).get(validation_id)
    failing = validation.failing_rules()
    summary = {"validation_id": validation_id, "success": validation.success, "failing_rules": failing,
               "data_docs_url": url}
    if not validation.success:
        lines = ["Mart invariants broken after the indicator refresh (mart.indicator_value):",
                 *[f"  - {rule}: {count} rows" for rule, count in failing.items()],
                 "Where to look:", f"  Data Docs: {url or data_docs.docs_dir()}",
                 f"  SQL: SELECT results FROM quality.validation_result WHERE validation_id = {validation_id};"]
        raise MartInvariantError("\n".join(lines), "[tthc] mart invariants broken: " + ", ".join(failing), lines)
    log.info("mart invariants hold: %s", summary)
    return summary
