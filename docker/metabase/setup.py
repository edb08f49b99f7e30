"""One-shot set-up of the local Metabase (docker-compose service metabase-setup, profile bi).

Creates Metabase's admin on first start, then adds the warehouse as a data source, connected as
the read-only role bi_reader and limited to schema mart. Safe to run again: an existing admin is
logged in with the same credentials, and an existing data source of the same name is kept.

Standard library only, so it runs in any Python image. Settings come from the environment:
MB_URL, MB_ADMIN_EMAIL, MB_ADMIN_PASSWORD, MB_WAREHOUSE_HOST, MB_WAREHOUSE_PORT, MB_WAREHOUSE_DB,
MB_WAREHOUSE_USER, MB_WAREHOUSE_PASSWORD; optional MB_WAREHOUSE_NAME (default "TTHC warehouse").
"""

from __future__ import annotations

import json
import os
import sys
import time
import urllib.error
import urllib.request

DEFAULT_NAME = "TTHC warehouse"


def call(base: str, method: str, path: str, body: dict | None = None, session: str | None = None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base.rstrip("/") + path, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    if session:
        request.add_header("X-Metabase-Session", session)
    with urllib.request.urlopen(request, timeout=60) as response:
        raw = response.read()
    return json.loads(raw) if raw else None


def wait_until_healthy(base: str, attempts: int = 60, delay_s: float = 5.0) -> None:
    for _ in range(attempts):
        try:
            if (call(base, "GET", "/api/health") or {}).get("status") == "ok":
                return
        except (urllib.error.URLError, OSError, ValueError):
            pass
        time.sleep(delay_s)
    raise SystemExit(f"Metabase at {base} did not become healthy")


def open_session(base: str, email: str, password: str) -> str:
    properties = call(base, "GET", "/api/session/properties") or {}
    if not properties.get("has-user-setup"):
        answer = call(
            base,
            "POST",
            "/api/setup",
            {
                "token": properties["setup-token"],
                "user": {
                    "email": email,
                    "password": password,
                    "first_name": "TTHC",
                    "last_name": "Admin",
                    "site_name": "TTHC",
                },
                "prefs": {"site_name": "TTHC", "site_locale": "vi", "allow_tracking": False},
            },
        )
        print(f"created Metabase admin {email}")
    else:
        answer = call(base, "POST", "/api/session", {"username": email, "password": password})
    return answer["id"]


def warehouse_database(env: dict[str, str]) -> dict:
    return {
        "engine": "postgres",
        "name": env.get("MB_WAREHOUSE_NAME", DEFAULT_NAME),
        "details": {
            "host": env["MB_WAREHOUSE_HOST"],
            "port": int(env["MB_WAREHOUSE_PORT"]),
            "dbname": env["MB_WAREHOUSE_DB"],
            "user": env["MB_WAREHOUSE_USER"],
            "password": env["MB_WAREHOUSE_PASSWORD"],
            "ssl": False,
            "schema-filters-type": "inclusion",
            "schema-filters-patterns": "mart",
        },
        "is_full_sync": True,
    }


def main(env: dict[str, str] | None = None) -> int:
    env = dict(os.environ if env is None else env)
    base = env["MB_URL"]
    wait_until_healthy(base)
    session = open_session(base, env["MB_ADMIN_EMAIL"], env["MB_ADMIN_PASSWORD"])
    database = warehouse_database(env)
    listed = call(base, "GET", "/api/database", session=session)
    existing = listed.get("data", []) if isinstance(listed, dict) else (listed or [])
    if any(item.get("name") == database["name"] for item in existing):
        print(f"data source {database['name']!r} already present")
        return 0
    call(base, "POST", "/api/database", database, session=session)
    print(f"added data source {database['name']!r} as {database['details']['user']} (schema mart)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
