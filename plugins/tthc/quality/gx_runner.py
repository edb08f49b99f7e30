"""Run a suite with Great Expectations Core against the warehouse, from our own task code.

The context is ephemeral and built from the suite's JSON at run time, so workers write no GX state;
the results are kept in ``quality.validation_result`` instead.

Severity: GX Core 1.24 keeps each expectation's ``severity`` ("critical", "warning", "info") but
its suite verdict ignores it: ``ExpectationSuiteValidationResult.success`` is "every expectation
succeeded" (``great_expectations/validator/validation_statistics.py``, used by
``validator/v1_validator.py``), and Data Docs renders that verdict. Severity is only read by
``ExpectationSuiteValidationResult.get_max_severity_failure()`` (and the checkpoint actions'
``notify_on``). So the verdict is ours, from that method: a batch fails on a critical finding
only, and one whose only findings are warnings has passed with warnings (see
"Severity: warnings do not fail a batch" in docs/quality-rules.md).
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


PASSED = "passed"
PASSED_WITH_WARNINGS = "passed_with_warnings"
FAILED = "failed"
STATUSES = (PASSED, PASSED_WITH_WARNINGS, FAILED)


@dataclass(frozen=True)
class ExpectationOutcome:
    rule: str | None
    expectation_type: str
    success: bool
    unexpected_count: int | None
    warning: bool = False
    severity: str = "critical"


@dataclass(frozen=True)
class Validation:
    """One suite run. ``success`` means "no critical finding" (what GX's result and Data Docs
    say too); ``status`` tells a clean run (``passed``) from one whose only findings are warnings
    (``passed_with_warnings``) and from a ``failed`` one."""

    suite: str
    success: bool
    outcomes: list[ExpectationOutcome]
    statistics: dict[str, Any]
    result_json: dict[str, Any]
    stage: str | None = None
    status: str = PASSED

    def __post_init__(self) -> None:
        # As quality.validation_result's CHECKs say: success = (status <> 'failed').
        if self.status not in STATUSES or self.success != (self.status != FAILED):
            raise ValueError(f"suite {self.suite}: success={self.success} contradicts status {self.status!r}")

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
        severity = _severity(item)
        outcomes.append(
            ExpectationOutcome(
                rule=(config.meta or {}).get("rule"),
                expectation_type=config.type,
                success=bool(item.success),
                unexpected_count=observed
                if isinstance(observed, int)
                else item.result.get("unexpected_count"),
                warning=severity != "critical",
                severity=severity,
            )
        )
    status = suite_status(result)
    # GX's own verdict counts warnings as failures; ours is what Data Docs shows (and what is kept).
    result.success = status != FAILED
    validation = Validation(
        suite=suite.name,
        success=result.success,
        outcomes=outcomes,
        statistics=dict(result.statistics),
        result_json=result.to_json_dict(),
        stage=suite.stage,
        status=status,
    )
    log.info(
        "suite %s on %s: %s, failing=%s warnings=%s",
        suite.name,
        suite.relation(batch_id),
        validation.status,
        validation.failing_rules(),
        validation.warning_counts(),
    )
    return validation


def _raised(item) -> bool:
    """Whether the expectation could not be evaluated (its query failed): GX keeps that as
    ``exception_info``, flat or keyed by metric."""
    info = item.exception_info or {}
    if "raised_exception" in info:
        return bool(info["raised_exception"])
    return any(isinstance(v, dict) and v.get("raised_exception") for v in info.values())


def _severity(item) -> str:
    """The expectation's severity as it counts here: an expectation that raised is critical
    whatever its configuration (it was not checked at all)."""
    if _raised(item):
        return "critical"
    return str(getattr(item.expectation_config.severity, "value", item.expectation_config.severity))


def suite_status(result) -> str:
    """``passed``, ``passed_with_warnings`` or ``failed`` for a GX suite result, from its failed
    expectations' severities (``get_max_severity_failure``); an expectation that raised fails it."""
    from great_expectations.expectations.metadata_types import FailureSeverity

    if any(not item.success and _raised(item) for item in result.results):
        return FAILED
    worst = result.get_max_severity_failure()
    if worst is None:
        return PASSED
    return FAILED if worst == FailureSeverity.CRITICAL else PASSED_WITH_WARNINGS


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
        entry["severity"] = _configured_severity(suite.name, entry)
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


def _configured_severity(suite_name: str, expectation: dict[str, Any]) -> str:
    """A warning rule (``meta.warning``: its rows load) is of severity "warning" (or "info"), any
    other expectation "critical"; a missing severity follows the rule's kind, a contradicting one
    is an error naming the suite and the rule."""
    meta = expectation.get("meta") or {}
    expected = "warning" if meta.get("warning") else "critical"
    severity = expectation.get("severity") or expected
    if (severity == "critical") != (expected == "critical"):
        raise ValueError(
            f"suite {suite_name}, rule {meta.get('rule') or expectation['type']}: severity {severity!r} "
            f"contradicts its meta ({'warning' if meta.get('warning') else 'quarantine or invariant'}); "
            "a warning rule has severity 'warning' or 'info', any other 'critical'"
        )
    return severity
