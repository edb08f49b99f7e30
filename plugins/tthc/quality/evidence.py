"""The record of what a validation found: ``quality.validation_result``, one row a suite run."""

from __future__ import annotations

import json

import psycopg

from tthc.quality.gx_runner import Validation


def store_validation(conn: psycopg.Connection, batch_id: int | None, validation: Validation) -> int:
    """Keep a validation's outcome (in the caller's transaction); returns its ``validation_id``.
    ``success`` is "no critical finding"; ``status`` also tells ``passed_with_warnings``."""
    return conn.execute(
        """INSERT INTO quality.validation_result (batch_id, suite, stage, success, status, statistics, results)
           VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING validation_id""",
        (
            batch_id,
            validation.suite,
            validation.stage,
            validation.success,
            validation.status,
            json.dumps(validation.statistics),
            json.dumps(validation.result_json, default=str),
        ),
    ).fetchone()[0]
