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
    warning: bool = False


@dataclass(frozen=True)
class Validation:
    suite: str
    success: bool
    outcomes: list[ExpectationOutcome]
    statistics: dict[str, Any]
    result_json: dict[str, Any]
    stage: str | None = None

    def failing_rules(self) -> dict[str, int]:
        """Rules that found rows (warnings excluded), with their counts; a rule name may stand for
        several expectations (``record_shape``), whose counts add up."""
        failing: dict[str, int] = {}
        for o in self.outcomes:
            if not o.success and not o.warning:
                name = o.rule or o.expectation_type
                failing[name] = failing.get(name, 0) + (o.unexpected_count or 0)
        return failing

    def warning_counts(self) -> dict[str, int]:
        return {
            o.rule or o.expectation_type: o.unexpected_count or 0
            for o in self.outcomes
            if o.warning and not o.success
        }


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
        query=({"host": host} if socket_dir else {})
        | ({"options": params["options"]} if params.get("options") else {}),
    )
    return url.render_as_string(hide_password=False)


def validate_table(suite: Suite, conninfo: str, batch_id: int | None = None) -> Validation:
    """Validate ``suite`` on the warehouse: the staged table (which holds exactly the batch being
    loaded), or, for a suite with ``meta.batch_scope``, its table's rows of ``batch_id``."""
    import great_expectations as gx
    from great_expectations.core.expectation_suite import ExpectationSuite

    context = gx.get_context(mode="ephemeral")
    datasource = context.data_sources.add_postgres(
        name="warehouse", connection_string=sqlalchemy_url(conninfo)
    )
    schema, table = suite.table.split(".")
    asset = datasource.add_table_asset(name=suite.table, table_name=table, schema_name=schema)
    batch_definition = asset.add_batch_definition_whole_table("batch")
    # GX prints a warning for every query without a {batch} placeholder; ours are bound on purpose.
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        gx_suite = context.suites.add(ExpectationSuite(**_suite_kwargs(suite, batch_id)))
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
                unexpected_count=observed
                if isinstance(observed, int)
                else item.result.get("unexpected_count"),
                warning=bool((config.meta or {}).get("warning")),
            )
        )
    validation = Validation(
        suite=suite.name,
        success=bool(result.success),
        outcomes=outcomes,
        statistics=dict(result.statistics),
        result_json=result.to_json_dict(),
        stage=suite.stage,
    )
    log.info(
        "suite %s on %s: success=%s failing=%s",
        suite.name,
        suite.relation(batch_id),
        validation.success,
        validation.failing_rules(),
    )
    return validation


def _suite_kwargs(suite: Suite, batch_id: int | None = None) -> dict[str, Any]:
    """The suite as GX takes it, with ``{batch}`` (and ``{batch_id}``) already bound.

    GX aliases ``{batch}`` one way for queries with a JOIN and another way without; our rules
    alias the batch themselves, so binding it here keeps one query text for GX and for the
    quarantine.
    """
    definition = suite.definition
    expectations = []
    for index, expectation in enumerate(definition["expectations"]):
        entry = {
            key: value
            for key, value in expectation.items()
            if key in {"type", "kwargs", "meta", "description", "severity"}
        }
        if entry["type"] == "unexpected_rows_expectation":
            meta = entry.get("meta", {})
            if batch_id is not None and (meta.get("quarantine") or meta.get("warning")):
                # The rule's rows were computed once into staging.rule_hit; GX reads its verdict there.
                query = (
                    f"SELECT ordinal, record_key, detail FROM staging.rule_hit "
                    f"WHERE batch_id = {int(batch_id)} AND check_id = '{suite.name}:{index}'"
                )
            else:
                query = suite.bind(entry["kwargs"]["unexpected_rows_query"], batch_id)
            entry["kwargs"] = {**entry["kwargs"], "unexpected_rows_query": query}
        expectations.append(entry)
    return {"name": definition["name"], "meta": definition.get("meta", {}), "expectations": expectations}
