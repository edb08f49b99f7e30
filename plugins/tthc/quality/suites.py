"""Great Expectations suites, read from the JSON files a data engineer edits in ``expectations/``.

A suite's record rules are ``unexpected_rows_expectation`` entries with ``meta.rule``: GX runs them
for the verdict that is stored and rendered, and the loader runs the very same query to fill
``quality.quarantine``. One definition decides both.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from typing import Any

from tthc import EXPECTATIONS_DIR


@dataclass(frozen=True)
class RecordRule:
    name: str
    description: str
    unexpected_rows_query: str

    def query_for(self, table: str) -> str:
        """The rule's query against ``table``, as GX substitutes ``{batch}`` for a table asset."""
        return self.unexpected_rows_query.replace("{batch}", table)


@dataclass(frozen=True)
class Suite:
    name: str
    entity: str
    table: str
    definition: dict[str, Any]

    @property
    def record_rules(self) -> list[RecordRule]:
        return [
            RecordRule(
                name=expectation["meta"]["rule"],
                description=expectation.get("description", ""),
                unexpected_rows_query=expectation["kwargs"]["unexpected_rows_query"],
            )
            for expectation in self.definition["expectations"]
            if expectation["type"] == "unexpected_rows_expectation" and expectation.get("meta", {}).get("quarantine")
        ]


@cache
def load_suite(name: str) -> Suite:
    path = EXPECTATIONS_DIR / f"{name}.json"
    definition = json.loads(path.read_text(encoding="utf-8"))
    meta = definition.get("meta", {})
    return Suite(name=definition["name"], entity=meta["entity"], table=meta["table"], definition=definition)
