"""The suites as loaded: every row rule runs the SQL file it names, and every rule file is run by one
rule, so the suite stays the one place that says which rules exist."""

from __future__ import annotations

import json

import pytest

from tthc import EXPECTATIONS_DIR, PROJECT_ROOT
from tthc.quality import suites
from tthc.quality.suites import SuiteDefinitionError, load_suite

SUITE_NAMES = sorted(path.stem for path in EXPECTATIONS_DIR.glob("*.json"))


def test_every_rule_runs_its_file_and_every_rule_file_is_run():
    named: list[str] = []
    for name in SUITE_NAMES:
        for expectation in load_suite(name).definition["expectations"]:
            query_file = expectation["meta"]["query_file"]
            named.append(query_file)
            assert query_file.startswith(f"include/sql/rules/{name}/"), (name, query_file)
            text = (PROJECT_ROOT / query_file).read_text(encoding="utf-8").strip()
            assert expectation["kwargs"]["unexpected_rows_query"] == text.removesuffix(";").rstrip()
    on_disk = sorted(
        str(path.relative_to(PROJECT_ROOT)) for path in (PROJECT_ROOT / "include/sql/rules").rglob("*.sql")
    )
    assert sorted(named) == on_disk


def test_the_suites_in_the_repository_hold_no_inline_query():
    for name in SUITE_NAMES:
        definition = json.loads((EXPECTATIONS_DIR / f"{name}.json").read_text(encoding="utf-8"))
        assert all("unexpected_rows_query" not in e.get("kwargs", {}) for e in definition["expectations"]), (
            name
        )


def _suite_file(tmp_path, monkeypatch, expectation: dict) -> None:
    monkeypatch.setattr(suites, "EXPECTATIONS_DIR", tmp_path)
    (tmp_path / "thing.staging.json").write_text(
        json.dumps(
            {
                "name": "thing.staging",
                "meta": {"entity": "thing", "table": "staging.thing"},
                "expectations": [{"type": "unexpected_rows_expectation", **expectation}],
            }
        ),
        encoding="utf-8",
    )


def test_a_rule_whose_file_is_missing_names_the_suite_and_the_rule(tmp_path, monkeypatch):
    _suite_file(
        tmp_path,
        monkeypatch,
        {"meta": {"rule": "thing_known", "query_file": "include/sql/rules/nowhere.sql"}},
    )
    with pytest.raises(
        SuiteDefinitionError, match=r"suite thing\.staging: rule thing_known .*include/sql/rules/nowhere\.sql"
    ):
        load_suite.__wrapped__("thing.staging")


def test_a_rule_without_a_file_or_with_an_inline_query_too_is_refused(tmp_path, monkeypatch):
    _suite_file(tmp_path, monkeypatch, {"meta": {"rule": "thing_known"}})
    with pytest.raises(SuiteDefinitionError, match="rule thing_known .*names no meta.query_file"):
        load_suite.__wrapped__("thing.staging")
    _suite_file(
        tmp_path,
        monkeypatch,
        {
            "kwargs": {"unexpected_rows_query": "SELECT 1"},
            "meta": {
                "rule": "thing_known",
                "query_file": "include/sql/rules/dossier.staging/dossier_code_present.sql",
            },
        },
    )
    with pytest.raises(SuiteDefinitionError, match="rule thing_known .*both an inline query"):
        load_suite.__wrapped__("thing.staging")
