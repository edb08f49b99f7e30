"""Invariants of the mart (``expectations/mart.json``), checked after every indicator refresh."""

from __future__ import annotations

import logging

import psycopg

from tthc.quality import data_docs
from tthc.quality.alerts import mart_invariants_broken
from tthc.quality.evidence import store_validation
from tthc.quality.gx_runner import validate_table
from tthc.quality.suites import load_suite

log = logging.getLogger(__name__)


def _dsn(conn_or_dsn: psycopg.Connection | str) -> str:
    if isinstance(conn_or_dsn, str):
        return conn_or_dsn
    params = conn_or_dsn.info.get_parameters()
    if conn_or_dsn.info.password:
        params["password"] = conn_or_dsn.info.password
    return psycopg.conninfo.make_conninfo(**params)


def check_mart(conn_or_dsn: psycopg.Connection | str) -> dict:
    """Validate ``mart.indicator_value`` with the ``mart`` suite, keep the result (and its Data Docs
    page); raise ``alerts.MartInvariantError`` (task fails, its notifier alerts) when an invariant breaks."""
    dsn = _dsn(conn_or_dsn)
    validation = validate_table(load_suite("mart"), dsn)
    with psycopg.connect(dsn) as conn:
        validation_id = store_validation(conn, None, validation)
        conn.commit()
        url = data_docs.render_stored(conn, [validation_id]).get(validation_id)
    failing = validation.failing_rules()
    summary = {
        "validation_id": validation_id,
        "success": validation.success,
        "failing_rules": failing,
        "data_docs_url": url,
    }
    if not validation.success:
        raise mart_invariants_broken(failing, url or str(data_docs.docs_dir()), validation_id)
    log.info("mart invariants hold: %s", summary)
    return summary
