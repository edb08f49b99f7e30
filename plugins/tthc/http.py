"""The project's one HTTP machinery: the transport and the retry policy every API client uses.

:class:`RetryingTransport` owns a ``requests`` session with its timeouts and TLS setting, and runs
one logical call under the project's retry policy (tenacity): an attempt that raises
:class:`TransientError` (5xx, 408, 429, connection resets, timeouts, a body cut off) is retried up
to ``max_retries`` times with exponential backoff and full jitter, or after the server's
``Retry-After`` (seconds, capped) on a 429; then the client's own "unavailable" error names the
call. Anything else an attempt raises (a 400, wrong credentials) ends the call at once. The
transport itself (``requests``/urllib3) does no retries of its own, so the attempt count is the
one written here.

The clients built on it, each the one client of its API, keep what is theirs: the export API's
OAuth2 and keyset paging (:mod:`tthc.source_client`), the portal's POST bodies and page numbers
(:mod:`tthc.portal_client`). Retries are logged on the client's own logger, with the call's label
(endpoint, window or period): labels never carry a secret, and neither do the exception texts
quoted here (a URL and a cause).

Also here, shared by the clients' settings: the base URL of an Airflow ``http`` connection and
the parsing of its extras (URI-form connections carry them as strings, JSON-form ones typed).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import requests
from tenacity import RetryCallState, RetryError, Retrying, retry_if_exception_type, stop_after_attempt
from tenacity.wait import wait_random_exponential

from tthc.settings import ConfigurationError, ConnectionFields

__all__ = [
    "RETRY_AFTER_CAP_S",
    "RetryPolicy",
    "RetryingTransport",
    "TransientError",
    "base_url_from_connection",
    "parse_bool",
    "parse_extras",
    "parse_int",
    "raise_for_transient_status",
    "retry_after_s",
    "server_message",
]

T = TypeVar("T")

# Honour Retry-After, but not a value that would park a worker for hours on a misconfigured proxy.
RETRY_AFTER_CAP_S = 300.0
# How much of a non-JSON error body to quote in an exception.
_BODY_EXCERPT_CHARS = 300


class TransientError(Exception):
    """A failure worth another attempt. Internal to the clients: their callers only ever see the
    client's own "unavailable" error, raised once the attempts are spent."""

    def __init__(self, reason: str, retry_after_s: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after_s = retry_after_s


@dataclass(frozen=True)
class RetryPolicy:
    """How patient a client is with its server."""

    timeout_s: float = 60.0
    """Read timeout of one request: the longest silence tolerated while an answer is produced."""
    connect_timeout_s: float = 10.0
    verify_tls: bool = True
    max_retries: int = 5
    """Retries after the first attempt of each call: at most ``max_retries + 1`` attempts."""
    backoff_base_s: float = 1.0
    """First retry waits up to this long; each further retry doubles the bound (full jitter)."""
    backoff_max_s: float = 60.0

    def __post_init__(self) -> None:
        check_policy(self)


def check_policy(policy: Any) -> None:
    """The checks of :class:`RetryPolicy`'s fields, for any settings object that carries them."""
    if policy.timeout_s <= 0 or policy.connect_timeout_s <= 0:
        raise ConfigurationError("timeouts must be positive")
    if policy.max_retries < 0:
        raise ConfigurationError(f"max_retries must not be negative, got {policy.max_retries}")
    if policy.backoff_base_s < 0 or policy.backoff_max_s < policy.backoff_base_s:
        raise ConfigurationError("backoff needs 0 <= backoff_base_s <= backoff_max_s")


class RetryingTransport:
    """A session and the retry policy: ``call(label, attempt, ...)`` runs ``attempt`` until it
    returns, raises something other than :class:`TransientError`, or the attempts are spent."""

    def __init__(
        self,
        policy: Any,
        *,
        logger: logging.Logger,
        unavailable: Callable[[str], Exception],
        server_name: str,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """``policy``: anything with :class:`RetryPolicy`'s fields (a client's settings).
        ``logger``: the client's, for the retry warnings. ``unavailable``: the client's error for a
        call whose attempts are spent, made from the message. ``server_name``: what the message
        calls the server ("source", "portal")."""
        self.policy = policy
        self.session = requests.Session()
        self.session.verify = policy.verify_tls
        self.session.headers["Accept"] = "application/json"
        self.session.headers.update(headers or {})
        self._timeout = (policy.connect_timeout_s, policy.timeout_s)
        self._log = logger
        self._unavailable = unavailable
        self._server_name = server_name
        self._backoff = wait_random_exponential(multiplier=policy.backoff_base_s, max=policy.backoff_max_s)

    def close(self) -> None:
        self.session.close()

    def call(self, label: str, attempt: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``attempt(*args, **kwargs)`` under the retry policy; ``label`` names the call in the
        retry warnings and in the error raised when the attempts are spent."""
        attempts = self.policy.max_retries + 1
        retrying = Retrying(
            retry=retry_if_exception_type(TransientError),
            stop=stop_after_attempt(attempts),
            wait=self._wait,
            before_sleep=lambda state: self._log_retry(label, attempts, state),
        )
        try:
            return retrying(attempt, *args, **kwargs)
        except RetryError as exc:
            last = exc.last_attempt.exception()
            raise self._unavailable(
                f"{label}: {self._server_name} still failing after {attempts} attempts, last: {last}"
            ) from last

    def send(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        """One request with the policy's timeouts; a reset or a timeout is a :class:`TransientError`."""
        try:
            return self.session.request(method, url, timeout=self._timeout, **kwargs)
        except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError) as exc:
            # The exception text names the URL and the cause; neither carries a secret.
            raise TransientError(f"{type(exc).__name__}: {exc}") from exc

    def _wait(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, TransientError) and error.retry_after_s is not None:
            return error.retry_after_s
        return self._backoff(state)

    def _log_retry(self, label: str, attempts: int, state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        delay = state.next_action.sleep if state.next_action else 0.0
        self._log.warning(
            "%s: attempt %d of %d failed (%s); retrying in %.2f s",
            label,
            state.attempt_number,
            attempts,
            error,
            delay,
        )


def raise_for_transient_status(response: requests.Response) -> None:
    """:class:`TransientError` for the statuses worth another attempt: 429 (after its
    Retry-After), 408 and 5xx. Other statuses are the client's to judge."""
    status = response.status_code
    if status == 429:
        raise TransientError("HTTP 429 Too Many Requests", retry_after_s(response))
    if status >= 500 or status == 408:
        raise TransientError(f"HTTP {status}")


def retry_after_s(response: requests.Response) -> float | None:
    """Retry-After in seconds (the form both APIs use), or None to fall back to the backoff."""
    try:
        seconds = float(response.headers["Retry-After"])
    except (KeyError, ValueError):
        return None
    return min(max(seconds, 0.0), RETRY_AFTER_CAP_S)


def server_message(response: requests.Response) -> str:
    """What the server said about a rejected request, short enough for an exception message."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:_BODY_EXCERPT_CHARS] or response.reason
    if isinstance(body, dict) and body.get("message"):
        code = body.get("error_code")
        return f"{body['message']} (error_code {code})" if code is not None else str(body["message"])
    return str(body)[:_BODY_EXCERPT_CHARS]


# -- the settings' side: Airflow http connections ----------------------------------------------


def base_url_from_connection(conn: ConnectionFields) -> str:
    """The base URL of an ``http`` connection: ``schema://host[:port]``, the schema being the URL
    scheme (``http`` when left out). A host that already carries a scheme
    (``"host": "https://gw.example.vn/tthc"``) is the whole base URL, as Airflow's HTTP hook takes
    it; then ``schema`` and ``port`` are ignored. No trailing slash (paths start with one)."""
    host = (conn.host or "").strip()
    if not host:
        raise ConfigurationError(f"connection {conn.conn_id!r} has no host")
    if "://" in host:
        base_url = host
    else:
        scheme = (conn.schema or "http").lower()
        if scheme not in ("http", "https"):
            raise ConfigurationError(
                f"connection {conn.conn_id!r}: schema must be http or https (the URL scheme), got {scheme!r}"
            )
        base_url = f"{scheme}://{host}" + (f":{conn.port}" if conn.port else "")
    return base_url.rstrip("/")


def parse_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "yes", "on"):
        return True
    if text in ("false", "0", "no", "off"):
        return False
    raise ValueError(f"expected true or false, got {value!r}")


def parse_int(value: Any) -> int:
    # bool is an int subclass; "page_size": true is a typo, not 1.
    if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
        raise ValueError(f"expected a whole number, got {value!r}")
    return int(value)


# The extras every client built on the transport accepts.
POLICY_EXTRAS: dict[str, Callable[[Any], Any]] = {
    "timeout_s": float,
    "connect_timeout_s": float,
    "verify_tls": parse_bool,
    "max_retries": parse_int,
    "backoff_base_s": float,
    "backoff_max_s": float,
}


def parse_extras(
    conn: ConnectionFields, parsers: Mapping[str, Callable[[Any], Any]], logger: logging.Logger
) -> dict[str, Any]:
    """The connection's extras that ``parsers`` knows, parsed; unknown keys are logged (names only,
    never values) and ignored, a value that does not parse is a :class:`ConfigurationError`."""
    extra: Mapping[str, Any] = conn.extra
    unknown = sorted(set(extra) - parsers.keys())
    if unknown:
        # A misspelt key would otherwise be silently ignored; only names are logged, not values.
        logger.warning("connection %r: ignoring unknown extra keys %s", conn.conn_id, unknown)
    options = {}
    for key, parse in parsers.items():
        if extra.get(key) not in (None, ""):
            try:
                options[key] = parse(extra[key])
            except ValueError as exc:
                raise ConfigurationError(f"connection {conn.conn_id!r}: extra {key!r}: {exc}") from None
    return options
