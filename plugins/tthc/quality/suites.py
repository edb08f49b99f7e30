"""Great Expectations suites, read from the JSON files a data engineer edits in ``expectations/``.

One suite per entity and stage: ``<entity>.raw`` (record shape, on ``raw.record`` of the batch),
``<entity>.staging`` (typed record rules), ``<entity>.core`` (invariants of what the batch merged)
and ``mart`` (invariants of the indicators).

Row-level rules are ``unexpected_rows_expectation`` entries with ``meta.rule``: GX runs them for the
verdict that is stored and rendered, and the loader runs the very same query to fill
``quality.quarantine`` (``meta.quarantine``) or ``quality.warning`` (``meta.warning``). One
definition decides both. A rule's query is the SQL file its ``meta.query_file`` names (a path from
the repository's root, ``include/sql/rules/<suite>/<rule>.sql``), read into the expectation's
``unexpected_rows_query`` when the suite is loaded, so the query is formatted and linted as SQL.

Placeholders in a query: ``{batch}`` is the rows under validation (the staged table, or for a suite
with ``meta.batch_scope`` the suite's table restricted to the batch), ``{batch_id}`` the batch id,
``{sql:<file>}`` a SELECT file of ``include/sql/`` (so a check written as SQL elsewhere is one
definition too).

Every rule by name, suite and stage: docs/quality-rules.md.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from typing import Any

from tthc import EXPECTATIONS_DIR, PROJECT_ROOT, SQL_DIR


class SuiteDefinitionError(ValueError):
    """A suite that cannot be loaded as written (a rule without its query file, say)."""


@dataclass(frozen=True)
class RecordRule:
    name: str
    description: str
    unexpected_rows_query: str
    check_id: str = ""  # "<suite>:<index of the expectation>"
    kind: str = "quarantine"  # or "warning"

    def query_for(self, table: str, batch_id: int | None = None) -> str:
        """The rule's query with ``{batch}`` bound to ``table`` (a table name or a subquery)."""
        query = self.unexpected_rows_query.replace("{batch}", table)
        if batch_id is not None:
            query = query.replace("{batch_id}", str(int(batch_id)))
        return query


@dataclass(frozen=True)
class Suite:
    name: str
    entity: str
    stage: str
    table: str
    definition: dict[str, Any]

    @property
    def batch_scope(self) -> str | None:
        return self.definition.get("meta", {}).get("batch_scope")

    def relation(self, batch_id: int | None = None) -> str:
        """What ``{batch}`` stands for: the table, or its rows of one batch."""
        if self.batch_scope and batch_id is not None:
            return f"(SELECT * FROM {self.table} WHERE {self.batch_scope} = {int(batch_id)})"
        return self.table

    def bind(self, query: str, batch_id: int | None = None) -> str:
        bound = _inline_sql_files(query).replace("{batch}", self.relation(batch_id))
        if batch_id is not None:
            bound = bound.replace("{batch_id}", str(int(batch_id)))
        return bound

    def _rules(self, flag: str) -> list[RecordRule]:
        return [
            RecordRule(
                name=expectation["meta"]["rule"],
                description=expectation.get("description", ""),
                unexpected_rows_query=expectation["kwargs"]["unexpected_rows_query"],
                check_id=f"{self.name}:{index}",
                kind=flag,
            )
            for index, expectation in enumerate(self.definition["expectations"])
            if expectation["type"] == "unexpected_rows_expectation" and expectation.get("meta", {}).get(flag)
        ]

    @property
    def hit_rules(self) -> list[RecordRule]:
        """Every rule whose rows are kept (quarantine and warning), in suite order."""
        return sorted(self.record_rules + self.warning_rules, key=lambda r: int(r.check_id.rsplit(":", 1)[1]))

    @property
    def record_rules(self) -> list[RecordRule]:
        """Rules whose breakers are quarantined."""
        return self._rules("quarantine")

    @property
    def warning_rules(self) -> list[RecordRule]:
        """Rules whose breakers are loaded, and kept in ``quality.warning``."""
        return self._rules("warning")


_SQL_FILE = re.compile(r"\{sql:([A-Za-z0-9_./-]+\.sql)\}")


def _inline_sql_files(query: str) -> str:
    """``{sql:marts/invariants.sql}`` -> that file of include/sql/ (a SELECT, its last ';' dropped)."""

    def inline(match: re.Match) -> str:
        return (SQL_DIR / match.group(1)).read_text(encoding="utf-8").strip().rstrip(";")

    return _SQL_FILE.sub(inline, query)


def _with_rule_queries(suite_name: str, definition: dict[str, Any]) -> dict[str, Any]:
    """The definition with each row rule's ``meta.query_file`` read into its query (a SELECT, its
    last ';' dropped, since GX and the loader wrap the query in a subquery)."""
    expectations = []
    for index, expectation in enumerate(definition["expectations"]):
        if expectation["type"] == "unexpected_rows_expectation":
            meta = expectation.get("meta", {})
            rule = f"rule {meta.get('rule', '(unnamed)')} (expectation {index})"
            query_file = meta.get("query_file")
            if not query_file:
                raise SuiteDefinitionError(f"suite {suite_name}: {rule} names no meta.query_file")
            if "unexpected_rows_query" in expectation.get("kwargs", {}):
                raise SuiteDefinitionError(
                    f"suite {suite_name}: {rule} has both an inline query and "
                    f"meta.query_file {query_file}; the file is the one definition"
                )
            path = PROJECT_ROOT / query_file
            if not path.is_file():
                raise SuiteDefinitionError(
                    f"suite {suite_name}: {rule} runs {query_file}, which does not exist"
                )
            query = path.read_text(encoding="utf-8").strip().removesuffix(";").rstrip()
            expectation = {
                **expectation,
                "kwargs": {**expectation.get("kwargs", {}), "unexpected_rows_query": query},
            }
        expectations.append(expectation)
    return {**definition, "expectations": expectations}


@cache
def load_suite(name: str) -> Suite:
    path = EXPECTATIONS_DIR / f"{name}.json"
    definition = _with_rule_queries(name, json.loads(path.read_text(encoding="utf-8")))
    meta = definition.get("meta", {})
    return Suite(
        name=definition["name"],
        entity=meta["entity"],
        stage=meta.get("stage", name.split(".")[-1]),
        table=meta["table"],
        definition=definition,
    )


def find_suite(name: str) -> Suite | None:
    """The suite ``name`` if its file exists (not every entity has every stage)."""
    return load_suite(name) if (EXPECTATIONS_DIR / f"{name}.json").is_file() else None
