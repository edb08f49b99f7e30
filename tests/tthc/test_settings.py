import json

import pytest

from tthc.settings import ConfigurationError, get_connection, quality_thresholds


def test_connection_from_uri_and_json_variables(monkeypatch):
    monkeypatch.setenv(
        "AIRFLOW_CONN_TTHC_SETTINGS_URI",
        "postgres://loader:p%40ss%2Fword-41@db.example.vn:6432/warehouse?sslmode=require",
    )
    monkeypatch.setenv(
        "AIRFLOW_CONN_TTHC_SETTINGS_JSON",
        json.dumps(
            {
                "conn_type": "smtp",
                "host": "mail.example.vn",
                "port": 587,
                "login": "alerts",
                "password": "json-secret-42",
                "extra": {"to": ["a@example.vn"]},
            }
        ),
    )

    uri = get_connection("tthc_settings_uri")
    assert (uri.conn_type, uri.host, uri.port, uri.schema) == ("postgres", "db.example.vn", 6432, "warehouse")
    assert (uri.login, uri.password, uri.extra) == ("loader", "p@ss/word-41", {"sslmode": "require"})
    assert "p@ss/word-41" not in repr(uri)

    from_json = get_connection("tthc_settings_json")
    assert (from_json.conn_type, from_json.host, from_json.port) == ("smtp", "mail.example.vn", 587)
    assert from_json.extra == {"to": ["a@example.vn"]}


def test_password_is_registered_with_airflows_log_masker(monkeypatch):
    # The same masker Airflow's task runner applies to every log line (and to rendered fields).
    from airflow.sdk._shared.secrets_masker import redact

    secret = "masked-secret-43-" + "x" * 8
    assert secret in redact(f"connecting with {secret}")  # not known to the masker yet
    monkeypatch.setenv("AIRFLOW_CONN_TTHC_SETTINGS_MASKED", f"http://user:{secret}@host.example")
    get_connection("tthc_settings_masked")
    assert secret not in redact(f"connecting with {secret}")


def test_absent_and_malformed_connections(monkeypatch):
    monkeypatch.delenv("AIRFLOW_CONN_TTHC_SETTINGS_ABSENT", raising=False)
    assert get_connection("tthc_settings_absent", required=False) is None
    with pytest.raises(ConfigurationError, match="not configured: set AIRFLOW_CONN_TTHC_SETTINGS_ABSENT"):
        get_connection("tthc_settings_absent")

    # Airflow itself would call this connection undefined; the message says the variable is wrong,
    # whether or not the connection is required.
    monkeypatch.setenv("AIRFLOW_CONN_TTHC_SETTINGS_BROKEN", '{"conn_type": "http", "host"')
    for required in (True, False):
        with pytest.raises(
            ConfigurationError, match="AIRFLOW_CONN_TTHC_SETTINGS_BROKEN is set but is not a valid"
        ):
            get_connection("tthc_settings_broken", required=required)


def test_thresholds_are_configuration(monkeypatch):
    assert quality_thresholds()["batch_rules"]["quarantined_share"]["max_share"] == 0.2
    monkeypatch.setenv(
        "TTHC_QUALITY_THRESHOLDS", json.dumps({"batch_rules": {"quarantined_share": {"max_share": 0.5}}})
    )
    assert quality_thresholds()["batch_rules"]["quarantined_share"] == {
        **quality_thresholds()["batch_rules"]["quarantined_share"],
        "max_share": 0.5,
    }
    assert quality_thresholds()["batch_rules"]["volume"]["weeks"] == 4
