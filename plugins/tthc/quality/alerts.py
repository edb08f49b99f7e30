"""Alerts that reach people: e-mail through the Airflow SMTP connection ``smtp_default`` and a JSON
webhook (Slack-compatible ``{"text": ...}``) through the HTTP connection ``tthc_alert_webhook``.

Either channel may be left unconfigured: it is skipped, without error. A configured channel that
fails is logged, never raised: an alert must not hide the failure it reports.

- ``send_alert(subject, body_lines, ...)``: for any caller (batch rules, freshness, mart checks, the
  reconciliation).
- ``FailureNotifier``: an Airflow notifier for ``on_failure_callback``. Airflow calls it once,
  after the last retry (``on_retry_callback`` is left unset on purpose: one failure, one alert).
- ``smtp_session``, ``mail_sender``, ``post_webhook_text``: the one SMTP and webhook client, also
  used by the daily digests (``tthc.digest``).

SMTP connection: host, port, login/password; extra ``from_email``, ``to`` (comma-separated),
``disable_tls``, ``disable_ssl`` (the smtp provider's names). Recipients: env
``TTHC_ALERT_EMAIL_TO``, else extra ``to``, else ``alerts.email_to`` of the thresholds file.
Webhook connection: ``schema://host:port`` plus extra ``endpoint`` (path), or the whole URL in
``host``; extra ``headers`` (dict) is sent as is.

When an alert goes out and what it says: docs/quality-rules.md ("Alerts").
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import smtplib
import ssl
import urllib.request
from collections.abc import Iterator, Sequence
from email.message import EmailMessage
from typing import Any

from tthc.settings import SMTP_CONN_ID, WEBHOOK_CONN_ID, ConnectionFields, get_connection, quality_thresholds

log = logging.getLogger(__name__)


try:  # a rejected batch or a broken invariant is not fixed by retrying the task
    from airflow.sdk.exceptions import AirflowFailException as _FailWithoutRetry
except ImportError:  # pragma: no cover - outside Airflow
    _FailWithoutRetry = RuntimeError


class AlertingError(_FailWithoutRetry):
    """A failure that retrying would not change, and that says in its alert what happened: the
    failure notifier sends ``alert_subject`` and ``alert_lines`` instead of a bare traceback."""

    def __init__(self, subject: str, lines: Sequence[str]):
        super().__init__(subject.removeprefix("[tthc] ") + "\n" + "\n".join(lines))
        self.alert_subject = subject
        self.alert_lines = list(lines)

    def __reduce__(self):
        # Rebuilt from its own arguments when it crosses a process boundary (a process pool, the
        # task supervisor); the default would call __init__ with the message alone and fail.
        return (type(self), (self.alert_subject, self.alert_lines))


class BatchRejectedError(AlertingError):
    """A batch rule failed: the batch was stopped before core."""


class CoreInvariantError(AlertingError):
    """What a batch merged breaks an invariant of core (a bug in the merge, not a data defect)."""


class MergeRefusedError(AlertingError):
    """The merge refused the batch because it contradicts what core holds from another source (a
    unit two systems describe differently): people must settle it, a retry would not."""


class MartInvariantError(AlertingError):
    """The mart breaks an invariant after an indicator refresh."""


def _bool(value: Any) -> bool:
    return str(value).lower() in {"1", "true", "yes", "on"}


def _recipients(conn: ConnectionFields) -> list[str]:
    configured = os.environ.get("TTHC_ALERT_EMAIL_TO") or conn.extra.get("to") or ""
    if isinstance(configured, str):
        configured = [part.strip() for part in configured.split(",") if part.strip()]
    if not configured:
        configured = list(quality_thresholds().get("alerts", {}).get("email_to", []))
    return list(configured)


def mail_sender(conn: ConnectionFields) -> str:
    """The From address of mail sent through ``conn``: extra ``from_email``, else the login."""
    return conn.extra.get("from_email") or conn.login or "tthc-pipeline@localhost"


@contextlib.contextmanager
def smtp_session(conn: ConnectionFields) -> Iterator[smtplib.SMTP]:
    """An open, authenticated SMTP session on the connection ``conn`` (its TLS/SSL extras), for
    any mail the pipeline sends: the alerts here, the daily digests (``tthc.digest``)."""
    timeout = float(conn.extra.get("timeout", 30))
    use_ssl = not _bool(conn.extra.get("disable_ssl", True)) and conn.port == 465
    host, port = conn.host or "localhost", conn.port or (465 if use_ssl else 25)
    client_class = smtplib.SMTP_SSL if use_ssl else smtplib.SMTP
    with client_class(host, port, timeout=timeout) as client:
        if not use_ssl and not _bool(conn.extra.get("disable_tls", False)):
            client.ehlo()
            if client.has_extn("starttls"):
                client.starttls(context=ssl.create_default_context())
        if conn.login and conn.password:
            client.login(conn.login, conn.password)
        yield client


def _send_email(conn: ConnectionFields, subject: str, text: str) -> bool:
    to = _recipients(conn)
    if not to:
        log.warning(
            "connection %s has no recipients (extra.to / TTHC_ALERT_EMAIL_TO): e-mail skipped", conn.conn_id
        )
        return False
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = mail_sender(conn)
    message["To"] = ", ".join(to)
    message.set_content(text)
    with smtp_session(conn) as client:
        client.send_message(message)
    return True


def _webhook_url(conn: ConnectionFields) -> str:
    host = conn.host or ""
    if "://" in host:
        base = host
    else:
        base = f"{conn.schema or 'https'}://{host}" + (f":{conn.port}" if conn.port else "")
    endpoint = conn.extra.get("endpoint", "")
    return base.rstrip("/") + ("/" + endpoint.lstrip("/") if endpoint else "")


def post_webhook_text(conn: ConnectionFields, text: str) -> bool:
    """POST ``{"text": text}`` (Slack-compatible) to the webhook of ``conn``; True on a 2xx."""
    body = json.dumps({"text": text}, ensure_ascii=False).encode()
    headers = {"Content-Type": "application/json", **conn.extra.get("headers", {})}
    request = urllib.request.Request(_webhook_url(conn), data=body, headers=headers, method="POST")
    with urllib.request.urlopen(request, timeout=float(conn.extra.get("timeout", 30))) as response:
        return 200 <= response.status < 300


def _send_webhook(conn: ConnectionFields, subject: str, text: str) -> bool:
    return post_webhook_text(conn, f"*{subject}*\n{text}")


def send_alert(
    subject: str,
    body_lines: Sequence[str],
    *,
    smtp_conn_id: str = SMTP_CONN_ID,
    webhook_conn_id: str = WEBHOOK_CONN_ID,
) -> dict[str, bool | None]:
    """Send one alert on every configured channel. Returns channel -> True (sent), False (failed)
    or None (not configured)."""
    text = "\n".join(str(line) for line in body_lines)
    outcome: dict[str, bool | None] = {}
    for channel, conn_id, send in (
        ("email", smtp_conn_id, _send_email),
        ("webhook", webhook_conn_id, _send_webhook),
    ):
        try:
            conn = get_connection(conn_id, required=False)
        except Exception:
            log.exception("alert channel %s: connection %s is malformed", channel, conn_id)
            outcome[channel] = False
            continue
        if conn is None or not conn.host:
            log.info("alert channel %s: connection %s not configured, skipped", channel, conn_id)
            outcome[channel] = None
            continue
        try:
            outcome[channel] = send(conn, subject, text)
        except Exception:
            log.exception("alert channel %s (%s) failed", channel, conn_id)
            outcome[channel] = False
    log.info("alert %r: %s", subject, outcome)
    return outcome


# Airflow ---------------------------------------------------------------------------------------


def _log_location(context: dict) -> list[str]:
    ti = context.get("ti") or context.get("task_instance")
    lines = []
    with contextlib.suppress(Exception):  # the URL needs [api] base_url; the path below is always there
        lines.append(f"Task log: {ti.log_url}")
    home = os.environ.get("AIRFLOW_HOME", "~/airflow")
    map_part = f"map_index={ti.map_index}/" if getattr(ti, "map_index", -1) not in (-1, None) else ""
    lines.append(
        f"Log file: {home}/logs/dag_id={ti.dag_id}/run_id={ti.run_id}/task_id={ti.task_id}/{map_part}"
        f"attempt={ti.try_number}.log"
    )
    return lines


def failure_message(context: dict) -> tuple[str, list[str]]:
    ti = context.get("ti") or context.get("task_instance")
    exception = context.get("exception")
    params = context.get("params") or {}
    window = (
        f"{params.get('start')} .. {params.get('end')}"
        if params.get("start")
        else f"{context.get('data_interval_start')} .. {context.get('data_interval_end')}"
    )
    task = ti.task_id + (f"[{ti.map_index}]" if getattr(ti, "map_index", -1) not in (-1, None) else "")
    subject = getattr(exception, "alert_subject", "") or f"[tthc] {ti.dag_id}.{task} failed"
    lines = [
        f"What failed: task {task} of DAG {ti.dag_id}, run {ti.run_id}, after {ti.try_number} attempt(s)",
        f"Window: {window}",
    ]
    details = list(getattr(exception, "alert_lines", ()) or ())
    if details:
        lines += details
    elif exception is not None:
        lines.append(f"Error: {type(exception).__name__}: {str(exception)[:2000]}")
    lines.append("Where to look:")
    lines += ["  " + line for line in _log_location(context)]
    from tthc.quality.data_docs import docs_dir

    if not any("Data Docs" in line for line in details):
        lines.append(f"  Data Docs: file://{docs_dir()}/index.html")
    return subject, lines


def _notifier_base():
    try:
        from airflow.sdk import BaseNotifier
    except ImportError:  # outside Airflow (tests of the message only)
        return object
    return BaseNotifier


class FailureNotifier(_notifier_base()):
    """``on_failure_callback=[FailureNotifier()]``: one alert when a task has failed for good."""

    template_fields = ()

    def __init__(self, smtp_conn_id: str = SMTP_CONN_ID, webhook_conn_id: str = WEBHOOK_CONN_ID):
        super().__init__()
        self.smtp_conn_id = smtp_conn_id
        self.webhook_conn_id = webhook_conn_id

    def notify(self, context) -> None:
        subject, lines = failure_message(context)
        send_alert(subject, lines, smtp_conn_id=self.smtp_conn_id, webhook_conn_id=self.webhook_conn_id)


def failure_notifier() -> FailureNotifier:
    return FailureNotifier()


# What the alerts of the quality gate say -----------------------------------------------------


def window_text(window_start, window_end) -> str:
    if window_start is None:
        return "whole list (no window)"
    return f"{window_start.isoformat()} .. {window_end.isoformat()}"


def batch_rejected(
    batch,
    failed,
    *,
    quarantined: int,
    top_units: str,
    failing_rules: dict[str, int],
    data_docs_urls: Sequence[str],
) -> BatchRejectedError:
    """The alert of a batch that a batch rule stopped before core (``batch``: a
    ``batch_rules.BatchInfo``; ``failed``: its failed ``batch_rules.RuleResult``s)."""
    top = sorted(failing_rules.items(), key=lambda item: (-item[1], item[0]))[:10]
    subject = f"[tthc] batch {batch.batch_id} ({batch.entity}) rejected: " + ", ".join(r.rule for r in failed)
    lines = [
        f"Batch rule failed: batch {batch.batch_id} of {batch.entity} ({batch.endpoint}) stopped before core; "
        "nothing was merged (raw.batch.status = 'rejected').",
        f"Window: {window_text(batch.window_start, batch.window_end)}",
        f"Records: {batch.extracted} extracted, {quarantined} would have been quarantined",
        f"Units (records): {top_units}",
        "Failed batch rules:",
        *[f"  - {r.rule}: {r.detail}" for r in failed],
        "Top failing record rules (records):",
        *([f"  - {rule}: {count}" for rule, count in top] or ["  (none)"]),
        "Where to look:",
        *[f"  Data Docs: {url}" for url in data_docs_urls],
        f"  SQL: SELECT * FROM quality.batch_rule_result WHERE batch_id = {batch.batch_id};",
        "  To accept the batch anyway: adjust the thresholds (include/reference/quality_thresholds.json or "
        "env TTHC_QUALITY_THRESHOLDS) and clear/re-run the load task.",
    ]
    return BatchRejectedError(subject, lines)


def core_invariants_broken(
    batch, suite: str, failing_rules: dict[str, int], data_docs_url: str
) -> CoreInvariantError:
    subject = f"[tthc] core invariants broken after batch {batch.batch_id} ({batch.entity})"
    lines = [
        f"Invariant check {suite} failed after batch {batch.batch_id} was merged.",
        f"Window: {window_text(batch.window_start, batch.window_end)}",
        *[f"  - {rule}: {count} rows" for rule, count in failing_rules.items()],
        "Where to look:",
        f"  Data Docs: {data_docs_url}",
    ]
    return CoreInvariantError(subject, lines)


def mart_invariants_broken(
    failing_rules: dict[str, int], data_docs_url: str, validation_id: int
) -> MartInvariantError:
    lines = [
        "Mart invariants broken after the indicator refresh (mart.indicator_value):",
        *[f"  - {rule}: {count} rows" for rule, count in failing_rules.items()],
        "Where to look:",
        f"  Data Docs: {data_docs_url}",
        f"  SQL: SELECT results FROM quality.validation_result WHERE validation_id = {validation_id};",
    ]
    return MartInvariantError("[tthc] mart invariants broken: " + ", ".join(failing_rules), lines)


def portal_gap_found(findings: Sequence[dict], max_points_below: float) -> tuple[str, list[str]]:
    """The alert of one run of tthc_portal_scores whose gap to the province's own figures needs a
    look (``findings``: rows of marts/portal_gap_findings.sql); docs/portal.md, "The alert"."""
    below = [f for f in findings if f["below_threshold"]]
    unexplained = [f for f in findings if f["unexplained_items"]]
    # the largest gaps first: the subject names those
    findings = sorted(findings, key=lambda f: (-(f["points_below"] or 0), f["unit_code"], f["period_label"]))
    units = list(dict.fromkeys(f["unit_code"] for f in findings))
    parts = []
    if below:
        parts.append(f"{len(below)} published total(s) more than {max_points_below:g} points below our own")
    if unexplained:
        parts.append(f"{len(unexplained)} gap(s) not explained by synchronization")
    subject = f"[tthc] national portal below our figures: {', '.join(units[:6])}" + (
        f" and {len(units) - 6} more" if len(units) > 6 else ""
    )
    lines = ["National portal (Cổng DVCQG) against the province's own figures: " + "; ".join(parts) + "."]
    for f in findings:
        lines.append(
            f"- {f['unit_code']} {f['unit_name'] or ''}, {f['period_label']}: published {f['portal_total']}, "
            f"own {f['own_total']}, own over synchronized dossiers only {f['own_synced_total']} "
            f"({f['unsynced_dossiers']} dossiers not synchronized: {f['points_from_sync']} points)"
        )
        if f["losing_items"]:
            lines.append(f"    items below our own (points): {f['losing_items']}")
        if f["unexplained_items"]:
            lines.append(
                "    NOT explained by synchronization (our synchronized figure vs the portal's): "
                + f["unexplained_items"]
            )
    lines += [
        "What to do:",
        "  Synchronization gap: synchronize the dossiers listed by "
        "SELECT * FROM mart.unsynced_dossiers('<unit>', '<period_type>', '<period_start>'); "
        "the portal's next publication takes them in.",
        "  Not explained: the portal counts some synchronized dossiers differently from the export "
        "(dates, status); compare SELECT * FROM mart.bi_portal_gap WHERE explained IS FALSE, then raise it "
        "with the portal's operator.",
        f"  Threshold: portal_gap.max_points_below = {max_points_below:g} "
        "(include/reference/quality_thresholds.json or env TTHC_QUALITY_THRESHOLDS).",
    ]
    return subject, lines
