"""The unit report's section on the national portal's published scores beside the own ones, on a
warehouse built by hand: dossiers in ``core`` (tests/tthc/mart_fixture.py), the mart computed from
them by the real refresh, and what the portal published written straight into ``mart.portal_score``.
Every number the section shows is compared with the warehouse, queried here on its own."""

from __future__ import annotations

import re
import sys
from datetime import UTC, date, datetime
from decimal import Decimal
from html import unescape
from pathlib import Path

import psycopg
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/tthc: mart_fixture
from mart_fixture import COMMUNE_A, DISTRICT_1, DISTRICT_2, OFFICE_1, insert_dossier, insert_reference  # noqa: E402

from tthc import indicators, warehouse  # noqa: E402
from tthc.report import load_report_data, parse_period, render_html  # noqa: E402
from tthc.report.data import NO_ROWS, NOT_YET, PORTAL_NO_HALF, SCORE_GROUPS  # noqa: E402

pytestmark = pytest.mark.integration

QUARTER = date(2024, 4, 1)
# What the portal published for DISTRICT_1 in 2024-Q2: a revised version (the current one) over an
# older one, and no digitization group (the portal leaves groups out for some units).
PUBLISHED_OLD = {"transparency_score": 1, "progress_score": 1, "total_score": 2}
PUBLISHED = {
    "transparency_score": Decimal("9.5"),
    "progress_score": Decimal("10.25"),
    "online_service_score": Decimal("3"),
    "online_payment_score": Decimal("4.1"),
    "digitization_score": None,
    "satisfaction_score": Decimal("12"),
    "total_score": Decimal("38.85"),
}
# The gap the portal's fetch would have computed (mart.portal_gap), by hand: two items, one
# explained by synchronization, one not. (item, indicator, own score, synced-only score, portal score)
GAP = [
    ("2.1", "ON_TIME_766", Decimal("9.5"), Decimal("9"), Decimal("9")),
    ("3.6", "ONLINE_PAYMENT", Decimal("4.69"), Decimal("4.25"), Decimal("4.1")),
]
FETCHED_AT = datetime(2024, 7, 3, 1, 30, tzinfo=UTC)  # 08:30 in Vietnam


@pytest.fixture(scope="module")
def dsn(make_database):
    dsn = make_database("report_portal")
    with warehouse.connect(dsn=dsn) as conn:
        insert_reference(conn)
        insert_dossier(
            conn,
            "p1",
            COMMUNE_A,
            received_at="2024-04-02 08:00",
            due_at="2024-04-08 17:00",
            finished_at="2024-04-05 10:00",
            timeliness="early",
            has_positive_fee=True,
            online_payment=1,
        )
        insert_dossier(
            conn,
            "p2",
            OFFICE_1,
            received_at="2024-05-06 08:00",
            due_at="2024-05-09 17:00",
            finished_at="2024-05-14 09:00",
            timeliness="late",
            has_positive_fee=True,
        )
        conn.commit()
        indicators.refresh(conn, date(2024, 4, 1), date(2024, 7, 1))
        columns = ", ".join(PUBLISHED)
        for values, fetched_at, superseded_at in (
            (PUBLISHED_OLD, datetime(2024, 7, 2, tzinfo=UTC), FETCHED_AT),
            (PUBLISHED, FETCHED_AT, None),
        ):
            row = {key: values.get(key) for key in PUBLISHED}
            conn.execute(
                f"""INSERT INTO mart.portal_score (period_type, period_start, unit_code, unit_name, {columns},
                                                   fetched_at, superseded_at)
                    VALUES ('quarter', %(start)s, %(unit)s, 'Huyện 1', {", ".join(f"%({k})s" for k in row)},
                            %(fetched_at)s, %(superseded_at)s)""",
                {
                    **row,
                    "start": QUARTER,
                    "unit": DISTRICT_1,
                    "fetched_at": fetched_at,
                    "superseded_at": superseded_at,
                },
            )
        conn.execute("DELETE FROM mart.portal_gap")
        for item, indicator, own, synced, portal in GAP:
            conn.execute(
                """INSERT INTO mart.portal_gap (period_type, period_start, unit_code, unit_scheme, item_code,
                                                indicator_code, scoring_item_code, unsynced_dossiers, own_score,
                                                own_synced_score, portal_score, explained, points_from_sync,
                                                points_not_explained)
                   VALUES ('quarter', %s, %s, 'as_recorded', %s, %s, %s, 2, %s, %s, %s, %s, %s, %s)""",
                (
                    QUARTER,
                    DISTRICT_1,
                    item,
                    indicator,
                    item,
                    own,
                    synced,
                    portal,
                    synced == portal,
                    own - synced,
                    synced - portal,
                ),
            )
        conn.commit()
    return dsn


def section_rows(html: str, columns=("published", "own", "difference")) -> dict[str, tuple[str, ...]]:
    table = re.search(r'<table id="portal-groups">(.*?)</table>', html, re.S).group(1)
    rows = {}
    for group, body in re.findall(r'<tr data-group="(\w+)">(.*?)</tr>', table, re.S):
        cells = {
            css: unescape(re.sub(r"<[^>]+>", "", value)).strip()
            for css, value in re.findall(r'class="n ([\w-]+)">(.*?)</t[dh]>', body, re.S)
        }
        rows[group] = tuple(cells[column] for column in columns)
    return rows


def text_of(html: str, element_id: str) -> str:
    match = re.search(rf'<(\w+)[^>]*\bid="{element_id}"[^>]*>(.*?)</\1>', html, re.S)
    assert match, element_id
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", "", match.group(2)))).strip()


def vi(value: Decimal | None) -> str:
    return "–" if value is None else f"{value:.2f}".replace(".", ",")


def test_published_beside_own_per_group_and_total_equal_the_warehouse(dsn):
    with psycopg.connect(dsn) as conn:
        data = load_report_data(conn, DISTRICT_1, parse_period("2024-Q2"))
        columns = ", ".join(f"{g}_score" for g in SCORE_GROUPS)
        own = dict(
            zip(
                [*SCORE_GROUPS, "total"],
                conn.execute(
                    f"""SELECT {columns}, total_score FROM mart.score_766
                        WHERE period_type = 'quarter' AND period_start = %s AND unit_code = %s
                          AND unit_scheme = 'as_recorded'""",
                    (QUARTER, DISTRICT_1),
                ).fetchone(),
                strict=True,
            )
        )
        published = dict(
            zip(
                [*SCORE_GROUPS, "total"],
                conn.execute(
                    f"""SELECT {columns}, total_score FROM mart.portal_score_current
                        WHERE period_type = 'quarter' AND period_start = %s AND unit_code = %s""",
                    (QUARTER, DISTRICT_1),
                ).fetchone(),
                strict=True,
            )
        )
    assert published["total"] == PUBLISHED["total_score"]  # the current version, not the older one
    assert own["total"] is not None and "portal" not in data.missing
    html = render_html(data)
    rows = section_rows(html)
    assert list(rows) == [*SCORE_GROUPS, "total"]
    for group, (shown_published, shown_own, shown_difference) in rows.items():
        assert shown_own == vi(own[group])
        if published[group] is None:
            assert (shown_published, shown_difference) == ("không công bố" if group != "total" else "–", "–")
            continue
        assert shown_published == vi(published[group])
        difference = published[group] - own[group]
        assert shown_difference == (
            vi(abs(difference))
            if difference.quantize(Decimal("0.01")) == 0
            else ("+" if difference > 0 else "−") + vi(abs(difference))
        )
    assert rows["digitization"][0] == "không công bố"
    total = text_of(html, "portal-total")
    assert f"công bố tổng điểm {vi(published['total'])}" in total
    assert f"theo dữ liệu của tỉnh: {vi(own['total'])}" in total
    gap = published["total"] - own["total"]
    assert ("thấp hơn" if gap < 0 else "cao hơn") in total and vi(abs(gap)) in total
    assert "08:30 ngày 03/07/2024" in text_of(html, "portal-note")  # fetched_at in local time
    assert re.search(r"<h2>IV\. Điểm Cổng DVCQG công bố và điểm theo dữ liệu của tỉnh</h2>", html)


def test_without_published_scores_the_section_says_so_and_the_report_stays(dsn):
    with psycopg.connect(dsn) as conn:
        other_unit = load_report_data(conn, DISTRICT_2, parse_period("2024-Q2"))
        half = load_report_data(conn, DISTRICT_1, parse_period("2024-H1"))
        conn.execute("DROP VIEW mart.portal_score_current CASCADE")  # rolled back below
        no_view = load_report_data(conn, DISTRICT_1, parse_period("2024-Q2"))
        conn.rollback()
    expected = {
        id(other_unit): NO_ROWS.format(relation="mart.portal_score_current"),
        id(half): PORTAL_NO_HALF,
        id(no_view): NOT_YET.format(relation="mart.portal_score_current"),
    }
    for data in (other_unit, half, no_view):
        assert data.portal is None and data.portal_groups == []
        assert data.missing["portal"] == expected[id(data)]
        html = render_html(data)
        assert text_of(html, "portal-missing") == expected[id(data)]
        assert text_of(html, "portal-missing").startswith("Chưa có dữ liệu")
        assert 'id="portal-groups"' not in html
        assert 'id="figures"' in html  # the rest of the report is still there


def test_synced_only_points_from_sync_and_the_unsynchronized_dossiers_equal_the_warehouse(dsn):
    with psycopg.connect(dsn) as conn:
        data = load_report_data(conn, DISTRICT_1, parse_period("2024-Q2"))
        summary = conn.execute(
            """SELECT own_synced_total, points_from_sync, points_not_explained, unsynced_dossiers, explained
               FROM mart.bi_portal_summary
               WHERE period_type = 'quarter' AND period_start = %s AND unit_code = %s
                 AND unit_scheme = 'as_recorded'""",
            (QUARTER, DISTRICT_1),
        ).fetchone()
        dossiers = [
            code
            for (code,) in conn.execute(
                "SELECT ma_ho_so FROM mart.unsynced_dossiers(%s, 'quarter', %s)", (DISTRICT_1, QUARTER)
            )
        ]
    own_synced_total, points_from_sync, points_not_explained, unsynced, explained = summary
    assert (own_synced_total, points_from_sync) == (Decimal("13.25"), Decimal("0.94"))
    # own_synced_total - the published total (38.85, by hand above, not the sum of the two items)
    assert explained is False and points_not_explained == own_synced_total - PUBLISHED["total_score"]
    assert unsynced == 2 and sorted(dossiers) == ["p1", "p2"]  # the fixture synchronizes nothing
    html = render_html(data)
    rows = section_rows(html, ("synced", "from-sync"))
    assert rows["progress"] == ("9,00", "0,50")  # item 2.1
    assert rows["online_payment"] == ("4,25", "0,44")  # item 3.6
    assert rows["transparency"] == ("–", "–")  # no item of the group in the gap
    assert rows["total"] == (vi(own_synced_total), vi(points_from_sync))
    sync = text_of(html, "portal-sync")
    assert f"Trong kỳ có {unsynced} hồ sơ tiếp nhận chưa được đồng bộ" in sync
    assert f"sẽ thêm khoảng {vi(points_from_sync)} điểm" in sync
    sign = "+" if points_not_explained > 0 else "−"
    assert f"Còn {sign}{vi(abs(points_not_explained))} điểm chênh lệch không do đồng bộ" in sync
    listed = re.findall(
        r"<tr><td>(p\d)</td>", re.search(r'<table id="unsynced">(.*?)</table>', html, re.S).group(1)
    )
    assert listed == dossiers
