"""Helpers the integration tests share, in a module of its own: test modules import it by name
(``conftest`` is not importable reliably when several exist)."""

from __future__ import annotations

import json

import psycopg

SMALL_VOLUME = 20_000  # dossiers a year: the smallest volume the simulator can plant its figures in


def warehouse_connection_json(dsn: str) -> str:
    params = psycopg.conninfo.conninfo_to_dict(dsn)
    return json.dumps({
        "conn_type": "postgres", "host": params.get("host"), "port": int(params.get("port") or 5432),
        "login": params.get("user"), "password": params.get("password"), "schema": params["dbname"],
    })


def source_connection_json(server) -> str:
    host, port = server.base_url.removeprefix("http://").split(":")
    return json.dumps({
        "conn_type": "http", "host": host, "port": int(port), "schema": "http",
        "login": server.client_id, "password": server.client_secret,
        "extra": {"page_size": 1000, "backoff_base_s": 0.05, "backoff_max_s": 0.5},
    })
