import psycopg

from tthc import devstack


def test_admin_dsn_names_another_server_when_asked(monkeypatch):
    # Benchmarks and tests create their databases on the server TTHC_ADMIN_DSN names, without
    # probing 127.0.0.1:5432 or starting the embedded one.
    other = "host=127.0.0.1 port=6543 user=bench dbname=postgres"
    monkeypatch.setenv("TTHC_ADMIN_DSN", other)
    assert devstack.local_server_admin_dsn() == other


def test_admin_dsn_defaults_to_a_server_that_answers(monkeypatch):
    monkeypatch.delenv("TTHC_ADMIN_DSN", raising=False)
    dsn = devstack.local_server_admin_dsn()
    with psycopg.connect(dsn, connect_timeout=5) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
