"""PortalClient over real HTTP (tests/tthc/portal_fake.py, a small server in the test): the
bodies and paging of the contract, the shared retry policy (429 with Retry-After, 5xx, resets),
errors naming the call, and the tolerant reading of what the portal sends. No HTTP call is mocked."""

from __future__ import annotations

import json
import logging
import time
from datetime import date
from decimal import Decimal

import pytest
from portal_fake import GROUPS, SERVICE_RESULTS, Fault, fake_portal

from tthc.portal_client import (
    GROUP_PATHS,
    PortalClient,
    PortalPeriod,
    PortalRequestError,
    PortalSettings,
    PortalUnavailableError,
)
from tthc.settings import ConfigurationError

Q2 = PortalPeriod.parse("2024-Q2")


def settings_for(portal, **overrides) -> PortalSettings:
    values = {"base_url": portal.base_url, "timeout_s": 5.0, "backoff_base_s": 0.005, "backoff_max_s": 0.05}
    return PortalSettings(**(values | overrides))


def unit(code: str, total: float = 50.0, **groups) -> dict:
    return {
        "departmentCode": code,
        "departmentName": f"Đơn vị {code}",
        "totalScore": total,
        "groupScores": groups,
    }


def client_log(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "tthc.portal_client"]


def test_the_group_paths_are_the_contracts():
    assert dict(GROUP_PATHS) == GROUPS


def test_pages_until_total_elements_with_the_contracts_body():
    units = [unit(f"H35.{n:03d}") for n in range(45)]
    with fake_portal() as portal, PortalClient(settings_for(portal)) as client:
        portal.publish("2024-Q2", SERVICE_RESULTS, units)
        scores = client.service_results(Q2, "H35")
    assert [s.unit_code for s in scores] == [u["departmentCode"] for u in units]
    bodies = [body for _, body in portal.requests]
    assert [b["currentPage"] for b in bodies] == [1, 2, 3]
    assert all(b["pageSize"] == 20 for b in bodies), "the contract's default page size"
    assert bodies[0] == {
        "timeType": "quarter",
        "year": 2024,
        "quarter": 2,
        "rootDepartmentCode": "H35",
        "currentPage": 1,
        "pageSize": 20,
    }


def test_without_total_elements_paging_stops_at_a_short_page():
    units = [unit(f"H35.{n:03d}") for n in range(40)]
    with fake_portal() as portal, PortalClient(settings_for(portal, page_size=20)) as client:
        portal.omit_total = True
        portal.publish("2023", SERVICE_RESULTS, units)
        scores = client.service_results(PortalPeriod.parse("2023"), "H35")
    assert len(scores) == 40
    assert [b["currentPage"] for _, b in portal.requests] == [1, 2, 3], "page 3 is empty: the end"
    assert portal.requests[0][1]["timeType"] == "year" and "quarter" not in portal.requests[0][1]


def test_absent_and_unknown_fields_are_tolerated_and_numbers_kept_exact():
    items = [
        {
            "departmentCode": "H35.112",
            "departmentName": "UBND huyện Nậm Nhùn",
            "totalScore": 56.64,
            "groupScores": {"CKMB": 12.0, "TDGQ": "18.20", "MDHL": None, "XYZW": 1},
            "rankInProvince": 7,
        },
        {"departmentCode": "H35.105"},  # nothing but the code
        {"departmentName": "no code: cannot be stored"},
        {"departmentCode": "H35.106", "totalScore": "n/a", "groupScores": []},
    ]
    metrics = [
        {
            "departmentCode": "H35.112",
            "metrics": [
                {
                    "code": "3.6",
                    "ratio": 0.7814,
                    "score": 4.69,
                    "maxScore": 6,
                    "numerator": 2711,
                    "denominator": 3469,
                },
                {"code": "3.5a", "score": 2, "maxScore": 2, "note": "unknown"},  # no ratio, no counts
                {"ratio": 0.5},  # no code
            ],
        },
        {"departmentCode": "H35.105"},  # no metrics at all
    ]
    with fake_portal() as portal, PortalClient(settings_for(portal)) as client:
        portal.publish("2024-Q2", SERVICE_RESULTS, items)
        portal.publish("2024-Q2", GROUPS["TTTT"], metrics)
        scores = {s.unit_code: s for s in client.service_results(Q2, "H35")}
        groups = {u.unit_code: u for u in client.group_metrics(GROUPS["TTTT"], Q2, "H35")}
    assert set(scores) == {"H35.112", "H35.105", "H35.106"}
    nam_nhun = scores["H35.112"]
    assert nam_nhun.total_score == Decimal("56.64") and nam_nhun.unit_name == "UBND huyện Nậm Nhùn"
    assert dict(nam_nhun.group_scores) == {
        "CKMB": Decimal("12.0"),
        "TDGQ": Decimal("18.20"),
        "XYZW": Decimal(1),
    }
    assert scores["H35.105"].total_score is None and not scores["H35.105"].group_scores
    assert scores["H35.106"].total_score is None and scores["H35.105"].unit_name is None
    payment = {m.item_code: m for m in groups["H35.112"].metrics}
    assert set(payment) == {"3.6", "3.5a"}
    assert (payment["3.6"].ratio, payment["3.6"].score, payment["3.6"].numerator) == (
        Decimal("0.7814"),
        Decimal("4.69"),
        Decimal(2711),
    )
    assert payment["3.5a"].ratio is None and payment["3.5a"].numerator is None
    assert groups["H35.105"].metrics == ()


def test_429_with_retry_after_is_waited_out(caplog):
    caplog.set_level(logging.WARNING)
    with fake_portal() as portal, PortalClient(settings_for(portal)) as client:
        portal.publish("2024-03", SERVICE_RESULTS, [unit("H35")])
        portal.faults.append(Fault(429, retry_after="1"))
        started = time.monotonic()
        scores = client.service_results(PortalPeriod.parse("2024-03"), "H35")
        elapsed = time.monotonic() - started
    assert [s.unit_code for s in scores] == ["H35"]
    assert 1.0 <= elapsed < 3.0, "one wait of Retry-After (1 s), not the 5-millisecond backoff"
    (message,) = client_log(caplog)
    assert "retrying in 1.00 s" in message and "HTTP 429" in message
    assert "service-results" in message and "2024-03" in message and "root H35" in message


def test_5xx_and_resets_are_retried():
    with fake_portal() as portal, PortalClient(settings_for(portal)) as client:
        portal.publish(
            "2024-Q2", GROUPS["MDSH"], [{"departmentCode": "H35", "metrics": [{"code": "4.1", "score": 5}]}]
        )
        portal.faults.extend([Fault(503), Fault(reset=True), Fault(500, body=b"<html>proxy</html>")])
        (metrics,) = client.group_metrics(GROUPS["MDSH"], Q2, "H35")
    assert metrics.metrics[0].score == Decimal(5)
    assert len(portal.requests) == 4


def test_exhausted_retries_name_the_call(caplog):
    caplog.set_level(logging.WARNING)
    with fake_portal() as portal, PortalClient(settings_for(portal, max_retries=2)) as client:
        portal.faults.extend([Fault(502)] * 3)
        with pytest.raises(PortalUnavailableError) as caught:
            client.group_metrics(GROUPS["TDGQ"], Q2, "H35")
    message = str(caught.value)
    for part in (
        "/api/v1/reporting/evaluation/dvc-progress-tree",
        "quarter 2024-Q2",
        "root H35",
        "3 attempts",
    ):
        assert part in message
    assert len(client_log(caplog)) == 2


def test_a_rejected_request_is_not_retried(caplog):
    caplog.set_level(logging.WARNING)
    with fake_portal() as portal, PortalClient(settings_for(portal)) as client:
        with pytest.raises(PortalRequestError, match="HTTP 404.*no route"):
            client.group_metrics("/api/v1/reporting/evaluation/nowhere", Q2, "H35")
        portal.faults.append(Fault(400, body=json.dumps({"message": "pageSize too large"}).encode()))
        with pytest.raises(PortalRequestError, match="pageSize too large"):
            client.service_results(Q2, "H35")
    assert not client_log(caplog)
    assert len(portal.requests) == 2


def test_settings_from_connections(monkeypatch):
    monkeypatch.setenv(
        "AIRFLOW_CONN_TTHC_PORTAL_JSON_TEST",
        json.dumps({"conn_type": "http", "host": "127.0.0.1", "port": 8766, "extra": {"timeout_s": 30}}),
    )
    settings = PortalSettings.from_airflow("tthc_portal_json_test")
    assert (settings.base_url, settings.page_size, settings.timeout_s) == ("http://127.0.0.1:8766", 20, 30.0)
    monkeypatch.setenv(
        "AIRFLOW_CONN_TTHC_PORTAL_URI_TEST", "http://dichvucong.gov.vn/https?page_size=100&max_retries=8"
    )
    settings = PortalSettings.from_airflow("tthc_portal_uri_test")
    assert (settings.base_url, settings.page_size, settings.max_retries) == (
        "https://dichvucong.gov.vn",
        100,
        8,
    )
    monkeypatch.setenv("AIRFLOW_CONN_TTHC_PORTAL_BIG_TEST", "http://portal.example?page_size=500")
    with pytest.raises(ConfigurationError, match="page_size must be 1..100"):
        PortalSettings.from_airflow("tthc_portal_big_test")


def test_periods():
    assert [PortalPeriod.parse(text).key for text in ("2023", "2024-q2", "2024-03")] == [
        "2023",
        "2024-Q2",
        "2024-03",
    ]
    month = PortalPeriod.parse("2024-12")
    assert (month.start, month.end, month.next().key, month.body()) == (
        date(2024, 12, 1),
        date(2025, 1, 1),
        "2025-01",
        {"timeType": "month", "year": 2024, "month": 12},
    )
    assert PortalPeriod.parse("2024-Q1").previous().key == "2023-Q4"
    assert PortalPeriod.containing("quarter", date(2024, 8, 31)).key == "2024-Q3"
    for bad in ("2024-Q5", "2024-13", "24", "last year"):
        with pytest.raises(ValueError):
            PortalPeriod.parse(bad)
