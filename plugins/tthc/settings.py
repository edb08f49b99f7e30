"""Where the pipeline finds its connections, secrets and configuration, and the one local time zone.

Everything comes from Airflow connections, which Airflow itself may read from ``AIRFLOW_CONN_*``
environment variables (URI or JSON form), a secrets backend or its metadata database.
:func:`get_connection` is the one reader, inside a task and outside one (benchmarks, the dev
stack, tests) alike.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from tthc import REFERENCE_DIR

# Vietnam's one time zone: source instants without an offset, working days and period boundaries
# are read in it, and warehouse sessions speak it.
LOCAL_TZ_NAME = "Asia/Ho_Chi_Minh"
LOCAL_TZ = ZoneInfo(LOCAL_TZ_NAME)

SOURCE_CONN_ID = "tthc_source"
WAREHOUSE_CONN_ID = "tthc_warehouse"
PSEUDONYM_CONN_ID = "tthc_pseudonym"
WEBHOOK_CONN_ID = "tthc_alert_webhook"
SMTP_CONN_ID = "smtp_default"
# The source every row written before sources were configuration came from (schema V011's column
# defaults name it too); the first entry of include/reference/sources.yaml.
FIRST_SOURCE_ID = "lai_chau"


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


def get_connection(conn_id: str, *, required: bool = True) -> ConnectionFields | None:
    """The Airflow connection ``conn_id``: the one way the pipeline reads a connection.

    ``airflow.sdk.Connection.get`` asks the task supervisor inside a task; in a plain process
    (benchmarks, the dev stack, tests) it reads ``AIRFLOW_CONN_<ID>`` (URI or JSON) and any
    configured secrets backend. Either way Airflow registers the password and the sensitive extras
    with its log masker. Returns None for an absent optional connection (alert channels may be
    left unconfigured).
    """
    from airflow.sdk import Connection
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        return ConnectionFields.from_airflow(Connection.get(conn_id))
    except AirflowNotFoundException:
        if os.environ.get(_env_var(conn_id)):
            # Airflow reports a variable it cannot parse as an undefined connection.
            raise ConfigurationError(
                f"{_env_var(conn_id)} is set but is not a valid Airflow connection (URI or JSON)"
            ) from None
        if required:
            raise ConfigurationError(
                f"connection {conn_id!r} is not configured: set {_env_var(conn_id)} or create it in Airflow"
            ) from None
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


QUALITY_THRESHOLDS_FILE = REFERENCE_DIR / "quality_thresholds.json"


def _merged(base: dict, override: dict) -> dict:
    merged = dict(base)
    for key, value in override.items():
        merged[key] = (
            _merged(merged[key], value)
            if isinstance(value, dict) and isinstance(merged.get(key), dict)
            else value
        )
    return merged


def quality_thresholds() -> dict[str, Any]:
    """The quality thresholds (batch rules, freshness, alert recipients): the file's defaults with
    ``TTHC_QUALITY_THRESHOLDS`` (a path or inline JSON) merged over them. docs/quality-rules.md."""
    config = json.loads(QUALITY_THRESHOLDS_FILE.read_text(encoding="utf-8"))
    override = os.environ.get("TTHC_QUALITY_THRESHOLDS", "").strip()
    if override:
        text = override if override.startswith("{") else open(override, encoding="utf-8").read()  # noqa: SIM115
        config = _merged(config, json.loads(text))
    return config
