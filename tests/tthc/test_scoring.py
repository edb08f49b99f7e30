"""mart.score_indicator: the rules of mart.scoring_rule, checked against the national portal's
published scores and hand-computed values."""

from __future__ import annotations

from decimal import Decimal

import psycopg
import pytest

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def conn(make_database):
    with psycopg.connect(make_database("scoring")) as connection:
        yield connection
        connection.rollback()


def score(conn, code, numerator, denominator, at="2024-12-31"):
    return conn.execute(
        "SELECT mart.score_indicator(%s, %s, %s, %s)", (code, numerator, denominator, at)
    ).fetchone()[0]


def test_the_portals_published_scores(conn):
    # on time 528,684 of 597,918 -> 17.68 of 20; paid online 309,542 of 358,625 -> 5.18 of 6
    assert score(conn, "ON_TIME_766", 528_684, 597_918) == Decimal("17.68")
    assert score(conn, "ONLINE_PAYMENT", 309_542, 358_625) == Decimal("5.18")


@pytest.mark.parametrize(
    ("code", "numerator", "denominator", "expected"),
    [
        ("REUSE", 70, 100, "1.75"),  # full at 80%: 2 x 0.7 / 0.8
        ("REUSE", 90, 100, "2"),  # above the threshold: capped at 2
        ("FULL_ONLINE_SHARE", 25, 100, "6.00"),  # full at 50%: 12 x 0.25 / 0.5
        ("DOSSIER_SATISFACTION", 81, 100, "5.40"),  # full at 90%: 6 x 0.81 / 0.9
        ("TTHC_PAID_ONLINE", 4, 5, "2"),  # exactly the threshold
        ("E_CERT_COPY", 1, 3, "0.67"),  # linear 2 x 1/3
        ("SYNC_RATE", 1, 1, "6"),
        ("PAKN_ON_TIME", 0, 0, "6"),  # no PAKN: full points
        ("PAKN_SATISFACTION", 0, 0, "6"),
        ("PAKN_ON_TIME", 0, 4, "0"),
        ("ONLINE_PAYMENT", 0, 0, "0"),  # nothing to pay: no points (as the portal's index)
    ],
)
def test_rules(conn, code, numerator, denominator, expected):
    assert score(conn, code, numerator, denominator) == Decimal(expected)


def test_unscored_indicators_have_no_score(conn):
    assert score(conn, "RECEIVED", 10, None) is None
    assert score(conn, "ON_TIME_FINISHED", 1, 2) is None  # a reporting figure, not a 766 item
    assert score(conn, "ON_TIME_766", 1, 2, at="2020-01-01") is None  # before Decision 766


def test_the_rule_in_force_on_the_date_applies(conn):
    with conn.transaction(force_rollback=True):
        conn.execute("UPDATE mart.scoring_rule SET valid_to = '2026-01-01' WHERE item_code = '3.6'")
        conn.execute("""INSERT INTO mart.scoring_rule (rule_version, item_code, group_code, indicator_code,
                            max_points, rule_kind, threshold, valid_from, source)
                        VALUES ('766-2026', '3.6', 'online_payment', 'ONLINE_PAYMENT', 6, 'full_at', 0.8,
                                '2026-01-01', 'test')""")
        assert score(conn, "ONLINE_PAYMENT", 60, 100, at="2025-12-31") == Decimal("3.60")  # linear
        assert score(conn, "ONLINE_PAYMENT", 60, 100, at="2026-01-01") == Decimal("4.50")  # 6 x 0.6 / 0.8


def test_the_points_add_up_to_the_six_groups(conn):
    groups = dict(
        conn.execute("""SELECT g.group_code, sum(r.max_points) = g.max_points
                                  FROM mart.score_group g JOIN mart.scoring_rule r USING (group_code)
                                  WHERE r.valid_to IS NULL GROUP BY g.group_code, g.max_points""").fetchall()
    )
    assert groups == dict.fromkeys(
        ["transparency", "progress", "online_service", "online_payment", "digitization", "satisfaction"], True
    )
    available = conn.execute("""SELECT sum(max_points) FROM mart.scoring_rule
                                WHERE valid_to IS NULL AND rule_kind <> 'not_scored'""").fetchone()[0]
    assert available == 86
