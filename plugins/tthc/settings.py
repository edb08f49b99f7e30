"""Where the pipeline finds its connections and secrets.

Everything comes from Airflow connections, which Airflow itself may read from ``AIRFLOW_CONN_*``
environment variables (URI or JSON form), a secrets backend or its metadata database. Code outside
a task (benchmarks, the dev stack, tests) reads the same environment variables through the same
parser, so there is one way to describe a connection.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

SOURCE_CONN_ID = "tthc_source"
WAREHOUSE_CONN_ID = "tthc_warehouse"
PSEUDONYM_CONN_ID = "tthc_pseudonym"
WEBHOOK_CONN_ID = "tthc_alert_webhook"
SMTP_CONN_ID = "smtp_default"


class ConfigurationError(RuntimeError):
    """A connection or secret the pipeline needs is missing or malformed."""


@dataclass(frozen=True)
class ConnectionFields:
    """The parts of an Airflow connection the pipeline uses, whatever form it came in."""

    conn_id: str
    conn_type: str | None = None
    host: str | None = None
    port: int | None = None
    schema: str | None = None
    login: str | None = None
    password: str | None = field(default=None, repr=False)
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_airflow(cls, conn: Any) -> ConnectionFields:
        return cls(
            conn_id=conn.conn_id,
            conn_type=conn.conn_type,
            host=conn.host,
            port=conn.port,
            schema=conn.schema,
            login=conn.login,
            password=conn.password,
            extra=conn.extra_dejson or {},
        )


def _env_var(conn_id: str) -> str:
    return f"AIRFLOW_CONN_{conn_id.upper()}"


def _parse_env_connection(conn_id: str, value: str) -> ConnectionFields:
    # Airflow's own Connection model knows both the URI and the JSON form; importing it lazily
    # keeps this module cheap to import at DAG-parse time.
    from airflow.models.connection import Connection

    text = value.strip()
    try:
        if text.startswith("{"):
            conn = Connection.from_json(text, conn_id=conn_id)
        else:
            conn = Connection(conn_id=conn_id, uri=text)
    except (ValueError, json.JSONDecodeError) as exc:
        raise ConfigurationError(f"{_env_var(conn_id)} is not a valid Airflow connection") from exc
    return ConnectionFields.from_airflow(conn)


def get_connection(conn_id: str, *, required: bool = True) -> ConnectionFields | None:
    """The connection ``conn_id`` from the environment, else from Airflow.

    Returns None for an absent optional connection (alert channels may be left unconfigured).
    """
    value = os.environ.get(_env_var(conn_id))
    if value:
        return _parse_env_connection(conn_id, value)
    try:
        from airflow.sdk import BaseHook

        return ConnectionFields.from_airflow(BaseHook.get_connection(conn_id))
    except Exception as exc:  # Airflow raises different types inside and outside a task
        if required:
            raise ConfigurationError(
                f"connection {conn_id!r} is not configured: set {_env_var(conn_id)} or create it in Airflow"
            ) from exc
        return None


def pseudonym_key() -> bytes:
    """The key of the keyed hash that pseudonymizes personal data.

    From ``TTHC_PSEUDONYM_KEY`` or the password of the ``tthc_pseudonym`` connection. There is no
    default: without a key, personal data could not be written safely, so the run stops.
    """
    key = os.environ.get("TTHC_PSEUDONYM_KEY")
    if not key:
        conn = get_connection(PSEUDONYM_CONN_ID, required=False)
        key = conn.password if conn else None
    if not key or len(key) < 16:
        raise ConfigurationError(
            "no pseudonymization key: set TTHC_PSEUDONYM_KEY (at least 16 characters) "
            f"or the password of connection {PSEUDONYM_CONN_ID!r}"
        )
    return key.encode()
