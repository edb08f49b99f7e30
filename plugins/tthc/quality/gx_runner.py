"""Run a suite with Great Expectations Core against the warehouse, from our own task code.

The context is ephemeral and built from the suite's JSON at run time, so workers write no GX state;
the results are kept in ``quality.validation_result`` instead.
"""

from __future__ import annotations

import contextlib
import io
import logging
from dataclasses import dataclass
from typing import Any

import psycopg
from sqlalchemy.engine import URL

from tthc.quality.suites import Suite

log = logging.getLogger(__name__)
# GX logs every expectation it builds at INFO; only its warnings belong in a task log.
logging.getLogger("great_expectations").setLevel(logging.WARNING)


@dataclass(frozen=True)
class ExpectationOutcome:
    rule: str | None
    expectation_type: str
    success: bool
    unexpected_count: int | None


@dataclass(frozen=True)
class Validation:
    suite: str
    success: bool
    outcomes: list[ExpectationOutcome]
    statistics: dict[str, Any]
    result_json: dict[str, Any]

    def failing_rules(self) -> dict[str, int]:
        return {o.rule or o.expectation_type: o.unexpected_count or 0 for o in self.outcomes if not o.success}


def sqlalchemy_url(conninfo: str) -> str:
    params = psycopg.conninfo.conninfo_to_dict(conninfo)
    host = str(params.get("host") or "127.0.0.1")
    socket_dir = host.startswith("/")
    url = URL.create(
        "postgresql+psycopg",
        username=params.get("user"),
        password=params.get("password"),
        host=None if socket_dir else host,
        port=None if socket_dir else int(params.get("port") or 5432),
        database=params.get("dbname"),
        query={"host": host} if socket_dir else {},
    )
    return url.render_as_string(hide_password=False)


def validate_table(suite: Suite, conninfo: str) -> Validation:
    """Validate ``suite.table`` (which holds exactly the batch being loaded) with ``suite``."""
    import great_expectations as gx
    from great_expectations.core.expectation_suite import ExpectationSuite

    context = gx.get_context(mode="ephemeral")
    datasource = context.data_sources.add_postgres(name="warehouse", connection_string=sqlalchemy_url(conninfo))
    schema, table = suite.table.split(".")
    asset = datasource.add_table_asset(name=suite.table, table_name=table, schema_name=schema)
    batch_definition = asset.add_batch_definition_whole_table("batch")
    # GX prints a warning for every query without a {batch} placeholder; ours are bound on purpose.
    with contextlib.redirect_stdout(io.StringIO()):
        gx_suite = context.suites.add(ExpectationSuite(**_suite_kwargs(suite)))
        result = batch_definition.get_batch().validate(gx_suite, result_format="SUMMARY")

    outcomes = []
    for item in result.results:
        config = item.expectation_config
        observed = item.result.get("observed_value")
        outcomes.append(
            ExpectationOutcome(
                rule=(config.meta or {}).get("rule"),
                expectation_type=config.type,
                success=bool(item.success),
                unexpected_count=observed if isinstance(observed, int) else item.result.get("unexpected_count"),
            )
        )
    validation = Validation(
        suite=suite.name,
        success=bool(result.success),
        outcomes=outcomes,
        statistics=dict(result.statistics),
        result_json=result.to_json_dict(),
    )
    log.info("suite %s on %s: success=%s failing=%s", suite.name, suite.table, validation.success,
             validation.failing_rules())
    return validation


def _suite_kwargs(suite: Suite) -> dict[str, Any]:
    """The suite as GX takes it, with ``{batch}`` already bound to the staged table.

    GX aliases ``{batch}`` one way for queries with a JOIN and another way without; our rules
    alias the batch themselves, so binding it here keeps one query text for GX and for the
    quarantine (the staged table holds exactly the batch under validation).
    """
    definition = suite.definition
    expectations = []
    for expectation in definition["expectations"]:
        entry = {key: value for key, value in expectation.items() if key in {"type", "kwargs", "meta", "description"}}
        if entry["type"] == "unexpected_rows_expectation":
            query = entry["kwargs"]["unexpected_rows_query"].replace("{batch}", suite.table)
            entry["kwargs"] = {**entry["kwargs"], "unexpected_rows_query": query}
        expectations.append(entry)
    return {"name": definition["name"], "meta": definition.get("meta", {}), "expectations": expectations}
