"""The one HTTP client of the provincial export API (contract: docs/source-api.md).

Everything the pipeline reads from the source goes through :class:`SourceClient`: OAuth2
client-credentials tokens, the response envelope, keyset paging, timeouts and the retry policy live
here and nowhere else.

Retry policy: the project's one, :class:`tthc.http.RetryingTransport` (tenacity), shared with the
portal's client. 5xx, 408, 429, connection resets, timeouts and, here, HTTP-200 envelopes whose
``error_code`` is not ``"0"`` are transient; they are retried up to ``max_retries`` times with
exponential backoff and full jitter, or after the server's ``Retry-After`` on a 429, then
:class:`SourceUnavailableError` names the endpoint and the window. A 401 on a data call renews the
token and repeats that call once. Wrong credentials (the token endpoint refusing the client) and
400/404 answers are configuration or programming errors: they raise at once and are never
retried. The transport itself (``requests``/urllib3) does no retries of its own, so the attempt
count is the one written here.

The connection ``tthc_source`` (type ``http``) may be given as ``AIRFLOW_CONN_TTHC_SOURCE`` in
either form Airflow accepts; :meth:`SourceSettings.from_airflow` reads it with
:func:`tthc.settings.get_connection`, inside a task and in a plain process alike::

    # URI: the URI scheme is the connection *type*; the path is the connection's schema, i.e. the
    # scheme of the base URL (``http`` when left out). Percent-encode reserved characters in the
    # secret. Extras are query parameters (strings; converted here).
    AIRFLOW_CONN_TTHC_SOURCE='http://client-id:client%2Fsecret@api.example.vn:443/https?page_size=1000&max_retries=8'

    # JSON
    AIRFLOW_CONN_TTHC_SOURCE='{"conn_type": "http", "host": "127.0.0.1", "port": 8765,
        "schema": "http", "login": "client-id", "password": "client-secret",
        "extra": {"page_size": 1000, "timeout_s": 60, "verify_tls": true}}'

A host that already carries a scheme (``"host": "https://gw.example.vn/tthc"``) is taken as the
whole base URL, as Airflow's HTTP hook does; then ``schema`` and ``port`` are ignored.

Secrets: the client secret is sent only in the token request's form body and the token only in
the ``Authorization`` header; neither is ever put in a log record or an exception message.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

import orjson
import requests

from tthc.http import (
    POLICY_EXTRAS,
    RetryingTransport,
    base_url_from_connection,
    check_policy,
    parse_extras,
    parse_int,
    raise_for_transient_status,
    retry_after_s,
    server_message,
)
from tthc.http import TransientError as _TransientError
from tthc.settings import LOCAL_TZ, SOURCE_CONN_ID, ConfigurationError, ConnectionFields, get_connection

__all__ = [
    "MAX_PAGE_SIZE",
    "Endpoint",
    "Page",
    "SourceAuthError",
    "SourceClient",
    "SourceError",
    "SourceRequestError",
    "SourceSettings",
    "SourceUnavailableError",
    "format_source_time",
]

log = logging.getLogger(__name__)

MAX_PAGE_SIZE = 1000
"""The contract's largest page. The server enforces it (400); the client does not second-guess."""

TOKEN_PATH = "/oauth/token"

# Renew a token this long before it expires, so a page request rarely meets a 401. Short-lived
# tokens (the simulator can issue 2-second ones) renew after 80% of their lifetime instead.
_TOKEN_RENEWAL_MARGIN_S = 30.0
_TOKEN_RENEWAL_SHARE = 0.2


class Endpoint(StrEnum):
    """The export API's list endpoints."""

    UNITS = "/api/v1/donvi"
    PROCEDURES = "/api/v1/thutuc"
    DOSSIERS = "/api/v1/hoso"
    FEEDBACK = "/api/v1/phananh"
    DOSSIER_COUNTS = "/api/v1/thongke/hoso"


class SourceError(RuntimeError):
    """The export API could not give what was asked for."""


class SourceAuthError(SourceError):
    """The source refused the client's credentials or token: fix the connection, do not retry."""


class SourceRequestError(SourceError):
    """The source rejected the request itself (HTTP 400 and the like): retrying cannot help."""


class SourceUnavailableError(SourceError):
    """Transient failures went on past ``max_retries``: the source is down or overloaded."""


@dataclass(frozen=True)
class SourceSettings:
    """How to reach the export API and how patient to be with it."""

    base_url: str
    client_id: str
    client_secret: str = field(repr=False)
    page_size: int = 500
    timeout_s: float = 60.0
    """Read timeout of one request: the longest silence tolerated while a page is produced."""
    connect_timeout_s: float = 10.0
    verify_tls: bool = True
    max_retries: int = 5
    """Retries after the first attempt of each request: at most ``max_retries + 1`` attempts."""
    lookback_minutes: int = 15
    """Overlap of incremental windows (used by the extraction, carried here with the connection)."""
    backoff_base_s: float = 1.0
    """First retry waits up to this long; each further retry doubles the bound (full jitter)."""
    backoff_max_s: float = 60.0

    def __post_init__(self) -> None:
        if not self.base_url.startswith(("http://", "https://")):
            raise ConfigurationError(
                f"source base URL must start with http:// or https://, got {self.base_url!r}"
            )
        if not self.client_id or not self.client_secret:
            raise ConfigurationError("source client id and client secret are both required")
        if self.page_size < 1:
            raise ConfigurationError(f"page_size must be positive, got {self.page_size}")
        check_policy(self)
        if self.lookback_minutes < 0:
            raise ConfigurationError(f"lookback_minutes must not be negative, got {self.lookback_minutes}")
        # Endpoint paths start with "/", so a trailing one here would double it.
        object.__setattr__(self, "base_url", self.base_url.rstrip("/"))

    @classmethod
    def from_connection(cls, conn: ConnectionFields) -> SourceSettings:
        """Settings from the fields of an Airflow connection."""
        base_url = base_url_from_connection(conn)
        options = parse_extras(conn, _EXTRA_PARSERS, log)
        return cls(
            base_url=base_url, client_id=conn.login or "", client_secret=conn.password or "", **options
        )

    @classmethod
    def from_airflow(cls, conn_id: str = SOURCE_CONN_ID) -> SourceSettings:
        """Settings from the Airflow connection ``conn_id``, read by :func:`tthc.settings.get_connection`
        (inside a task and in a plain process alike; the secret is registered with the log masker)."""
        return cls.from_connection(get_connection(conn_id))


# URI-form connections carry extras as strings, JSON-form ones as typed values: accept both.
_EXTRA_PARSERS = {**POLICY_EXTRAS, "page_size": parse_int, "lookback_minutes": parse_int}


@dataclass(frozen=True, slots=True)
class Page:
    """One page of a list endpoint, as the source sent it."""

    records: list[dict[str, Any]]
    total_elements: int
    """Records the whole query selected when this page was served (it moves while updates land)."""
    number: int
    """0 for the first page of a window, counting up."""
    cursor: str | None
    """The ``sau`` this page was requested with: None for the first page."""
    next_cursor: str | None
    """The ``sau`` of the following page: None on the last page."""


def format_source_time(moment: datetime) -> str:
    """``moment`` as the source writes it: ``yyyyMMddHHmmss`` in Asia/Ho_Chi_Minh, no offset.

    A naive datetime is taken as already local; an aware one is converted.
    """
    if moment.utcoffset() is not None:
        moment = moment.astimezone(LOCAL_TZ)
    return moment.strftime("%Y%m%d%H%M%S")


def _window_params(start: datetime | None, end: datetime | None) -> dict[str, str]:
    params = {}
    if start is not None:
        params["tu"] = format_source_time(start)
    if end is not None:
        params["den"] = format_source_time(end)
    # Compare the local strings: they are what the server compares, and they avoid mixing naive
    # and aware datetimes.
    if "tu" in params and "den" in params and params["tu"] > params["den"]:
        raise ValueError(f"window starts after it ends: tu={params['tu']} den={params['den']}")
    return params


def _describe_window(params: Mapping[str, str]) -> str:
    if not params:
        return "whole list"
    return " ".join(f"{key}={params[key]}" for key in ("tu", "den") if key in params)


@dataclass
class _Token:
    value: str = field(repr=False)
    renew_at: float  # time.monotonic() after which the token is renewed before use


class SourceClient:
    """Reads the export API. One instance per task or thread; ``with SourceClient(s) as c: ...``."""

    def __init__(self, settings: SourceSettings) -> None:
        self.settings = settings
        self._transport = RetryingTransport(
            settings, logger=log, unavailable=SourceUnavailableError, server_name="source"
        )
        self._token: _Token | None = None

    def __enter__(self) -> SourceClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._transport.close()

    def __repr__(self) -> str:
        return f"SourceClient({self.settings.base_url!r}, client_id={self.settings.client_id!r})"

    # -- paging ------------------------------------------------------------------------------

    def iter_pages(
        self, endpoint: str, start: datetime | None = None, end: datetime | None = None
    ) -> Iterator[Page]:
        """The pages of ``endpoint`` for records changed in ``[start, end)``, fetched one at a time.

        Lazily: a page is requested only when the previous one has been consumed, and only one is
        held here, so memory does not grow with the window. A failed page is retried with the same
        cursor; the keyset cursor makes that safe even while the source is being updated.
        Leave ``start``/``end`` out for the full-list endpoints (units, procedures).
        """
        # Checked here, not in the generator, so a bad window fails at the call.
        window = _window_params(start, end)
        return self._pages(endpoint, window)

    def _pages(self, endpoint: str, window: Mapping[str, str]) -> Iterator[Page]:
        label = f"GET {endpoint} ({_describe_window(window)})"
        cursor: str | None = None
        number = 0
        while True:
            params = {**window, "kichThuoc": str(self.settings.page_size)}
            if cursor is not None:
                params["sau"] = cursor
            body = self._get_json(endpoint, params, f"{label} page {number}")
            page = _page_from_body(body, number, cursor, label)
            del body  # page holds the records now; keep no second reference across the yield
            log.debug(
                "%s page %d: %d records, totalElements %d, last page: %s",
                label,
                number,
                len(page.records),
                page.total_elements,
                page.next_cursor is None,
            )
            yield page
            if page.next_cursor is None:
                return
            if page.next_cursor == cursor:
                raise SourceError(f"{label}: the server handed back the cursor it was given; stopping a loop")
            cursor, number = page.next_cursor, number + 1
            # Drop this page before fetching the next, so no more than one is held here.
            del page

    def iter_records(
        self, endpoint: str, start: datetime | None = None, end: datetime | None = None
    ) -> Iterator[dict[str, Any]]:
        """The records of :meth:`iter_pages`, one by one."""
        for page in self.iter_pages(endpoint, start, end):
            yield from page.records

    # -- one request, with the retry policy ---------------------------------------------------

    def _get_json(self, endpoint: str, params: Mapping[str, str], label: str) -> dict[str, Any]:
        return self._transport.call(label, self._get_once, endpoint, params, label)

    def _get_once(self, endpoint: str, params: Mapping[str, str], label: str) -> dict[str, Any]:
        url = self.settings.base_url + endpoint
        response = self._send("GET", url, params=params, headers=self._authorization())
        if response.status_code == 401:
            # Tokens expire in minutes and the server may revoke them early: renew, repeat once.
            self._token = None
            response = self._send("GET", url, params=params, headers=self._authorization())
            if response.status_code == 401:
                raise SourceAuthError(f"{label}: the source refused a freshly issued token (HTTP 401)")
        return _read_envelope(response, label)

    def _send(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        return self._transport.send(method, url, **kwargs)

    # -- OAuth2 client credentials ----------------------------------------------------------------

    def _authorization(self) -> dict[str, str]:
        if self._token is None or time.monotonic() >= self._token.renew_at:
            self._token = self._fetch_token()
        return {"Authorization": f"Bearer {self._token.value}"}

    def _fetch_token(self) -> _Token:
        url = self.settings.base_url + TOKEN_PATH
        form = {
            "grant_type": "client_credentials",
            "client_id": self.settings.client_id,
            "client_secret": self.settings.client_secret,
        }
        requested_at = time.monotonic()
        response = self._send("POST", url, data=form)
        status = response.status_code
        if status in (400, 401, 403):
            # Wrong credentials are a configuration error: retrying would only hammer the server
            # (and may lock the client out). The server's text is not quoted: it could echo input.
            raise SourceAuthError(
                f"token endpoint {url} refused client id {self.settings.client_id!r} (HTTP {status}): "
                "check the login and password of the source connection"
            )
        if status == 429 or status >= 500:
            raise _TransientError(f"token endpoint {url}: HTTP {status}", retry_after_s(response))
        try:
            body = response.json()
            value = str(body["access_token"])
            lifetime = float(body.get("expires_in") or 300)
        except (ValueError, KeyError, TypeError):
            raise SourceError(
                f"token endpoint {url} answered HTTP {status} without a usable access_token"
            ) from None
        margin = min(_TOKEN_RENEWAL_MARGIN_S, lifetime * _TOKEN_RENEWAL_SHARE)
        return _Token(value=value, renew_at=requested_at + lifetime - margin)


def _read_envelope(response: requests.Response, label: str) -> dict[str, Any]:
    """The body of a list response, or the exception its status or envelope calls for."""
    status = response.status_code
    raise_for_transient_status(response)
    if status == 403:
        raise SourceAuthError(f"{label}: the source denies this client access (HTTP 403)")
    if status >= 400:
        raise SourceRequestError(f"{label}: HTTP {status}: {server_message(response)}")
    try:
        # orjson: decoding pages is the client's largest cost at thousands of dossiers a second.
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        # A cut-off body or a proxy's HTML page: the next attempt usually gets the real answer.
        raise _TransientError(f"HTTP {status} with a body that is not JSON") from None
    if not isinstance(body, dict):
        raise SourceError(f"{label}: expected a JSON object, got {type(body).__name__}")
    code = str(body.get("error_code"))
    if code != "0":
        # Some deployments report their failures as HTTP 200: the contract treats them as a 5xx.
        raise _TransientError(f"error_code {code}: {body.get('message')}")
    return body


def _page_from_body(body: Mapping[str, Any], number: int, cursor: str | None, label: str) -> Page:
    records = body.get("content")
    total = body.get("totalElements")
    if not isinstance(records, list) or not isinstance(total, int):
        raise SourceError(f"{label}: envelope without a content list or an integer totalElements")
    next_cursor = body.get("nextCursor")
    return Page(
        records=records,
        total_elements=total,
        number=number,
        cursor=cursor,
        next_cursor=str(next_cursor) if next_cursor not in (None, "") else None,
    )
