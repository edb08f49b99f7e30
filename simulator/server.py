"""The simulated provincial export API over real HTTP (contract: docs/source-api.md), and on the
same port the national portal's public evaluation API (/work/shared/spec/portal-api.md,
``POST /api/v1/reporting/evaluation/...``, served from ``simulator.portal.Portal``).

OAuth2 client credentials, the ``error_code`` envelope, keyset paging and the faults a real
provincial deployment shows (5xx, errors inside a 200, 429, slow answers, expiring tokens,
records changing while they are being extracted), all deterministic from a seed.
"""

from __future__ import annotations

import hmac
import json
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from random import Random
from typing import Any
from urllib.parse import parse_qs, urlsplit

from simulator.portal import GROUP_PATHS
from simulator.store import (
    SOURCE_TIMESTAMP_FORMAT,
    InvalidCursor,
    KeysetTable,
    Page,
    SourceStore,
    format_source_instant,
)

DEFAULT_PAGE_SIZE = 500
MAX_PAGE_SIZE = 1000


@dataclass(frozen=True)
class FaultConfig:
    server_error_share: float = 0.0  # 500/502/503 answers
    envelope_error_share: float = 0.0  # HTTP 200 with error_code != "0" and a Vietnamese message
    too_many_requests_share: float = 0.0  # 429 with Retry-After
    retry_after_s: int = 1
    slow_share: float = 0.0  # answers delayed by slow_s
    slow_s: float = 0.0
    token_lifetime_s: int = 300
    # Chance per data page served that a not-yet-served dossier of the window is updated (new
    # NgayCapNhat = the source clock, after the window): it must reappear in a later window, whole.
    update_during_extraction_share: float = 0.0
    # The portal's evaluation API (no envelope errors there): 429 with Retry-After; 5xx reuse
    # server_error_share.
    portal_too_many_requests_share: float = 0.0
    seed: int = 0


# What provincial systems put in a 200 answer when something failed behind it.
ENVELOPE_ERRORS = (
    ("-1", "Lỗi hệ thống, vui lòng thử lại sau"),
    ("99", "Hệ thống đang bận, vui lòng thử lại sau"),
    ("E_DB_TIMEOUT", "Hết thời gian chờ truy vấn cơ sở dữ liệu"),
)

# A 502 typically comes from the reverse proxy in front of the application, as HTML.
BAD_GATEWAY_PAGE = (
    b"<html><head><title>502 Bad Gateway</title></head>"
    b"<body><center><h1>502 Bad Gateway</h1></center></body></html>"
)


class BadParameter(ValueError):
    """A request parameter outside the contract: answered with 400, never retried by clients."""


def _parse_window_bound(name: str, value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        if len(value) != 14 or not value.isdigit():
            raise ValueError(value)
        return datetime.strptime(value, SOURCE_TIMESTAMP_FORMAT)
    except ValueError:
        raise BadParameter(f"Tham số {name} không hợp lệ: cần định dạng yyyyMMddHHmmss") from None


def _parse_page_size(value: str | None) -> int:
    if value is None:
        return DEFAULT_PAGE_SIZE
    try:
        size = int(value)
    except ValueError:
        size = 0
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise BadParameter(f"Tham số kichThuoc không hợp lệ: phải từ 1 đến {MAX_PAGE_SIZE}")
    return size


@dataclass(frozen=True)
class PageRequest:
    tu: datetime | None
    den: datetime | None
    after: str | None
    size: int

    @classmethod
    def from_query(cls, query: dict[str, list[str]]) -> PageRequest:
        def single(name: str) -> str | None:
            values = query.get(name)
            return values[-1] if values else None

        tu = _parse_window_bound("tu", single("tu"))
        den = _parse_window_bound("den", single("den"))
        if tu is not None and den is not None and tu > den:
            raise BadParameter("Khoảng thời gian không hợp lệ: tu phải trước den")
        return cls(tu, den, single("sau") or None, _parse_page_size(single("kichThuoc")))


PORTAL_PREFIX = "/api/v1/reporting/evaluation/"
PORTAL_DEFAULT_PAGE_SIZE = 20
PORTAL_MAX_PAGE_SIZE = 100


@dataclass(frozen=True)
class PortalQuery:
    """The body of a portal evaluation call (portal-api.md), validated."""

    period_type: str
    period_start: date
    root: str
    page: int
    size: int

    @classmethod
    def from_body(cls, body: bytes) -> PortalQuery:
        try:
            fields = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise BadParameter("the body is not JSON") from None
        if not isinstance(fields, dict):
            raise BadParameter("the body must be a JSON object")

        def integer(name: str, low: int, high: int, default: int | None = None) -> int:
            value = fields.get(name, default)
            if value is None:
                raise BadParameter(f"{name} is required")
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise BadParameter(f"{name} must be an integer from {low} to {high}, not {value!r}")
            return value

        period_type = fields.get("timeType")
        if period_type not in PORTAL_TIME_TYPES:
            raise BadParameter(f"timeType must be one of year, quarter, month, not {period_type!r}")
        year = integer("year", 2000, 2100)
        if period_type == "year":
            start = date(year, 1, 1)
        elif period_type == "quarter":
            start = date(year, 3 * integer("quarter", 1, 4) - 2, 1)
        else:
            start = date(year, integer("month", 1, 12), 1)
        root = fields.get("rootDepartmentCode")
        if not isinstance(root, str) or not root.strip():
            raise BadParameter("rootDepartmentCode is required (the unit whose subtree is wanted)")
        page = integer("currentPage", 1, 1_000_000, 1)
        size = integer("pageSize", 1, PORTAL_MAX_PAGE_SIZE, PORTAL_DEFAULT_PAGE_SIZE)
        return cls(period_type, start, root.strip(), page, size)


PORTAL_TIME_TYPES = ("year", "quarter", "month")


def envelope(page: Page) -> bytes:
    cursor = json.dumps(page.next_cursor).encode()
    return b"".join(
        (
            b'{"error_code":"0","message":"OK","content":[',
            b",".join(page.records),
            b'],"nextCursor":',
            cursor,
            b',"totalElements":',
            str(page.total).encode(),
            b"}",
        )
    )


class FaultPlan:
    """Draws, per data request, which fault (if any) the source shows; seeded and thread-safe."""

    def __init__(self, config: FaultConfig) -> None:
        self.config = config
        self._rng = Random(config.seed)
        self._lock = threading.Lock()

    def draw(self, portal: bool = False) -> tuple[str | None, bool]:
        """(fault kind or None, whether the answer is slow), for an export data request or, with
        ``portal``, a request to the portal's evaluation API."""
        config = self.config
        with self._lock:
            roll = self._rng.random()
            slow = self._rng.random() < config.slow_share
        shares = (
            (
                ("server_error", config.server_error_share),
                ("too_many_requests", config.portal_too_many_requests_share),
            )
            if portal
            else (
                ("server_error", config.server_error_share),
                ("envelope_error", config.envelope_error_share),
                ("too_many_requests", config.too_many_requests_share),
            )
        )
        for kind, share in shares:
            if roll < share:
                return kind, slow
            roll -= share
        return None, slow

    def choose(self, options: tuple[Any, ...]) -> Any:
        with self._lock:
            return self._rng.choice(options)

    def dossier_to_update(self, dossiers: KeysetTable, request: PageRequest, after: str) -> int | None:
        """For a page just read up to ``after``: the row of a dossier of the window still ahead
        of the client that changes now, or None (most pages)."""
        share = self.config.update_during_extraction_share
        if share <= 0:
            return None
        with self._lock:
            if self._rng.random() >= share:
                return None
            return dossiers.random_row_ahead(request.tu, request.den, after, self._rng)


class AccessTokens:
    """Short-lived opaque bearer tokens."""

    def __init__(self, lifetime_s: int) -> None:
        self.lifetime_s = lifetime_s
        self._expiry: dict[str, float] = {}
        self._lock = threading.Lock()

    def issue(self) -> str:
        token = secrets.token_urlsafe(32)
        now = time.monotonic()
        with self._lock:
            # Forget expired tokens as new ones are issued, so the table stays small.
            self._expiry = {known: at for known, at in self._expiry.items() if at > now}
            self._expiry[token] = now + self.lifetime_s
        return token

    def is_valid(self, token: str) -> bool:
        with self._lock:
            expiry = self._expiry.get(token)
        return expiry is not None and time.monotonic() < expiry


class SimulatorServer:
    """The export API of a simulated province, served from a :class:`SourceStore`."""

    def __init__(
        self,
        province: Any,
        *,
        client_id: str,
        client_secret: str,
        faults: FaultConfig = FaultConfig(),
        host: str = "127.0.0.1",
        port: int = 0,
        now: datetime | None = None,
        store: SourceStore | None = None,
        portal: Any = None,
    ) -> None:
        if not client_id or not client_secret:
            raise ValueError("the simulator needs an OAuth2 client id and secret")
        self.province = province
        self.client_id = client_id
        self.client_secret = client_secret
        self.faults = faults
        self.store = store if store is not None else SourceStore.from_province(province)
        # The national portal's published scores (simulator.portal.Portal); the province's own
        # portal (no planted disagreement) when not given.
        self._portal = portal
        self._source_now = now if now is not None else province.config.now
        self._started = time.monotonic()
        self.tokens = AccessTokens(faults.token_lifetime_s)
        self.fault_plan = FaultPlan(faults)
        self.httpd = ThreadingHTTPServer((host, port), SourceRequestHandler)
        self.httpd.simulator = self
        bound_host, bound_port = self.httpd.server_address[:2]
        self.base_url = f"http://{bound_host}:{bound_port}"

    @property
    def portal(self) -> Any:
        if self._portal is None:
            self._portal = getattr(self.province, "portal", None)
        return self._portal

    def now(self) -> datetime:
        """The source clock: the simulation's "now" plus the real time elapsed since start."""
        return self._source_now + timedelta(seconds=time.monotonic() - self._started)

    def credentials_match(self, client_id: str, client_secret: str) -> bool:
        id_ok = hmac.compare_digest(client_id.encode(), self.client_id.encode())
        secret_ok = hmac.compare_digest(client_secret.encode(), self.client_secret.encode())
        return id_ok and secret_ok

    def maybe_update_dossier_ahead(self, request: PageRequest, page: Page) -> None:
        """Now and then, change a dossier of the window that the client has not been served yet."""
        if page.next_cursor is None:
            return
        table = self.store.dossiers
        row = self.fault_plan.dossier_to_update(table, request, page.next_cursor)
        if row is None:
            return
        # The payload carries whole seconds, so the stored instant does too: a client using the
        # newest NgayCapNhat it has seen as its watermark must still meet this version.
        changed_at = self.now().replace(microsecond=0)
        record = table.record(row)
        record["NgayCapNhat"] = format_source_instant(changed_at)
        table.replace(row, record, changed_at)

    def serve_forever(self) -> None:
        self.httpd.serve_forever(poll_interval=0.2)

    def shutdown(self) -> None:
        self.httpd.shutdown()

    def close(self) -> None:
        self.httpd.server_close()


class SourceRequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: one connection serves a whole extraction
    server_version = "TTHC-Simulator/1"
    disable_nagle_algorithm = True  # small header writes must not wait for the peer's ACK

    # path -> (store table, whether tu/den select records by NgayCapNhat). Catalogues have no
    # incremental key: they are taken whole, whatever the window.
    record_endpoints = {
        "/api/v1/donvi": ("units", False),
        "/api/v1/thutuc": ("procedures", False),
        "/api/v1/hoso": ("dossiers", True),
        "/api/v1/phananh": ("feedback", True),
    }
    counts_endpoint = "/api/v1/thongke/hoso"

    @property
    def simulator(self) -> SimulatorServer:
        return self.server.simulator

    def log_message(self, format: str, *args: Any) -> None:
        # Request lines are not logged: they are noise at thousands of pages per second.
        pass

    def _send(
        self,
        status: int,
        body: bytes,
        content_type: str = "application/json; charset=utf-8",
        headers: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _send_json(self, status: int, payload: dict, headers: dict[str, str] | None = None) -> None:
        body = json.dumps(payload, ensure_ascii=False).encode()
        self._send(status, body, headers=headers)

    def _send_error(self, status: int, error_code: str, message: str, **headers: str) -> None:
        self._send_json(status, {"error_code": error_code, "message": message}, headers)

    def do_POST(self) -> None:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0:
            self._send_json(HTTPStatus.BAD_REQUEST, {"error": "invalid_request"})
            self.close_connection = True  # the body's end is unknown: the connection is unusable
            return
        body = self.rfile.read(length)
        path = urlsplit(self.path).path
        if path.startswith(PORTAL_PREFIX):
            self._serve_portal(path.removeprefix(PORTAL_PREFIX), body)
            return
        if path != "/oauth/token":
            self._send_error(HTTPStatus.NOT_FOUND, "NOT_FOUND", "Không tìm thấy tài nguyên")
            return
        form = parse_qs(body.decode("utf-8", "replace"))
        if form.get("grant_type") != ["client_credentials"]:
            self._send_json(HTTPStatus.BAD_REQUEST, {"error": "unsupported_grant_type"})
            return
        client_id = (form.get("client_id") or [""])[0]
        client_secret = (form.get("client_secret") or [""])[0]
        if not self.simulator.credentials_match(client_id, client_secret):
            self._send_json(HTTPStatus.UNAUTHORIZED, {"error": "invalid_client"})
            return
        self._send_json(
            HTTPStatus.OK,
            {
                "access_token": self.simulator.tokens.issue(),
                "token_type": "Bearer",
                "expires_in": self.simulator.tokens.lifetime_s,
            },
            headers={"Cache-Control": "no-store"},
        )

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if url.path == "/health":
            self._send_json(HTTPStatus.OK, {"status": "ok"})
            return
        if url.path not in self.record_endpoints and url.path != self.counts_endpoint:
            self._send_error(HTTPStatus.NOT_FOUND, "NOT_FOUND", "Không tìm thấy tài nguyên")
            return
        if not self._authorized():
            self._send_error(
                HTTPStatus.UNAUTHORIZED,
                "UNAUTHORIZED",
                "Token không hợp lệ hoặc đã hết hạn",
                **{"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
            return
        try:
            request = PageRequest.from_query(parse_qs(url.query, keep_blank_values=True))
            if self._answer_with_fault():
                return
            self._serve_page(url.path, request)
        except (BadParameter, InvalidCursor) as error:
            message = str(error) if isinstance(error, BadParameter) else "Con trỏ sau không hợp lệ"
            self._send_error(HTTPStatus.BAD_REQUEST, "INVALID_PARAMETER", message)

    # The national portal's evaluation API (/work/shared/spec/portal-api.md): public, no token.

    def _portal_error(self, status: int, message: str, **headers: str) -> None:
        self._send_json(
            status,
            {"status": status, "error": HTTPStatus(status).phrase, "message": message},
            headers,
        )

    def _serve_portal(self, call: str, body: bytes) -> None:
        portal = self.simulator.portal
        if portal is None or (call != "service-results" and call not in GROUP_PATHS):
            self._portal_error(HTTPStatus.NOT_FOUND, f"Không tìm thấy tài nguyên: {PORTAL_PREFIX}{call}")
            return
        try:
            query = PortalQuery.from_body(body)
            if not portal.knows(query.root):
                raise BadParameter(f"rootDepartmentCode {query.root!r} is not a unit the portal knows")
        except BadParameter as error:
            self._portal_error(HTTPStatus.BAD_REQUEST, str(error))
            return
        if self._answer_portal_fault():
            return
        units = portal.units(query.period_type, query.period_start, query.root)
        first = (query.page - 1) * query.size
        page = units[first : first + query.size]
        data: dict[str, Any] = {}
        if call == "service-results":
            data["evaluation"] = [portal.score(query.period_type, query.period_start, u) for u in page]
        else:
            group = GROUP_PATHS[call]
            data["content"] = [
                portal.content_row(group, query.period_type, query.period_start, u) for u in page
            ]
        data.update(
            totalElements=len(units),
            totalPages=-(-len(units) // query.size),
            currentPage=query.page,
            pageSize=query.size,
            timeType=query.period_type,
        )
        self._send_json(HTTPStatus.OK, {"status": 200, "message": "Thành công", "data": data})

    def _answer_portal_fault(self) -> bool:
        plan = self.simulator.fault_plan
        kind, slow = plan.draw(portal=True)
        if slow:
            time.sleep(plan.config.slow_s)
        if kind == "server_error":
            status = plan.choose((500, 502, 503))
            if status == 502:
                self._send(status, BAD_GATEWAY_PAGE, "text/html")
            else:
                self._portal_error(status, "Lỗi hệ thống")
        elif kind == "too_many_requests":
            self._portal_error(
                HTTPStatus.TOO_MANY_REQUESTS,
                "Quá nhiều yêu cầu, vui lòng thử lại sau",
                **{"Retry-After": str(plan.config.retry_after_s)},
            )
        return kind is not None

    def _authorized(self) -> bool:
        scheme, _, token = self.headers.get("Authorization", "").partition(" ")
        return scheme.lower() == "bearer" and self.simulator.tokens.is_valid(token.strip())

    def _answer_with_fault(self) -> bool:
        plan = self.simulator.fault_plan
        kind, slow = plan.draw()
        if slow:
            time.sleep(plan.config.slow_s)
        if kind == "server_error":
            status = plan.choose((500, 502, 503))
            if status == 502:
                self._send(status, BAD_GATEWAY_PAGE, "text/html")
            else:
                self._send_error(status, str(status), "Lỗi máy chủ nội bộ")
        elif kind == "envelope_error":
            error_code, message = plan.choose(ENVELOPE_ERRORS)
            self._send_json(
                HTTPStatus.OK,
                {"error_code": error_code, "message": message, "content": None},
            )
        elif kind == "too_many_requests":
            self._send_error(
                HTTPStatus.TOO_MANY_REQUESTS,
                "429",
                "Vượt quá số lượng yêu cầu cho phép, vui lòng thử lại sau",
                **{"Retry-After": str(plan.config.retry_after_s)},
            )
        return kind is not None

    def _serve_page(self, path: str, request: PageRequest) -> None:
        store = self.simulator.store
        if path == self.counts_endpoint:
            page = store.dossier_counts.page(request.tu, request.den, request.after, request.size)
        else:
            table_name, windowed = self.record_endpoints[path]
            table: KeysetTable = getattr(store, table_name)
            tu, den = (request.tu, request.den) if windowed else (None, None)
            page = table.page(tu, den, request.after, request.size)
        # The change happens before the answer leaves, so the client's next page already sees it.
        if path == "/api/v1/hoso":
            self.simulator.maybe_update_dossier_ahead(request, page)
        self._send(HTTPStatus.OK, envelope(page))


@contextmanager
def run_in_thread(
    province: Any,
    faults: FaultConfig = FaultConfig(),
    *,
    client_id: str,
    client_secret: str,
    host: str = "127.0.0.1",
    port: int = 0,
    **options: Any,
) -> Iterator[SimulatorServer]:
    """A started simulator serving from a background thread; stopped on leaving the block."""
    server = SimulatorServer(
        province,
        client_id=client_id,
        client_secret=client_secret,
        faults=faults,
        host=host,
        port=port,
        **options,
    )
    thread = threading.Thread(target=server.serve_forever, name="simulator-http", daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.close()
        thread.join()
