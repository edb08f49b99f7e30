"""Great Expectations Data Docs: the stored validation results as static HTML a person can open.

Rendered after the load's transaction, from the SUMMARY results kept in
``quality.validation_result`` (never COMPLETE in the hot path), through an ephemeral GX context
with a filesystem Data Docs site. The site lives in ``TTHC_DATA_DOCS_DIR`` (default
``.airflow/data_docs/`` in the project); each run's page is
``validations/<entity>/<stage>/batch-<id>/<time>/batch-<id>.html`` and its URL (``file://`` by
default, or under ``TTHC_DATA_DOCS_BASE_URL`` when the directory is served) is written back to the
validation result, so alerts can link it. ``TTHC_DATA_DOCS=off`` turns rendering off.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tthc import PROJECT_ROOT

log = logging.getLogger(__name__)
SITE = "tthc"


def docs_dir() -> Path:
    return Path(os.environ.get("TTHC_DATA_DOCS_DIR") or PROJECT_ROOT / ".airflow" / "data_docs").resolve()


def enabled() -> bool:
    return os.environ.get("TTHC_DATA_DOCS", "on").lower() not in {"off", "0", "false", "no"}


@dataclass(frozen=True)
class StoredValidation:
    validation_id: int
    suite: str
    batch_id: int | None
    result_json: dict[str, Any]


def _public_url(file_url: str) -> str:
    base = os.environ.get("TTHC_DATA_DOCS_BASE_URL")
    if not base:
        return file_url
    relative = Path(file_url.removeprefix("file://")).relative_to(docs_dir())
    return base.rstrip("/") + "/" + relative.as_posix()


def render(validations: list[StoredValidation]) -> dict[int, str]:
    """Render the pages of ``validations``; returns validation_id -> URL of its page."""
    if not validations or not enabled():
        return {}
    import great_expectations as gx
    from great_expectations.core.expectation_validation_result import ExpectationSuiteValidationResult
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )

    directory = docs_dir()
    directory.mkdir(parents=True, exist_ok=True)
    context = gx.get_context(mode="ephemeral")
    context.add_data_docs_site(
        SITE,
        {
            "class_name": "SiteBuilder",
            "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(directory)},
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        },
    )
    identifiers = {}
    run_time = datetime.now(UTC)
    for validation in validations:
        tag = (
            f"batch-{validation.batch_id}"
            if validation.batch_id is not None
            else f"run-{validation.validation_id}"
        )
        identifier = ValidationResultIdentifier(
            expectation_suite_identifier=ExpectationSuiteIdentifier(name=validation.suite),
            run_id=RunIdentifier(run_name=tag, run_time=run_time),
            batch_identifier=tag,
        )
        context.validation_results_store.set(
            identifier, ExpectationSuiteValidationResult(**validation.result_json)
        )
        identifiers[validation.validation_id] = identifier
    with contextlib.redirect_stdout(io.StringIO()):
        context.build_data_docs(site_names=[SITE], resource_identifiers=list(identifiers.values()))
    urls = {}
    for validation_id, identifier in identifiers.items():
        sites = context.get_docs_sites_urls(resource_identifier=identifier, site_name=SITE)
        if sites and sites[0].get("site_url"):
            urls[validation_id] = _public_url(sites[0]["site_url"])
    log.info("Data Docs: %s", ", ".join(urls.values()))
    return urls


def render_stored(conn, validation_ids: list[int]) -> dict[int, str]:
    """Render stored results and write each page's URL back to ``quality.validation_result``.
    A rendering failure is logged, never raised: the docs are a view, the results are the record."""
    if not validation_ids or not enabled():
        return {}
    rows = conn.execute(
        "SELECT validation_id, suite, batch_id, results FROM quality.validation_result WHERE validation_id = ANY(%s)",
        (validation_ids,),
    ).fetchall()
    try:
        urls = render([StoredValidation(*row) for row in rows])
    except Exception:
        log.exception("rendering Data Docs failed (the results are in quality.validation_result)")
        return {}
    for validation_id, url in urls.items():
        conn.execute(
            "UPDATE quality.validation_result SET data_docs_url = %s WHERE validation_id = %s",
            (url, validation_id),
        )
    conn.commit()
    return urls
