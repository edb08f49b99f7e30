"""A small portal evaluation API over real HTTP, for the client's and the stage's tests until (and
beside) the simulator's portal: it serves what a test publishes, pages by currentPage/pageSize as
the contract says, and plays the faults a test queues (429 with Retry-After, 5xx, a reset).

``published[(timeType-key, path)]`` is the list of items of one call; the key is the period's key
("2023", "2024-Q2", "2024-03") as ``tthc.portal_client.PortalPeriod`` writes it. Every request is
recorded (path and body) in ``requests``.
"""

from __future__ import annotations

import json
import socket
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

SERVICE_RESULTS = "/api/v1/reporting/evaluation/service-results"
GROUPS = {
    "CKMB": "/api/v1/reporting/evaluation/transparency",
    "TDGQ": "/api/v1/reporting/evaluation/dvc-progress-tree",
    "CLGQ": "/api/v1/reporting/evaluation/provide-online-tree",
    "TTTT": "/api/v1/reporting/evaluation/formality-online-payment-tree",
    "MDSH": "/api/v1/reporting/evaluation/dossier-digitized",
    "MDHL": "/api/v1/reporting/evaluation/handling-satisfaction",
}


@dataclass(frozen=True)
class Fault:
    status: int = 429
    retry_after: str | None = None
    reset: bool = False  # close the connection without an answer
    body: bytes = b'{"message": "slow down"}'


def period_key(body: dict) -> str:
    kind = body.get("timeType")
    if kind == "year":
        return str(body["year"])
    if kind == "quarter":
        return f"{body['year']}-Q{body['quarter']}"
    return f"{body['year']}-{int(body['month']):02d}"


@dataclass
class FakePortal:
    published: dict[tuple[str, str], list[dict]] = field(default_factory=dict)
    faults: deque[Fault] = field(default_factory=deque)
    requests: list[tuple[str, dict]] = field(default_factory=list)
    omit_total: bool = False
    base_url: str = ""

    def publish(self, period: str, path: str, items: list[dict]) -> None:
        self.published[(period, path)] = items

    def answer(self, path: str, body: dict) -> dict[str, Any]:
        items = self.published.get((period_key(body), path), [])
        page, size = int(body["currentPage"]), int(body["pageSize"])
        chunk = items[(page - 1) * size : page * size]
        list_key = "evaluation" if path == SERVICE_RESULTS else "content"
        data: dict[str, Any] = {list_key: chunk, "pageable": {"unknownField": True}}
        if not self.omit_total:
            data["totalElements"] = len(items)
        return {"data": data, "status": "OK", "somethingNew": [1, 2]}


@contextmanager
def fake_portal() -> Iterator[FakePortal]:
    portal = FakePortal()
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's hook name
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
            with lock:
                portal.requests.append((self.path, body))
                fault = portal.faults.popleft() if portal.faults else None
            if fault is not None and fault.reset:
                self.connection.shutdown(socket.SHUT_RDWR)
                self.close_connection = True
                return
            if fault is not None:
                self.send_response(fault.status)
                if fault.retry_after is not None:
                    self.send_header("Retry-After", fault.retry_after)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(fault.body)))
                self.end_headers()
                self.wfile.write(fault.body)
                return
            known = self.path == SERVICE_RESULTS or self.path in GROUPS.values()
            payload = json.dumps(
                portal.answer(self.path, body) if known else {"message": f"no route {self.path}"}
            ).encode()
            self.send_response(200 if known else 404)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    portal.base_url = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield portal
    finally:
        server.shutdown()
        server.server_close()
