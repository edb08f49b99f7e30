"""The simulator's HTTP server honours the source contract (docs/source-api.md), over real HTTP."""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import requests

from simulator.generator import SimulationConfig, build_province
from simulator.server import FaultConfig, SimulatorServer, run_in_thread
from simulator.store import SourceStore

PROJECT_ROOT = Path(__file__).resolve().parents[2]
# The smallest volume the generator can plant its figures in.
DOSSIERS_PER_YEAR = 20000
DOSSIERS = "/api/v1/hoso"
FEEDBACK = "/api/v1/phananh"
UNITS = "/api/v1/donvi"
PROCEDURES = "/api/v1/thutuc"
COUNTS = "/api/v1/thongke/hoso"
SOURCE_FORMAT = "%Y%m%d%H%M%S"
# The formats the contract accepts, read here independently of the simulator's own parser.
ACCEPTED_FORMATS = ("%Y%m%d%H%M%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S.%f")


def read_date(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    for layout in ACCEPTED_FORMATS:
        try:
            return datetime.strptime(value, layout)
        except ValueError:
            continue
    return None


def canonical(record: dict) -> str:
    """A record's identity in a test: dossier codes can be missing or duplicated on purpose."""
    return json.dumps(record, sort_keys=True, ensure_ascii=False)


def stamp(moment: datetime) -> str:
    return moment.strftime(SOURCE_FORMAT)


@pytest.fixture(scope="module")
def province():
    return build_province(SimulationConfig(dossiers_per_year=DOSSIERS_PER_YEAR))


@pytest.fixture(scope="module")
def all_dossiers(province) -> list[dict]:
    return list(province.iter_dossiers())


def credentials() -> dict[str, str]:
    return {"client_id": secrets.token_hex(8), "client_secret": secrets.token_urlsafe(24)}


def new_store(province, dossiers: list[dict]) -> SourceStore:
    # From the dossiers already rendered: rendering them is the slow part of building a store.
    return SourceStore(province.units, province.procedures, dossiers, province.iter_feedback())


@pytest.fixture(scope="module")
def store(province, all_dossiers) -> SourceStore:
    """The store of every server that does not change records."""
    return new_store(province, all_dossiers)


@pytest.fixture(scope="module")
def server(province, store):
    with run_in_thread(province, store=store, **credentials()) as running:
        yield running


class Client:
    """A bare-bones contract client: a token, then GETs; retries nothing, so faults stay visible."""

    def __init__(self, server: SimulatorServer) -> None:
        self.server = server
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {self.token()}"

    def token(self) -> str:
        answer = self.session.post(
            f"{self.server.base_url}/oauth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": self.server.client_id,
                "client_secret": self.server.client_secret,
            },
            timeout=10,
        )
        assert answer.status_code == 200
        return answer.json()["access_token"]

    def get(self, endpoint: str, **params: object) -> requests.Response:
        return self.session.get(f"{self.server.base_url}{endpoint}", params=params, timeout=30)

    def extract(self, endpoint: str, **params: object) -> tuple[list[dict], list[dict]]:
        """Every record of the query, following cursors; also each page's envelope."""
        records, envelopes, cursor = [], [], None
        while True:
            page_params = dict(params, **({"sau": cursor} if cursor else {}))
            answer = self.get(endpoint, **page_params)
            assert answer.status_code == 200, answer.text
            body = answer.json()
            assert body["error_code"] == "0" and body["message"] == "OK"
            records += body["content"]
            envelopes.append(body)
            cursor = body["nextCursor"]
            if cursor is None:
                return records, envelopes


@pytest.fixture(scope="module")
def client(server) -> Client:
    return Client(server)


def test_health_needs_no_token(server):
    answer = requests.get(f"{server.base_url}/health", timeout=5)
    assert answer.status_code == 200


def test_token_flow_and_wrong_credentials(server):
    token_url = f"{server.base_url}/oauth/token"
    granted = requests.post(
        token_url,
        data={
            "grant_type": "client_credentials",
            "client_id": server.client_id,
            "client_secret": server.client_secret,
        },
        timeout=5,
    )
    assert granted.status_code == 200
    token = granted.json()
    assert token["token_type"] == "Bearer" and token["expires_in"] == 300 and token["access_token"]

    wrong = requests.post(
        token_url,
        data={
            "grant_type": "client_credentials",
            "client_id": server.client_id,
            "client_secret": server.client_secret + "x",
        },
        timeout=5,
    )
    assert wrong.status_code == 401

    url = f"{server.base_url}{UNITS}"
    assert requests.get(url, timeout=5).status_code == 401
    assert requests.get(url, headers={"Authorization": "Bearer not-a-token"}, timeout=5).status_code == 401
    authorized = requests.get(url, headers={"Authorization": f"Bearer {token['access_token']}"}, timeout=5)
    assert authorized.status_code == 200


def test_expired_token_gives_401_and_a_new_token_works(province, store):
    with run_in_thread(province, FaultConfig(token_lifetime_s=1), store=store, **credentials()) as running:
        client = Client(running)
        assert client.get(UNITS).status_code == 200
        time.sleep(1.2)
        expired = client.get(UNITS)
        assert expired.status_code == 401
        assert expired.json()["error_code"] != "0"
        client.session.headers["Authorization"] = f"Bearer {client.token()}"
        assert client.get(UNITS).status_code == 200


def test_catalogues_are_served_whole(client, province):
    units, _ = client.extract(UNITS, kichThuoc=50)
    procedures, _ = client.extract(PROCEDURES)
    assert Counter(map(canonical, units)) == Counter(map(canonical, province.units))
    assert Counter(map(canonical, procedures)) == Counter(map(canonical, province.procedures))


def test_feedback_is_served_by_window(client, province):
    feedback = list(province.iter_feedback())
    served, _ = client.extract(FEEDBACK, kichThuoc=1000)
    assert Counter(map(canonical, served)) == Counter(map(canonical, feedback))

    tu, den = datetime(2023, 6, 1), datetime(2023, 9, 1)
    in_window, _ = client.extract(FEEDBACK, tu=stamp(tu), den=stamp(den))
    expected = [r for r in feedback if (moment := read_date(r["NgayCapNhat"])) and tu <= moment < den]
    assert expected and Counter(map(canonical, in_window)) == Counter(map(canonical, expected))


def test_default_and_largest_page_sizes(client, all_dossiers):
    assert len(all_dossiers) > 1000
    default_page = client.get(DOSSIERS).json()
    assert len(default_page["content"]) == 500
    assert default_page["totalElements"] == len(all_dossiers)
    assert len(client.get(DOSSIERS, kichThuoc=1000).json()["content"]) == 1000


def test_paging_covers_the_window_once_in_order(client, all_dossiers):
    tu, den = datetime(2023, 3, 1), datetime(2023, 10, 1)
    served, envelopes = client.extract(DOSSIERS, tu=stamp(tu), den=stamp(den), kichThuoc=97)

    keys = [canonical(record) for record in served]
    assert len(keys) == len(set(keys)), "a record was served twice"
    assert {envelope["totalElements"] for envelope in envelopes} == {len(served)}

    expected = [r for r in all_dossiers if (moment := read_date(r["NgayCapNhat"])) and tu <= moment < den]
    readable = [r for r in served if read_date(r["NgayCapNhat"])]
    assert Counter(map(canonical, readable)) == Counter(map(canonical, expected))

    order = [(read_date(r["NgayCapNhat"]), r["MaHoSo"] or "") for r in readable]
    assert order == sorted(order)


def test_consecutive_windows_partition_the_store(client, all_dossiers):
    bounds = [None, datetime(2023, 4, 1), datetime(2023, 11, 15), None]
    served: list[dict] = []
    for tu, den in zip(bounds, bounds[1:], strict=False):
        window = {**({"tu": stamp(tu)} if tu else {}), **({"den": stamp(den)} if den else {})}
        records, _ = client.extract(DOSSIERS, kichThuoc=1000, **window)
        served += records
    # Every record, unreadable NgayCapNhat included, is served in exactly one window.
    assert Counter(map(canonical, served)) == Counter(map(canonical, all_dossiers))


def test_updates_during_extraction_move_records_to_a_later_window(province, all_dossiers):
    faults = FaultConfig(update_during_extraction_share=0.5, seed=3)
    with run_in_thread(province, faults, store=new_store(province, all_dossiers), **credentials()) as running:
        client = Client(running)
        cutoff = running.now().replace(microsecond=0)
        first, envelopes = client.extract(DOSSIERS, den=stamp(cutoff), kichThuoc=100)
        later, _ = client.extract(DOSSIERS, tu=stamp(cutoff))
        current = list(running.store.dossiers)

    first_keys = Counter(map(canonical, first))
    assert max(first_keys.values()) == 1, "a record was served twice in one window"
    assert later, "no dossier was updated during the extraction"
    assert all(read_date(record["NgayCapNhat"]) >= cutoff for record in later)
    # totalElements shrinks as records leave the window while it is being read.
    assert envelopes[0]["totalElements"] > envelopes[-1]["totalElements"]

    # The two windows together are the store, and every dossier arrives whole.
    assert first_keys + Counter(map(canonical, later)) == Counter(map(canonical, current))

    def without_update_time(record: dict) -> str:
        return canonical({**record, "NgayCapNhat": None})

    assert Counter(map(without_update_time, first + later)) == Counter(map(without_update_time, all_dossiers))


def fault_kind(answer: requests.Response) -> str:
    if answer.status_code == 200:
        return "ok" if answer.json()["error_code"] == "0" else "envelope_error"
    if answer.status_code == 429:
        return "too_many_requests"
    assert answer.status_code in (500, 502, 503), answer.status_code
    return "server_error"


def test_faults_come_at_their_share_with_the_documented_shape(province, store):
    faults = FaultConfig(
        server_error_share=0.1,
        envelope_error_share=0.1,
        too_many_requests_share=0.1,
        retry_after_s=2,
        seed=11,
    )
    requests_made = 1000
    with run_in_thread(province, faults, store=store, **credentials()) as running:
        client = Client(running)
        answers = [client.get(DOSSIERS, kichThuoc=1) for _ in range(requests_made)]

    kinds = Counter(map(fault_kind, answers))
    for kind in ("server_error", "envelope_error", "too_many_requests"):
        assert 0.06 < kinds[kind] / requests_made < 0.14, kinds
    for answer in answers:
        kind = fault_kind(answer)
        if kind == "too_many_requests":
            assert answer.headers["Retry-After"] == "2"
        elif kind == "envelope_error":
            body = answer.json()
            assert body["error_code"] != "0" and not body["message"].isascii()
    assert {a.status_code for a in answers if fault_kind(a) == "server_error"} == {500, 502, 503}


def test_slow_answers_come_at_their_share(province, store):
    faults = FaultConfig(slow_share=0.3, slow_s=0.15, seed=5)
    with run_in_thread(province, faults, store=store, **credentials()) as running:
        client = Client(running)
        durations = []
        for _ in range(60):
            started = time.perf_counter()
            assert client.get(UNITS, kichThuoc=1).status_code == 200
            durations.append(time.perf_counter() - started)
    slow = sum(duration >= 0.15 for duration in durations)
    assert 8 <= slow <= 30


@pytest.mark.parametrize(
    "params",
    [
        {"kichThuoc": 1001},
        {"kichThuoc": 0},
        {"kichThuoc": "nhiều"},
        {"tu": "2023-01-01"},
        {"den": "20231301000000"},
        {"tu": "20240101000000", "den": "20230101000000"},
        {"sau": "not-a-cursor"},
    ],
)
def test_bad_parameters_give_400_with_the_error_body(client, params):
    answer = client.get(DOSSIERS, **params)
    assert answer.status_code == 400
    body = answer.json()
    assert body["error_code"] != "0" and body["message"]


def test_counts_equal_a_count_of_the_records(client, all_dossiers):
    tu, den = datetime(2023, 1, 1), datetime(2024, 1, 1)
    items, envelopes = client.extract(COUNTS, tu=stamp(tu), den=stamp(den), kichThuoc=1000)

    expected: Counter = Counter()
    for record in all_dossiers:
        if str(record.get("DaXoa")) == "1":
            continue
        try:
            status = int(record.get("TrangThaiHoSo"))
        except (TypeError, ValueError):
            status = None
        received = read_date(record.get("NgayTiepNhan"))
        if status not in (1, 3) and received and tu <= received < den:
            expected[(record["MaDonViXuLy"], received.strftime("%Y%m%d"), "SoTiepNhan")] += 1
        finished = read_date(record.get("NgayKetThucXuLy"))
        if status in (7, 8, 9, 10) and finished and tu <= finished < den:
            expected[(record["MaDonViXuLy"], finished.strftime("%Y%m%d"), "SoDaXuLy")] += 1

    served: Counter = Counter()
    for item in items:
        for column in ("SoTiepNhan", "SoDaXuLy"):
            if item[column]:
                served[(item["MaDonVi"], item["Ngay"], column)] += item[column]
    assert expected and served == expected
    assert envelopes[0]["totalElements"] == len(items)
    assert len({(item["MaDonVi"], item["Ngay"]) for item in items}) == len(items)


def test_unknown_path_is_404(client):
    assert client.get("/api/v1/khong-co").status_code == 404


def test_command_line_serves_until_sigterm():
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(PROJECT_ROOT / "plugins"), str(PROJECT_ROOT)]),
        "TTHC_SIM_CLIENT_ID": secrets.token_hex(8),
        "TTHC_SIM_CLIENT_SECRET": secrets.token_urlsafe(24),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "simulator", "--port", "0", "--dossiers-per-year", str(DOSSIERS_PER_YEAR)],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        ready = process.stdout.readline().strip()
        assert ready.startswith("simulator ready on http://127.0.0.1:")
        base_url = ready.rsplit(" ", 1)[1]
        assert requests.get(f"{base_url}/health", timeout=5).status_code == 200
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_command_line_refuses_to_start_without_credentials():
    env = {k: v for k, v in os.environ.items() if not k.startswith("TTHC_SIM_")}
    env["PYTHONPATH"] = str(PROJECT_ROOT)
    finished = subprocess.run(
        [sys.executable, "-m", "simulator", "--port", "0"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert finished.returncode != 0
    assert "TTHC_SIM_CLIENT_ID" in finished.stderr


def test_source_clock_runs_from_the_simulated_now(server, province):
    assert timedelta(0) <= server.now() - province.config.now < timedelta(minutes=10)
