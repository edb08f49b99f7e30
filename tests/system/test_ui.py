"""The Airflow UI in a real browser (headless Chromium through Playwright), against the stack's
api-server after the pipeline ran: log in through the simple auth manager's form, find the
project's DAGs and their docs, open a finished run; screenshots go to output/screenshots/."""

from __future__ import annotations

import re
import shutil
import tempfile
from urllib.parse import quote

import pytest

pytestmark = [pytest.mark.system, pytest.mark.timeout(900)]

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 30_000


@pytest.fixture(scope="module")
def browser_page(stack, pipeline):
    playwright_api = pytest.importorskip("playwright.sync_api")
    assert shutil.which(CHROMIUM), f"no {CHROMIUM}: install the Debian packages chromium and chromium-driver"
    profile = tempfile.mkdtemp(prefix="tthc-chromium-")
    with playwright_api.sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            profile,
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1440, "height": 1000},
        )
        context.set_default_timeout(TIMEOUT_MS)
        page = context.new_page()
        try:
            yield page
        finally:
            context.close()
            shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="module")
def logged_in(browser_page, stack, screenshot_dir):
    page = browser_page
    page.goto(f"{stack.base_url}/")
    page.wait_for_url(re.compile(r".*/auth/login.*"))
    page.fill("input[name=username]", stack.username)
    page.fill("input[name=password]", stack.password)
    page.screenshot(path=str(screenshot_dir / "01_login.png"))
    page.click("button[type=submit]")
    page.wait_for_url(f"{stack.base_url}/")
    page.get_by_text("MetaDatabase").wait_for()  # the health panel has loaded, not only its skeleton
    page.get_by_text("Active Dags").wait_for()
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(screenshot_dir / "02_home.png"), full_page=True)
    return page


def test_login_through_the_form_lands_on_the_home_page(logged_in, stack):
    assert "/auth/login" not in logged_in.url
    assert logged_in.get_by_text("MetaDatabase").is_visible()


def test_no_dag_import_errors_in_the_ui_or_the_api(logged_in, stack):
    assert stack.import_errors() == []
    body = logged_in.inner_text("body")
    assert not re.search(r"import error", body, re.IGNORECASE), "the UI shows DAG import errors"


def test_the_project_dags_are_listed(logged_in, stack, screenshot_dir):
    page = logged_in
    page.goto(f"{stack.base_url}/dags")
    for dag_id in ("tthc_reference", "tthc_dossiers", "tthc_indicators"):
        page.get_by_role("link", name=dag_id).first.wait_for()
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(screenshot_dir / "03_dags.png"), full_page=True)
    listed = set(re.findall(r"\btthc_[a-z_]+\b", page.inner_text("body")))
    assert {"tthc_reference", "tthc_dossiers", "tthc_indicators", "tthc_feedback"} <= listed


def _doc_heading(doc_md: str) -> str:
    first = next(line for line in doc_md.splitlines() if line.strip())
    return re.split(r"[`*_]", first.lstrip("# ").strip())[0].strip()


def test_every_project_dag_shows_its_docs(logged_in, stack, screenshot_dir):
    page = logged_in
    dag_ids = sorted(
        d["dag_id"]
        for d in stack.api("GET", "/dags", params={"limit": 100})["dags"]
        if d["dag_id"].startswith("tthc_")
    )
    assert len(dag_ids) >= 4
    for dag_id in dag_ids:
        doc_md = stack.api("GET", f"/dags/{dag_id}/details")["doc_md"]
        assert doc_md and len(doc_md) > 100, dag_id
        page.goto(f"{stack.base_url}/dags/{dag_id}")
        page.get_by_role("button", name="Dag Docs").click()
        dialog = page.get_by_role("dialog")
        dialog.get_by_text(_doc_heading(doc_md)).first.wait_for()
        if dag_id == "tthc_dossiers":
            text = dialog.inner_text()
            assert "Backfill / any window" in text and "quality.quarantine" in text
            page.screenshot(path=str(screenshot_dir / "04_dag_docs.png"))
        page.keyboard.press("Escape")
        dialog.wait_for(state="hidden")


def test_a_finished_run_opens_with_its_tasks(logged_in, stack, pipeline, screenshot_dir):
    page = logged_in
    run_id = pipeline.runs["tthc_dossiers"][0]
    page.goto(f"{stack.base_url}/dags/tthc_dossiers/runs/{quote(run_id, safe='')}")
    page.get_by_text("load_dossiers").first.wait_for()
    page.get_by_text(re.compile("success", re.IGNORECASE)).first.wait_for()
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(screenshot_dir / "05_dossiers_run.png"), full_page=True)
    body = page.inner_text("body")
    for task in ("migrate_warehouse", "extract_dossiers", "load_dossiers"):
        assert task in body
    assert run_id in body or run_id.split("__")[-1][:16] in body
