"""SourceClient against the project's simulator over real HTTP: no HTTP call is mocked.

Counting hooks are put on the simulator object itself (its credential check, its token issuer)
to see what reached the server, never in the client's path.
"""

from __future__ import annotations

import json
import logging
import time
import tracemalloc
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import pytest

from simulator.generator import SimulationConfig, build_province
from simulator.server import AccessTokens, FaultConfig, SimulatorServer, run_in_thread
from simulator.store import SourceStore, parse_source_instant
from tthc.settings import ConfigurationError
from tthc.source_client import (
    Endpoint,
    SourceAuthError,
    SourceClient,
    SourceRequestError,
    SourceSettings,
    SourceUnavailableError,
    format_source_time,
)

CLIENT_ID = "tthc-pipeline-test"
CLIENT_SECRET = "never-log-this-client-secret-7f3a"

# What a provincial deployment on a bad day looks like, sped up: retries must absorb all of it.
BAD_DAY = {
    "server_error_share": 0.10,
    "envelope_error_share": 0.05,
    "too_many_requests_share": 0.05,
    "retry_after_s": 0,
    "slow_share": 0.05,
    "slow_s": 0.05,
    "token_lifetime_s": 2,
    "update_during_extraction_share": 0.05,
    "seed": 11,
}


# The generator plants the headline figures of architecture.md and needs about 20,000 dossiers a
# year to do so; the tests themselves work at any volume.
DOSSIERS_PER_YEAR = 20_000


@pytest.fixture(scope="module")
def province():
    return build_province(SimulationConfig(dossiers_per_year=DOSSIERS_PER_YEAR))


@pytest.fixture(scope="module")
def store(province):
    """One store for every test that does not change it: building a store takes seconds."""
    return SourceStore.from_province(province)


@contextmanager
def simulator(province, store: SourceStore | None = None, **faults) -> Iterator[SimulatorServer]:
    """A simulator serving ``store``, or a fresh store of its own when the faults change records."""
    with run_in_thread(
        province,
        faults=FaultConfig(**faults),
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        store=store,
    ) as server:
        yield server


def settings_for(server: SimulatorServer, **overrides) -> SourceSettings:
    values = {
        "base_url": server.base_url,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "timeout_s": 5.0,
        "max_retries": 10,
        "backoff_base_s": 0.005,
        "backoff_max_s": 0.05,
    }
    return SourceSettings(**(values | overrides))


def as_multiset(records: Iterable[dict]) -> Counter[str]:
    # Business keys may repeat in a source (a planted defect), so compare whole records, counted.
    return Counter(json.dumps(record, sort_keys=True, ensure_ascii=False) for record in records)


def dossiers_changed_in(server: SimulatorServer, start: datetime, end: datetime) -> Counter[str]:
    """What the store holds for the window, read directly (local naive times, as the source)."""
    return as_multiset(
        record
        for record in server.store.dossiers
        if start <= parse_source_instant(record["NgayCapNhat"]) < end
    )


def record_issued_tokens(server: SimulatorServer, monkeypatch) -> list[str]:
    issued: list[str] = []
    issue = server.tokens.issue

    def issue_and_record() -> str:
        issued.append(issue())
        return issued[-1]

    monkeypatch.setattr(server.tokens, "issue", issue_and_record)
    return issued


def record_rejected_tokens(server: SimulatorServer, monkeypatch) -> list[str]:
    rejected: list[str] = []
    is_valid = server.tokens.is_valid

    def check_and_record(token: str) -> bool:
        if not is_valid(token):
            rejected.append(token)
            return False
        return True

    monkeypatch.setattr(server.tokens, "is_valid", check_and_record)
    return rejected


def outlive_tokens(page: int, token_lifetime_s: float) -> None:
    """Consume the first pages slowly, as a busy consumer would, so that an extraction lasts
    longer than a token whatever the simulated volume: the client must renew on its own."""
    if page < 3:
        time.sleep(token_lifetime_s * 0.6)


def client_log(caplog) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.name == "tthc.source_client"]


def test_full_extraction_under_faults_equals_the_store(province, monkeypatch):
    # A store of its own: the server changes dossiers while they are extracted.
    with simulator(province, **BAD_DAY) as server, SourceClient(settings_for(server)) as client:
        tokens = record_issued_tokens(server, monkeypatch)
        rejected = record_rejected_tokens(server, monkeypatch)
        pages = []
        records = []
        for page in client.iter_pages(Endpoint.DOSSIERS):
            pages.append((page.number, page.cursor, page.next_cursor, page.total_elements))
            records.extend(page.records)
            outlive_tokens(page.number, BAD_DAY["token_lifetime_s"])
        assert as_multiset(records) == as_multiset(server.store.dossiers)

        store = server.store
        for endpoint, expected in (
            (Endpoint.UNITS, store.units),
            (Endpoint.PROCEDURES, store.procedures),
            (Endpoint.FEEDBACK, store.feedback),
        ):
            assert as_multiset(client.iter_records(endpoint)) == as_multiset(expected), endpoint
        month = (datetime(2024, 1, 1), datetime(2024, 2, 1))
        counts = [count.as_record() for count in store.dossier_counts.select(*month)]
        assert counts
        assert list(client.iter_records(Endpoint.DOSSIER_COUNTS, *month)) == counts

    assert [number for number, *_ in pages] == list(range(len(pages)))
    assert pages[0][1] is None and pages[-1][2] is None
    # Each page was asked for with the cursor the previous one handed out.
    assert [cursor for _, cursor, _, _ in pages[1:]] == [next_cursor for _, _, next_cursor, _ in pages[:-1]]
    assert pages[0][3] == len(records)
    assert len(tokens) >= 2, "2-second tokens must have been renewed during the extraction"
    assert not rejected, "tokens are renewed before they expire, not after a 401"


def test_window_is_sent_in_local_time(province, store):
    start, end = datetime(2024, 1, 1), datetime(2024, 2, 1)
    with simulator(province, store) as server, SourceClient(settings_for(server)) as client:
        expected = dossiers_changed_in(server, start, end)
        naive = as_multiset(client.iter_records(Endpoint.DOSSIERS, start, end))
        # The same window as aware UTC instants: 2024-01-01 00:00 +07 is 2023-12-31 17:00 UTC.
        aware = as_multiset(
            client.iter_records(
                Endpoint.DOSSIERS,
                datetime(2023, 12, 31, 17, tzinfo=UTC),
                datetime(2024, 1, 31, 17, tzinfo=UTC),
            )
        )
    assert expected and naive == expected and aware == expected


def test_revoked_token_is_renewed_once_and_the_call_repeated(province, store, monkeypatch):
    with simulator(province, store) as server, SourceClient(settings_for(server, page_size=200)) as client:
        first_issuer = record_issued_tokens(server, monkeypatch)
        second_issuer: list[str] = []
        records = []
        for page in client.iter_pages(Endpoint.DOSSIERS, datetime(2023, 1, 1), datetime(2023, 4, 1)):
            records.extend(page.records)
            if page.number == 1:
                # The server forgets every token it issued, as after a restart: the next call
                # meets a 401 although the client's token has not expired.
                monkeypatch.setattr(server, "tokens", AccessTokens(300))
                second_issuer = record_issued_tokens(server, monkeypatch)
        assert page.number >= 2, "the window spans pages after the revocation"
        assert as_multiset(records) == dossiers_changed_in(server, datetime(2023, 1, 1), datetime(2023, 4, 1))
    assert (len(first_issuer), len(second_issuer)) == (1, 1)


def test_wrong_credentials_fail_at_once_without_leaking_the_secret(province, store, monkeypatch, caplog):
    caplog.set_level(logging.DEBUG)
    wrong_secret = "wrong-secret-that-must-not-leak-42"
    with simulator(province, store) as server:
        checks = []
        check = server.credentials_match
        monkeypatch.setattr(server, "credentials_match", lambda *args: checks.append(1) or check(*args))
        # A backoff this long would show in the elapsed time if the client retried.
        settings = settings_for(server, client_secret=wrong_secret, backoff_base_s=5.0, backoff_max_s=5.0)
        started = time.monotonic()
        with SourceClient(settings) as client, pytest.raises(SourceAuthError) as caught:
            next(client.iter_pages(Endpoint.DOSSIERS, datetime(2024, 1, 1), datetime(2024, 1, 2)))
        elapsed = time.monotonic() - started
    assert checks == [1], "exactly one token request reaches the server"
    assert elapsed < 2.0
    message = str(caught.value)
    assert f"{server.base_url}/oauth/token" in message and CLIENT_ID in message
    assert wrong_secret not in message and wrong_secret not in repr(caught.value)
    assert wrong_secret not in caplog.text


def test_bad_page_size_is_a_request_error_with_the_servers_message(province, store, caplog):
    caplog.set_level(logging.WARNING)
    with (
        simulator(province, store) as server,
        SourceClient(settings_for(server, page_size=5000)) as client,
        pytest.raises(SourceRequestError, match="kichThuoc"),
    ):
        next(client.iter_pages(Endpoint.DOSSIERS, datetime(2024, 1, 1), datetime(2024, 1, 2)))
    assert not client_log(caplog), "a 400 is not retried"


@pytest.mark.parametrize("fault", ["server_error_share", "envelope_error_share", "too_many_requests_share"])
def test_exhausted_retries_name_endpoint_and_window(province, store, caplog, fault):
    caplog.set_level(logging.WARNING)
    with (
        simulator(province, store, **{fault: 1.0, "retry_after_s": 0}) as server,
        SourceClient(settings_for(server, max_retries=2)) as client,
        pytest.raises(SourceUnavailableError) as caught,
    ):
        next(client.iter_pages(Endpoint.DOSSIERS, datetime(2024, 1, 1), datetime(2024, 2, 1, 12, 30)))
    message = str(caught.value)
    for part in ("/api/v1/hoso", "tu=20240101000000", "den=20240201123000", "3 attempts"):
        assert part in message
    retries = [record.getMessage() for record in client_log(caplog)]
    assert len(retries) == 2
    for attempt, text in enumerate(retries, start=1):
        assert "/api/v1/hoso" in text and "tu=20240101000000" in text and f"attempt {attempt} of 3" in text


def test_retry_after_is_honoured(province, store, caplog):
    caplog.set_level(logging.WARNING)
    with simulator(province, store, too_many_requests_share=1.0, retry_after_s=1) as server:
        started = time.monotonic()
        with (
            SourceClient(settings_for(server, max_retries=1)) as client,
            pytest.raises(SourceUnavailableError),
        ):
            next(client.iter_pages(Endpoint.UNITS))
        elapsed = time.monotonic() - started
    assert 1.0 <= elapsed < 3.0, "one wait of Retry-After (1 s), not the 5-millisecond backoff"
    assert "retrying in 1.00 s" in caplog.text


def test_secrets_never_reach_the_logs(province, store, monkeypatch, caplog):
    caplog.set_level(logging.DEBUG)  # every logger: ours, urllib3's, the simulator's
    faults = BAD_DAY | {
        "server_error_share": 0.3,
        "token_lifetime_s": 1,
        "update_during_extraction_share": 0.0,  # the store is shared
        "seed": 5,
    }
    with simulator(province, store, **faults) as server, SourceClient(settings_for(server)) as client:
        tokens = record_issued_tokens(server, monkeypatch)
        for page in client.iter_pages(Endpoint.DOSSIERS, datetime(2023, 1, 1), datetime(2023, 7, 1)):
            outlive_tokens(page.number, faults["token_lifetime_s"])
    assert len(tokens) >= 2, "the client authenticated, and renewed"
    ours = client_log(caplog)
    assert any(record.levelno == logging.WARNING for record in ours), "retries were logged"
    assert any(
        record.levelno == logging.DEBUG and "tu=20230101000000" in record.getMessage() for record in ours
    )
    for secret in (CLIENT_SECRET, *tokens):
        assert secret not in caplog.text
    assert CLIENT_SECRET not in repr(client.settings) and CLIENT_SECRET not in repr(client)


def test_memory_does_not_grow_with_the_window(province, store):
    window = (datetime(2023, 1, 1), datetime(2023, 4, 1))

    @contextmanager
    def traced() -> Iterator[list[int]]:
        """Yields a list that receives the peak of traced bytes of the block."""
        peak: list[int] = []
        tracemalloc.start()
        try:
            yield peak
            peak.append(tracemalloc.get_traced_memory()[1])
        finally:
            tracemalloc.stop()

    def stream(client: SourceClient, pages: int | None = None) -> int:
        read = 0
        for _page in client.iter_pages(Endpoint.DOSSIERS, *window):
            read += 1
            if read == pages:
                break
        return read

    with simulator(province, store) as server:
        with SourceClient(settings_for(server, page_size=1)) as probe:
            in_window = next(probe.iter_pages(Endpoint.DOSSIERS, *window)).total_elements
        # About 60 pages whatever the simulated volume.
        with SourceClient(settings_for(server, page_size=max(10, in_window // 60))) as client:
            next(client.iter_pages(Endpoint.UNITS))  # token and connection pool, outside the measures
            with traced() as few_peak:
                few = stream(client, 3)
            with traced() as all_peak:
                all_pages = stream(client)
            with traced() as held_peak:
                held = list(client.iter_records(Endpoint.DOSSIERS, *window))  # a careless caller
            del held
    assert all_pages > 15 * few
    # Streaming the whole window costs about what three pages cost, and a small fraction of
    # holding the window: the client keeps no page it has handed out.
    assert all_peak[0] < 2 * few_peak[0], (few_peak, all_peak)
    assert all_peak[0] < held_peak[0] / 8, (all_peak, held_peak)


def test_settings_from_uri_connection(monkeypatch):
    monkeypatch.setenv(
        "AIRFLOW_CONN_TTHC_SOURCE_URI_TEST",
        "http://client-1:p%40ss%2Fword-123@api.example.vn:8443/https"
        "?page_size=1000&timeout_s=90&verify_tls=false&max_retries=8&lookback_minutes=30",
    )
    settings = SourceSettings.from_airflow("tthc_source_uri_test")
    assert settings.base_url == "https://api.example.vn:8443"
    assert (settings.client_id, settings.client_secret) == ("client-1", "p@ss/word-123")
    assert (settings.page_size, settings.timeout_s, settings.verify_tls) == (1000, 90.0, False)
    assert (settings.max_retries, settings.lookback_minutes) == (8, 30)
    assert "p@ss/word-123" not in repr(settings)


def test_settings_from_json_connection_with_defaults(monkeypatch):
    monkeypatch.setenv(
        "AIRFLOW_CONN_TTHC_SOURCE_JSON_TEST",
        json.dumps(
            {
                "conn_type": "http",
                "host": "127.0.0.1",
                "port": 8765,
                "login": "client-2",
                "password": "secret-2-long-enough",
                "extra": {"page_size": 250, "verify_tls": True},
            }
        ),
    )
    settings = SourceSettings.from_airflow("tthc_source_json_test")
    assert settings.base_url == "http://127.0.0.1:8765"  # no schema: plain http
    assert (settings.page_size, settings.verify_tls) == (250, True)
    assert (settings.max_retries, settings.lookback_minutes) == (5, 15)


def test_settings_reject_bad_configuration(monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_TTHC_SOURCE_BAD_TEST", "http://id:secret-3@host.example?page_size=many")
    with pytest.raises(ConfigurationError, match="page_size"):
        SourceSettings.from_airflow("tthc_source_bad_test")
    with pytest.raises(ConfigurationError, match="not configured"):
        SourceSettings.from_airflow("tthc_source_absent_test")
    monkeypatch.setenv("AIRFLOW_CONN_TTHC_SOURCE_FTP_TEST", "http://id:secret-4@host.example/ftp")
    with pytest.raises(ConfigurationError, match="schema"):
        SourceSettings.from_airflow("tthc_source_ftp_test")


def test_source_time_format():
    assert format_source_time(datetime(2024, 3, 5, 7, 8, 9)) == "20240305070809"
    assert format_source_time(datetime(2024, 3, 4, 23, 59, 0, tzinfo=UTC)) == "20240305065900"
    # Rejected when called, before any request: nothing listens on this address.
    client = SourceClient(SourceSettings(base_url="http://127.0.0.1:9", client_id="a", client_secret="b"))
    with client, pytest.raises(ValueError, match="starts after it ends"):
        client.iter_pages(Endpoint.DOSSIERS, datetime(2024, 2, 1), datetime(2024, 1, 1))
