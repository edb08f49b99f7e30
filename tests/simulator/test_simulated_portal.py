"""The simulated national portal (simulator/portal.py) and its evaluation API over real HTTP
(/work/shared/spec/portal-api.md): shapes, paging, habits, faults, the scores against the ground
truth over the synchronized dossiers, the planted Nậm Nhùn story and the planted disagreement."""

from __future__ import annotations

import secrets
from datetime import date
from fractions import Fraction

import pytest
import requests

from simulator import generator
from simulator.__main__ import parse_args
from simulator.generator import SimulationConfig, build_province
from simulator.portal import GROUP_PATHS, GROUPS, ITEMS, period_end
from simulator.server import FaultConfig, run_in_thread
from simulator.store import SourceStore
from simulator.truth import NO_PAKN_FULL, SCORING_766

DOSSIERS_PER_YEAR = 20_000
EVALUATION = "/api/v1/reporting/evaluation/"
YEAR_2023 = ("year", date(2023, 1, 1))
ITEM_FIELDS = {"code", "ratio", "score", "maxScore", "numerator", "denominator"}
SPEC_GROUP = {  # the spec's path -> group, read from the spec rather than from the simulator
    "transparency": "CKMB",
    "dvc-progress-tree": "TDGQ",
    "provide-online-tree": "CLGQ",
    "formality-online-payment-tree": "TTTT",
    "dossier-digitized": "MDSH",
    "handling-satisfaction": "MDHL",
}


@pytest.fixture(scope="module")
def province():
    return build_province(SimulationConfig(dossiers_per_year=DOSSIERS_PER_YEAR))


def empty_store(province) -> SourceStore:
    # The portal does not read the export's records: an empty store starts the server fast.
    return SourceStore(province.units, province.procedures, [], [])


def serve(province, faults: FaultConfig | None = None, **options):
    return run_in_thread(
        province,
        faults or FaultConfig(),
        store=empty_store(province),
        client_id=secrets.token_hex(8),
        client_secret=secrets.token_urlsafe(24),
        **options,
    )


@pytest.fixture(scope="module")
def server(province):
    with serve(province) as running:
        yield running


def body(period_type: str, start: date, root: str = "H35", page: int = 1, size: int = 100) -> dict:
    fields = {"timeType": period_type, "year": start.year, "rootDepartmentCode": root}
    if period_type == "quarter":
        fields["quarter"] = (start.month - 1) // 3 + 1
    if period_type == "month":
        fields["month"] = start.month
    return dict(fields, currentPage=page, pageSize=size)


def post(server, call: str, fields: dict) -> requests.Response:
    return requests.post(f"{server.base_url}{EVALUATION}{call}", json=fields, timeout=60)


def every_row(
    server, call: str, period_type: str, start: date, root: str = "H35", size: int = 100
) -> list[dict]:
    """All rows of one call, page by page, checking totalElements on the way."""
    rows, page, total = [], 1, None
    while True:
        answer = post(server, call, body(period_type, start, root, page, size))
        assert answer.status_code == 200, answer.text
        data = answer.json()["data"]
        key = "evaluation" if call == "service-results" else "content"
        total = data["totalElements"] if total is None else total
        assert data["totalElements"] == total
        if not data[key]:
            break
        assert len(data[key]) <= size
        rows += data[key]
        page += 1
    assert len(rows) == total
    return rows


def valid_subtree(province, root: str, start: date, end: date) -> set[str]:
    """Independently of the portal: the units under ``root`` whose validity overlaps the period."""
    children: dict[str, list[str]] = {}
    for unit in province.units:
        children.setdefault(unit["MaDonViCha"], []).append(unit["MaDonVi"])
    found, stack = set(), [root]
    while stack:
        code = stack.pop()
        found.add(code)
        stack += children.get(code, [])
    by_code = {u["MaDonVi"]: u for u in province.units}
    return {
        c
        for c in found
        if by_code[c]["HieuLucTu"] < end.strftime("%Y%m%d")
        and (by_code[c]["HieuLucDen"] or "99991231") >= start.strftime("%Y%m%d")
    }


# Shapes -----------------------------------------------------------------------------------------


def test_service_results_shape(server, province):
    answer = post(server, "service-results", body(*YEAR_2023, size=100))
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("application/json")
    envelope = answer.json()
    assert set(envelope) > {"data"}  # unknown envelope fields are normal
    data = envelope["data"]
    assert set(data) > {"evaluation", "totalElements"}
    assert data["totalElements"] == len(valid_subtree(province, "H35", date(2023, 1, 1), date(2024, 1, 1)))
    first = data["evaluation"][0]
    assert first["departmentCode"] == "H35"  # the root is included
    for row in data["evaluation"]:
        assert set(row) > {"departmentCode", "departmentName", "totalScore", "groupScores"}
        assert isinstance(row["departmentName"], str)
        assert isinstance(row["totalScore"], float) and round(row["totalScore"], 2) == row["totalScore"]
        assert 0 <= row["totalScore"] <= 86
        assert set(row["groupScores"]) <= set(GROUPS)
        assert all(isinstance(v, float) and round(v, 2) == v for v in row["groupScores"].values())


@pytest.mark.parametrize("path", sorted(SPEC_GROUP))
def test_group_calls_shape(server, path):
    answer = post(server, path, body("quarter", date(2023, 4, 1), "H35.112", size=100))
    assert answer.status_code == 200, answer.text
    data = answer.json()["data"]
    assert set(data) > {"content", "totalElements"}
    assert data["content"][0]["departmentCode"] == "H35.112"
    codes = {code for code, group, _ in ITEMS if group == SPEC_GROUP[path]}
    for row in data["content"]:
        assert isinstance(row["departmentCode"], str) and isinstance(row["metrics"], list)
        for metric in row["metrics"]:
            assert set(metric) > ITEM_FIELDS  # and unknown fields
            assert metric["code"] in codes
            assert 0 <= metric["ratio"] <= 1
            assert 0 <= metric["score"] <= metric["maxScore"]
            assert isinstance(metric["numerator"], int) and isinstance(metric["denominator"], int)


def test_item_numbering(province):
    assert GROUP_PATHS == SPEC_GROUP
    assert {code: indicator for code, _, indicator in ITEMS} == {
        "1.4": "SYNC_RATE",
        "2.1": "ON_TIME_766",
        "3.1": "FULL_ONLINE_SHARE",
        "3.5a": "TTHC_WITH_FEE_DATA",
        "3.5b": "TTHC_PAID_ONLINE",
        "3.6": "ONLINE_PAYMENT",
        "4.1": "E_RESULT",
        "4.2": "COMPONENT_DIGITIZED",
        "4.3": "REUSE",
        "4.4": "CITIZEN_STORE",
        "4.5b": "VNEID",
        "4.6": "E_CERT_COPY",
        "5.2": "PAKN_ON_TIME",
        "5.3": "PAKN_SATISFACTION",
        "5.4": "DOSSIER_SATISFACTION",
    }


def test_unit_names_are_the_portals(server, province):
    rows = {r["departmentCode"]: r for r in every_row(server, "service-results", *YEAR_2023)}
    export = {u["MaDonVi"]: u["TenDonVi"] for u in province.units}
    assert export["H35.112"] == "Ủy ban nhân dân huyện Nậm Nhùn"
    assert rows["H35.112"]["departmentName"] == "UBND huyện Nậm Nhùn"
    assert rows["H35.112.03434"]["departmentName"] != export["H35.112.03434"]
    assert rows["H35.112.03434"]["departmentName"].startswith("UBND ")


# Paging -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("period_type", "start", "root"),
    [
        ("year", date(2023, 1, 1), "H35"),
        ("quarter", date(2024, 1, 1), "H35"),
        ("month", date(2023, 7, 1), "H35.105"),
    ],
)
def test_paging_covers_every_unit_exactly_once(server, province, period_type, start, root):
    expected = valid_subtree(province, root, start, period_end(period_type, start))
    for call in ("service-results", "handling-satisfaction"):
        codes = [row["departmentCode"] for row in every_row(server, call, period_type, start, root, size=7)]
        assert len(codes) == len(set(codes))
        assert set(codes) == expected


def test_a_page_past_the_end_is_empty(server):
    data = post(server, "service-results", body(*YEAR_2023, page=99, size=100)).json()["data"]
    assert data["evaluation"] == [] and data["totalElements"] > 0


def test_a_period_outside_the_span_publishes_nothing(server):
    data = post(server, "service-results", body("year", date(2021, 1, 1))).json()["data"]
    assert data == data | {"evaluation": [], "totalElements": 0}


# Values -----------------------------------------------------------------------------------------


def test_answers_equal_the_python_api(server, province):
    portal = province.portal
    for period_type, start in (YEAR_2023, ("quarter", date(2023, 10, 1)), ("month", date(2024, 6, 1))):
        assert every_row(server, "service-results", period_type, start, "H35.112") == portal.scores(
            period_type, start, "H35.112"
        )
        for path, group in GROUP_PATHS.items():
            assert every_row(server, path, period_type, start, "H35.112") == portal.content(
                group, period_type, start, "H35.112"
            )


def _score(indicator: str, numerator: int, denominator: int) -> Fraction:
    points, threshold = SCORING_766[indicator]
    if denominator == 0:
        return Fraction(points if indicator in NO_PAKN_FULL else 0)
    rate = Fraction(numerator, denominator)
    return (
        points * rate
        if threshold is None
        else min(Fraction(points), points * rate / Fraction(str(threshold)))
    )


def test_items_are_the_indicators_over_the_synchronized_dossiers(province):
    portal, truth = province.portal, province.truth
    synced = province.table.synced == 1
    for unit in ("H35", "H35.112", "H35.112.03434", "H35.S03", "H35.106.P05"):
        for period_type, start in (YEAR_2023, ("month", date(2024, 3, 1))):
            end = period_end(period_type, start)
            scores = []
            for code, _group, indicator in ITEMS:
                item = portal.item(period_type, start, unit, code)
                numerator, denominator = truth.indicator(indicator, unit, start, end, dossiers=synced)
                assert (item["numerator"], item["denominator"]) == (numerator, denominator), (unit, code)
                exact = _score(indicator, numerator, denominator)
                assert abs(Fraction(str(item["score"])) - exact) <= Fraction(1, 200), (unit, code)
                assert item["maxScore"] == SCORING_766[indicator][0]
                if denominator:
                    assert abs(item["ratio"] - numerator / denominator) <= 0.00005
                scores.append(Fraction(str(item["score"])))
            assert Fraction(str(portal.total(period_type, start, unit))) == sum(scores)
            sync = portal.item(period_type, start, unit, "1.4")
            assert sync["numerator"] == sync["denominator"] and sync["score"] == (
                6.0 if sync["denominator"] else 0
            )


# Habits -----------------------------------------------------------------------------------------


def test_missing_groups_and_items_are_absent_not_null(server, province):
    portal = province.portal
    missing_groups = [
        (pt, ps, u, portal.missing_group(pt, ps, u))
        for pt, ps in portal.periods()
        for u in portal.units(pt, ps)
        if portal.missing_group(pt, ps, u)
    ]
    missing_items = [
        (pt, ps, u, portal.missing_item(pt, ps, u))
        for pt, ps in portal.periods()
        for u in portal.units(pt, ps)
        if portal.missing_item(pt, ps, u)
    ]
    pairs = sum(len(portal.units(pt, ps)) for pt, ps in portal.periods())
    assert 0.01 * pairs < len(missing_groups) < 0.06 * pairs
    assert 0.02 * pairs < len(missing_items) < 0.09 * pairs
    assert not [m for m in missing_groups + missing_items if m[2] in ("H35", "H35.112")]

    period_type, start, unit, group = missing_groups[0]
    [row] = [
        r
        for r in every_row(server, "service-results", period_type, start, "H35")
        if r["departmentCode"] == unit
    ]
    assert group not in row["groupScores"] and len(row["groupScores"]) == 5
    # its points still count in the total
    items = [portal.item(period_type, start, unit, code) for code, _, _ in ITEMS]
    assert Fraction(str(row["totalScore"])) == sum(Fraction(str(i["score"])) for i in items)

    period_type, start, unit, item = missing_items[0]
    path = next(p for p, g in GROUP_PATHS.items() if g == dict((c, g) for c, g, _ in ITEMS)[item])
    [row] = [r for r in every_row(server, path, period_type, start, unit) if r["departmentCode"] == unit]
    assert item not in {m["code"] for m in row["metrics"]}
    assert portal.metric(period_type, start, unit, item) is None


def test_unknown_fields_everywhere(server):
    envelope = post(server, "dossier-digitized", body(*YEAR_2023, "H35.112")).json()
    assert set(envelope) - {"data"}
    assert set(envelope["data"]) - {"content", "totalElements"}
    row = envelope["data"]["content"][0]
    assert set(row) - {"departmentCode", "metrics"}
    assert set(row["metrics"][0]) - ITEM_FIELDS


# Errors and faults ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"timeType": "week", "year": 2023, "rootDepartmentCode": "H35"}, "timeType"),
        ({"timeType": "year", "rootDepartmentCode": "H35"}, "year"),
        ({"timeType": "quarter", "year": 2023, "rootDepartmentCode": "H35"}, "quarter"),
        ({"timeType": "month", "year": 2023, "month": 13, "rootDepartmentCode": "H35"}, "month"),
        ({"timeType": "year", "year": 2023}, "rootDepartmentCode"),
        ({"timeType": "year", "year": 2023, "rootDepartmentCode": "H99"}, "rootDepartmentCode"),
        ({"timeType": "year", "year": 2023, "rootDepartmentCode": "H35", "currentPage": 0}, "currentPage"),
        ({"timeType": "year", "year": 2023, "rootDepartmentCode": "H35", "pageSize": 101}, "pageSize"),
        ({"timeType": "year", "year": "2023", "rootDepartmentCode": "H35"}, "year"),
    ],
)
def test_a_bad_body_is_a_400_naming_the_field(server, fields, named):
    answer = post(server, "service-results", fields)
    assert answer.status_code == 400
    assert named in answer.json()["message"]


def test_not_json_and_unknown_group(server):
    answer = requests.post(f"{server.base_url}{EVALUATION}service-results", data=b"{nope", timeout=10)
    assert answer.status_code == 400 and "JSON" in answer.json()["message"]
    assert post(server, "no-such-group", body(*YEAR_2023)).status_code == 404


def test_too_many_requests_has_retry_after(province):
    faults = FaultConfig(portal_too_many_requests_share=1.0, retry_after_s=3)
    with serve(province, faults) as running:
        answer = post(running, "service-results", body(*YEAR_2023))
        assert answer.status_code == 429
        assert answer.headers["Retry-After"] == "3"
        # the export's own data requests do not draw the portal's share
        assert running.fault_plan.draw()[0] is None


def test_server_errors_reuse_the_server_error_share(province):
    with serve(province, FaultConfig(server_error_share=1.0)) as running:
        statuses = {post(running, "transparency", body(*YEAR_2023)).status_code for _ in range(12)}
    assert statuses and statuses <= {500, 502, 503}


def test_cli_options():
    args = parse_args(["--portal-too-many-requests-share", "0.2", "--portal-disagreements", "2"])
    assert (args.portal_too_many_requests_share, args.portal_disagreements) == (0.2, 2)
    args = parse_args(["--portal-disagreement", "H35.105-230301-00001", "--portal-disagreement", "X"])
    assert args.portal_disagreement == ["H35.105-230301-00001", "X"]


# The planted story ------------------------------------------------------------------------------


def test_nam_nhun_published_2023_total_is_below_its_own(server, province):
    [row] = [
        r
        for r in every_row(server, "service-results", *YEAR_2023, "H35.112")
        if r["departmentCode"] == "H35.112"
    ]
    own = province.truth.score_766("H35.112", date(2023, 1, 1), date(2024, 1, 1))
    assert row["totalScore"] < own - 1
    story = province.truth.planted["PORTAL_766"]
    assert story["published_total"] == row["totalScore"] and story["own_total"] == round(own, 2)
    assert story["swapped"] > 0 and story["unsynced_dossiers"] > 0
    # online payment falls most: the unsynchronized dossiers were mostly paid online
    payment = province.portal.metric(*YEAR_2023, "H35.112", "3.6")
    own_numerator, own_denominator = province.truth.indicator(
        "ONLINE_PAYMENT", "H35.112", date(2023, 1, 1), date(2024, 1, 1)
    )
    assert payment["ratio"] < own_numerator / own_denominator - 0.1
    assert story["online_payment"] == {
        "own": (own_numerator, own_denominator),
        "published": (payment["numerator"], payment["denominator"]),
    }


def test_the_story_moves_no_own_figure_of_the_district(province, monkeypatch):
    monkeypatch.setattr(generator, "PORTAL_STORY_SWAP_SHARE", 0.0)
    unplanted = build_province(SimulationConfig(dossiers_per_year=DOSSIERS_PER_YEAR))
    assert unplanted.truth.planted["PORTAL_766"]["swapped"] == 0
    assert (unplanted.table.synced != province.table.synced).sum() == 2 * province.truth.planted[
        "PORTAL_766"
    ]["swapped"]
    for code in ("ON_TIME_FINISHED", "RESULT_DIGITIZED", "ONLINE_PAYMENT", "RANK_766"):
        assert unplanted.truth.planted[code] == province.truth.planted[code]
    periods = [(date(2023, m, 1), period_end("month", date(2023, m, 1))) for m in range(1, 13)]
    periods += [(date(2023, 1, 1), date(2024, 1, 1)), (date(2024, 1, 1), date(2024, 7, 1))]
    for unit in ("H35", "H35.112"):
        for start, end in periods:
            for indicator in SCORING_766:
                assert unplanted.truth.indicator(indicator, unit, start, end) == province.truth.indicator(
                    indicator, unit, start, end
                ), (unit, start, indicator)
    assert unplanted.portal.total(*YEAR_2023, "H35.112") > province.portal.total(*YEAR_2023, "H35.112")


# The planted disagreement -----------------------------------------------------------------------


def test_a_disagreement_changes_exactly_the_items_it_names(province):
    portal = province.make_portal(disagreements=1)
    [disagreement] = portal.disagreements
    assert disagreement.unit_code not in province.truth.descendants("H35.112")
    cells = disagreement.cells()
    assert {item for *_, item in cells} == {"2.1", "5.4"}
    changed = set()
    other_month = date(2023, 1, 1) if disagreement.end_month.month > 6 else date(2023, 12, 1)
    with serve(province, portal=portal) as running:
        for period_type, start in [*disagreement.periods(), ("month", other_month)]:
            for path, group in GROUP_PATHS.items():
                served = every_row(running, path, period_type, start)
                assert len(served) == len(province.portal.units(period_type, start))
                for row in served:
                    base = {
                        m["code"]: m
                        for m in province.portal.metrics(period_type, start, row["departmentCode"], group)
                    }
                    for metric in row["metrics"]:
                        if metric != base[metric["code"]]:
                            changed.add((period_type, start, row["departmentCode"], metric["code"]))
                            assert metric["numerator"] == base[metric["code"]]["numerator"] - 1
                            assert metric["denominator"] == base[metric["code"]]["denominator"]
    published = {c for c in cells if portal.metric(*c) is not None}
    assert changed == published and published
    # the export still says on time: the province's own truth is untouched
    code = disagreement.dossier_code
    assert province.dossier_code(disagreement.dossier_index) == code
    assert province.truth._on_time[disagreement.dossier_index]


def test_a_named_disagreement(province):
    [chosen] = province.make_portal(disagreements=1).disagreements
    named = province.make_portal(codes=[chosen.dossier_code]).disagreements
    assert named == [chosen]
    with pytest.raises(ValueError, match="no such dossier"):
        province.make_portal(codes=["H35-000000-00000"])
