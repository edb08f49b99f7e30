"""tthc.portal: one period fetched over real HTTP (tests/tthc/portal_fake.py) and stored in a real
PostgreSQL warehouse, as published and with its history; and which periods a window or a run
fetches."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import psycopg
import pytest
from portal_fake import GROUPS, SERVICE_RESULTS, Fault, fake_portal

from tthc import portal, warehouse
from tthc.portal_client import PortalClient, PortalPeriod, PortalSettings, PortalUnavailableError

PERIOD = PortalPeriod.parse("2024-Q2")
TREE = {"H35": None, "H35.112": "H35", "H35.112.03434": "H35.112", "H35.105": "H35"}


def closure_rows() -> list[tuple[str, str, int]]:
    rows = []
    for code in TREE:
        depth, ancestor = 0, code
        while ancestor is not None:
            rows.append((ancestor, code, depth))
            ancestor, depth = TREE[ancestor], depth + 1
    return rows


@pytest.fixture
def dsn(make_database):
    dsn = make_database("portal")
    with warehouse.connect(dsn=dsn) as conn:
        warehouse.copy_rows(
            conn, "core.unit_closure", ("ancestor_code", "descendant_code", "depth"), closure_rows()
        )
    return dsn


def publish_quarter(fake, *, payment_ratio=0.7814, nam_nhun_groups=None) -> None:
    groups = nam_nhun_groups or {
        "CKMB": 12.0,
        "TDGQ": 18.2,
        "CLGQ": 6.1,
        "TTTT": 5.2,
        "MDSH": 9.6,
        "MDHL": 5.5,
    }
    fake.publish(
        PERIOD.key,
        SERVICE_RESULTS,
        [
            {
                "departmentCode": "H35",
                "departmentName": "Tỉnh Lai Châu",
                "totalScore": 70.5,
                "groupScores": {"CKMB": 15},
            },
            {
                "departmentCode": "H35.112",
                "departmentName": "UBND huyện Nậm Nhùn",
                "totalScore": 56.64,
                "groupScores": groups,
            },
            {"departmentCode": "H35.112.03434", "totalScore": 61},
        ],
    )
    fake.publish(
        PERIOD.key,
        GROUPS["TTTT"],
        [
            {
                "departmentCode": "H35.112",
                "metrics": [
                    {
                        "code": "3.6",
                        "ratio": payment_ratio,
                        "score": 4.69,
                        "maxScore": 6,
                        "numerator": 2711,
                        "denominator": 3469,
                    },
                    {"code": "3.5a", "score": 2, "maxScore": 2},
                ],
            },
            {
                "departmentCode": "H35",
                "metrics": [{"code": "3.6", "ratio": 0.9, "score": 5.4, "maxScore": 6}],
            },
        ],
    )
    fake.publish(
        PERIOD.key,
        GROUPS["MDSH"],
        [{"departmentCode": "H35.112", "metrics": [{"code": "4.5b", "ratio": 0.2}]}],
    )


def fetch(dsn, fake, period=PERIOD, **settings):
    values = {"base_url": fake.base_url, "backoff_base_s": 0.005, "backoff_max_s": 0.05} | settings
    with warehouse.connect(dsn=dsn) as conn, PortalClient(PortalSettings(**values)) as client:
        return portal.fetch_period(conn, client, period)


def rows(dsn, sql, params=None) -> list[tuple]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(sql, params).fetchall()


CURRENT_SCORES = """SELECT unit_code, unit_name, transparency_score, progress_score, online_service_score,
    online_payment_score, digitization_score, satisfaction_score, total_score
    FROM mart.portal_score_current ORDER BY unit_code"""
CURRENT_METRICS = """SELECT unit_code, item_code, portal_group, indicator_code, scoring_item_code, ratio, score,
    max_score, numerator, denominator FROM mart.portal_metric_current ORDER BY unit_code, item_code"""
ALL_ROWS = """SELECT 'score', unit_code, '', fetched_at, superseded_at, xmin::text FROM mart.portal_score
    UNION ALL SELECT 'metric', unit_code, item_code, fetched_at, superseded_at, xmin::text FROM mart.portal_metric
    ORDER BY 1, 2, 3, 4"""


def test_stored_as_published_with_absent_groups_and_items(dsn):
    with fake_portal() as fake:
        publish_quarter(fake)
        result = fetch(dsn, fake)
    assert result.root_code == "H35", "the root of core.unit_closure"
    assert (result.scores.fetched, result.scores.new, result.metrics.fetched, result.metrics.new) == (
        3,
        3,
        4,
        4,
    )
    d = Decimal
    assert rows(dsn, CURRENT_SCORES) == [
        ("H35", "Tỉnh Lai Châu", d(15), None, None, None, None, None, d("70.5")),
        (
            "H35.112",
            "UBND huyện Nậm Nhùn",
            d("12.0"),
            d("18.2"),
            d("6.1"),
            d("5.2"),
            d("9.6"),
            d("5.5"),
            d("56.64"),
        ),
        ("H35.112.03434", None, None, None, None, None, None, None, d(61)),
    ]
    assert rows(dsn, CURRENT_METRICS) == [
        ("H35", "3.6", "TTTT", "ONLINE_PAYMENT", "3.6", d("0.9"), d("5.4"), d(6), None, None),
        ("H35.112", "3.5a", "TTTT", "TTHC_WITH_FEE_DATA", "3.5a", None, d(2), d(2), None, None),
        ("H35.112", "3.6", "TTTT", "ONLINE_PAYMENT", "3.6", d("0.7814"), d("4.69"), d(6), d(2711), d(3469)),
        ("H35.112", "4.5b", "MDSH", "VNEID", "4.5", d("0.2"), None, None, None, None),
    ]
    (period,) = rows(dsn, "SELECT DISTINCT period_type, period_start FROM mart.portal_score")
    assert period == ("quarter", date(2024, 4, 1))
    # One service-results call and one per group, each one page here.
    assert sorted(path for path, _ in fake.requests) == sorted([SERVICE_RESULTS, *GROUPS.values()])
    assert {body["rootDepartmentCode"] for _, body in fake.requests} == {"H35"}


def test_a_refetch_of_the_same_numbers_writes_nothing(dsn):
    with fake_portal() as fake:
        publish_quarter(fake)
        fetch(dsn, fake)
        before = rows(dsn, ALL_ROWS)
        again = fetch(dsn, fake)
    assert rows(dsn, ALL_ROWS) == before, "not a row touched (same xmin)"
    assert (again.scores.unchanged, again.scores.new, again.scores.changed) == (3, 0, 0)
    assert (again.metrics.unchanged, again.metrics.new, again.metrics.changed, again.metrics.withdrawn) == (
        4,
        0,
        0,
        0,
    )


def test_a_revised_number_keeps_the_old_row_and_adds_the_new(dsn):
    with fake_portal() as fake:
        publish_quarter(fake)
        first = fetch(dsn, fake)
        # The portal revises the quarter: Nậm Nhùn's payment ratio, and its MDHL group score is gone.
        groups = {"CKMB": 12.0, "TDGQ": 18.2, "CLGQ": 6.1, "TTTT": 5.2, "MDSH": 9.6}
        publish_quarter(fake, payment_ratio=0.8, nam_nhun_groups=groups)
        # ... and no longer publishes 4.5b.
        fake.publish(PERIOD.key, GROUPS["MDSH"], [])
        second = fetch(dsn, fake)
    assert (second.scores.changed, second.scores.unchanged) == (1, 2)
    assert (second.metrics.changed, second.metrics.unchanged, second.metrics.withdrawn) == (1, 2, 1)
    history = rows(
        dsn,
        """SELECT ratio, fetched_at, superseded_at FROM mart.portal_metric
           WHERE unit_code = 'H35.112' AND item_code = '3.6' ORDER BY fetched_at""",
    )
    assert [ratio for ratio, *_ in history] == [Decimal("0.7814"), Decimal("0.8")]
    (old_ratio, old_fetched, old_superseded), (_, new_fetched, new_superseded) = history
    assert old_superseded == new_fetched and new_superseded is None and old_fetched < new_fetched
    scores = rows(
        dsn,
        "SELECT satisfaction_score, superseded_at IS NULL FROM mart.portal_score WHERE unit_code = 'H35.112' ORDER BY fetched_at",
    )
    assert scores == [(Decimal("5.5"), False), (None, True)]
    assert rows(dsn, "SELECT superseded_at IS NOT NULL FROM mart.portal_metric WHERE item_code = '4.5b'") == [
        (True,)
    ]
    assert ("H35.112", "4.5b") not in {(u, i) for u, i, *_ in rows(dsn, CURRENT_METRICS)}
    assert first.metrics.new == 4


def test_a_failed_fetch_writes_nothing(dsn):
    with fake_portal() as fake, warehouse.connect(dsn=dsn) as conn:
        publish_quarter(fake)
        settings = PortalSettings(
            base_url=fake.base_url, max_retries=1, backoff_base_s=0.001, backoff_max_s=0.002
        )
        client = PortalClient(settings)
        group_metrics = client.group_metrics

        def failing_at_the_third_group(path, period, root):
            # service-results and two groups have answered; every attempt at the third fails.
            if path == GROUPS["CLGQ"]:
                fake.faults.extend([Fault(503), Fault(503)])
            return group_metrics(path, period, root)

        client.group_metrics = failing_at_the_third_group
        with client, pytest.raises(PortalUnavailableError, match="provide-online-tree.*2 attempts"):
            portal.fetch_period(conn, client, PERIOD)
    assert rows(dsn, "SELECT count(*) FROM mart.portal_score") == [(0,)]
    assert rows(dsn, "SELECT count(*) FROM mart.portal_metric") == [(0,)]


def test_root_unit_needs_the_unit_tree(make_database):
    dsn = make_database("portal_no_units")
    with (
        warehouse.connect(dsn=dsn) as conn,
        pytest.raises(portal.PortalConfigurationError, match="tthc_reference"),
    ):
        portal.root_unit(conn)


def test_periods_overlapping_a_window():
    keys = [p.key for p in portal.periods_overlapping(date(2023, 11, 15), date(2024, 2, 1))]
    assert keys == ["2023", "2024", "2023-Q4", "2024-Q1", "2023-11", "2023-12", "2024-01"]
    assert [p.key for p in portal.periods_overlapping(date(2024, 1, 1), date(2024, 1, 2))] == [
        "2024",
        "2024-Q1",
        "2024-01",
    ]


def test_periods_of_a_run():
    assert [p.key for p in portal.periods_for_run({}, date(2024, 4, 3))] == [
        "2023",
        "2024",
        "2024-Q1",
        "2024-Q2",
        "2024-03",
        "2024-04",
    ]
    assert [p.key for p in portal.periods_for_run({"period": "2024-Q2"}, date(2030, 1, 1))] == ["2024-Q2"]
    window = {"start": "2024-01-01", "end": "2024-03-01", "period": None}
    assert [p.key for p in portal.periods_for_run(window, date(2030, 1, 1))] == [
        "2024",
        "2024-Q1",
        "2024-01",
        "2024-02",
    ]
    with pytest.raises(ValueError, match="both"):
        portal.periods_for_run({"start": "2024-01-01"}, date(2030, 1, 1))


def test_a_warehouse_of_several_provinces_asks_the_portal_for_each_province_of_the_period(make_database):
    """With the nation at the root (several provinces loaded), the portal is asked for each
    province that existed in the period, not for 'VN': the old provinces of a merger for the
    periods before it, the merged one after."""
    from tthc.portal import portal_roots
    from tthc.portal_client import PortalPeriod

    dsn = make_database("portal_nation_root")
    provinces = [("H35", None, None), ("H91", "2008-01-01", "2025-06-30"), ("H93", "2025-07-01", None)]
    with psycopg.connect(dsn) as conn:
        conn.execute(
            """INSERT INTO core.dim_unit (source_id, unit_code, unit_name, unit_type, row_valid_from, batch_id)
               VALUES ('national', 'VN', 'Cả nước', 'QUOC_GIA', now(), 0)"""
        )
        conn.execute("INSERT INTO core.unit_closure VALUES ('VN', 'VN', 0)")
        for code, valid_from, valid_to in provinces:
            conn.execute(
                """INSERT INTO core.dim_unit
                       (unit_code, unit_name, unit_type, valid_from, valid_to, row_valid_from, batch_id)
                   VALUES (%s, %s, 'TINH', %s, %s, now(), 0)""",
                (code, "Tỉnh " + code, valid_from, valid_to),
            )
            conn.execute(
                "INSERT INTO core.unit_closure VALUES (%s, %s, 0), ('VN', %s, 1)", (code, code, code)
            )
        assert portal_roots(conn, PortalPeriod.parse("2024")) == ["H35", "H91"]
        assert portal_roots(conn, PortalPeriod.parse("2025")) == ["H35", "H91", "H93"]
        assert portal_roots(conn, PortalPeriod.parse("2025-Q3")) == ["H35", "H93"]
        # one province: its own tree, as before
        conn.execute(
            "DELETE FROM core.unit_closure WHERE ancestor_code = 'VN' OR unit_closure.descendant_code <> 'H35'"
        )
        assert portal_roots(conn, PortalPeriod.parse("2025-Q3")) == ["H35"]
