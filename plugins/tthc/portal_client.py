"""The one HTTP client of the national portal's evaluation API (contract: docs/portal.md).

What the National Public Service Portal publishes about the province: the Decision 766 score of
every unit of a subtree per period (``service-results``) and, one call per group, the items behind
them (``transparency``, ``dvc-progress-tree``, ...). All calls are ``POST`` with a JSON body and
paged by ``currentPage`` (from 1) and ``pageSize`` until ``totalElements`` items have come.

Transport and retries are the project's one machinery, :class:`tthc.http.RetryingTransport`, the
export API's client's too: 5xx, 408, 429 (after its ``Retry-After``), resets and timeouts are
retried with exponential backoff and jitter, then :class:`PortalUnavailableError` names the call
(endpoint, period, root unit, page). A 4xx other than 408/429 raises :class:`PortalRequestError` at
once.

The portal changes its pages without notice, so the reading is tolerant: every field may be absent
(a missing group score, item, numerator or name is ``None`` or simply not there), unknown fields
are ignored, numbers come as JSON numbers or numeric strings and are kept exact (``Decimal``). An
item without a ``departmentCode`` (or a metric without a ``code``) cannot be stored and is skipped
with a warning.

Connection ``tthc_portal`` (type ``http``): host/port/schema = the base URL, no credentials (public
data); extra (optional): ``timeout_s``, ``page_size`` (default 20, at most 100), ``max_retries``,
and the transport's ``connect_timeout_s``, ``verify_tls``, ``backoff_base_s``, ``backoff_max_s``::

    AIRFLOW_CONN_TTHC_PORTAL='{"conn_type": "http", "host": "dichvucong.gov.vn", "schema": "https",
        "extra": {"page_size": 100, "timeout_s": 60, "max_retries": 8}}'
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

import requests

from tthc.http import (
    POLICY_EXTRAS,
    RetryingTransport,
    TransientError,
    base_url_from_connection,
    check_policy,
    parse_extras,
    parse_int,
    raise_for_transient_status,
    server_message,
)
from tthc.settings import ConfigurationError, ConnectionFields, get_connection

__all__ = [
    "EVALUATION_PATH",
    "GROUP_PATHS",
    "MAX_PAGE_SIZE",
    "PORTAL_CONN_ID",
    "SERVICE_RESULTS_PATH",
    "Metric",
    "PortalClient",
    "PortalError",
    "PortalPeriod",
    "PortalRequestError",
    "PortalSettings",
    "PortalUnavailableError",
    "UnitMetrics",
    "UnitScore",
]

log = logging.getLogger(__name__)

PORTAL_CONN_ID = "tthc_portal"
MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20
EVALUATION_PATH = "/api/v1/reporting/evaluation"
SERVICE_RESULTS_PATH = f"{EVALUATION_PATH}/service-results"
# The portal's group codes and the path of each group's items. The warehouse holds the same as
# configuration with validity dates (mart.portal_group_map), which the stage reads; these are the
# contract's paths, for callers without a warehouse.
GROUP_PATHS: Mapping[str, str] = {
    "CKMB": f"{EVALUATION_PATH}/transparency",
    "TDGQ": f"{EVALUATION_PATH}/dvc-progress-tree",
    "CLGQ": f"{EVALUATION_PATH}/provide-online-tree",
    "TTTT": f"{EVALUATION_PATH}/formality-online-payment-tree",
    "MDSH": f"{EVALUATION_PATH}/dossier-digitized",
    "MDHL": f"{EVALUATION_PATH}/handling-satisfaction",
}
# A runaway paging loop (a portal ignoring currentPage) stops here, named.
_MAX_PAGES = 10_000


class PortalError(RuntimeError):
    """The portal could not give what was asked for."""


class PortalRequestError(PortalError):
    """The portal rejected the request itself (HTTP 400, 404 and the like): retrying cannot help."""


class PortalUnavailableError(PortalError):
    """Transient failures (5xx, 429, resets, timeouts) went on past ``max_retries``."""


# -- periods -------------------------------------------------------------------------------------

_PERIOD_TYPES = ("year", "quarter", "month")


@dataclass(frozen=True, order=True)
class PortalPeriod:
    """A period the portal scores: a year, a quarter (``number`` 1..4) or a month (1..12)."""

    period_type: str
    year: int
    number: int | None = None

    def __post_init__(self) -> None:
        if self.period_type not in _PERIOD_TYPES:
            raise ValueError(f"period type must be one of {_PERIOD_TYPES}, got {self.period_type!r}")
        top = {"year": None, "quarter": 4, "month": 12}[self.period_type]
        if (top is None) != (self.number is None) or (top is not None and not 1 <= self.number <= top):
            raise ValueError(f"no {self.period_type} {self.number!r} in {self.year}")

    @classmethod
    def parse(cls, text: str) -> PortalPeriod:
        """``2023`` (a year), ``2024-Q2`` (a quarter) or ``2024-03`` (a month)."""
        value = str(text).strip().upper()
        try:
            if len(value) == 4:
                return cls("year", int(value))
            year, _, rest = value.partition("-")
            if rest.startswith("Q"):
                return cls("quarter", int(year), int(rest[1:]))
            return cls("month", int(year), int(rest))
        except ValueError:
            raise ValueError(
                f"not a period: {text!r} (expected 2023, 2024-Q2 or 2024-03: a year, a quarter or a month)"
            ) from None

    @classmethod
    def containing(cls, period_type: str, day: date) -> PortalPeriod:
        if period_type == "year":
            return cls("year", day.year)
        if period_type == "quarter":
            return cls("quarter", day.year, (day.month - 1) // 3 + 1)
        return cls(period_type, day.year, day.month)

    @property
    def start(self) -> date:
        if self.period_type == "year":
            return date(self.year, 1, 1)
        months = 3 if self.period_type == "quarter" else 1
        return date(self.year, (self.number - 1) * months + 1, 1)

    @property
    def end(self) -> date:
        """The day after the period (exclusive)."""
        return self.next().start

    def next(self) -> PortalPeriod:
        if self.period_type == "year":
            return PortalPeriod("year", self.year + 1)
        top = 4 if self.period_type == "quarter" else 12
        if self.number == top:
            return PortalPeriod(self.period_type, self.year + 1, 1)
        return PortalPeriod(self.period_type, self.year, self.number + 1)

    def previous(self) -> PortalPeriod:
        if self.period_type == "year":
            return PortalPeriod("year", self.year - 1)
        top = 4 if self.period_type == "quarter" else 12
        if self.number == 1:
            return PortalPeriod(self.period_type, self.year - 1, top)
        return PortalPeriod(self.period_type, self.year, self.number - 1)

    @property
    def key(self) -> str:
        if self.period_type == "year":
            return str(self.year)
        if self.period_type == "quarter":
            return f"{self.year}-Q{self.number}"
        return f"{self.year}-{self.number:02d}"

    def body(self) -> dict[str, Any]:
        """The period's fields of a request body: ``timeType``, ``year``, ``quarter``/``month``."""
        body: dict[str, Any] = {"timeType": self.period_type, "year": self.year}
        if self.period_type != "year":
            body[self.period_type] = self.number
        return body

    def __str__(self) -> str:
        return self.key


# -- what the portal publishes -------------------------------------------------------------------


@dataclass(frozen=True)
class UnitScore:
    """One unit's item of ``service-results``: its total and the group scores it has."""

    unit_code: str
    unit_name: str | None
    total_score: Decimal | None
    group_scores: Mapping[str, Decimal | None] = field(default_factory=dict)
    """By the portal's group code (``CKMB``, ...); a group the portal left out is not a key."""


@dataclass(frozen=True)
class Metric:
    """One item of a group call, as the portal numbers it (``3.6``, ``4.5b``)."""

    item_code: str
    ratio: Decimal | None
    score: Decimal | None
    max_score: Decimal | None
    numerator: Decimal | None
    denominator: Decimal | None


@dataclass(frozen=True)
class UnitMetrics:
    """One unit's item of a group call; an item the portal does not publish is simply absent."""

    unit_code: str
    metrics: tuple[Metric, ...]


# -- settings ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PortalSettings:
    """How to reach the portal and how patient to be with it (fields of tthc.http.RetryPolicy)."""

    base_url: str
    page_size: int = DEFAULT_PAGE_SIZE
    timeout_s: float = 60.0
    connect_timeout_s: float = 10.0
    verify_tls: bool = True
    max_retries: int = 5
    backoff_base_s: float = 1.0
    backoff_max_s: float = 60.0

    def __post_init__(self) -> None:
        if not self.base_url.startswith(("http://", "https://")):
            raise ConfigurationError(
                f"portal base URL must start with http:// or https://, got {self.base_url!r}"
            )
        if not 1 <= self.page_size <= MAX_PAGE_SIZE:
            raise ConfigurationError(f"page_size must be 1..{MAX_PAGE_SIZE}, got {self.page_size}")
        check_policy(self)
        object.__setattr__(self, "base_url", self.base_url.rstrip("/"))

    @classmethod
    def from_connection(cls, conn: ConnectionFields) -> PortalSettings:
        options = parse_extras(conn, _EXTRA_PARSERS, log)
        return cls(base_url=base_url_from_connection(conn), **options)

    @classmethod
    def from_airflow(cls, conn_id: str = PORTAL_CONN_ID) -> PortalSettings:
        return cls.from_connection(get_connection(conn_id))


_EXTRA_PARSERS = {**POLICY_EXTRAS, "page_size": parse_int}


# -- the client ----------------------------------------------------------------------------------


class PortalClient:
    """Reads the portal's evaluation API. One instance per task; ``with PortalClient(s) as c: ...``."""

    def __init__(self, settings: PortalSettings) -> None:
        self.settings = settings
        self._transport = RetryingTransport(
            settings,
            logger=log,
            unavailable=PortalUnavailableError,
            server_name="portal",
            headers={"Content-Type": "application/json; charset=utf-8"},
        )

    def __enter__(self) -> PortalClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._transport.close()

    def __repr__(self) -> str:
        return f"PortalClient({self.settings.base_url!r})"

    def service_results(self, period: PortalPeriod, root_code: str) -> list[UnitScore]:
        """Every unit's score of ``root_code``'s subtree (the root included) for ``period``."""
        scores: dict[str, UnitScore] = {}
        label = _label(SERVICE_RESULTS_PATH, period, root_code)
        for item in self.iter_items(SERVICE_RESULTS_PATH, period, root_code, list_key="evaluation"):
            score = _unit_score(item, label)
            if score is not None:
                _keep_last(scores, score.unit_code, score, label)
        return list(scores.values())

    def group_metrics(self, path: str, period: PortalPeriod, root_code: str) -> list[UnitMetrics]:
        """The items of one group (``path``: one of :data:`GROUP_PATHS`' values) for every unit of
        ``root_code``'s subtree that the portal lists."""
        units: dict[str, UnitMetrics] = {}
        label = _label(path, period, root_code)
        for item in self.iter_items(path, period, root_code, list_key="content"):
            metrics = _unit_metrics(item, label)
            if metrics is not None:
                _keep_last(units, metrics.unit_code, metrics, label)
        return list(units.values())

    def iter_items(
        self, path: str, period: PortalPeriod, root_code: str, *, list_key: str
    ) -> Iterator[dict[str, Any]]:
        """The raw items of every page of ``path``: ``currentPage`` 1, 2, ... until
        ``totalElements`` items have come (or, without a total, a short or empty page)."""
        label = _label(path, period, root_code)
        url = self.settings.base_url + path
        size = self.settings.page_size
        seen = 0
        for page in range(1, _MAX_PAGES + 1):
            body = {**period.body(), "rootDepartmentCode": root_code, "currentPage": page, "pageSize": size}
            page_label = f"{label} page {page}"
            answer = self._transport.call(page_label, self._post_once, url, body, page_label)
            items, total = _page(answer, list_key, page_label)
            log.debug("%s: %d items, totalElements %s", page_label, len(items), total)
            yield from items
            seen += len(items)
            if not items or (total is not None and seen >= total) or (total is None and len(items) < size):
                return
        raise PortalError(f"{label}: more than {_MAX_PAGES} pages; is the portal ignoring currentPage?")

    def _post_once(self, url: str, body: Mapping[str, Any], label: str) -> dict[str, Any]:
        response = self._transport.send("POST", url, data=json.dumps(body).encode())
        return _read_answer(response, label)


def _label(path: str, period: PortalPeriod, root_code: str) -> str:
    return f"POST {path} ({period.period_type} {period.key}, root {root_code})"


def _read_answer(response: requests.Response, label: str) -> dict[str, Any]:
    raise_for_transient_status(response)
    status = response.status_code
    if status >= 400:
        raise PortalRequestError(f"{label}: HTTP {status}: {server_message(response)}")
    try:
        # Decimal, not float: what is stored is what the portal wrote, and a refetch compares equal.
        body = json.loads(response.content, parse_float=Decimal)
    except (ValueError, UnicodeDecodeError):
        # A cut-off body or a proxy's HTML page: the next attempt usually gets the real answer.
        raise TransientError(f"HTTP {status} with a body that is not JSON") from None
    if not isinstance(body, dict):
        raise PortalError(f"{label}: expected a JSON object, got {type(body).__name__}")
    return body


def _page(answer: Mapping[str, Any], list_key: str, label: str) -> tuple[list[dict[str, Any]], int | None]:
    """The items of one page and the total, wherever the portal put them this time."""
    data = answer.get("data")
    if data is None:
        data = answer
    if not isinstance(data, dict):
        raise PortalError(f"{label}: 'data' is a {type(data).__name__}, not an object")
    other = "content" if list_key == "evaluation" else "evaluation"
    items = data.get(list_key, data.get(other))
    if items is None:
        items = []
    if not isinstance(items, list):
        raise PortalError(f"{label}: {list_key!r} is a {type(items).__name__}, not a list")
    total = data.get("totalElements", answer.get("totalElements"))
    total_count = _number(total, label, "totalElements")
    return [item for item in items if isinstance(item, dict)], (
        int(total_count) if total_count is not None else None
    )


def _keep_last(found: dict[str, Any], code: str, value: Any, label: str) -> None:
    if code in found:
        log.warning("%s: unit %s listed twice; keeping the later item", label, code)
    found[code] = value


def _code(value: Any) -> str | None:
    if value is None or isinstance(value, dict | list):
        return None
    text = str(value).strip()
    return text or None


def _number(value: Any, label: str, name: str) -> Decimal | None:
    """A JSON number or numeric string, exactly; None when absent, empty or not a number."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        log.warning("%s: %s is %r, not a number; taken as absent", label, name, value)
        return None
    try:
        number = Decimal(str(value).strip()) if not isinstance(value, Decimal) else value
    except InvalidOperation:
        log.warning("%s: %s is %r, not a number; taken as absent", label, name, value)
        return None
    if not number.is_finite():
        log.warning("%s: %s is %r; taken as absent", label, name, value)
        return None
    return number


def _unit_score(item: Mapping[str, Any], label: str) -> UnitScore | None:
    code = _code(item.get("departmentCode"))
    if code is None:
        log.warning("%s: an item without departmentCode, skipped (keys: %s)", label, sorted(item))
        return None
    where = f"{label} {code}"
    groups = item.get("groupScores")
    group_scores: dict[str, Decimal | None] = {}
    if isinstance(groups, dict):
        for group, value in groups.items():
            group_code = _code(group)
            number = _number(value, where, f"groupScores.{group}")
            if group_code is not None and number is not None:
                group_scores[group_code.upper()] = number
    elif groups is not None:
        log.warning(
            "%s: groupScores is a %s, not an object; no group score kept", where, type(groups).__name__
        )
    name = item.get("departmentName")
    return UnitScore(
        unit_code=code,
        unit_name=str(name) if name not in (None, "") else None,
        total_score=_number(item.get("totalScore"), where, "totalScore"),
        group_scores=group_scores,
    )


def _unit_metrics(item: Mapping[str, Any], label: str) -> UnitMetrics | None:
    code = _code(item.get("departmentCode"))
    if code is None:
        log.warning("%s: an item without departmentCode, skipped (keys: %s)", label, sorted(item))
        return None
    where = f"{label} {code}"
    raw = item.get("metrics")
    if raw is not None and not isinstance(raw, list):
        log.warning("%s: metrics is a %s, not a list; no item kept", where, type(raw).__name__)
        raw = None
    metrics: dict[str, Metric] = {}
    for entry in raw or []:
        if not isinstance(entry, dict):
            continue
        item_code = _code(entry.get("code"))
        if item_code is None:
            log.warning("%s: a metric without code, skipped", where)
            continue
        at = f"{where} item {item_code}"
        if item_code in metrics:
            log.warning("%s: listed twice; keeping the later one", at)
        metrics[item_code] = Metric(
            item_code=item_code,
            ratio=_number(entry.get("ratio"), at, "ratio"),
            score=_number(entry.get("score"), at, "score"),
            max_score=_number(entry.get("maxScore"), at, "maxScore"),
            numerator=_number(entry.get("numerator"), at, "numerator"),
            denominator=_number(entry.get("denominator"), at, "denominator"),
        )
    return UnitMetrics(unit_code=code, metrics=tuple(metrics.values()))
