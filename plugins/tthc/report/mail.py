"""Mail a written report, or form 06's workbooks, through the SMTP connection ``smtp_default``
(absent: nothing is sent).

Connection fields: host, port, login/password (optional); extra ``from_email``, ``ssl`` (SMTPS)
or ``starttls`` (default true unless ``ssl``), ``timeout``.
"""

from __future__ import annotations

import logging
import mimetypes
import smtplib
from email.message import EmailMessage
from pathlib import Path

from tthc.settings import SMTP_CONN_ID, ConnectionFields, get_connection

log = logging.getLogger(__name__)


def _flag(value, default: bool) -> bool:
    if value is None:
        return default
    return str(value).strip().lower() in {"1", "true", "yes", "on"}


BODY = "Báo cáo đính kèm (HTML và PDF). Số liệu lấy từ kho dữ liệu TTHC (schema mart)."


def build_message(
    sender: str, recipients: list[str], subject: str, paths: dict[str, Path], body: str = BODY
) -> EmailMessage:
    """Every file of ``paths`` attached; an ``html`` one is also the message's HTML part."""
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, ", ".join(recipients), subject
    message.set_content(body)
    if "html" in paths:
        message.add_alternative(paths["html"].read_text(encoding="utf-8"), subtype="html")
    for path in paths.values():
        maintype, subtype = (mimetypes.guess_type(path.name)[0] or "application/octet-stream").split("/")
        message.add_attachment(path.read_bytes(), maintype=maintype, subtype=subtype, filename=path.name)
    return message


def send_report(
    recipients: list[str],
    subject: str,
    paths: dict[str, Path],
    conn: ConnectionFields | None = None,
    *,
    body: str = BODY,
) -> bool:
    """True when sent; False when there is no ``smtp_default`` connection or no recipient."""
    recipients = [r.strip() for r in recipients if r and r.strip()]
    conn = conn or get_connection(SMTP_CONN_ID, required=False)
    if conn is None or not conn.host or not recipients:
        log.info(
            "report not mailed: %s", "no recipient" if conn and conn.host else f"no {SMTP_CONN_ID} connection"
        )
        return False
    use_ssl = _flag(conn.extra.get("ssl"), False)
    starttls = _flag(conn.extra.get("starttls"), not use_ssl)
    sender = conn.extra.get("from_email") or conn.login or "tthc-pipeline@localhost"
    timeout = float(conn.extra.get("timeout", 30))
    smtp_class = smtplib.SMTP_SSL if use_ssl else smtplib.SMTP
    with smtp_class(conn.host, conn.port or (465 if use_ssl else 587), timeout=timeout) as smtp:
        if starttls:
            smtp.starttls()
        if conn.login:
            smtp.login(conn.login, conn.password or "")
        smtp.send_message(build_message(sender, recipients, subject, paths, body))
    log.info("report mailed to %s", ", ".join(recipients))
    return True
